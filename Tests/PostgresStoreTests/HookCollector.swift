import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A webhook receiver on a loopback port for the fault tests: answers every POST with 200 and
/// keeps each `webhook-id` with the body's task id and status, so a test counts what arrived.
final class HookCollector: @unchecked Sendable {
    struct Hook: Hashable { var webhookId: String; var taskId: String; var status: String }

    private let fd: Int32
    let port: Int
    private let lock = NSLock()
    private var received: [Hook] = []
    private var stopped = false

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var hooks: [Hook] { lock.withLock { received } }

    init() throws {
        let socketFd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFd, $0, &len) } }
        fd = socketFd
        port = Int(UInt16(bigEndian: addr.sin_port))
        listen(fd, 64)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func acceptLoop() {
        while !lock.withLock({ stopped }) {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            Thread { [self] in handle(client) }.start()
        }
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = read(client, &chunk, chunk.count)
            if n <= 0 { return }
            buffer += chunk[0..<n]
            if headerEnd == nil, let r = Self.find([13, 10, 13, 10], in: buffer) {
                headerEnd = r + 4
                let head = String(decoding: buffer[0..<r], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let end = headerEnd, buffer.count >= end + contentLength { break }
        }
        let end = headerEnd!
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        var webhookId = ""
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("webhook-id:") {
            webhookId = line.dropFirst("webhook-id:".count).trimmingCharacters(in: .whitespaces)
        }
        let body = (try? JSONSerialization.jsonObject(with: Data(buffer[end..<(end + contentLength)]))) as? [String: Any] ?? [:]
        let data = body["data"] as? [String: Any] ?? body
        let hook = Hook(webhookId: webhookId, taskId: data["task_id"] as? String ?? "?", status: data["task_status"] as? String ?? "?")
        lock.withLock { received.append(hook) }
        let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = reply.withUnsafeBytes { write(client, $0.baseAddress, reply.count) }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}
