import Crypto
import Foundation

/// How trueup names content: the lowercase hex of a SHA-256 (dataset versions, job identities,
/// config hashes, prompt versions, webhook signatures).
///
/// Hex is written by hand: `String(format: "%02x")` per byte went through Foundation's formatter
/// and was a tenth of a no-op plan of 3,000 resources.
public enum ContentDigest {
    public static func sha256(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    public static func sha256(_ text: String) -> String {
        sha256(Data(text.utf8))
    }

    /// From the bytes in place, into a string made at its final size: a digest read as a
    /// sequence is copied into an array first, and a growing array of digits made this a quarter
    /// of the allocations of a plan (each cached spec file's digest is checked).
    public static func hex(_ bytes: some ContiguousBytes) -> String {
        bytes.withUnsafeBytes { hex($0) }
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var index = 0
            for byte in bytes {
                out[index] = digit(byte >> 4)
                out[index + 1] = digit(byte & 0x0f)
                index += 2
            }
            return index
        }
    }

    /// The lowercase hex digit of a value below 16.
    @inline(__always)
    private static func digit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") - 10 + value
    }
}
