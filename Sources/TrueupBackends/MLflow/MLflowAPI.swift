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

    /// One entry of an artifact proxy listing (`GET mlflow-artifacts/artifacts?path=`).
    struct ArtifactFile: Decodable, Sendable {
        var path: String
        var isDir: Bool

        init(path: String, isDir: Bool) {
            self.path = path
            self.isDir = isDir
        }

        enum CodingKeys: String, CodingKey {
            case path
            case isDir = "is_dir"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decode(String.self, forKey: .path)
            isDir = try container.decodeIfPresent(Bool.self, forKey: .isDir) ?? false
        }
    }

    struct ArtifactList: Decodable, Sendable {
        var files: [ArtifactFile]?
    }
}
