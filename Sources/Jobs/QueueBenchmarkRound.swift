/// What one round of `QueueBenchmark` measured and counted (`img2vid bench-queue --json`: one
/// element of `rounds`, keys in snake_case).
public struct QueueBenchmarkRound: Codable, Sendable {
    /// Percentiles of a list of milliseconds (nearest rank); zeros for an empty list.
    public struct Percentiles: Codable, Sendable {
        public var count: Int
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double

        public init(_ values: [Double]) {
            let sorted = values.sorted()
            count = sorted.count
            func rank(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return 0 }
                let k = Int((p / 100 * Double(sorted.count)).rounded(.up))
                return sorted[Swift.max(0, Swift.min(sorted.count - 1, k - 1))]
            }
            p50 = rank(50)
            p95 = rank(95)
            p99 = rank(99)
            max = sorted.last ?? 0
        }
    }

    /// Concurrent claimers.
    public var workers: Int
    /// Throughput phase: tasks drained, seconds it took, tasks claimed and finished per second.
    public var tasks: Int
    public var seconds: Double
    public var tasksPerSecond: Double
    /// Throughput phase: how long one `claim` (that got a task) and one `finish` took.
    public var claimMilliseconds: Percentiles
    public var finishMilliseconds: Percentiles
    /// Latency phase: tasks submitted, the rate asked for and the rate achieved (submissions per
    /// second), and the time from calling `submit` to the claim returning the task.
    public var latencyTasks: Int
    public var rate: Double
    public var achievedRate: Double
    public var submitToClaimMilliseconds: Percentiles
    /// The count, over both phases.
    public var submitted: Int
    public var claims: Int
    public var finished: Int
    public var refusedFinishes: Int
    public var neverClaimed: Int
    public var duplicateClaims: Int
    public var foreignClaims: Int
    /// How far the store's own count of each status moved during the round.
    public var storeCounts: [String: Int]
    /// Every discrepancy in plain words; empty when each task was claimed and finished exactly once.
    public var problems: [String]

    /// Every submitted task claimed exactly once and finished, and the store agrees (`problems` is empty).
    public var exactlyOnce: Bool

    enum CodingKeys: String, CodingKey {
        case workers, tasks, seconds, tasksPerSecond = "tasks_per_s", claimMilliseconds = "claim_ms", finishMilliseconds = "finish_ms"
        case latencyTasks = "latency_tasks", rate = "rate_per_s", achievedRate = "achieved_rate_per_s"
        case submitToClaimMilliseconds = "submit_to_claim_ms", submitted, claims, finished, refusedFinishes = "refused_finishes"
        case neverClaimed = "never_claimed", duplicateClaims = "duplicate_claims", foreignClaims = "foreign_claims"
        case storeCounts = "store_counts", problems, exactlyOnce = "exactly_once"
    }

    public init(workers: Int, tasks: Int, seconds: Double, tasksPerSecond: Double, claimMilliseconds: Percentiles,
                finishMilliseconds: Percentiles, latencyTasks: Int, rate: Double, achievedRate: Double,
                submitToClaimMilliseconds: Percentiles, submitted: Int, claims: Int, finished: Int, refusedFinishes: Int,
                neverClaimed: Int, duplicateClaims: Int, foreignClaims: Int, storeCounts: [String: Int], problems: [String]) {
        self.workers = workers
        self.tasks = tasks
        self.seconds = seconds
        self.tasksPerSecond = tasksPerSecond
        self.claimMilliseconds = claimMilliseconds
        self.finishMilliseconds = finishMilliseconds
        self.latencyTasks = latencyTasks
        self.rate = rate
        self.achievedRate = achievedRate
        self.submitToClaimMilliseconds = submitToClaimMilliseconds
        self.submitted = submitted
        self.claims = claims
        self.finished = finished
        self.refusedFinishes = refusedFinishes
        self.neverClaimed = neverClaimed
        self.duplicateClaims = duplicateClaims
        self.foreignClaims = foreignClaims
        self.storeCounts = storeCounts
        self.problems = problems
        exactlyOnce = problems.isEmpty
    }
}
