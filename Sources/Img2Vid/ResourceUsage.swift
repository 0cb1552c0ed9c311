import Foundation

/// Process resource figures reported with results and benchmarks.
public enum ResourceUsage {
    /// Peak resident set size of this process so far, in bytes (getrusage; Linux reports KiB).
    public static var peakResidentBytes: Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
