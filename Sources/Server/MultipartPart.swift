/// One part of a `multipart/form-data` body (RFC 7578): its field name, file name and bytes.
struct MultipartPart: Sendable {
    var name: String
    var filename: String?
    var contentType: String?
    var body: [UInt8]

    /// Splits `body` on `--boundary`; nil when it is not a well-formed form.
    static func parse(_ body: [UInt8], contentType: String) -> [MultipartPart]? {
        guard let b = contentType.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { $0.lowercased().hasPrefix("boundary=") }) else { return nil }
        var boundary = String(b.dropFirst("boundary=".count))
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 { boundary = String(boundary.dropFirst().dropLast()) }
        let delimiter = Array("--\(boundary)".utf8)
        var positions: [Int] = []
        var i = 0
        while let found = find(delimiter, in: body, from: i) {
            positions.append(found)
            i = found + delimiter.count
        }
        guard positions.count >= 2 else { return nil }
        var parts: [MultipartPart] = []
        for (start, end) in zip(positions, positions.dropFirst()) {
            var s = start + delimiter.count
            if body[s..<min(s + 2, body.count)].elementsEqual([13, 10]) { s += 2 } else { return nil }
            var e = end
            if e >= 2 && body[e - 2] == 13 && body[e - 1] == 10 { e -= 2 }
            guard let headerEnd = find([13, 10, 13, 10], in: body, from: s), headerEnd <= e else { return nil }
            let headers = String(decoding: body[s..<headerEnd], as: UTF8.self).components(separatedBy: "\r\n")
            var part = MultipartPart(name: "", filename: nil, contentType: nil, body: Array(body[(headerEnd + 4)..<e]))
            for header in headers {
                let lower = header.lowercased()
                if lower.hasPrefix("content-disposition:") {
                    part.name = parameter("name", in: header) ?? ""
                    part.filename = parameter("filename", in: header)
                } else if lower.hasPrefix("content-type:") {
                    part.contentType = String(header.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces)
                }
            }
            guard !part.name.isEmpty else { return nil }
            parts.append(part)
        }
        return parts
    }

    private static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let kv = piece.trimmingCharacters(in: .whitespaces)
            guard kv.lowercased().hasPrefix("\(key)=") else { continue }
            var v = String(kv.dropFirst(key.count + 1))
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        let first = needle[0]
        while i <= haystack.count - needle.count {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

import Foundation
