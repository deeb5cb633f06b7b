import Crypto
import Foundation

/// How trueup names content: the lowercase hex of a SHA-256 (dataset versions, job identities,
/// config hashes, prompt versions, webhook signatures).
///
/// Hex is written by hand from a table: `String(format: "%02x")` per byte went through
/// Foundation's formatter and was a tenth of a no-op plan of 3,000 resources.
public enum ContentDigest {
    public static func sha256(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    public static func sha256(_ text: String) -> String {
        sha256(Data(text.utf8))
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
