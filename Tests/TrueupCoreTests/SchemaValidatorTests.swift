import Foundation
import Testing
@testable import TrueupCore

/// Validates `text` (one document of `kind`) against the built-in schema of that kind.
private func check(_ kind: ResourceKind, _ text: String) throws -> (value: JSONValue?, diagnostics: [Diagnostic]) {
    let schema = try #require(SchemaCatalog.shared[kind])
    return SchemaValidator.validate(try yaml(text), against: schema, environment: "dev")
}

/// A Job document whose spec holds `lines` (each indented by two spaces).
private func job(_ lines: String...) -> String {
    "apiVersion: trueup/v1\nkind: Job\nmetadata: {name: train}\nspec:\n  code: src\n  command: [python3, train.py]\n"
        + lines.map { "  \($0)\n" }.joined()
}

/// An Environment document whose spec holds `lines`.
private func environment(_ lines: String...) -> String {
    "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: dev}\nspec:\n" + lines.map { "  \($0)\n" }.joined()
}

private func model(_ lines: String...) -> String {
    "apiVersion: trueup/v1\nkind: Model\nmetadata: {name: churn}\nspec:\n" + lines.map { "  \($0)\n" }.joined()
}

struct SchemaDirectedTypingTests {
    @Test(arguments: [
        ("version: 1.10", JSONValue.string("1.10")),
        ("version: 7", .string("7")),
        ("version: \"7\"", .string("7")),
        ("version: 1e3", .string("1e3")),
        ("version: true", .string("true")),
        ("version: 0x1F", .string("0x1F")),
    ])
    func plainScalarsStayStringsWhereTheSchemaAsksForAString(_ line: String, _ expected: JSONValue) throws {
        let (value, diagnostics) = try check(.model, model(line))
        #expect(diagnostics.isEmpty)
        #expect(value?["spec"]?["version"] == expected)
    }

    @Test(arguments: [
        ("retries: 3", JSONValue.integer(3)),
        ("retries: 0x0A", .integer(10)),
        ("retries: +2", .integer(2)),
        // JSON Schema: a number with a zero fractional part is an integer.
        ("retries: 2.0", .integer(2)),
        ("resources: {cpus: 0.5}", .number(0.5)),
        ("resources: {cpus: 2}", .integer(2)),
        ("resources: {cpus: .5}", .number(0.5)),
    ])
    func plainNumbersAreNumbersWhereTheSchemaAsksForOne(_ line: String, _ expected: JSONValue) throws {
        let (value, diagnostics) = try check(.job, job(line))
        #expect(diagnostics.isEmpty)
        let spec = try #require(value?["spec"])
        #expect(spec["retries"] ?? spec["resources"]?["cpus"] == expected)
    }

    @Test(arguments: ["prune: true", "prune: false"])
    func trueAndFalseAreBooleans(_ line: String) throws {
        let (value, diagnostics) = try check(.environment, environment(line))
        #expect(diagnostics.isEmpty)
        #expect(value?["spec"]?["prune"] == .bool(line.hasSuffix("true")))
    }

