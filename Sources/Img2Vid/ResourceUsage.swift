import Foundation
import Tensor

/// Process resource figures reported with results and benchmarks.
public enum ResourceUsage {
    /// Peak resident set size of this program so far, in bytes: the `VmHWM` line of
    /// /proc/self/status (the high-water mark of this process's own memory, in kB).
    ///
    /// Not getrusage's `ru_maxrss`: at exec, Linux keeps the high-water mark of the memory the
    /// process had before (`setmax_mm_hiwater_rss` in fs/exec.c), and a child started by
    /// posix_spawn or vfork ran on its parent's memory until then, so a small `img2vid` started
    /// by a 1.5 GB parent reported 1.5 GB. `ru_maxrss` is the fallback where /proc is not there.
    public static var peakResidentBytes: Int {
        if let status = FileContents.read(atPath: "/proc/self/status"),
           let kilobytes = highWaterKilobytes(inStatus: String(decoding: status, as: UTF8.self)) {
            return kilobytes * 1024
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    /// The number of the `VmHWM:   1234 kB` line of a /proc/PID/status text, or nil.
    public static func highWaterKilobytes(inStatus status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }
}
