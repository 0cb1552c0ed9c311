import Dispatch
import Foundation

/// SIGTERM and SIGINT for a long-running command that is not a `ServiceGroup` (`img2vid worker`):
/// the first one runs `stop` (the work is cancelled and the command returns).
final class ShutdownTrap {
    private var sources: [DispatchSourceSignal] = []

    init(_ stop: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop() }
            source.resume()
            sources.append(source)
        }
    }
}