    @Test(arguments: ["no", "yes", "on", "off", "y", "n", "True", "FALSE", "Yes", "NO", "On", "Off"])
    func otherYAML11BooleansAreErrorsThatSaySo(_ word: String) throws {
        let (value, diagnostics) = try check(.environment, environment("prune: \(word)"))
        #expect(value == nil)
        #expect(diagnostics.map(\.description) == [
            "f.yaml:5:10: '\(word)' is not a boolean: only true and false are booleans (YAML 1.2); write true or false (spec.prune, environment dev)",
        ])
    }

    @Test(arguments: [
        ("retries: \"3\"", "expected an integer, got the quoted string \"3\": remove the quotes", "spec.retries", 12),
        ("retries: '3'", "expected an integer, got the quoted string \"3\": remove the quotes", "spec.retries", 12),
        ("resources: {cpus: \"0.5\"}", "expected a number, got the quoted string \"0.5\": remove the quotes", "spec.resources.cpus", 21),
        ("retries: 2.5", "expected an integer, got '2.5': use a whole number", "spec.retries", 12),
        ("retries: three", "expected an integer, got 'three'", "spec.retries", 12),
        ("retries:", "expected an integer, got an empty value: give a value or remove the field", "spec.retries", 11),
    ])
    func wrongScalarTypesAreExplained(_ line: String, _ message: String, _ field: String, _ column: Int) throws {
        let (value, diagnostics) = try check(.job, job(line))
        #expect(value == nil)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.message == message)
        #expect(diagnostics.first?.fieldPath == field)
        #expect(diagnostics.first?.location == at(7, column))
    }

    @Test func quotedBooleanIsAnError() throws {
        let (_, diagnostics) = try check(.environment, environment("selfHeal: \"true\""))
        #expect(diagnostics.first?.message == "expected a boolean (true or false), got the quoted string \"true\": remove the quotes")
    }

    @Test func stringsForListsAndListsForStrings() throws {
        let (_, diagnostics) = try check(.job, job("inputs: {datasets: customers}", "timeout: [10m]"))
        #expect(diagnostics.map(\.message) == ["expected a list, got 'customers'", "expected a string, got a list"])
    }

    @Test func labelsAndEnvironmentValuesAreStrings() throws {
        let text = "apiVersion: trueup/v1\nkind: Job\nmetadata:\n  name: train\n  labels: {release: 1.10, canary: true}\n"
            + "spec:\n  code: src\n  command: [python3, --port, 8080]\n  env: {SEED: 7}\n"
        let (value, diagnostics) = try check(.job, text)
        #expect(diagnostics.isEmpty)
        #expect(value?["metadata"]?["labels"] == .object(["release": .string("1.10"), "canary": .string("true")]))
        #expect(value?["spec"]?["command"] == .array([.string("python3"), .string("--port"), .string("8080")]))
        #expect(value?["spec"]?["env"]?["SEED"] == .string("7"))
    }

    @Test func freeFormValuesAreTypedTheYAML12Way() throws {
        let text = "apiVersion: trueup/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  model: churn\n"
            + "  config: {threshold: 0.5, n: 3, on: true, name: churn, nothing: null, shout: True, answer: yes, version: \"2\"}\n"
        let (value, diagnostics) = try check(.deployment, text)
        #expect(diagnostics.isEmpty)
        #expect(value?["spec"]?["config"] == .object([
            "threshold": .number(0.5), "n": .integer(3), "on": .bool(true), "name": .string("churn"), "nothing": .null,
            // Only true and false are booleans, in free-form values too.
            "shout": .string("True"), "answer": .string("yes"), "version": .string("2"),
        ]))
    }
}

struct SchemaStructureTests {
    @Test func unknownFieldSuggestsTheClosestName() throws {
        let (value, diagnostics) = try check(.environment, environment("prnue: false"))
        #expect(value == nil)
        #expect(diagnostics.map(\.description) == ["f.yaml:5:3: unknown field 'prnue': did you mean 'prune'? (spec.prnue, environment dev)"])
    }

    @Test(arguments: [
        ("Prune: false", "unknown field 'Prune': did you mean 'prune'?"),
        ("selfheal: true", "unknown field 'selfheal': did you mean 'selfHeal'?"),
        ("pruning: false", "unknown field 'pruning': remove it; the fields allowed here are artifacts, backends, exclude, extends, healthInterval, interval, notify, promotion, prune, selfHeal, sync, variables, windows"),
    ])
    func unknownFieldMessages(_ line: String, _ message: String) throws {
        let (_, diagnostics) = try check(.environment, environment(line))
        #expect(diagnostics.map(\.message) == [message])
    }

