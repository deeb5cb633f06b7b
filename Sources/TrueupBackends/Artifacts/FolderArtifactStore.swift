import Foundation
import TrueupCore

/// An artifact store that is a folder on a filesystem, content addressed under `root`:
/// - `sha256/<hex>/`: an artifact's files; written beside and renamed into place, so it is complete
///   or absent; its files are made read-only, since `get` hands out this very folder;
/// - `lineage/<hex>/<key>.json`: one `ArtifactLineage` per run that produced the digest, `<key>`
///   being the first 32 hex digits of sha256("<run>\0<role>").
///
/// URIs: `file://<root>/sha256/<hex>` (a plain absolute path behind `file://`). The local store
/// (under trueup's state folder) and the path store (a mount shared with every node) are this
/// layout at two roots; the job runner that Ray backends ship writes the same layout with the same
/// digest rules (`ArtifactDigest`), so either side reads what the other wrote.
public protocol FolderArtifactStore: ArtifactStore {
    /// The store's folder (standardized, absolute).
    var root: String { get }
    /// How errors name the store ("local artifact store", "shared artifact store").
    var storeDescription: String { get }
}

extension FolderArtifactStore {
    public func folder(hex: String) -> String { (root as NSString).appendingPathComponent("sha256/\(hex)") }

    public func uri(forDigest digest: String) -> String {
        "file://" + folder(hex: ArtifactDigest.hex(of: digest) ?? digest)
    }

    public func reference(forURI uri: String) -> ArtifactReference? {
        let prefix = "file://" + (root as NSString).appendingPathComponent("sha256") + "/"
        guard uri.hasPrefix(prefix) else { return nil }
        let digest = ArtifactDigest.prefix + uri.dropFirst(prefix.count)
        guard ArtifactDigest.hex(of: digest) != nil else { return nil }
        return ArtifactReference(digest: digest, uri: uri)
    }

    public func digest(ofPath path: String) throws -> String {
        try ArtifactDigest.of(path: path)
    }

    public func put(folder source: String, lineage: ArtifactLineage?) async throws -> ArtifactReference {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ArtifactError("cannot store \(source) as an artifact: it is not a folder")
        }
        let digest = try ArtifactDigest.of(path: source)
        let hex = String(digest.dropFirst(ArtifactDigest.prefix.count))
        let destination = folder(hex: hex)
        if FileManager.default.fileExists(atPath: destination), (try? ArtifactDigest.of(path: destination)) != digest {
            // A stored copy that no longer has its digest (edited by hand): replaced by this one.
            try? FileManager.default.removeItem(atPath: destination)
        }
        try LocalFiles.createAtomically(destination) { temporary in
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
            // The source may have changed while it was copied: store only what has the digest.
            let copied = try ArtifactDigest.of(path: temporary)
            guard copied == digest else {
                throw ArtifactError("\(source) changed while it was being stored (\(digest) before, \(copied) after): store it again once nothing writes to it")
            }
            try Self.makeReadOnly(temporary)
        }
        if let lineage { try record(lineage, hex: hex) }
        return ArtifactReference(digest: digest, uri: uri(forDigest: digest))
    }

    public func get(_ reference: ArtifactReference) async throws -> String {
        guard let hex = ArtifactDigest.hex(of: reference.digest) else {
            throw ArtifactError("\(reference.digest) is not an artifact digest (sha256:<64 hex digits>)")
        }
        let path = folder(hex: hex)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArtifactError("the artifact \(reference.digest) is not in the \(storeDescription) \(root): it was never stored here or was deleted; run the job that produces it again (change its code or inputs, or remove its run)")
        }
        let actual = try ArtifactDigest.of(path: path)
        guard actual == reference.digest else {
            throw ArtifactError("the artifact \(reference.digest) at \(path) was modified: its content now has the digest \(actual); delete the folder and run the job that produces it again")
        }
        return path
    }

    public func lineage(ofDigest digest: String) async throws -> [ArtifactLineage] {
        guard let hex = ArtifactDigest.hex(of: digest) else { return [] }
        let folder = (root as NSString).appendingPathComponent("lineage/\(hex)")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }
        var records: [(Double, ArtifactLineage)] = []
        for name in names {
            guard let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(name)) else { continue }
            let stored = try JSONDecoder().decode(StoredLineage.self, from: data)
            records.append((stored.recordedAt, stored.lineage))
        }
        return records.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// One file per (run, role): recording the same run again keeps the first record.
    func record(_ lineage: ArtifactLineage, hex: String) throws {
        let folder = (root as NSString).appendingPathComponent("lineage/\(hex)")
        let file = (folder as NSString).appendingPathComponent(ContentDigest.sha256("\(lineage.run)\u{0}\(lineage.role)").prefix(32) + ".json")
        guard !FileManager.default.fileExists(atPath: file) else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(StoredLineage(lineage: lineage, recordedAt: Date().timeIntervalSince1970)).write(to: URL(fileURLWithPath: file), options: .atomic)
    }

    /// Files become read-only (folders stay writable, so the store can still be cleaned up).
    static func makeReadOnly(_ folder: String) throws {
        let fm = FileManager.default
        for entry in try ArtifactDigest.entries(of: folder) where !entry.isEmptyFolder {
            try fm.setAttributes([.posixPermissions: 0o444], ofItemAtPath: (folder as NSString).appendingPathComponent(entry.path))
        }
    }
}

/// A lineage file: `{"lineage": {...}, "recordedAt": <seconds since 1970>}` (the Ray runner writes
/// the same JSON).
struct StoredLineage: Codable {
    var lineage: ArtifactLineage
    var recordedAt: Double
}
