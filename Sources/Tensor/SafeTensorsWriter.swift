import Foundation

/// Writes `.safetensors` files: header entries sorted by name, the header padded with spaces so
/// that the data section starts 8-byte aligned, tensors laid out in name order. The file appears
/// atomically (written beside the target, then renamed).
public enum SafeTensorsWriter {
    public static func write(_ tensors: [String: StoredTensor], metadata: [String: String] = [:], to path: String) throws {
        let names = tensors.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        try out.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Convenience for f32 tensors stored in `dtype`.
    public static func write(floatTensors: [String: Tensor], as dtype: DType = .f32, metadata: [String: String] = [:], to path: String) throws {
        try write(floatTensors.mapValues { StoredTensor($0, as: dtype) }, metadata: metadata, to: path)
    }
}
