import Dispatch
import Foundation
import Img2Vid

/// Turns SIGINT and SIGTERM into a cancellation request: the generation stops at its next safe
/// point, removes its temporary files, and the command exits 130.
final class SignalTrap {
    private var sources: [DispatchSourceSignal] = []

    init(_ flag: CancellationFlag) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                flag.cancel()
                Console.note("interrupted: stopping at the next safe point")
            }
            source.resume()
            sources.append(source)
        }
    }
}
