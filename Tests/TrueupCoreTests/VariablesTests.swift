import Testing
import TrueupCore

private let commit = "0123456789abcdef0123456789abcdef01234567"
private let variables = Variables(values: ["epochs": "50", "rate": "0.1", "name": "churn"], environment: "staging", commit: commit)

/// Substitutes in `text` (a YAML document) and returns the result and the problems found.
private func substitute(_ text: String) throws -> (Node, [Diagnostic]) {
    var diagnostics: [Diagnostic] = []
    let node = variables.substitute(in: try yaml(text), path: FieldPath(), diagnostics: &diagnostics)
    return (node, diagnostics)
}

private func value(_ text: String) throws -> (String?, [Diagnostic]) {
    let (node, diagnostics) = try substitute("v: \(text)")
    return (node["v"]?.scalarText, diagnostics)
}

struct VariablesTests {
    @Test(arguments: [
        ("\"${vars.epochs}\"", "50"),
        ("\"--epochs=${vars.epochs} --rate=${vars.rate}\"", "--epochs=50 --rate=0.1"),
        ("\"${env.name}\"", "staging"),
        ("\"${git.commit}\"", commit),
        ("\"${git.shortCommit}\"", "0123456789ab"),
        ("\"${vars.name}-${env.name}-${git.shortCommit}\"", "churn-staging-0123456789ab"),
        ("\"$${vars.epochs}\"", "${vars.epochs}"),
        ("\"a $${literal} and ${vars.epochs}\"", "a ${literal} and 50"),
        ("\"$5 and $$ and $HOME\"", "$5 and $$ and $HOME"),
        ("\"no variables\"", "no variables"),
        ("${vars.epochs}", "50"),
    ])
    func referencesAreSubstituted(_ text: String, _ expected: String) throws {
        let (result, diagnostics) = try value(text)
        #expect(diagnostics.isEmpty)
        #expect(result == expected)
    }

    @Test func undefinedVariableIsAnErrorWithLocationAndSuggestion() throws {
        let (_, diagnostics) = try substitute("spec:\n  command: [train, \"${vars.epoch}\"]\n")
        #expect(diagnostics.map(\.description) == [
            "f.yaml:2:20: undefined variable 'epoch' in environment 'staging': did you mean 'epochs'? (spec.command[1], environment staging)",
        ])
    }

    @Test func undefinedVariableWithoutACloseNameSaysWhereToDefineIt() throws {
        let (_, diagnostics) = try value("\"${vars.seed}\"")
        #expect(diagnostics.map(\.message) == [
            "undefined variable 'seed' in environment 'staging': define it under spec.variables in environments/staging/environment.yaml",
        ])
    }

    @Test(arguments: [
        ("\"${secrets.token}\"", "unknown reference '${secrets.token}': use ${vars.NAME}, ${env.name}, ${git.commit} or ${git.shortCommit}"),
        ("\"${env.region}\"", "unknown reference '${env.region}': use ${vars.NAME}, ${env.name}, ${git.commit} or ${git.shortCommit}"),
        ("\"${epochs}\"", "unknown reference '${epochs}': use ${vars.NAME}, ${env.name}, ${git.commit} or ${git.shortCommit}"),
        ("\"${vars.epochs\"", "unterminated '${' in '${vars.epochs': close it with '}' or write '$${' for a literal"),
    ])
    func malformedReferencesAreErrors(_ text: String, _ message: String) throws {
        let (_, diagnostics) = try value(text)
        #expect(diagnostics.map(\.message) == [message])
    }

    @Test func everyBadReferenceInAStringIsReported() throws {
        let (_, diagnostics) = try value("\"${vars.a} ${vars.b}\"")
        #expect(diagnostics.count == 2)
    }

    @Test func fieldPathsFollowTheTree() throws {
        var diagnostics: [Diagnostic] = []
        let node = try yaml("command: [a, \"${vars.x}\"]\nenv: {A: \"${vars.y}\"}\n")
        _ = variables.substitute(in: node, path: FieldPath("spec"), diagnostics: &diagnostics)
        #expect(diagnostics.map(\.fieldPath) == ["spec.command[1]", "spec.env.A"])
    }

    @Test func keysAreNeverSubstituted() throws {
        let (node, diagnostics) = try substitute("\"${vars.epochs}\": x\n")
        #expect(diagnostics.isEmpty)
        #expect(node.entries?.first?.key == "${vars.epochs}")
    }

    @Test func substitutionKeepsTheScalarStyleSoTheSchemaCanTypeIt() throws {
        // `replicas: ${vars.n}` is a plain scalar: after substitution it is still plain, so where
        // the schema asks for an integer it becomes one. A quoted reference stays a string.
        let (node, _) = try substitute("plain: ${vars.epochs}\nquoted: \"${vars.epochs}\"\n")
        guard case .scalar("50", .plain)? = node["plain"]?.value, case .scalar("50", .string)? = node["quoted"]?.value else {
            Issue.record("styles changed: \(String(describing: node["plain"]?.value)), \(String(describing: node["quoted"]?.value))")
            return
        }
    }
}
