import Foundation

/// One `.safetensors` file, memory-mapped and validated before anything in it is trusted.
///
/// Format (huggingface/safetensors, `safetensors/src/tensor.rs`): an 8-byte little-endian header
/// length N, N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`,
/// then the data section; offsets are relative to its start.
///
/// Validation mirrors the Rust reader's `read_metadata` / `Metadata::validate`, and the header is
/// parsed by a strict JSON parser of our own (`HeaderJSON`) rather than `JSONDecoder`, so that
/// 64-bit offsets are read exactly, numbers with a fraction or exponent are refused (serde refuses
/// them for `usize` too), nesting is bounded (no stack overflow on `[[[[...`) and duplicate keys
/// are seen. Decisions where the Rust reader differs:
/// - Duplicate keys (tensor names, fields of an entry, metadata keys) are refused with
///   `.duplicateKey`; serde_json silently keeps the last one, which makes such a file mean
///   different things to different readers.
/// - Gaps between tensors and bytes after the last tensor are accepted (the Rust reader requires
///   the tensors to tile the data section exactly). They are harmless to read; overlapping
///   tensors are refused.
/// - `"__metadata__": null` is accepted as no metadata, as serde's `Option` accepts it.
/// - Unknown fields inside an entry are ignored, as serde does.
/// Every check runs at `init`; after it, `tensor(_:)` can only hand out byte ranges inside the
/// mapping. A bad file throws `SafeTensorsError`; nothing here traps on file contents.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Headers larger than this are refused before any allocation (safetensors' `MAX_HEADER_SIZE`).
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
    /// Offset of the data section in the file (8 + header length).
    public let dataStart: Int

    /// Names in file order (by data offset, then name for zero-size tensors sharing an offset).
    public var names: [String] {
        entries.sorted { ($0.value.dataRange.lowerBound, $0.key) < ($1.value.dataRange.lowerBound, $1.key) }.map(\.key)
    }

    /// The whole file as mapped (for zero-copy checks and diagnostics).
    public var mappedBytes: UnsafeRawBufferPointer { file.bytes }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw SafeTensorsError(file: path, .fileTooSmall(size: bytes.count)) }
        let claimed = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard claimed <= UInt64(Self.maxHeaderBytes) else {
            throw SafeTensorsError(file: path, .headerTooLarge(claimed: claimed, limit: Self.maxHeaderBytes))
        }
        guard claimed <= UInt64(bytes.count - 8) else {
            throw SafeTensorsError(file: path, .headerPastEndOfFile(claimed: claimed, fileSize: bytes.count))
        }
        dataStart = 8 + Int(claimed)
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        (entries, metadata) = try Self.parseHeader(header, dataSize: bytes.count - dataStart, path: path)
    }

    /// The tensor's bytes, borrowed from the mapping (no copy), after checking that the file has not
    /// been truncated or replaced since it was opened (`MappedFile.checkUnchanged`).
    public func tensor(_ name: String) throws -> StoredTensor {
        guard let e = entries[name] else { throw SafeTensorsError(file: path, tensor: name, .missingTensor) }
        try file.checkUnchanged()
        let slice = UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + e.dataRange.lowerBound)..<(dataStart + e.dataRange.upperBound)])
        return StoredTensor(dtype: e.dtype, shape: e.shape, bytes: slice, owner: file)
    }

    /// Parses and validates a header against a data section of `dataSize` bytes.
    static func parseHeader(_ header: UnsafeRawBufferPointer, dataSize: Int, path: String) throws -> ([String: Entry], [String: String]) {
        let root: HeaderJSON
        do {
            root = try HeaderParser.parse(header)
        } catch let failure as HeaderParser.Failure {
            throw SafeTensorsError(file: path, .invalidJSON(failure.message))
        }
        guard case .object(let members) = root else {
            throw SafeTensorsError(file: path, .invalidJSON("the top level is \(root.kind), not an object"))
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw SafeTensorsError(file: path, tensor: name, .duplicateKey(name)) }
            if name == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
            } else {
                entries[name] = try validate(value, name: name, dataSize: dataSize, path: path)
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

    private static func parseMetadata(_ value: HeaderJSON, path: String) throws -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var result: [String: String] = [:]
            for (key, item) in members {
                guard case .string(let s) = item else {
                    throw SafeTensorsError(file: path, .invalidMetadata("must map strings to strings; '\(key)' holds \(item.kind)"))
                }
                guard result.updateValue(s, forKey: key) == nil else {
                    throw SafeTensorsError(file: path, .invalidMetadata("holds the key '\(key)' twice"))
                }
            }
            return result
        default:
            throw SafeTensorsError(file: path, .invalidMetadata("must be an object of strings, found \(value.kind)"))
        }
    }

    private static func validate(_ value: HeaderJSON, name: String, dataSize: Int, path: String) throws -> Entry {
        func fail(_ problem: SafeTensorsError.Problem) -> SafeTensorsError { SafeTensorsError(file: path, tensor: name, problem) }
        guard case .object(let members) = value else {
            throw fail(.wrongType(field: "entry", expected: "an object", found: value.kind))
        }
        var fields: [String: HeaderJSON] = [:]
        for (key, item) in members {
            guard fields.updateValue(item, forKey: key) == nil else { throw fail(.duplicateKey(key)) }
        }
        guard let dtypeValue = fields["dtype"] else { throw fail(.missingField("dtype")) }
        guard let shapeValue = fields["shape"] else { throw fail(.missingField("shape")) }
        guard let offsetsValue = fields["data_offsets"] else { throw fail(.missingField("data_offsets")) }

        guard case .string(let dtypeName) = dtypeValue else {
            throw fail(.wrongType(field: "dtype", expected: "a string", found: dtypeValue.kind))
        }
        let expectShape = "an array of non-negative integers"
        guard case .array(let dims) = shapeValue else {
            throw fail(.wrongType(field: "shape", expected: expectShape, found: shapeValue.kind))
        }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for d in dims {
            guard case .number(let literal) = d else {
                throw fail(.wrongType(field: "shape", expected: expectShape, found: "an array holding \(d.kind)"))
            }
            guard let n = Int(literal) else {
                throw fail(.wrongType(field: "shape", expected: expectShape, found: "the number \(literal)"))
            }
            shape.append(n)
        }
        let expectOffsets = "an array of two non-negative integers"
        guard case .array(let offsets) = offsetsValue else {
            throw fail(.wrongType(field: "data_offsets", expected: expectOffsets, found: offsetsValue.kind))
        }
        guard offsets.count == 2 else {
            throw fail(.wrongType(field: "data_offsets", expected: expectOffsets, found: "an array of \(offsets.count) values"))
        }
        var bounds: [UInt64] = []
        for o in offsets {
            guard case .number(let literal) = o else {
                throw fail(.wrongType(field: "data_offsets", expected: expectOffsets, found: "an array holding \(o.kind)"))
            }
            guard let n = UInt64(literal) else {
                throw fail(.wrongType(field: "data_offsets", expected: expectOffsets, found: "the number \(literal)"))
            }
            bounds.append(n)
        }

        guard let dtype = DType(rawValue: dtypeName) else { throw fail(.unknownDType(dtypeName)) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail(.negativeDimension(shape: shape)) }
        var expected = dtype.size
        for n in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail(.shapeOverflow(shape: shape)) }
            expected = product
        }
        let (begin, end) = (bounds[0], bounds[1])
        guard begin <= end else { throw fail(.offsetsReversed(begin: begin, end: end)) }
        guard end <= UInt64(dataSize) else { throw fail(.offsetsOutOfBounds(begin: begin, end: end, dataSize: dataSize)) }
        let range = Int(begin)..<Int(end)
        guard expected == range.count else { throw fail(.sizeMismatch(expectedBytes: expected, actualBytes: range.count)) }
        return Entry(dtype: dtype, shape: shape, dataRange: range)
    }
}

