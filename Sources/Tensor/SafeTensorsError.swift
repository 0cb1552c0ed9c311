/// What is wrong with a safetensors file (or shard index), always naming the file and, where one
/// is involved, the tensor.
///
/// The cases follow the checks of huggingface/safetensors (`safetensors/src/tensor.rs`:
/// `HeaderTooLarge`, `InvalidHeaderLength`, `InvalidHeaderDeserialization`, `InvalidOffset`,
/// `TensorInvalidInfo`, `ValidationOverflow`), split finer so that a caller can tell a truncated
/// download from a corrupt header from a wrong dtype.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        // Opening the file.
        /// `open`, `fstat` or `mmap` failed (missing path, no permission); holds the system's reason.
        case cannotOpen(String)
        /// The path names a directory, FIFO, socket or device instead of a regular file.
        case notARegularFile(kind: String)
        /// The file was truncated, extended, replaced or deleted after it was opened (reading the
        /// mapping could raise SIGBUS); holds what changed.
        case changedSinceOpened(String)

        // The 8-byte length prefix.
        /// Shorter than the 8-byte header length prefix.
        case fileTooSmall(size: Int)
        /// The header length exceeds `SafeTensorsFile.maxHeaderBytes` (checked before any allocation).
        case headerTooLarge(claimed: UInt64, limit: Int)
        /// The header length runs past the end of the file.
        case headerPastEndOfFile(claimed: UInt64, fileSize: Int)

        // The JSON header.
        /// Not well-formed JSON (or not UTF-8, or the top level is not an object); names the byte offset.
        case invalidJSON(String)
        /// A key appears twice: a tensor name in the header, or a field of the tensor's entry.
        case duplicateKey(String)
        /// `__metadata__` is not an object of strings.
        case invalidMetadata(String)
        /// A tensor entry lacks `dtype`, `shape` or `data_offsets`.
        case missingField(String)
        /// A field holds the wrong JSON type (for example a string `shape` or boolean offsets).
        case wrongType(field: String, expected: String, found: String)
        /// A shape holds a negative dimension.
        case negativeDimension(shape: [Int])
        /// The element count or byte size of the shape overflows a 64-bit integer.
        case shapeOverflow(shape: [Int])
        /// A dtype this runtime does not know.
        case unknownDType(String)

        // Where the data lies.
        /// `data_offsets` [begin, end) with begin > end.
        case offsetsReversed(begin: UInt64, end: UInt64)
        /// `data_offsets` reach past the end of the data section (a truncated file, usually).
        case offsetsOutOfBounds(begin: UInt64, end: UInt64, dataSize: Int)
        /// The offsets span a byte count other than shape x dtype size.
        case sizeMismatch(expectedBytes: Int, actualBytes: Int)
        /// The tensor's bytes overlap another tensor's.
        case overlapping(other: String)

        // Lookups, shard indexes, writing.
        /// The requested tensor is not in the file or checkpoint.
        case missingTensor
        /// The `*.safetensors.index.json` is unreadable or malformed.
        case invalidIndex(String)
        /// The index places the tensor in this shard (`file`), which does not hold it.
        case notInShard(index: String)
        /// The writer could not create, write or rename the file; holds the system's reason.
        case cannotWrite(String)
    }

    public let file: String
    public let tensor: String?
    public let problem: Problem

    public init(file: String, tensor: String? = nil, _ problem: Problem) {
        self.file = file
        self.tensor = tensor
        self.problem = problem
    }

    public var description: String {
        let subject = tensor.map { "\(file): tensor '\($0)'" } ?? file
        switch problem {
        case .cannotOpen(let why):
            return "\(subject): cannot open: \(why)"
        case .notARegularFile(let kind):
            return "\(subject): is \(kind), not a regular file"
        case .changedSinceOpened(let what):
            return "\(subject): the file changed while it was being read: \(what). Wait until it is complete, then run again"
        case .fileTooSmall(let size):
            return "\(subject): file is \(size) bytes, too small for a safetensors header (truncated?)"
        case .headerTooLarge(let claimed, let limit):
            return "\(subject): header length \(claimed) bytes exceeds the \(limit)-byte limit (not a safetensors file, or corrupt)"
        case .headerPastEndOfFile(let claimed, let size):
            return "\(subject): header claims \(claimed) bytes after the 8-byte prefix but the file has only \(size) bytes (truncated?)"
        case .invalidJSON(let why):
            return "\(subject): header is not valid JSON: \(why)"
        case .duplicateKey(let key):
            return "\(subject): key '\(key)' appears more than once in the header (ambiguous; refusing the file)"
        case .invalidMetadata(let why):
            return "\(subject): '__metadata__' \(why)"
        case .missingField(let field):
            return "\(subject): header entry lacks '\(field)'"
        case .wrongType(let field, let expected, let found):
            return "\(subject): '\(field)' must be \(expected), found \(found)"
        case .negativeDimension(let shape):
            return "\(subject): shape \(shape) has a negative dimension"
        case .shapeOverflow(let shape):
            return "\(subject): shape \(shape) is too large (its byte size overflows 64 bits)"
        case .unknownDType(let name):
            return "\(subject): unknown dtype '\(name)'"
        case .offsetsReversed(let b, let e):
            return "\(subject): data offsets [\(b), \(e)) end before they begin"
        case .offsetsOutOfBounds(let b, let e, let size):
            return "\(subject): data offsets [\(b), \(e)) lie outside the \(size)-byte data section (truncated?)"
        case .sizeMismatch(let expected, let actual):
            return "\(subject): shape and dtype need \(expected) bytes but the offsets span \(actual)"
        case .overlapping(let other):
            return "\(subject): data overlaps tensor '\(other)'"
        case .missingTensor:
            return "\(subject): no such tensor in the checkpoint"
        case .invalidIndex(let why):
            return "\(subject): invalid shard index: \(why)"
        case .notInShard(let index):
            return "\(subject): the index \(index) places it in this shard, which does not hold it"
        case .cannotWrite(let why):
            return "\(subject): cannot write: \(why)"
        }
    }
}
