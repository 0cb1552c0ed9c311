import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes `.safetensors` files as huggingface/safetensors' Rust `serialize_to_file` does
/// (`safetensors/src/tensor.rs`, `prepare`):
/// - tensors laid out by descending dtype (8-byte types, then 4, 2, 1; ties by name), so that every
///   tensor starts aligned to its element size and reads back zero-copy;
/// - compact JSON header, `__metadata__` first (omitted when empty), then the tensors in data
///   order, each `{"dtype":..,"shape":[..],"data_offsets":[begin,end]}`;
/// - the header padded with spaces to a multiple of 8 bytes, so that the data section starts
///   8-byte aligned.
/// Tensor bytes are streamed from their storage (no whole-file buffer) into a temporary file in
/// the target's folder, which is synced and then renamed over the target: the file appears whole
/// or not at all.
public enum SafeTensorsWriter {
    public static func write(_ tensors: [String: StoredTensor], metadata: [String: String] = [:], to path: String) throws {
        if tensors["__metadata__"] != nil {
            throw SafeTensorsError(file: path, tensor: "__metadata__", .cannotWrite("'__metadata__' is reserved for the metadata map"))
        }
        let names = tensors.keys.sorted { a, b in
            let ra = alignmentRank(tensors[a]!.dtype), rb = alignmentRank(tensors[b]!.dtype)
            return ra != rb ? ra > rb : a < b
        }
        let header = headerBytes(names: names, tensors: tensors, metadata: metadata)

        let folder = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temporary = (folder.isEmpty ? "" : folder + "/") + ".\(base).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError(file: path, .cannotWrite("cannot create \(temporary): \(reason())")) }
        var closed = false
        do {
            defer { if !closed { close(fd) } }
            var prefix = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &prefix) { try writeAll(fd, $0, path: path) }
            try header.withUnsafeBytes { try writeAll(fd, $0, path: path) }
            for name in names { try writeAll(fd, tensors[name]!.bytes, path: path) }
            guard fsync(fd) == 0 else { throw SafeTensorsError(file: path, .cannotWrite("fsync: \(reason())")) }
            closed = true
            guard close(fd) == 0 else { throw SafeTensorsError(file: path, .cannotWrite("close: \(reason())")) }
            guard rename(temporary, path) == 0 else { throw SafeTensorsError(file: path, .cannotWrite("rename: \(reason())")) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Convenience for f32 tensors stored in `dtype` (f32, f16 or bf16; narrowing rounds to nearest even).
    public static func write(floatTensors: [String: Tensor], as dtype: DType = .f32, metadata: [String: String] = [:], to path: String) throws {
        try write(floatTensors.mapValues { StoredTensor($0, as: dtype) }, metadata: metadata, to: path)
    }

    /// The header JSON, padded with spaces to a multiple of 8 bytes.
    static func headerBytes(names: [String], tensors: [String: StoredTensor], metadata: [String: String]) -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func separator() { if !first { json.append(UInt8(ascii: ",")) }; first = false }
        if !metadata.isEmpty {
            separator()
            appendString("__metadata__", to: &json)
            json.append(contentsOf: Array(":{".utf8))
            for (k, key) in metadata.keys.sorted().enumerated() {
                if k > 0 { json.append(UInt8(ascii: ",")) }
                appendString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendString(metadata[key]!, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            separator()
            appendString(name, to: &json)
            let shape = t.shape.map(String.init).joined(separator: ",")
            let entry = ":{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
            json.append(contentsOf: Array(entry.utf8))
            offset += t.bytes.count
        }
        json.append(UInt8(ascii: "}"))
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        return json
    }

    /// Rank of a dtype in the Rust `Dtype` enum's order (the writer sorts by it, descending).
    static func alignmentRank(_ dtype: DType) -> Int {
        switch dtype {
        case .bool: return 0
        case .u8: return 1
        case .i8: return 2
        case .i16: return 3
        case .f16: return 4
        case .bf16: return 5
        case .i32: return 6
        case .f32: return 7
        case .f64: return 8
        case .i64: return 9
        }
    }

    /// A JSON string literal, escaped as serde_json escapes (quote, backslash, control characters).
    static func appendString(_ s: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): json.append(contentsOf: Array("\\\"".utf8))
            case UInt8(ascii: "\\"): json.append(contentsOf: Array("\\\\".utf8))
            case 0x08: json.append(contentsOf: Array("\\b".utf8))
            case 0x0C: json.append(contentsOf: Array("\\f".utf8))
            case 0x0A: json.append(contentsOf: Array("\\n".utf8))
            case 0x0D: json.append(contentsOf: Array("\\r".utf8))
            case 0x09: json.append(contentsOf: Array("\\t".utf8))
            case 0..<0x20: json.append(contentsOf: Array(String(format: "\\u%04x", c).utf8))
            default: json.append(c)
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            #if canImport(Glibc)
            let n = Glibc.write(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
            #else
            let n = Darwin.write(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(file: path, .cannotWrite(reason()))
            }
            done += n
        }
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
