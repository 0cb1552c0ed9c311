/// Why a queue benchmark could not run.
public enum QueueBenchmarkError: Error, CustomStringConvertible {
    case storeNotEmpty(Int)

    public var description: String {
        switch self {
        case .storeNotEmpty(let n):
            return "the store holds \(n) unfinished tasks; bench-queue needs a store without any (its claimers would take them)"
        }
    }
}
