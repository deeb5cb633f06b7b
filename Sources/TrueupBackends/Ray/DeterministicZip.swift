import Foundation

/// A zip archive whose bytes depend only on the files' relative paths, contents and executable
/// bits: same tree, same bytes, hence the same content-addressed package name on the cluster.
///
/// Written by hand because no listed Swift package writes zip files and Foundation on Linux has
/// none; zlib is not a module Swift can import here. Entries are STORED (not compressed), which
/// keeps the writer small and the output independent of any compressor's version; code trees are
/// small. Every entry has the DOS timestamp 1980-01-01 00:00, the Unix mode 0644 or 0755 (as git
/// records them) and no extra fields; entries are sorted by the bytes of their path.
public enum DeterministicZip {
    public struct Entry: Sendable {
        public var path: String
        public var data: Data
        public var executable: Bool

        public init(path: String, data: Data, executable: Bool = false) {
            self.path = path
            self.data = data
            self.executable = executable
        }
    }

    /// The archive of `entries`; paths use `/` and are relative.
    public static func archive(_ entries: [Entry]) throws -> Data {
        let sorted = entries.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        var output = Data()
        var central = Data()
        for entry in sorted {
            let name = Data(entry.path.utf8)
            guard !entry.path.hasPrefix("/"), !entry.path.split(separator: "/").contains(".."), name.count <= 0xFFFF else {
                throw ZipError("cannot put \(entry.path) into a code package: zip paths must be relative, without '..', and shorter than 64 KiB")
            }
            guard entry.data.count < 0xFFFF_FFFF, output.count < 0xFFFF_FFFF else {
                throw ZipError("cannot put \(entry.path) into a code package: the package would exceed 4 GiB (zip64 is not written); keep data out of the job's code folder")
            }
            let crc = CRC32.checksum(entry.data)
            let offset = UInt32(output.count)
            let mode: UInt32 = entry.executable ? 0o100755 : 0o100644
            // Local file header.
            output.append(le32: 0x0403_4b50)
            output.append(le16: 20)  // version needed: 2.0
            output.append(le16: 0x0800)  // flags: names are UTF-8
            output.append(le16: 0)  // method: stored
            output.append(le16: 0)  // time 00:00
            output.append(le16: 0x21)  // date 1980-01-01
            output.append(le32: crc)
            output.append(le32: UInt32(entry.data.count))
            output.append(le32: UInt32(entry.data.count))
            output.append(le16: UInt16(name.count))
            output.append(le16: 0)  // extra length
            output.append(name)
            output.append(entry.data)
            // Central directory record.
            central.append(le32: 0x0201_4b50)
            central.append(le16: 0x0314)  // made by: Unix, 2.0 (so the mode below is read)
            central.append(le16: 20)
            central.append(le16: 0x0800)
            central.append(le16: 0)
            central.append(le16: 0)
            central.append(le16: 0x21)
            central.append(le32: crc)
            central.append(le32: UInt32(entry.data.count))
            central.append(le32: UInt32(entry.data.count))
            central.append(le16: UInt16(name.count))
            central.append(le16: 0)  // extra
            central.append(le16: 0)  // comment
            central.append(le16: 0)  // disk
            central.append(le16: 0)  // internal attributes
            central.append(le32: mode << 16)
            central.append(le32: offset)
            central.append(name)
        }
        guard sorted.count < 0xFFFF else { throw ZipError("a code package holds at most 65,534 files (zip64 is not written); this one has \(sorted.count)") }
        let centralOffset = UInt32(output.count)
        output.append(central)
        // End of central directory.
        output.append(le32: 0x0605_4b50)
        output.append(le16: 0)
        output.append(le16: 0)
        output.append(le16: UInt16(sorted.count))
        output.append(le16: UInt16(sorted.count))
        output.append(le32: UInt32(central.count))
        output.append(le32: centralOffset)
        output.append(le16: 0)
        return output
    }

    /// Every regular file below `folder` (symbolic links are followed and stored as the file they
    /// point to; empty folders cannot be expressed in a git tree and are left out).
    public static func entries(ofFolder folder: String) throws -> [Entry] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: folder) else { throw ZipError("cannot list the folder \(folder)") }
        var entries: [Entry] = []
        while let relative = walker.nextObject() as? String {
            let full = (folder as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            guard let data = fm.contents(atPath: full) else { throw ZipError("cannot read \(full) to put it into the code package") }
            let permissions = (try fm.attributesOfItem(atPath: full)[.posixPermissions] as? Int) ?? 0o644
            entries.append(Entry(path: relative, data: data, executable: permissions & 0o111 != 0))
        }
        return entries
    }
}

public struct ZipError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// CRC-32 (IEEE 802.3, the zip checksum), table driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { bytes in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}

extension Data {
    fileprivate mutating func append(le16 value: UInt16) {
        append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8)])
    }

    fileprivate mutating func append(le32 value: UInt32) {
        append(contentsOf: [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)])
    }
}
