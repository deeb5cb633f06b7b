import Testing
import TrueupCore

/// Merges `overlay` onto `base` and removes explicit nulls, as an environment's desired state does,
/// then types the result as JSON for easy comparison.
private func merged(_ base: String, _ overlay: String) throws -> (JSONValue, Node) {
    let node = Overlay.removingNulls(Overlay.merge(try yaml(base), try yaml(overlay)))
    return (SchemaValidator.instance(of: node, under: nil), node)
}

struct OverlayTests {
    @Test func mapsMergeKeyByKeyAtEveryDepth() throws {
        let (value, _) = try merged(
            "spec: {replicas: 1, config: {threshold: 0.5, mode: fast}, code: src}",
            "spec: {replicas: 3, config: {threshold: 0.6}}")
        #expect(value == .object(["spec": .object([
            "replicas": .integer(3), "code": .string("src"),
            "config": .object(["threshold": .number(0.6), "mode": .string("fast")]),
        ])]))
    }

    @Test func listsAreReplacedNotMerged() throws {
        let (value, _) = try merged("command: [python3, train.py, --full]", "command: [python3, quick.py]")
        #expect(value == .object(["command": .array([.string("python3"), .string("quick.py")])]))
    }

    @Test(arguments: ["fromJob: null", "fromJob: ~", "fromJob:"])
    func anExplicitNullRemovesTheKey(_ line: String) throws {
        let (value, _) = try merged("fromJob: train\nalias: dev", line + "\nversion: \"3\"")
        #expect(value == .object(["alias": .string("dev"), "version": .string("3")]))
    }

    /// Null removal skips trees marked as holding no null: a tree changed after it was built
    /// must be marked anew, or a null put into it would survive.
    @Test func aNullPutIntoABuiltTreeIsStillRemoved() throws {
        var node = try yaml("spec: {env: {A: a}}")
        #expect(!node.marks.contains(.null))
        let changed = try yaml("spec: {env: {A: a, B: null}}")
        node.value = changed.value
        #expect(node.marks.contains(.null))
        #expect(SchemaValidator.instance(of: Overlay.removingNulls(node), under: nil)
            == .object(["spec": .object(["env": .object(["A": .string("a")])])]))
    }

    @Test func aQuotedNullIsAValueNotARemoval() throws {
        let (value, _) = try merged("alias: dev", "alias: \"null\"")
        #expect(value == .object(["alias": .string("null")]))
    }

    @Test func nullRemovesNestedKeysAndWholeMaps() throws {
        let (value, _) = try merged("env: {A: a, B: b}\nresources: {cpus: 1}", "env: {B: null}\nresources: null")
        #expect(value == .object(["env": .object(["A": .string("a")])]))
    }

    @Test func aScalarOrListReplacesAMapAndViceVersa() throws {
        let (value, _) = try merged("trigger: {schedule: \"0 2 * * *\"}\ninputs: [a]", "trigger: manual\ninputs: {datasets: [b]}")
        #expect(value == .object([
            "trigger": .string("manual"), "inputs": .object(["datasets": .array([.string("b")])]),
        ]))
    }

    @Test func baseKeysKeepTheirOrderAndNewKeysFollow() throws {
        let (_, node) = try merged("a: 1\nb: 2\nc: 3", "b: 20\nd: 4\na: 10")
        #expect(node.entries?.map(\.key) == ["a", "b", "c", "d"])
    }

    @Test func overriddenValuesPointAtTheOverlay() throws {
        // Errors in a value an environment overrides must point at the environment's file.
        let base = try yaml("spec:\n  replicas: 1\n  code: src\n", file: "base.yaml")
        let overlay = try yaml("spec:\n  replicas: 3\n", file: "prod.yaml")
        let node = Overlay.merge(base, overlay)
        #expect(node["spec"]?["replicas"]?.location == TrueupCore.SourceLocation(file: "prod.yaml", line: 2, column: 13))
        #expect(node["spec"]?["code"]?.location == TrueupCore.SourceLocation(file: "base.yaml", line: 3, column: 9))
    }
}
