import Foundation
import Testing
@testable import TrueupGit

@Suite("libgit2 set-up")
struct LibGit2SetUpTests {
    /// Debian's libgit2 (built with mbedTLS) names this bundle at set-up.
    private let systemBundle = "/etc/ssl/certs/ca-certificates.crt"

    @Test func setUpPutsOffTheCABundleAndRemotesLoadIt() throws {
        try LibGit2.ensureInitialized()
        if FileManager.default.fileExists(atPath: systemBundle) {
            // Recorded instead of parsed: every command that never connects skips the parse.
            #expect(LibGit2.deferredCertificateFile == systemBundle)
        }
        // What clone and fetch call first: the real parse, through mbedTLS, succeeds.
        try LibGit2.ensureCertificates()
        try LibGit2.ensureCertificates()
    }
}