/// A JSON value of a safetensors header. Objects keep their members in order, duplicates
/// included, so that the reader can refuse duplicates; numbers keep their literal text so that
/// 64-bit integers convert exactly.
enum HeaderJSON {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// "a string", "an object", ... for error messages.
    var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number(let n): return "the number \(n)"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// A strict RFC 8259 JSON parser over borrowed bytes: UTF-8 checked up front, nesting bounded by
/// `maxDepth`, no trailing data except whitespace (the Rust writer pads headers with spaces).
struct HeaderParser {
    struct Failure: Error { let message: String }

    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var i = 0
    private var depth = 0

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> HeaderJSON {
        if let bad = firstInvalidUTF8(bytes) { throw Failure(message: "invalid UTF-8 at byte \(bad)") }
        var parser = HeaderParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.i == bytes.count else { throw parser.failure("unexpected data after the top-level value") }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The byte offset of the first ill-formed UTF-8 sequence, or nil.
    private static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        // Fast path: all ASCII.
        var firstNonASCII = 0
        while firstNonASCII < bytes.count, bytes[firstNonASCII] < 0x80 { firstNonASCII += 1 }
        if firstNonASCII == bytes.count { return nil }
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    private func failure(_ what: String) -> Failure {
        i < bytes.count ? Failure(message: "\(what) at byte \(i)") : Failure(message: "\(what) at the end of the header (truncated?)")
    }

    private mutating func skipWhitespace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ literal: StaticString, _ value: HeaderJSON) throws -> HeaderJSON {
        let n = literal.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw failure("unexpected token") }
        for k in 0..<n where bytes[i + k] != literal.utf8Start[k] { throw failure("unexpected token") }
        i += n
        return value
    }

