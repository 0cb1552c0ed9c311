import Foundation
import Tensor

/// Starts this program again with a fast OpenBLAS kernel when OpenBLAS chose a slow fallback.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` only when the library loads, before `main`, so setting it
/// in-process changes nothing: the variable is set and the same executable is run again in this
/// process (`execv` keeps the process id, arguments, open files and the rest of the environment).
/// The restarted program finds the variable set and goes on. A user who sets the variable keeps it.
enum BLASKernelRestart {
    static func restartIfSlowKernel() {
        let environment = ProcessInfo.processInfo.environment
        guard let kernel = BLASKernelChoice.replacement(loaded: BLAS.coreName, cpuFlags: CPUInfo.current.flags,
                                                        userSetting: environment["OPENBLAS_CORETYPE"]) else { return }
        setenv("OPENBLAS_CORETYPE", kernel, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when exec failed (no /proc): go on with OpenBLAS's own kernel.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
