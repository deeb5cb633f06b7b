import Foundation
import TrueupCore

/// The `mlflow` artifact store (`spec.artifacts: {type: mlflow}`, the default with an MLflow
/// registry): artifacts kept on the registry's tracking server through its artifact proxy
/// (`/api/2.0/mlflow-artifacts/artifacts/`), so that trueup and every node of a cluster reach them
/// over HTTP without a shared filesystem.
///
/// Layout, below `mlflow-artifacts:/trueup-artifacts/`:
/// - `sha256/<hex>/files/<relative path>`: the artifact's files;
/// - `sha256/<hex>/manifest.json`: its entries (files with their sha256, empty folders), uploaded
///   last, so an artifact without one is incomplete (a put interrupted before it) and unknown;
/// - `lineage/<hex>/<key>.json`: one `StoredLineage` per run that produced the digest, `<key>`
///   being the first 32 hex digits of sha256("<run>\0<role>"), as in `FolderArtifactStore`.
///
/// URIs: `mlflow-artifacts:/trueup-artifacts/sha256/<hex>`. `get` downloads into a cache folder
/// under trueup's state folder and checks the digest there, every time it hands the folder out:
/// nothing on the server or on disk is trusted.
public struct MLflowArtifactStore: ArtifactStore {
    public static let rootPath = "trueup-artifacts"
    static let uriPrefix = "mlflow-artifacts:/\(rootPath)/sha256/"

    let client: MLflowClient
    /// Downloaded artifacts: `<cache>/<hex>`.
    let cache: String

    public init(client: MLflowClient, stateDirectory: String) {
        self.client = client
        self.cache = (stateDirectory as NSString).appendingPathComponent("artifacts-cache/mlflow")
    }

    /// The tracking server's URL (what the Ray job runner is told to fetch from).
    public var server: String { client.server }

    /// One entry of an artifact's manifest.
    struct Entry: Codable, Equatable {
        var path: String
        /// The file's sha256 (hex); nil for an empty folder.
        var sha256: String?
    }

    struct Manifest: Codable {
        var digest: String
        var entries: [Entry]
    }

    public func digest(ofPath path: String) throws -> String {
        try ArtifactDigest.of(path: path)
    }

    public func uri(forDigest digest: String) -> String {
        Self.uriPrefix + (ArtifactDigest.hex(of: digest) ?? digest)
    }

    public func reference(forURI uri: String) -> ArtifactReference? {
        guard uri.hasPrefix(Self.uriPrefix) else { return nil }
        let digest = ArtifactDigest.prefix + uri.dropFirst(Self.uriPrefix.count)
        guard ArtifactDigest.hex(of: digest) != nil else { return nil }
        return ArtifactReference(digest: digest, uri: uri)
    }

