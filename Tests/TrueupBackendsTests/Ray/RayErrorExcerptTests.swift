import Testing
@testable import TrueupBackends

/// What an error shows of a long answer from the Ray dashboard.
struct RayErrorExcerptTests {
    @Test func aLongTracebackKeepsItsStartAndTheExceptionAtItsEnd() {
        let frames = (0..<40).map { "  File \"/venv/ray/dashboard/module\($0).py\", line \($0), in handler\($0)\n    return await f(self)" }
        let traceback = "Traceback (most recent call last):\n" + frames.joined(separator: "\n")
            + "\nray.serve.exceptions.RayServeException: the Serve controller did not start within 30 s"
        let shown = RayClient.excerpt(traceback)
        #expect(shown.hasPrefix("Traceback (most recent call last):"))
        #expect(shown.hasSuffix("RayServeException: the Serve controller did not start within 30 s"))
        #expect(shown.contains(" … "))
        #expect(shown.count < 610)
    }

    @Test func aShortAnswerIsShownWhole() {
        #expect(RayClient.excerpt("  not found\n") == "not found")
    }
}