    @Test func unknownFieldsAreFoundAtEveryDepth() throws {
        let text = """
            apiVersion: trueup/v1
            kind: Model
            extra: 1
            metadata: {name: churn, label: {}}
            spec:
              fromJob: train
              gates:
                - job: evaluate
                  metric: {}
            """
        let (_, diagnostics) = try check(.model, text)
        #expect(diagnostics.map { "\($0.location!.line):\($0.location!.column) \($0.fieldPath!)" } == [
            "3:1 extra", "4:25 metadata.label", "9:7 spec.gates[0].metric",
        ])
    }

    @Test func missingRequiredFieldsAreAllReportedAtTheirMapping() throws {
        let text = "apiVersion: trueup/v1\nkind: Job\nmetadata: {name: train}\nspec:\n  timeout: 5m\n"
        let (_, diagnostics) = try check(.job, text)
        #expect(diagnostics.map(\.description) == [
            "f.yaml:5:3: missing required field 'code': repository path of the job's code folder; its git tree id is part of the job's identity (spec.code, environment dev)",
            "f.yaml:5:3: missing required field 'command': command run in the scratch folder holding the code tree, program then arguments (spec.command, environment dev)",
        ])
    }

    @Test func missingRequiredFieldQuotesThePropertyNotTheSharedDefinition() throws {
        // `job` is a `$ref` to the shared name definition, with its own description beside it.
        let (_, diagnostics) = try check(.model, model("fromJob: train", "gates:", "  - metrics: {auc: \">= 0.8\"}"))
        #expect(diagnostics.map(\.message) == ["missing required field 'job': name of the Job run as this gate"])
    }

    @Test func enumViolationListsTheAllowedValues() throws {
        let (_, diagnostics) = try check(.environment, environment("sync: automatic", "backends: {jobs: {type: k8s}}"))
        #expect(diagnostics.map(\.message) == [
            "'automatic' is not allowed here: use one of auto, manual",
            "'k8s' is not allowed here: use one of local, mlflow, ray",
        ])
    }

    @Test(arguments: [
        ("Churn_Model", false), ("churn-model", true), ("c", true), ("churn-", false), ("9lives", false),
        (String(repeating: "a", count: 63), true), (String(repeating: "a", count: 64), false),
    ])
    func namesFollowThePattern(_ name: String, _ valid: Bool) throws {
        let (_, diagnostics) = try check(.model, "apiVersion: trueup/v1\nkind: Model\nmetadata: {name: \"\(name)\"}\nspec: {version: \"1\"}\n")
        #expect(diagnostics.isEmpty == valid)
        if !valid {
            #expect(diagnostics.contains { $0.message.contains("lowercase letters, digits and '-', starting with a letter") })
        }
    }

    @Test func constantsAreChecked() throws {
        let (_, diagnostics) = try check(.job, "apiVersion: trueup/v2\nkind: Job\nmetadata: {name: train}\nspec: {code: src, command: [x]}\n")
        #expect(diagnostics.map(\.message) == ["'trueup/v2' is not allowed here: it must be 'trueup/v1'"])
    }

    @Test func boundsAreChecked() throws {
        let (_, diagnostics) = try check(.job, job("retries: 11", "resources: {cpus: 0, memoryMB: 0, gpus: -1}"))
        #expect(diagnostics.map(\.message) == [
            "11 is above the maximum 10", "0 must be greater than 0", "0 is below the minimum 1", "-1 is below the minimum 0",
        ])
    }

    @Test func listRulesAreChecked() throws {
        let (_, diagnostics) = try check(.job, "apiVersion: trueup/v1\nkind: Job\nmetadata: {name: train}\nspec:\n  code: src\n  command: []\n  inputs: {datasets: [a, b, a]}\n")
        #expect(diagnostics.map(\.message) == ["must not be an empty list", "'a' is listed twice: remove the repeat"])
        #expect(diagnostics.map(\.fieldPath) == ["spec.command", "spec.inputs.datasets[2]"])
    }

    @Test func mapKeysAreCheckedAgainstPropertyNames() throws {
        let text = "apiVersion: trueup/v1\nkind: Job\nmetadata:\n  name: train\n  labels: {\"\": x}\n"
            + "spec:\n  code: src\n  command: [x]\n  env: {1SEED: \"7\"}\n"
        let (_, diagnostics) = try check(.job, text)
        #expect(diagnostics.map(\.message) == [
            "an empty name is not allowed here: give it a name",
            "'1SEED' is not a valid name here: must be letters, digits and '_', not starting with a digit",
        ])
    }

    @Test func everyProblemIsReportedNotJustTheFirst() throws {
        let (_, diagnostics) = try check(.environment, environment("sync: sometimes", "prune: no", "interval: soon", "colour: red"))
        #expect(diagnostics.count == 4)
    }
}

struct AnyOfTests {
    @Test(arguments: [
        ("trigger: onChange", JSONValue.string("onChange")),
        ("trigger: manual", .string("manual")),
        ("trigger: {schedule: \"0 2 * * *\"}", .object(["schedule": .string("0 2 * * *")])),
        ("trigger:\n    schedule: 0 2 * * *", .object(["schedule": .string("0 2 * * *")])),
    ])
    func everyTriggerFormIsAccepted(_ line: String, _ expected: JSONValue) throws {
        let (value, diagnostics) = try check(.job, job(line))
        #expect(diagnostics.isEmpty)
        #expect(value?["spec"]?["trigger"] == expected)
    }

    @Test(arguments: [
        ("trigger: onchange", "'onchange' is not allowed here: use one of onChange, manual", "spec.trigger"),
        ("trigger: 5", "'5' is not allowed here: use one of onChange, manual", "spec.trigger"),
        ("trigger: {}", "missing required field 'schedule': cron expression (5 fields), for example \"0 2 * * *\"", "spec.trigger.schedule"),
        ("trigger: {schedule: \"0 2 * * *\", at: noon}", "unknown field 'at': remove it; the fields allowed here are schedule", "spec.trigger.at"),
        ("trigger: {cron: \"0 2 * * *\"}", "unknown field 'cron': remove it; the fields allowed here are schedule", "spec.trigger.cron"),
        ("trigger: [onChange]", "expected a string or a mapping, got a list", "spec.trigger"),
    ])
    func wrongTriggersSpeakOfTheFormTheyResemble(_ line: String, _ message: String, _ field: String) throws {
        let (value, diagnostics) = try check(.job, job(line))
        #expect(value == nil)
        #expect(diagnostics.map(\.message).contains(message))
        #expect(diagnostics.first?.fieldPath == field)
    }
}

