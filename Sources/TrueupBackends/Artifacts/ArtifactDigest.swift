import Crypto
import Foundation
import TrueupCore

/// The content digest of an artifact, the same for every store so that a digest recorded by one
/// (say in an MLflow tag) is checked by another: `sha256:<hex>`.
///
/// - a file: the sha256 of its bytes (so a one-file dataset keeps the digest it has in the catalog);
/// - a folder: the sha256 of its manifest, one line per entry in byte order of the relative path:
///   `<path>\0<sha256 of the file>\n` for a file, `<path>/\0dir\n` for an empty folder. Names,
///   content and layout count; timestamps and permissions do not.
public enum ArtifactDigest {
    public static let prefix = "sha256:"

    public static func of(path: String) throws -> String {
        prefix + (try hex(ofPath: path))
    }

    /// The hex part of a `sha256:<hex>` digest; nil when it is not one.
    public static func hex(of digest: String) -> String? {
        guard digest.hasPrefix(prefix) else { return nil }
        let hex = digest.dropFirst(prefix.count)
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return String(hex)
    }

    static func hex(ofPath path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ArtifactError("\(path) does not exist, so it has no digest")
        }
        guard isDirectory.boolValue else { return try fileHex(path) }
        let listed = try entries(of: path).map { entry -> (String, String?) in
            (entry.path, entry.isEmptyFolder ? nil : try fileHex((path as NSString).appendingPathComponent(entry.path)))
        }
        return manifestHex(listed)
    }

    /// The digest (hex) of a folder given as its entries in byte order of path: each file with
    /// the sha256 of its bytes, each empty folder with nil.
    static func manifestHex(_ entries: [(path: String, fileHex: String?)]) -> String {
        var manifest = ""
        for (path, fileHex) in entries {
            manifest += fileHex.map { "\(path)\u{0}\($0)\n" } ?? "\(path)/\u{0}dir\n"
        }
        return ContentDigest.sha256(manifest)
    }

    /// Files and empty folders below `root`, by relative path in byte order.
    static func entries(of root: String) throws -> [(path: String, isEmptyFolder: Bool)] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root) else { throw ArtifactError("cannot list the folder \(root)") }
        var result: [(path: String, isEmptyFolder: Bool)] = []
        while let relative = walker.nextObject() as? String {
            let full = (root as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                if (try fm.contentsOfDirectory(atPath: full)).isEmpty { result.append((relative, true)) }
            } else {
                result.append((relative, false))
            }
        }
        return result.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
    }

    static func fileHex(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ArtifactError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return ContentDigest.hex(hasher.finalize())
    }
}
