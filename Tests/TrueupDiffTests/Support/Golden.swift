import Foundation
import Testing

/// Golden files under Tests/TrueupDiffTests/Golden/, compared after normalisation.
/// `UPDATE_GOLDEN=1 swift test --filter TrueupDiffTests` rewrites them; review the diff by eye.
enum GoldenFile {
    static let folder = SourceTree.testFolder.appendingPathComponent("Golden")
    static var updating: Bool { ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" }

    /// Replaces what changes from run to run: the fixture's temporary paths, ports, pids, timestamps,
    /// and every hexadecimal id (commits, short commits, tree ids, content hashes, job identities,
    /// run ids). Hex ids become `<hex-N>`, numbered by first appearance, so the golden still shows
    /// which ids are the same and which differ.
    static func normalise(_ text: String, fixture: DiffFixture) -> String {
        var out = text.replacingOccurrences(of: fixture.repo, with: "<repo>").replacingOccurrences(of: fixture.scratch, with: "<scratch>")
        out = replace(#"/tmp/[^\s'"`)|]+"#, in: out) { _ in "<tmp-path>" }
        out = replace(#"(127\.0\.0\.1|localhost|\[::1\]):[0-9]+"#, in: out) { "\($0.split(separator: ":").dropLast().joined(separator: ":")):<port>" }
        out = replace(#"\b(pid|process|PID) [0-9]+"#, in: out) { "\($0.split(separator: " ")[0]) <pid>" }
        out = replace(#"\b[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?"#, in: out) { _ in "<time>" }
        var ids: [String: Int] = [:]
        out = replace(#"\b[0-9a-f]{10,64}\b"#, in: out) { hex in
            // A short id is the same id as a longer one it prefixes.
            if let known = ids.first(where: { $0.key.hasPrefix(hex) || hex.hasPrefix($0.key) }) { return "<hex-\(known.value)>" }
            ids[hex] = ids.count + 1
            return "<hex-\(ids.count)>"
        }
        return out
    }

    private static func replace(_ pattern: String, in text: String, with transform: (String) -> String) -> String {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return text }
        var result = ""
        var last = text.startIndex
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let range = Range(match.range, in: text) else { continue }
            result += text[last..<range.lowerBound]
            result += transform(String(text[range]))
            last = range.upperBound
        }
        return result + text[last...]
    }

    /// Compares `actual` (already normalised) with the golden file `name`, or rewrites it.
    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = folder.appendingPathComponent(name)
        if updating {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: file)
            return
        }
        guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
            Issue.record("no golden file \(name): run UPDATE_GOLDEN=1 swift test --filter TrueupDiffTests and review it", sourceLocation: sourceLocation)
            return
        }
        guard expected != actual else { return }
        let actualFile = FileManager.default.temporaryDirectory.appendingPathComponent("trueup-golden-\(name)")
        try? Data(actual.utf8).write(to: actualFile)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false), a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let line = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
        let want = line < e.count ? String(e[line]) : "(end of file)"
        let got = line < a.count ? String(a[line]) : "(end of file)"
        Issue.record("""
            \(name) differs from the golden file at line \(line + 1):
              golden: \(want)
              actual: \(got)
            Whole output: \(actualFile.path). If the change is intended: UPDATE_GOLDEN=1 swift test --filter TrueupDiffTests
            """, sourceLocation: sourceLocation)
    }
}

/// The JSON reports, validated against schemas/diff-report.schema.json by an independent
/// validator (Python jsonschema, draft 2020-12) through validate_report.py.
enum SchemaCheck {
    /// Returns the validator's problems (empty: valid). Fails the test when the validator is missing.
    static func problems(_ json: String, scratch: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
        guard FileManager.default.isExecutableFile(atPath: SourceTree.python.path) else {
            Issue.record("no \(SourceTree.python.path): run scripts/setup-deps --test (make test does)", sourceLocation: sourceLocation)
            return []
        }
        let report = scratch + "/report-\(UUID().uuidString).json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: report))
        defer { try? FileManager.default.removeItem(atPath: report) }
        let result = try await runProcess(
            [SourceTree.python.path, SourceTree.testFolder.appendingPathComponent("validate_report.py").path, SourceTree.schema.path, report],
            in: scratch, environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"],
            scratch: scratch)
        guard result.status == 0 || result.status == 1 else {
            Issue.record("validate_report.py crashed (\(result.status)):\n\(result.all)", sourceLocation: sourceLocation)
            return []
        }
        return result.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("validate_report:") }
    }

    static func expectValid(_ json: String, scratch: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let found = try await problems(json, scratch: scratch, sourceLocation: sourceLocation)
        #expect(found.isEmpty, "the JSON report does not match schemas/diff-report.schema.json:\n\(found.prefix(20).joined(separator: "\n"))", sourceLocation: sourceLocation)
    }
}
