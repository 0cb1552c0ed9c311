import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A webhook endpoint on a free loopback port, in the test process: records every POST (headers
/// and body) and answers `statusFor(firstId, seen)`: whether the request carries the first `webhook-id`
/// received, and how many times that id has now been seen.
final class WebhookReceiver: @unchecked Sendable {
    struct Received {
        var headers: [String: String]
        var body: String
    }

    private let fd: Int32
    let port: Int
    private let lock = NSLock()
    private var received: [Received] = []
    private let statusFor: @Sendable (Bool, Int) -> Int
    private var stopped = false

    init(statusFor: @escaping @Sendable (Bool, Int) -> Int = { _, _ in 200 }) throws {
        self.statusFor = statusFor
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
        listen(sock, 16)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        fd = sock
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    var all: [Received] { lock.lock(); defer { lock.unlock() }; return received }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += chunk[0..<n]
            if headerEnd == nil, let r = data.firstRange(of: [13, 10, 13, 10]) {
                headerEnd = r.upperBound
                let head = String(decoding: data[..<r.lowerBound], as: UTF8.self)
                for line in head.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let h = headerEnd, data.count >= h + contentLength { break }
        }
        guard let h = headerEnd else { return }
        var headers: [String: String] = [:]
        for line in String(decoding: data[..<(h - 4)], as: UTF8.self).components(separatedBy: "\r\n").dropFirst() {
            if let c = line.firstIndex(of: ":") { headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces) }
        }
        let body = String(decoding: data[h..<min(data.count, h + contentLength)], as: UTF8.self)
        lock.lock()
        received.append(Received(headers: headers, body: body))
        let id = headers["webhook-id"]
        let isFirst = received.first?.headers["webhook-id"] == id
        let seen = received.filter { $0.headers["webhook-id"] == id }.count
        lock.unlock()
        let status = statusFor(isFirst, seen)
        let reply = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = Array(reply.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
