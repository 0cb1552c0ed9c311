import CLibFuzzer
import Foundation

/// Runs libFuzzer on a harness: `FuzzDriver.run(harness)` from the target's `@main`, with the
/// process's own command line (corpus folders, `-max_total_time=`, ...).
public enum FuzzDriver {
    public typealias Harness = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    public static func run(_ harness: Harness) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, harness))
    }
}
