import Crypto
import Foundation
import TrueupCore

/// The content-addressed data catalog: `data/<sha256>/<file>` plus each environment's current version.
public struct LocalDataCatalog: DataBackend {
    let store: LocalBackendStore
    let paths: LocalPaths

    public init(store: LocalBackendStore, paths: LocalPaths) {
        self.store = store
        self.paths = paths
    }

    public func observe(environment: String) async throws -> [String: ObservedDataset] {
        var result: [String: ObservedDataset] = [:]
        for (name, version) in try store.currentDatasets(environment: environment) {
            // Verified on every observation (DESIGN §2): an edited file is drift.
            var problem: String?
            if !FileManager.default.fileExists(atPath: version.location) {
                problem = "the stored file \(version.location) is missing"
            } else if let actual = try? Self.sha256(ofPath: version.location), actual != version.version {
                problem = "the stored file \(version.location) was modified: its sha256 is now \(actual), not \(version.version)"
            }
            result[name] = ObservedDataset(current: version, problem: problem)
        }
        return result
    }

    public func register(_ request: DatasetRegistration) async throws -> DatasetVersion {
        var source = request.sourcePath
        // A `data/` folder holding a single file is that file (DESIGN §2, job outputs).
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw BackendError("dataset \(request.name): \(source) does not exist")
        }
        if isDirectory.boolValue {
            let files = try FileManager.default.contentsOfDirectory(atPath: source).filter { !$0.hasPrefix(".") }.sorted()
            if files.count == 1 { source = (source as NSString).appendingPathComponent(files[0]) }
        }
        let digest = try Self.sha256(ofPath: source)
        if let expected = request.expectedSHA256, expected != digest {
            throw BackendError("dataset \(request.name): content has sha256 \(digest), not the pinned \(expected): update spec.sha256 if the change is intended")
        }
        let folder = paths.dataVersion(digest)
        let location = (folder as NSString).appendingPathComponent((source as NSString).lastPathComponent)
        if !FileManager.default.fileExists(atPath: location) || (try? Self.sha256(ofPath: location)) != digest {
            try? FileManager.default.removeItem(atPath: location)
            try LocalFiles.copyAtomically(from: source, to: location)
        }
        let size = Self.size(ofPath: location)
        let version = DatasetVersion(version: digest, size: size, location: location, producingRun: request.producingRun)
        try store.registerDatasetVersion(environment: request.environment, name: request.name, version: version, at: Date().timeIntervalSince1970)
        return version
    }

    public func remove(environment: String, name: String) async throws {
        try store.removeCurrentDataset(environment: environment, name: name)
    }

    /// sha256 of a file, or of a folder as the sorted list of its files' relative paths and hashes.
    public static func sha256(ofPath path: String) throws -> String {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
            var manifest = ""
            for file in files {
                let full = (path as NSString).appendingPathComponent(file)
                var sub: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue {
                    manifest += "\(file)\u{0}\(try sha256(ofPath: full))\n"
                }
            }
            return ContentDigest.sha256(manifest)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackendError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return ContentDigest.hex(hasher.finalize())
    }

    static func size(ofPath path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}

