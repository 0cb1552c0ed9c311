import Foundation
import XCTest

/// Regression tests for what `Scripts/schemathesis` found (docs/RELIABILITY.md, "HTTP API"): each
/// finding was a response that did not match the OpenAPI document, fixed in the server or in the
/// document, and each test holds the two together on a real `img2vid serve`.
final class SchemathesisFindingsTests: ServerTestCase {
    func document() throws -> [String: Any] {
        let data = try Data(contentsOf: Paths.root().appendingPathComponent("Sources/Server/Resources/openapi.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    var paths: [String: [String: Any]] { get throws { try XCTUnwrap(try document()["paths"] as? [String: [String: Any]]) } }

    /// ST204: a method a path does not take was answered 404 (Hummingbird's router), not 405 with
    /// `Allow` (RFC 9110 15.5.6). Now every documented path answers TRACE, PUT and DELETE (none of
    /// them documented anywhere) with 405, code 1202, and `Allow` listing exactly its documented methods.
    func testUndeclaredMethodsOnDocumentedPathsAre405WithTheDocumentedAllowHeader() throws {
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--slots", "0"])
        for (template, item) in try paths.sorted(by: { $0.key < $1.key }) {
            let path = template.replacingOccurrences(of: "{task_id}", with: "tsk_x").replacingOccurrences(of: "{file_id}", with: "file_x")
            let documented = Set(item.keys.filter { $0 != "parameters" }.map { $0.uppercased() })
            for method in ["TRACE", "PUT", "DELETE", "PATCH"] where !documented.contains(method) {
                let r = try server.client.request(method, path)
                XCTAssertEqual(r.status, 405, "\(method) \(path): \(r.text)")
                XCTAssertEqual(r.code, 1202, "\(method) \(path): \(r.text)")
                let allow = Set((r.headers["allow"] ?? "").components(separatedBy: ", ").filter { !$0.isEmpty })
                XCTAssertEqual(allow, documented, "\(method) \(path): Allow")
            }
        }
        // A path no route has is still 404 (code 1203).
        let unknown = try server.client.request("TRACE", "/no/such/route")
        XCTAssertEqual(unknown.status, 404, unknown.text)
        XCTAssertEqual(unknown.code, 1203)
        XCTAssertEqual(server.stop(), 0)
    }

    /// ST108: the event stream's schema said `type: string`, but an SSE parser (schemathesis's, a
    /// browser's EventSource) delivers events. The document now describes one event; every event of
    /// a real stream matches it: a numeric id, `status` or `progress`, data a JSON object with task_id.
    func testEveryStreamedEventMatchesTheDocumentedEventSchema() throws {
        let schema = try XCTUnwrap(((((try paths["/v1/videos/image2video/{task_id}/events"]?["get"] as? [String: Any])?["responses"]
            as? [String: Any])?["200"] as? [String: Any])?["content"] as? [String: Any])?["text/event-stream"] as? [String: Any])["schema"]
            as? [String: Any]
        let properties = try XCTUnwrap(schema?["properties"] as? [String: Any])
        let kinds = Set(try XCTUnwrap((properties["event"] as? [String: Any])?["enum"] as? [String]))
        XCTAssertEqual(kinds, ["status", "progress"])

        let server = try ServerProcess(test: self, extra: tinyArgs)
        let id = try submit(server, try taskBody(steps: 2))
        try waitFor(server, id)
        var seen: [String] = []
        let status = try server.client.events("/v1/videos/image2video/\(id)/events") { eventId, kind, data in
            XCTAssertNotNil(eventId, "an event without an id")
            XCTAssertTrue(kinds.contains(kind), "undocumented event kind \(kind)")
            let object = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
            XCTAssertEqual(object?["task_id"] as? String, id, "data is not a JSON object with the task_id: \(data)")
            seen.append(kind)
            return true
        }
        XCTAssertEqual(status, 200)
        XCTAssertTrue(seen.contains("status") && seen.contains("progress"), "\(seen)")
        XCTAssertEqual(server.stop(), 0)
    }

    /// Read from the document: `pageNum` had no maximum, but the server refuses pages past 100,000
    /// (schemathesis's positive-data check would send a larger one). Both now say 100,000.
    /// Found by schemathesis (ST201): an empty `pageNum=` was answered 200 as if absent.
    func testPageNumLimitIsTheDocumentedMaximum() throws {
        let parameters = try XCTUnwrap((try paths["/v1/videos/image2video"]?["get"] as? [String: Any])?["parameters"] as? [[String: Any]])
        let pageNum = try XCTUnwrap(parameters.first { $0["name"] as? String == "pageNum" }?["schema"] as? [String: Any])
        let maximum = try XCTUnwrap(pageNum["maximum"] as? Int)
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--slots", "0"])
        XCTAssertEqual(try server.client.get("/v1/videos/image2video?pageNum=\(maximum)").status, 200)
        let over = try server.client.get("/v1/videos/image2video?pageNum=\(maximum + 1)")
        XCTAssertEqual(over.status, 400, over.text)
        XCTAssertEqual(over.code, 1201)
        // ST201: an empty value (`?pageNum=&pageSize=`) is not an integer; it was taken as absent.
        for query in ["pageNum=", "pageSize=", "pageNum=&pageSize="] {
            let empty = try server.client.get("/v1/videos/image2video?\(query)")
            XCTAssertEqual(empty.status, 400, "\(query): \(empty.text)")
            XCTAssertEqual(empty.code, 1201, query)
        }
        XCTAssertEqual(try server.client.get("/v1/videos/image2video").status, 200, "absent parameters take their defaults")
        XCTAssertEqual(server.stop(), 0)
    }

    /// Read from the document: `Submitted.task_status` was `const: submitted`, but a repeated
    /// external_task_id answers the existing task with its current status (here failed, cancelled).
    func testRepeatedExternalTaskIdAnswersAStatusTheDocumentAllows() throws {
        let submitted = try XCTUnwrap(((try document()["components"] as? [String: Any])?["schemas"] as? [String: Any])?["Submitted"] as? [String: Any])
        let allowed = try XCTUnwrap(((submitted["properties"] as? [String: Any])?["task_status"] as? [String: Any])?["enum"] as? [String])
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--slots", "0"])
        let body = try taskBody(extra: ["external_task_id": "again"])
        let id = try submit(server, body)
        XCTAssertEqual(try server.client.request("POST", "/v1/videos/image2video/\(id)/cancel").status, 200)
        let repeated = try server.client.postJSON("/v1/videos/image2video", body)
        XCTAssertEqual(repeated.status, 200, repeated.text)
        XCTAssertEqual(repeated.data["task_id"] as? String, id)
        let status = try XCTUnwrap(repeated.data["task_status"] as? String)
        XCTAssertEqual(status, "failed")
        XCTAssertTrue(allowed.contains(status), "\(status) is not in the documented \(allowed)")
        XCTAssertEqual(server.stop(), 0)
    }

    /// ST202: an empty `Range:` header (schema-valid: the document says string) was answered 416
    /// with no body, and so was `bytes=8765-11725,8682-9573` (its first range past the end, the
    /// second not). A header that is not one byte range is now ignored (RFC 9110 14.2: 200, the
    /// whole file); 416 stays for one well-formed range past the end, 206 for a satisfiable one.
    func testMalformedRangeHeadersAreIgnoredAndOnlyRangesPastTheEndAre416() throws {
        let server = try ServerProcess(test: self, extra: tinyArgs)
        let id = try submit(server, try taskBody(steps: 2))
        let done = try waitFor(server, id)
        let url = try XCTUnwrap(((done["task_result"] as? [String: Any])?["videos"] as? [[String: Any]])?.first?["url"] as? String)
        let path = "/v1/files/" + (url.split(separator: "/").last.map(String.init) ?? "")
        let full = try server.client.get(path)
        XCTAssertEqual(full.status, 200)
        let size = full.body.count
        for ignored in ["", "0", "bytes", "bytes=", "bytes=-", "bytes=abc-", "bytes=5-2", "items=0-10", "bytes=1-2-3", "bytes=٣-",
                        "bytes=\(size + 10)-\(size + 20),0-9", "bytes=0-9,20-29"] {
            let r = try server.client.get(path, headers: ["Range": ignored])
            XCTAssertEqual(r.status, 200, "Range '\(ignored)'")
            XCTAssertEqual(r.body, full.body, "Range '\(ignored)'")
            XCTAssertNil(r.headers["content-range"], "Range '\(ignored)'")
        }
        for past in ["bytes=\(size)-", "bytes=\(size)-\(size + 10)", "bytes=-0", "bytes=99999999999999999999999-"] {
            let r = try server.client.get(path, headers: ["Range": past])
            XCTAssertEqual(r.status, 416, "Range '\(past)'")
            XCTAssertEqual(r.headers["content-range"], "bytes */\(size)", "Range '\(past)'")
        }
        let first = try server.client.get(path, headers: ["Range": "bytes=0-0"])
        XCTAssertEqual(first.status, 206)
        XCTAssertEqual(first.body, [full.body[0]])
        let beyondEnd = try server.client.get(path, headers: ["Range": "bytes=\(size - 2)-\(size + 100)"])
        XCTAssertEqual(beyondEnd.status, 206)
        XCTAssertEqual(beyondEnd.headers["content-range"], "bytes \(size - 2)-\(size - 1)/\(size)")
        let huge = try server.client.get(path, headers: ["Range": "bytes=-99999999999999999999999"])
        XCTAssertEqual(huge.status, 206, "a suffix longer than the file is all of it")
        XCTAssertEqual(huge.body, full.body)
        XCTAssertEqual(server.stop(), 0)
    }

    /// ST201: `null` for an optional field was accepted (the server reads it as absent) while the
    /// document said `string`/`integer`. The document now allows null for every optional submit and
    /// check field, and the server accepts it.
    func testNullOptionalFieldsAreAcceptedAndDocumented() throws {
        let schemas = try XCTUnwrap((try document()["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let submit = try XCTUnwrap((schemas["SubmitRequest"] as? [String: Any])?["properties"] as? [String: [String: Any]])
        let optional = submit.keys.filter { !["image", "avoid"].contains($0) }.sorted()
        for name in optional {
            XCTAssertTrue((submit[name]?["type"] as? [String])?.contains("null") == true, "\(name) does not allow null")
        }
        let check = try XCTUnwrap((schemas["CheckRequest"] as? [String: Any])?["properties"] as? [String: [String: Any]])
        for name in ["prompt", "negative_prompt"] {
            XCTAssertTrue((check[name]?["type"] as? [String])?.contains("null") == true, "check \(name) does not allow null")
        }
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--slots", "0"])
        var body: [String: Any] = ["image": try imageBase64()]
        for name in optional { body[name] = NSNull() }
        let r = try server.client.postJSON("/v1/videos/image2video", body)
        XCTAssertEqual(r.status, 200, r.text)
        let c = try server.client.postJSON("/v1/moderation/check", ["image": try imageBase64(), "prompt": NSNull(), "negative_prompt": NSNull()])
        XCTAssertEqual(c.status, 200, c.text)
        XCTAssertEqual(server.stop(), 0)
    }

    /// The store outage codes are documented: 5002 and 5003 in the error schema, and a 503 answer
    /// (with Retry-After) on every /v1 operation.
    func testStoreOutageAnswersAreDocumentedOnEveryV1Operation() throws {
        let components = try XCTUnwrap(try document()["components"] as? [String: Any])
        let codes = try XCTUnwrap((((components["schemas"] as? [String: Any])?["Error"] as? [String: Any])?["properties"]
            as? [String: Any])?["code"] as? [String: Any])?["enum"] as? [Int]
        XCTAssertTrue(codes?.contains(5002) == true && codes?.contains(5003) == true, "\(codes ?? [])")
        let unavailable = try XCTUnwrap((components["responses"] as? [String: Any])?["StoreUnavailable"] as? [String: Any])
        XCTAssertNotNil((unavailable["headers"] as? [String: Any])?["Retry-After"])
        for (path, item) in try paths where path.hasPrefix("/v1/") {
            for (method, op) in item where method != "parameters" {
                let responses = (op as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                XCTAssertNotNil(responses["503"], "\(method) \(path) does not document 503")
            }
        }
    }
}
