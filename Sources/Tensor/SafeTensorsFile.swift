import Foundation

/// One `.safetensors` file, memory-mapped and validated before anything in it is trusted.
///
/// Format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
/// `{"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`,
/// then the data section; offsets are relative to its start.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Headers larger than this are refused before any allocation (safetensors itself uses 100 MB).
    public static let maxHeaderBytes = 100_000_000

    public struct Entry: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let dataRange: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    /// Names in file order (by data offset).
    public var names: [String] { entries.sorted { $0.value.dataRange.lowerBound < $1.value.dataRange.lowerBound }.map(\.key) }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw SafeTensorsError(file: path, .fileTooSmall(size: bytes.count)) }
        let claimed = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard claimed <= UInt64(Self.maxHeaderBytes) else {
            throw SafeTensorsError(file: path, .headerTooLarge(claimed: claimed, limit: Self.maxHeaderBytes))
        }
        guard 8 + Int(claimed) <= bytes.count else {
            throw SafeTensorsError(file: path, .headerPastEndOfFile(claimed: claimed, fileSize: bytes.count))
        }
        let headerLength = Int(claimed)
        dataStart = 8 + headerLength
        let header = Data(bytes[8..<dataStart])
        (entries, metadata) = try Self.parseHeader(header, dataSize: bytes.count - dataStart, path: path)
    }

    /// The tensor's bytes, borrowed from the mapping (no copy).
    public func tensor(_ name: String) throws -> StoredTensor {
        guard let e = entries[name] else { throw SafeTensorsError(file: path, tensor: name, .missingTensor) }
        let slice = UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + e.dataRange.lowerBound)..<(dataStart + e.dataRange.upperBound)])
        return StoredTensor(dtype: e.dtype, shape: e.shape, bytes: slice, owner: file)
    }

    static func parseHeader(_ header: Data, dataSize: Int, path: String) throws -> ([String: Entry], [String: String]) {
        let items: [String: HeaderItem]
        do {
            items = try JSONDecoder().decode([String: HeaderItem].self, from: header)
        } catch DecodingError.typeMismatch {
            throw SafeTensorsError(file: path, .invalidJSON("the top level is not an object"))
        } catch {
            let reason = (error as? DecodingError).map(Self.describe) ?? "\(error)"
            throw SafeTensorsError(file: path, .invalidJSON(reason))
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, item) in items {
            switch item {
            case .metadata(let m):
                metadata = m
            case .malformed(let why):
                throw SafeTensorsError(file: path, tensor: name == "__metadata__" ? nil : name, .invalidEntry(why))
            case .entry(let raw):
                entries[name] = try validate(raw, name: name, dataSize: dataSize, path: path)
            }
        }
        // Overlap check: sorted by start, each non-empty range must begin at or after the previous end.
        let sorted = entries.filter { !$0.value.dataRange.isEmpty }.sorted {
            ($0.value.dataRange.lowerBound, $0.key) < ($1.value.dataRange.lowerBound, $1.key)
        }
        for (previous, current) in zip(sorted, sorted.dropFirst())
        where current.value.dataRange.lowerBound < previous.value.dataRange.upperBound {
            throw SafeTensorsError(file: path, tensor: current.key, .overlapping(other: previous.key))
        }
        return (entries, metadata)
    }

    private static func validate(_ raw: RawEntry, name: String, dataSize: Int, path: String) throws -> Entry {
        guard let dtype = DType(rawValue: raw.dtype) else {
            throw SafeTensorsError(file: path, tensor: name, .unknownDType(raw.dtype))
        }
        var elements = 1
        for n in raw.shape {
            guard n >= 0 else { throw SafeTensorsError(file: path, tensor: name, .invalidEntry("shape \(raw.shape) has a negative dimension")) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: n)
            guard !overflow else { throw SafeTensorsError(file: path, tensor: name, .invalidEntry("shape \(raw.shape) overflows")) }
            elements = product
        }
        guard raw.dataOffsets.count == 2 else {
            throw SafeTensorsError(file: path, tensor: name, .invalidEntry("'data_offsets' must hold two integers"))
        }
        let begin = raw.dataOffsets[0], end = raw.dataOffsets[1]
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw SafeTensorsError(file: path, tensor: name, .offsetsOutOfBounds(begin: begin, end: end, dataSize: dataSize))
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, expected == end - begin else {
            throw SafeTensorsError(file: path, tensor: name, .sizeMismatch(expectedBytes: overflow ? Int.max : expected, actualBytes: end - begin))
        }
        return Entry(dtype: dtype, shape: raw.shape, dataRange: begin..<end)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c): return c.underlyingError.map { "\($0)" } ?? c.debugDescription
        default: return "\(error)"
        }
    }
}

/// A header entry as written, before validation.
struct RawEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let dataOffsets: [Int]
    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

/// One value of the header object: the metadata map, a tensor entry, or something malformed
/// (kept so that the error can name the tensor instead of failing the whole decode vaguely).
enum HeaderItem: Decodable {
    case metadata([String: String])
    case entry(RawEntry)
    case malformed(String)

    init(from decoder: Decoder) throws {
        if decoder.codingPath.last?.stringValue == "__metadata__" {
            if let m = try? [String: String](from: decoder) { self = .metadata(m) }
            else { self = .malformed("__metadata__ must map strings to strings") }
            return
        }
        do {
            self = .entry(try RawEntry(from: decoder))
        } catch DecodingError.keyNotFound(let key, _) {
            self = .malformed("missing '\(key.stringValue)'")
        } catch DecodingError.typeMismatch(_, let context) {
            let field = context.codingPath.dropFirst().first?.stringValue ?? "entry"
            self = .malformed("'\(field)' has the wrong type (expected \(field == "dtype" ? "a string" : field == "entry" ? "an object" : "integers"))")
        } catch {
            self = .malformed("\(error)")
        }
    }
}