    public func put(folder source: String, lineage: ArtifactLineage?) async throws -> ArtifactReference {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ArtifactError("cannot store \(source) as an artifact: it is not a folder")
        }
        let digest = try ArtifactDigest.of(path: source)
        let hex = String(digest.dropFirst(ArtifactDigest.prefix.count))
        // Every file is uploaded even when the manifest is there already: a manifest says the
        // files were complete once, not that nobody changed one since, and putting the content
        // again is how a damaged artifact is repaired. Same bytes, same objects: nothing new.
        do {
            var entries: [Entry] = []
            for entry in try ArtifactDigest.entries(of: source) {
                if entry.isEmptyFolder {
                    entries.append(Entry(path: entry.path, sha256: nil))
                    continue
                }
                let full = (source as NSString).appendingPathComponent(entry.path)
                guard let data = FileManager.default.contents(atPath: full) else { throw ArtifactError("cannot read \(full)") }
                entries.append(Entry(path: entry.path, sha256: ContentDigest.sha256(data)))
                try await client.putArtifact("\(Self.rootPath)/sha256/\(hex)/files/\(entry.path)", bytes: Array(data))
            }
            // The files uploaded must be the ones the digest was taken of.
            let uploaded = ArtifactDigest.manifestHex(entries.map { ($0.path, $0.sha256) })
            guard ArtifactDigest.prefix + uploaded == digest else {
                throw ArtifactError("\(source) changed while it was being stored (\(digest) before, sha256:\(uploaded) after): store it again once nothing writes to it")
            }
            try await client.putArtifact("\(Self.rootPath)/sha256/\(hex)/manifest.json", bytes: Array(try Self.encoder.encode(Manifest(digest: digest, entries: entries))))
        }
        if let lineage { try await record(lineage, hex: hex) }
        return ArtifactReference(digest: digest, uri: uri(forDigest: digest))
    }

    public func get(_ reference: ArtifactReference) async throws -> String {
        guard let hex = ArtifactDigest.hex(of: reference.digest) else {
            throw ArtifactError("\(reference.digest) is not an artifact digest (sha256:<64 hex digits>)")
        }
        let folder = (cache as NSString).appendingPathComponent(hex)
        if FileManager.default.fileExists(atPath: folder) {
            if (try? ArtifactDigest.of(path: folder)) == reference.digest { return folder }
            // A cached copy changed on disk: fetched again.
            try FileManager.default.removeItem(atPath: folder)
        }
        guard let manifest = try await storedManifest(hex: hex) else {
            throw ArtifactError("the artifact \(reference.digest) is not in the MLflow artifact store at \(client.server) (\(uri(forDigest: reference.digest))): it was never stored there or was deleted; run the job that produces it again")
        }
        try await Self.download(manifest, hex: hex, client: client, into: folder)
        let actual = try ArtifactDigest.of(path: folder)
        guard actual == reference.digest else {
            try? FileManager.default.removeItem(atPath: folder)
            throw ArtifactError("the artifact \(reference.digest) in the MLflow artifact store at \(client.server) was modified: its files now have the digest \(actual); delete \(uri(forDigest: reference.digest)) there and run the job that produces it again")
        }
        return folder
    }

    public func lineage(ofDigest digest: String) async throws -> [ArtifactLineage] {
        guard let hex = ArtifactDigest.hex(of: digest) else { return [] }
        var records: [(Double, ArtifactLineage)] = []
        for file in try await client.listArtifacts("\(Self.rootPath)/lineage/\(hex)") where !file.isDir && file.path.hasSuffix(".json") {
            let bytes = try await client.getArtifact(file.path)
            let stored = try JSONDecoder().decode(StoredLineage.self, from: Data(bytes))
            records.append((stored.recordedAt, stored.lineage))
        }
        return records.sorted { $0.0 < $1.0 }.map(\.1)
    }

    // MARK: - Parts

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// The manifest of `hex`, nil when the server has none (never stored, or a put that did not finish).
    func storedManifest(hex: String) async throws -> Manifest? {
        let bytes: [UInt8]
        do {
            bytes = try await client.getArtifact("\(Self.rootPath)/sha256/\(hex)/manifest.json")
        } catch let error as MLflowError where error.isNotFound {
            return nil
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(bytes)) else {
            throw ArtifactError("the manifest of sha256:\(hex) in the MLflow artifact store at \(client.server) is not one trueup wrote: delete \(Self.uriPrefix)\(hex) there and run the job that produces it again")
        }
        return manifest
    }

    /// Downloads every entry into `folder`, atomically (a crash leaves no half folder behind).
    static func download(_ manifest: Manifest, hex: String, client: MLflowClient, into folder: String) async throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: (folder as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = folder + ".partial-\(getpid())-\(UUID().uuidString.prefix(8))"
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            for entry in manifest.entries {
                guard !entry.path.split(separator: "/").contains("..") else {
                    throw ArtifactError("the manifest of sha256:\(hex) names \(entry.path), outside the artifact: delete it on the server")
                }
                let target = (temporary as NSString).appendingPathComponent(entry.path)
                if entry.sha256 == nil {
                    try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
                    continue
                }
                let bytes = try await client.getArtifact("\(rootPath)/sha256/\(hex)/files/\(entry.path)")
                try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: target))
            }
            try fm.moveItem(atPath: temporary, toPath: folder)
        } catch {
            try? fm.removeItem(atPath: temporary)
            // Another get of the same artifact finished first: its folder serves.
            if !fm.fileExists(atPath: folder) { throw error }
        }
    }

    /// One lineage file per (run, role): recording the same run again keeps the first record.
    func record(_ lineage: ArtifactLineage, hex: String) async throws {
        let key = ContentDigest.sha256("\(lineage.run)\u{0}\(lineage.role)").prefix(32)
        let path = "\(Self.rootPath)/lineage/\(hex)/\(key).json"
        do {
            _ = try await client.getArtifact(path)
            return
        } catch let error as MLflowError where error.isNotFound {}
        try await client.putArtifact(path, bytes: Array(try Self.encoder.encode(StoredLineage(lineage: lineage, recordedAt: Date().timeIntervalSince1970))))
    }
}
