/// What is wrong with a safetensors file, always naming the file and, where one is involved, the tensor.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        case cannotOpen(String)
        case fileTooSmall(size: Int)
        case headerTooLarge(claimed: UInt64, limit: Int)
        case headerPastEndOfFile(claimed: UInt64, fileSize: Int)
        case invalidJSON(String)
        case invalidEntry(String)
        case unknownDType(String)
        case offsetsOutOfBounds(begin: Int, end: Int, dataSize: Int)
        case sizeMismatch(expectedBytes: Int, actualBytes: Int)
        case overlapping(other: String)
        case missingTensor
        case invalidIndex(String)
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
        case .fileTooSmall(let size):
            return "\(subject): file is \(size) bytes, too small for a safetensors header (truncated?)"
        case .headerTooLarge(let claimed, let limit):
            return "\(subject): header length \(claimed) bytes exceeds the \(limit)-byte limit (not a safetensors file, or corrupt)"
        case .headerPastEndOfFile(let claimed, let size):
            return "\(subject): header claims \(claimed) bytes but the file has only \(size) (truncated?)"
        case .invalidJSON(let why):
            return "\(subject): header is not valid JSON: \(why)"
        case .invalidEntry(let why):
            return "\(subject): malformed header entry: \(why)"
        case .unknownDType(let name):
            return "\(subject): unknown dtype '\(name)'"
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
        }
    }
}
