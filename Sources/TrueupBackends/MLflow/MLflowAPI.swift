/// The shapes of MLflow's answers that trueup reads. MLflow omits empty lists and unset fields,
/// so nearly everything is optional; `version` is a string in JSON.
enum MLflowAPI {
    struct Tag: Decodable, Sendable {
        var key: String
        var value: String?
    }

    struct Alias: Decodable, Sendable {
        var alias: String
        var version: String
    }

    struct RegisteredModel: Decodable, Sendable {
        var name: String
        var tags: [Tag]?
        var aliases: [Alias]?
    }

    struct ModelVersion: Decodable, Sendable {
        var name: String
        var version: String
        var source: String?
        var run_id: String?
        var status: String?
        var description: String?
        var tags: [Tag]?

        var tagMap: [String: String] {
            var map: [String: String] = [:]
            for tag in tags ?? [] { map[tag.key] = tag.value ?? "" }
            return map
        }
    }

    struct RegisteredModelSearch: Decodable, Sendable {
        var registered_models: [RegisteredModel]?
        var next_page_token: String?
    }

    struct ModelVersionSearch: Decodable, Sendable {
        var model_versions: [ModelVersion]?
        var next_page_token: String?
    }

    struct RegisteredModelAnswer: Decodable, Sendable {
        var registered_model: RegisteredModel
    }

    struct ModelVersionAnswer: Decodable, Sendable {
        var model_version: ModelVersion
    }

    struct Experiment: Decodable, Sendable {
        var experiment_id: String
    }

    struct ExperimentAnswer: Decodable, Sendable {
        var experiment: Experiment
    }

    struct CreatedExperiment: Decodable, Sendable {
        var experiment_id: String
    }

    struct RunInfo: Decodable, Sendable {
        var run_id: String
        var artifact_uri: String?
        var status: String?
    }

    struct Run: Decodable, Sendable {
        var info: RunInfo
    }

    struct RunAnswer: Decodable, Sendable {
        var run: Run
    }

    struct RunSearch: Decodable, Sendable {
        var runs: [Run]?
        var next_page_token: String?
    }
}
