import ConceptGuidance
import FuzzSupport

/// libFuzzer entry: the input is a concept file (`--concept-file`, a safetensors file of named f32
/// vectors with `img2vid-concepts-1` metadata), read with `ConceptFile.read`: an accepted file
/// yields one 1-D vector per name; a bad one throws `ConceptGuidanceError`, never traps.
private let scratch = ScratchFolder("concepts")

@main
enum ConceptFileFuzzer {
    static func main() {
        // Globals first: LeakSanitizer would take what they allocate during the first input for a leak.
        keep(scratch)
        FuzzDriver.run { conceptFileFuzzer($0, $1) }
    }
}

private func conceptFileFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = scratch.write("concepts.safetensors", UnsafeRawBufferPointer(start: data, count: size))
    guard let entries = attempt({ try ConceptFile.read(path) }) else { return 0 }
    var sum: Float = 0
    for entry in entries {
        precondition(entry.vector.shape.count == 1, "\(entry.name): not a vector")
        sum += entry.vector.scalars.reduce(0, +)
    }
    keep(sum)
    return 0
}
