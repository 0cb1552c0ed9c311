import FuzzSupport
import Tensor

/// libFuzzer entry: the input is a whole `.safetensors` file. It is opened with `SafeTensorsFile`
/// (length prefix, JSON header, dtypes, shapes, offsets, overlaps) and, when accepted, every tensor
/// is read: its bytes summed and, when it is a float tensor, widened to f32. Nothing may trap, read
/// outside the mapping or allocate more than the file's own size in tensor data.
private let scratch = ScratchFolder("safetensors")

@main
enum SafeTensorsFuzzer {
    static func main() {
        // Globals first: LeakSanitizer would take what they allocate during the first input for a leak.
        keep(scratch)
        FuzzDriver.run { safeTensorsFuzzer($0, $1) }
    }
}

private func safeTensorsFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = scratch.write("input.safetensors", UnsafeRawBufferPointer(start: data, count: size))
    guard let file = attempt({ try SafeTensorsFile(path: path) }) else { return 0 }
    var sum: UInt64 = 0
    for name in file.names {
        guard let stored = attempt({ try file.tensor(name) }) else { fatalError("\(name) is listed but cannot be read") }
        precondition(stored.bytes.count == stored.count * stored.dtype.size, "\(name): byte count disagrees with its shape")
        for byte in stored.bytes { sum &+= UInt64(byte) }
        if let tensor = attempt({ try stored.floatTensor() }) {
            precondition(tensor.count == stored.count, "\(name): widened element count differs")
        }
    }
    keep(sum)
    return 0
}
