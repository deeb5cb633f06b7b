import Foundation
import Testing
import TrueupCore

/// Golden tests of `trueup validate` on bad and good repositories (see Corpus/README.md).
///
/// Each case is Corpus/minimal/ with the case's files laid over it, committed to a fresh git
/// repository and loaded at HEAD. A bad case must print exactly the lines of its expected.txt; a
/// good case must print nothing at all.
struct CorpusTests {
    static let badCases = caseNames("bad")
    static let goodCases = caseNames("good")

    static func caseNames(_ set: String) -> [String] {
        let folder = SourceTree.corpus.appendingPathComponent(set).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test func corpusIsLargeEnough() {
        #expect(Self.badCases.count >= 40)
        #expect(Self.goodCases.count >= 10)
    }

    @Test(arguments: badCases)
    func badCase(_ name: String) throws {
        let folder = SourceTree.corpus.appendingPathComponent("bad/\(name)")
        let expectedFile = folder.appendingPathComponent("expected.txt")
        let (lines, state) = try Self.run(folder)
        #expect(!state.isValid || lines.contains { $0.contains("warning:") }, "a bad case must report something")
        if ProcessInfo.processInfo.environment["TRUEUP_RECORD_CORPUS"] == "1" {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: expectedFile)
            return
        }
        let expected = try String(contentsOf: expectedFile, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(lines == expected, "\(name): printed\n\(lines.joined(separator: "\n"))")
    }

    @Test(arguments: goodCases)
    func goodCase(_ name: String) throws {
        let (lines, state) = try Self.run(SourceTree.corpus.appendingPathComponent("good/\(name)"))
        #expect(lines == [])
        #expect(state.isValid)
        #expect(!state.environments.isEmpty)
    }

    @Test func minimalRepositoryIsValid() throws {
        let (lines, state) = try Self.run(nil)
        #expect(lines == [])
        #expect(state.environments["dev"]?.resources.count == 4)
    }

    /// Builds the case's repository, loads it and renders the diagnostics as `validate` prints them,
    /// with the commit id written `<commit>` so that expected files do not depend on it.
    static func run(_ folder: URL?) throws -> (lines: [String], state: TrueupCore.DesiredState) {
        let repository = try TestRepository()
        try repository.copy(from: SourceTree.corpus.appendingPathComponent("minimal"))
        var only: String?
        if let folder {
            try repository.copy(from: folder, skipping: ["expected.txt", "case.txt"])
            let script = (try? String(contentsOf: folder.appendingPathComponent("case.txt"), encoding: .utf8)) ?? ""
            for line in script.split(separator: "\n") where !line.hasPrefix("#") {
                let words = line.split(separator: " ").map(String.init)
                switch (words.first, words.count) {
                case ("env", 2): only = words[1]
                case ("symlink", 3): try repository.symlink(words[1], to: words[2])
                case ("latin1", 2):
                    let text = String(decoding: try repository.read(words[1]), as: UTF8.self)
                    guard let latin1 = text.data(using: .isoLatin1) else { throw TestRepositoryError("\(words[1]) is not Latin-1") }
                    try repository.write(words[1], bytes: [UInt8](latin1))
                case ("generate", 3):
                    guard let size = Int(words[2]) else { throw TestRepositoryError("bad size in '\(line)'") }
                    try repository.write(words[1], bytes: largeSpecFile(bytes: size))
                default:
                    throw TestRepositoryError("\(folder.lastPathComponent)/case.txt: unknown directive '\(line)'")
                }
            }
        }
        let commit = try repository.commit()
        let state = try repository.load(only: only)
        // `validate` checks the environments one at a time and keeps no resource: it must report
        // exactly what a whole load reports, and find the same environments valid.
        let checked = try repository.load(only: only, keeping: .checksOnly)
        #expect(checked.diagnostics.map(\.description) == state.diagnostics.map(\.description))
        #expect(checked.environments.keys.sorted() == state.environments.keys.sorted())
        let short = String(commit.prefix(12))
        return (state.diagnostics.map { $0.description.replacingOccurrences(of: short, with: "<commit>") }, state)
    }

    /// A plausible spec file of exactly `bytes` bytes: a resource followed by comment lines.
    static func largeSpecFile(bytes: Int) -> [UInt8] {
        var text = Array("apiVersion: trueup/v1\nkind: Dataset\nmetadata: {name: big}\nspec:\n  path: data/customers.csv\n".utf8)
        let padding = Array("# padding padding padding padding padding padding padding padding padding\n".utf8)
        text.reserveCapacity(bytes + padding.count)
        while text.count < bytes { text += padding }
        return Array(text.prefix(bytes - 1)) + [UInt8(ascii: "\n")]
    }
}
