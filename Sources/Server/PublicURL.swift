import Foundation

/// The base of result URLs: `--public-url`, else http://HOST:PORT with the port the server really
/// bound (known only once it listens when `--port 0`).
public final class PublicURL: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String
    private let fixed: Bool

    public init(_ config: ServerConfiguration) {
        value = config.baseURL
        fixed = config.publicURL != nil
    }

    public var string: String {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func bound(host: String, port: Int) {
        guard !fixed else { return }
        let h = (host == "0.0.0.0" || host == "::") ? "127.0.0.1" : host
        lock.lock()
        value = "http://\(h.contains(":") ? "[\(h)]" : h):\(port)"
        lock.unlock()
    }
}