struct SchemaCompilerTests {
    private func compile(_ json: String) throws -> Schema {
        try Schema.compile(try JSONValue.parse(Data(json.utf8)), name: "test.schema.json")
    }

    @Test(arguments: [
        #"{"type": "string", "format": "uri"}"#,
        #"{"type": "object", "patternProperties": {"^x": {}}}"#,
        #"{"type": "string", "pattern": "^(?=a)b$"}"#,
        #"{"$ref": "https://example.com/other.json"}"#,
        #"{"type": "strin"}"#,
    ])
    func schemasUsingUnsupportedKeywordsAreRefusedRatherThanIgnored(_ json: String) {
        #expect(throws: (any Error).self) { try compile(json) }
    }

    @Test func lengthsCountCodePoints() throws {
        let schema = try compile(#"{"type": "string", "maxLength": 3}"#)
        // Three user-perceived characters, six code points: JSON Schema counts the code points.
        let decomposed = "e\u{301}e\u{301}e\u{301}"
        #expect(!SchemaValidator.validate(.scalar(decomposed, at: at(1, 1)), against: schema).diagnostics.isEmpty)
        #expect(SchemaValidator.validate(.scalar("ééé", at: at(1, 1)), against: schema).diagnostics.isEmpty)
        // Two UTF-8 bytes but one code point: too short, though the bytes alone would pass.
        let atLeastTwo = try compile(#"{"type": "string", "minLength": 2}"#)
        #expect(!SchemaValidator.validate(.scalar("é", at: at(1, 1)), against: atLeastTwo).diagnostics.isEmpty)
        #expect(SchemaValidator.validate(.scalar("éé", at: at(1, 1)), against: atLeastTwo).diagnostics.isEmpty)
        #expect(SchemaValidator.codePointCount("ééé", within: schema) == 3)
    }

    @Test(arguments: [
        ("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", "churn-api", true),
        ("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", "churn-", false),
        ("^([0-9]+(ms|s|m|h|d))+$", "1h30m", true),
        ("^([0-9]+(ms|s|m|h|d))+$", "1h30", false),
        ("^[0-9a-f]{64}$", String(repeating: "ab", count: 32), true),
        ("^[0-9a-f]{64}$", String(repeating: "ab", count: 31), false),
        ("b", "abc", true),
        ("^b", "abc", false),
        ("^/[!-~]*$", "/healthz", true),
        ("^/[!-~]*$", "/health z", false),
        ("^/[!-~]*$", "/caf\u{E9}", false),
        ("^(>=|<=|>|<|==|!=)[ \\t]*-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$", ">= 0.85", true),
        ("^(>=|<=|>|<|==|!=)[ \\t]*-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$", "=> 0.85", false),
    ])
    func patternsMatchLikeECMAScript(_ pattern: String, _ text: String, _ matches: Bool) throws {
        let escaped = pattern.replacingOccurrences(of: "\\", with: "\\\\")
        let schema = try compile(#"{"type": "string", "pattern": "\#(escaped)"}"#)
        #expect(SchemaValidator.validate(.scalar(text, at: at(1, 1)), against: schema).diagnostics.isEmpty == matches)
    }
}

struct InstanceTests {
    @Test func instanceIsTheDocumentAsTrueupTypesIt() throws {
        let node = try yaml(job("retries: \"3\"", "timeout: 10m", "resources: {cpus: 0.5}") + "  env: {SEED: 7}\n")
        let instance = SchemaValidator.instance(of: node, under: SchemaCatalog.shared[.job])
        #expect(instance["spec"]?["retries"] == .string("3"))
        #expect(instance["spec"]?["resources"]?["cpus"] == .number(0.5))
        #expect(instance["spec"]?["env"]?["SEED"] == .string("7"))
        #expect(instance["spec"]?["command"] == .array([.string("python3"), .string("train.py")]))
    }

    @Test func instanceKeepsInvalidBooleansAsStrings() throws {
        let instance = SchemaValidator.instance(of: try yaml(environment("prune: no", "selfHeal: True")), under: SchemaCatalog.shared[.environment])
        #expect(instance["spec"]?["prune"] == .string("no"))
        #expect(instance["spec"]?["selfHeal"] == .string("True"))
    }
}
