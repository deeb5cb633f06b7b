import Foundation
import Testing
import TrueupCore

/// An artifact store under test.
struct ArtifactStoreSubject: Sendable {
    /// A new client of one and the same store each time, as a restarted trueup would open it.
    var make: @Sendable () async throws -> any ArtifactStore
    /// Changes the stored content of an artifact behind the store's back (for a store on a server:
    /// overwrite the object through the server's own API).
    var tamper: @Sendable (ArtifactReference) async throws -> Void
}

/// What every `ArtifactStore` must do. Expected digests are written out (computed once with
/// `sha256sum` over the manifest described in ArtifactDigest), so the checks do not share code with
/// the implementation they check.
enum ArtifactStoreConformance {
    enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case nestedFoldersAndEmptyFilesRoundTrip
        case digestIsOfTheContentAsDocumented
        case sameContentSameDigest
        case differentContentDifferentDigest
        case unknownDigestIsAClearError
        case concurrentPutsOfTheSameContent
        case changedContentIsDetected
        case lineageSaysWhichRunProducedIt
        case uriLeadsBackToTheReference

        var testDescription: String { rawValue }
    }

    static func run(_ check: Check, on subject: ArtifactStoreSubject) async throws {
        try await ScratchFolder.with("trueup-artifact-source") { scratch in
            let store = try await subject.make()
            switch check {
            case .nestedFoldersAndEmptyFilesRoundTrip: try await nestedFoldersAndEmptyFilesRoundTrip(store, subject, scratch)
            case .digestIsOfTheContentAsDocumented: try await digestIsOfTheContentAsDocumented(store, scratch)
            case .sameContentSameDigest: try await sameContentSameDigest(store, scratch)
            case .differentContentDifferentDigest: try await differentContentDifferentDigest(store, scratch)
            case .unknownDigestIsAClearError: try await unknownDigestIsAClearError(store)
            case .concurrentPutsOfTheSameContent: try await concurrentPutsOfTheSameContent(subject, scratch)
            case .changedContentIsDetected: try await changedContentIsDetected(store, subject, scratch)
            case .lineageSaysWhichRunProducedIt: try await lineageSaysWhichRunProducedIt(store, scratch)
            case .uriLeadsBackToTheReference: try await uriLeadsBackToTheReference(store, scratch)
            }
        }
    }

    /// A model-like folder: nested folders, an empty file, an empty folder, a unique marker so that
    /// a shared long-lived store has never seen the content.
    static func sample(in scratch: ScratchFolder, _ name: String, marker: String) throws -> String {
        let root = scratch.file(name)
        try Files.write("{\"weights\": [0.5, 1.5]}\n", to: root + "/model.json")
        try Files.write("", to: root + "/empty.txt")
        try Files.write(marker + "\n", to: root + "/nested/deeper/marker.txt")
        try FileManager.default.createDirectory(atPath: root + "/nested/hollow", withIntermediateDirectories: true)
        return root
    }

    /// Every file below `folder` with its bytes, and every empty folder, by relative path.
    static func contents(of folder: String) throws -> [String: Data?] {
        var result: [String: Data?] = [:]
        for case let relative as String in FileManager.default.enumerator(atPath: folder)?.allObjects ?? [] {
            let full = (folder as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                if try FileManager.default.contentsOfDirectory(atPath: full).isEmpty { result[relative + "/"] = .some(nil) }
            } else {
                result[relative] = FileManager.default.contents(atPath: full)
            }
        }
        return result
    }

    // MARK: - Checks

    static func nestedFoldersAndEmptyFilesRoundTrip(_ store: any ArtifactStore, _ subject: ArtifactStoreSubject, _ scratch: ScratchFolder) async throws {
        let source = try sample(in: scratch, "model", marker: UniqueName.make("round-trip"))
        let reference = try await store.put(folder: source, lineage: nil)
        #expect(reference.digest.hasPrefix("sha256:") && reference.digest.count == 71, "digest: \(reference.digest)")
        // Another client of the same store (a later trueup) gets the same files back.
        let folder = try await subject.make().get(reference)
        let got = try contents(of: folder)
        #expect(got == (try contents(of: source)))
        #expect(got["empty.txt"] == .some(Data()), "the empty file comes back, empty")
        #expect(got["nested/hollow/"] != nil, "the empty folder comes back")
        // Changing the source afterwards does not change what was stored.
        try Files.write("changed\n", to: source + "/model.json")
        #expect(try contents(of: try await store.get(reference))["model.json"] == .some(Data("{\"weights\": [0.5, 1.5]}\n".utf8)))
    }

    static func digestIsOfTheContentAsDocumented(_ store: any ArtifactStore, _ scratch: ScratchFolder) async throws {
        // a.txt "a\n" and b/c.txt "" : manifest "a.txt\0<sha(a\n)>\nb/c.txt\0<sha()>\n".
        let root = scratch.file("fixed")
        try Files.write("a\n", to: root + "/a.txt")
        try Files.write("", to: root + "/b/c.txt")
        let digest = try store.digest(ofPath: root)
        #expect(digest == "sha256:88f5a7c4d4f8e1f46fa600e4d8c654d4e2447450c6b8f094c223c7a67510efab")
        let reference = try await store.put(folder: root, lineage: nil)
        #expect(reference.digest == digest, "put and digest agree")
        // A single file's digest is the sha256 of its bytes (sha256sum of "a\n").
        #expect(try store.digest(ofPath: root + "/a.txt") == "sha256:87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7")
    }

    static func sameContentSameDigest(_ store: any ArtifactStore, _ scratch: ScratchFolder) async throws {
        let marker = UniqueName.make("same")
        let first = try await store.put(folder: try sample(in: scratch, "one", marker: marker), lineage: nil)
        let second = try await store.put(folder: try sample(in: scratch, "two", marker: marker), lineage: nil)
        #expect(first == second, "the folder's name is not part of its content")
    }

    static func differentContentDifferentDigest(_ store: any ArtifactStore, _ scratch: ScratchFolder) async throws {
        let marker = UniqueName.make("different")
        let base = try await store.put(folder: try sample(in: scratch, "base", marker: marker), lineage: nil)
        let edited = try sample(in: scratch, "edited", marker: marker)
        try Files.write("x", to: edited + "/empty.txt")
        let renamed = try sample(in: scratch, "renamed", marker: marker)
        try FileManager.default.moveItem(atPath: renamed + "/model.json", toPath: renamed + "/model2.json")
        let hollowGone = try sample(in: scratch, "hollow-gone", marker: marker)
        try FileManager.default.removeItem(atPath: hollowGone + "/nested/hollow")
        var digests = [base.digest]
        for folder in [edited, renamed, hollowGone] { digests.append(try await store.put(folder: folder, lineage: nil).digest) }
        #expect(Set(digests).count == 4, "content, names and empty folders all count: \(digests)")
        #expect(try contents(of: try await store.get(base))["model.json"] != nil, "the first one is still there as it was")
    }

    static func unknownDigestIsAClearError(_ store: any ArtifactStore) async throws {
        let digest = "sha256:" + String(repeating: "0", count: 63) + "1"
        let reference = ArtifactReference(digest: digest, uri: store.uri(forDigest: digest))
        do {
            _ = try await store.get(reference)
            Issue.record("getting an artifact that was never stored must fail")
        } catch {
            let text = message(of: error)
            #expect(text.contains(digest), "names the digest: \(text)")
            #expect(text.contains("run the job"), "says what to do: \(text)")
        }
    }

    static func concurrentPutsOfTheSameContent(_ subject: ArtifactStoreSubject, _ scratch: ScratchFolder) async throws {
        let marker = UniqueName.make("concurrent")
        var sources: [String] = []
        for index in 0..<6 { sources.append(try sample(in: scratch, "copy-\(index)", marker: marker)) }
        let references = try await withThrowingTaskGroup(of: ArtifactReference.self) { group in
            for source in sources {
                group.addTask { try await subject.make().put(folder: source, lineage: nil) }
            }
            return try await group.reduce(into: [ArtifactReference]()) { $0.append($1) }
        }
        #expect(Set(references).count == 1, "every writer gets the same reference: \(Set(references))")
        let folder = try await subject.make().get(references[0])
        #expect(try contents(of: folder) == (try contents(of: sources[0])), "one complete copy")
    }

    static func changedContentIsDetected(_ store: any ArtifactStore, _ subject: ArtifactStoreSubject, _ scratch: ScratchFolder) async throws {
        let reference = try await store.put(folder: try sample(in: scratch, "victim", marker: UniqueName.make("tamper")), lineage: nil)
        try await subject.tamper(reference)
        do {
            _ = try await store.get(reference)
            Issue.record("a stored artifact whose content changed must not be handed out")
        } catch {
            let text = message(of: error)
            #expect(text.contains(reference.digest) && text.contains("modified"), "says which and what: \(text)")
        }
        // Putting the original content again repairs it.
        let again = try await store.put(folder: try sample(in: scratch, "victim-again", marker: String(try #require(Files.read(scratch.file("victim/nested/deeper/marker.txt"))).dropLast())), lineage: nil)
        #expect(again == reference)
        _ = try await store.get(reference)
    }

    static func lineageSaysWhichRunProducedIt(_ store: any ArtifactStore, _ scratch: ScratchFolder) async throws {
        let marker = UniqueName.make("lineage")
        let first = ArtifactLineage(run: UniqueName.make("run"), environment: "dev", job: "train", commit: "c1", role: "model")
        let second = ArtifactLineage(run: UniqueName.make("run"), environment: "staging", job: "train", commit: "c2", role: "model")
        let reference = try await store.put(folder: try sample(in: scratch, "a", marker: marker), lineage: first)
        _ = try await store.put(folder: try sample(in: scratch, "b", marker: marker), lineage: second)
        _ = try await store.put(folder: try sample(in: scratch, "c", marker: marker), lineage: first)
        #expect(try await store.lineage(ofDigest: reference.digest) == [first, second], "each run once, oldest first")
        #expect(try await store.lineage(ofDigest: "sha256:" + String(repeating: "a", count: 64)).isEmpty)
    }

    static func uriLeadsBackToTheReference(_ store: any ArtifactStore, _ scratch: ScratchFolder) async throws {
        let reference = try await store.put(folder: try sample(in: scratch, "u", marker: UniqueName.make("uri")), lineage: nil)
        #expect(reference.uri == store.uri(forDigest: reference.digest))
        #expect(store.reference(forURI: reference.uri) == reference)
        #expect(store.reference(forURI: "s3://bucket/churn/v7") == nil, "a URI of elsewhere is not this store's")
        #expect(store.reference(forURI: "/srv/models/churn/1") == nil, "nor is a plain path")
    }
}
