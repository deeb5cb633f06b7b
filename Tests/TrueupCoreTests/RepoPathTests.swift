import Testing
@testable import TrueupCore

@Suite("Repository paths")
struct RepoPathTests {
    /// The one-pass check must say "normal" exactly when splitting and joining would give the
    /// path back unchanged, or a path would be accepted in a form the snapshot then refuses.
    @Test func normalFormIsRecognisedWithoutSplitting() {
        let paths = [
            "ml/churn", "ml/churn/data/raw.csv", "a", ".hidden/file", "a/.../b", "a/..b", "a/b..", "x.y/z",
            "a/", "a//b", "./a", "a/./b", "a/.", "a/../b", "..", ".", "/abs", "~home", "", "a/b/", "ml//churn/",
        ]
        for path in paths {
            let slow = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }.joined(separator: "/")
            let expected = !path.isEmpty && !path.hasPrefix("/") && !path.hasPrefix("~") && !path.split(separator: "/").contains("..") && slow == path
            #expect(RepoPath.isNormal(path) == expected, "isNormal(\(path))")
        }
    }

    @Test func normalisingGivesTheSameAnswersAsBefore() throws {
        #expect(try RepoPath.normalise("ml/./churn//data/").get() == "ml/churn/data")
        #expect(try RepoPath.normalise("ml/churn").get() == "ml/churn")
        if case .failure(let problem) = RepoPath.normalise("ml/../etc") {
            #expect(problem.message.contains("contains '..'"))
        } else {
            Issue.record("'..' was accepted")
        }
        if case .failure(let problem) = RepoPath.normalise("/etc/passwd") {
            #expect(problem.message.contains("is absolute"))
        } else {
            Issue.record("an absolute path was accepted")
        }
    }
}
