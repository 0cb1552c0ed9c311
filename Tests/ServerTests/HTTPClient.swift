import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a loopback socket, so the tests see exactly what goes over the
/// wire (status, headers, chunked bodies, streamed events) without another library.
struct HTTPResult {
    var status: Int
    var headers: [String: String]   // lowercased names
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func json(file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }
    var data: [String: Any] { json()["data"] as? [String: Any] ?? [:] }
    var code: Int { json()["code"] as? Int ?? -1 }
    var message: String { json()["message"] as? String ?? "" }
}

enum HTTPClientError: Error { case connect(String), closed, timeout }

final class Connection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeout: Double = 30) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { close(fd); throw HTTPClientError.connect("port \(port): errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw HTTPClientError.closed }
            sent += n
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw HTTPClientError.timeout }
        if n == 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    func readLine() throws -> String? {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<i])
                buffer.removeFirst(i + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            if try !fill() { return nil }
        }
    }

    func read(count: Int) throws -> [UInt8] {
        while buffer.count < count { if try !fill() { throw HTTPClientError.closed } }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }

    func readHead() throws -> (Int, [String: String]) {
        guard let statusLine = try readLine() else { throw HTTPClientError.closed }
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? -1
        var headers: [String: String] = [:]
        while let line = try readLine(), !line.isEmpty {
            if let c = line.firstIndex(of: ":") {
                headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return (status, headers)
    }

    /// The next chunk of a chunked body (empty at the end).
    func readChunk() throws -> [UInt8] {
        guard let sizeLine = try readLine(), let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else { throw HTTPClientError.closed }
        if size == 0 { _ = try readLine(); return [] }
        let data = try read(count: size)
        _ = try readLine()
        return data
    }
}

struct HTTPClient {
    let port: Int

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = [], timeout: Double = 30) throws -> HTTPResult {
        let c = try Connection(port: port, timeout: timeout)
        try c.send(Self.head(method, path, headers: headers, bodyCount: body.count) + body)
        let (status, h) = try c.readHead()
        var data: [UInt8] = []
        if h["transfer-encoding"]?.lowercased() == "chunked" {
            while true { let chunk = try c.readChunk(); if chunk.isEmpty { break }; data += chunk }
        } else if let n = h["content-length"].flatMap(Int.init) {
            data = method == "HEAD" ? [] : try c.read(count: n)
        } else {
            data = try c.readToEnd()
        }
        return HTTPResult(status: status, headers: h, body: data)
    }

    func get(_ path: String, headers: [String: String] = [:]) throws -> HTTPResult { try request("GET", path, headers: headers) }

    func postJSON(_ path: String, _ object: Any, headers: [String: String] = [:]) throws -> HTTPResult {
        var h = headers
        h["Content-Type"] = "application/json"
        return try request("POST", path, headers: h, body: Array(try JSONSerialization.data(withJSONObject: object)))
    }

    static func head(_ method: String, _ path: String, headers: [String: String], bodyCount: Int) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if bodyCount > 0 || method == "POST" { text += "Content-Length: \(bodyCount)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// Opens `path` as an event stream; `onEvent` gets (id, event, data) and returns false to stop.
    func events(_ path: String, headers: [String: String] = [:], timeout: Double = 120,
                onEvent: (Int64?, String, String) -> Bool) throws -> Int {
        let c = try Connection(port: port, timeout: timeout)
        try c.send(Self.head("GET", path, headers: headers, bodyCount: 0))
        let (status, h) = try c.readHead()
        guard status == 200 else { return status }
        let chunked = h["transfer-encoding"]?.lowercased() == "chunked"
        var pending = ""
        var id: Int64?, event = "message", data = ""
        while true {
            let bytes: [UInt8] = chunked ? try c.readChunk() : (try c.fill() ? [] : [])
            if chunked && bytes.isEmpty { return status }
            pending += String(decoding: bytes, as: UTF8.self)
            while let nl = pending.firstIndex(of: "\n") {
                let line = String(pending[..<nl])
                pending = String(pending[pending.index(after: nl)...])
                if line.isEmpty {
                    if !data.isEmpty { if !onEvent(id, event, data) { return status } }
                    id = nil; event = "message"; data = ""
                } else if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                else if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                else if line.hasPrefix("data: ") { data += String(line.dropFirst(6)) }
            }
        }
    }
}