    private mutating func parseValue() throws -> HeaderJSON {
        guard i < bytes.count else { throw failure("expected a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character '\(Self.printable(bytes[i]))'")
        }
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth) levels") }
    }

    private mutating func parseObject() throws -> HeaderJSON {
        try enter()
        defer { depth -= 1 }
        i += 1
        var members: [(key: String, value: HeaderJSON)] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            i += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard i < bytes.count else { throw failure("expected ',' or '}'") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw failure("expected ',' or '}'")
        }
    }

    private mutating func parseArray() throws -> HeaderJSON {
        try enter()
        defer { depth -= 1 }
        i += 1
        var items: [HeaderJSON] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard i < bytes.count else { throw failure("expected ',' or ']'") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw failure("expected ',' or ']'")
        }
    }

    private mutating func parseString() throws -> String {
        i += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard i < bytes.count else { throw failure("unterminated string") }
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: utf8, as: UTF8.self)  // validated up front
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw failure("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = UInt32(try parseHex4())
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw failure("unpaired surrogate escape")
                        }
                        i += 2
                        let low = UInt32(try parseHex4())
                        guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw failure("unpaired surrogate escape")
                    }
                    utf8.append(contentsOf: Array(String(Unicode.Scalar(scalar)!).utf8))
                default:
                    i -= 1
                    throw failure("invalid escape '\\\(Self.printable(e))'")
                }
            case 0..<0x20:
                throw failure("control character in a string")
            default:
                utf8.append(c)
                i += 1
            }
        }
    }

    private mutating func parseHex4() throws -> UInt16 {
        guard i + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var v: UInt16 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt16(digit)
            i += 1
        }
        return v
    }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text.
    private mutating func parseNumber() throws -> HeaderJSON {
        let start = i
        func isDigit(_ k: Int) -> Bool { k < bytes.count && bytes[k] >= UInt8(ascii: "0") && bytes[k] <= UInt8(ascii: "9") }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw failure("expected a digit") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while isDigit(i) { i += 1 } }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw failure("expected a digit after '.'") }
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw failure("expected a digit in the exponent") }
            while isDigit(i) { i += 1 }
        }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
    }

    private static func printable(_ c: UInt8) -> String {
        (0x20..<0x7F).contains(c) ? String(UnicodeScalar(c)) : String(format: "\\x%02X", c)
    }
}
