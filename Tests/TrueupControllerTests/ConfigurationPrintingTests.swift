import Testing
@testable import TrueupController

/// The service group names a failed service by printing it, context and configuration included:
/// the token and the webhook secret must not be in that text.
@Suite struct ConfigurationPrintingTests {
    struct HoldsIt { var configuration: ControllerConfiguration }

    @Test func printingTheConfigurationOrWhatHoldsItHidesItsSecrets() {
        let configuration = ControllerConfiguration(repository: "/srv/repo.git", stateDirectory: "/var/lib/trueup",
                                                    webhookSecret: "canary-secret-4c1d", apiToken: "canary-token-9f2e")
        for text in [String(describing: configuration), String(reflecting: configuration), String(describing: HoldsIt(configuration: configuration)),
                     String(reflecting: HoldsIt(configuration: configuration))] {
            #expect(!text.contains("canary-token-9f2e") && !text.contains("canary-secret-4c1d"), "\(text)")
            #expect(text.contains("/srv/repo.git"), "still says which controller: \(text)")
        }
        var dumped = ""
        dump(HoldsIt(configuration: configuration), to: &dumped)
        #expect(!dumped.contains("canary-token-9f2e") && !dumped.contains("canary-secret-4c1d"), "\(dumped)")
    }
}
