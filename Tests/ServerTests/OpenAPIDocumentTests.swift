import Foundation
import XCTest

/// The committed OpenAPI 3.1 document (Sources/Server/Resources/openapi.json, served at
/// /openapi.json) is true: well formed, every route in it is answered by a running server with
/// one of the statuses it documents, and the submit schema lists exactly the fields accepted.
final class OpenAPIDocumentTests: ServerTestCase {
    func document() throws -> [String: Any] {
        let data = try Data(contentsOf: Paths.root().appendingPathComponent("Sources/Server/Resources/openapi.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every `$ref` in `value`.
    func refs(_ value: Any) -> [String] {
        if let o = value as? [String: Any] { return (o["$ref"] as? String).map { [$0] } ?? [] + o.values.flatMap(refs) }
        if let a = value as? [Any] { return a.flatMap(refs) }
        return []
    }

    func testDocumentIsWellFormed() throws {
        let doc = try document()
        XCTAssertTrue((doc["openapi"] as? String ?? "").hasPrefix("3.1."))
        let components = try XCTUnwrap(doc["components"] as? [String: Any])
        for ref in refs(doc) {
            let parts = ref.split(separator: "/").map(String.init)
            XCTAssertEqual(parts.first, "#", ref)
            XCTAssertNotNil((components[parts[2]] as? [String: Any])?[parts[3]], "dangling \(ref)")
        }
        let paths = try XCTUnwrap(doc["paths"] as? [String: [String: Any]])
        var operationIds = Set<String>()
        for (path, item) in paths {
            for (method, op) in item where method != "parameters" {
                let op = try XCTUnwrap(op as? [String: Any], "\(method) \(path)")
                let id = try XCTUnwrap(op["operationId"] as? String, "\(method) \(path) has an operationId")
                XCTAssertTrue(operationIds.insert(id).inserted, "duplicate operationId \(id)")
                XCTAssertFalse((op["responses"] as? [String: Any] ?? [:]).isEmpty, "\(method) \(path) documents responses")
            }
            // Path templates and path parameters agree.
            let names = path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
            let declared = (item["parameters"] as? [[String: Any]] ?? []).filter { $0["in"] as? String == "path" }.compactMap { $0["name"] as? String }
            XCTAssertEqual(Set(names), Set(declared), path)
        }
    }

    func testEveryDocumentedRouteIsAnsweredAsDocumented() throws {
        let server = try ServerProcess(test: self, extra: tinyArgs)
        let c = server.client
        let served = try c.get("/openapi.json")
        XCTAssertEqual(served.status, 200)
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(served.body)) as? NSDictionary, try document() as NSDictionary)
        let taskId = try submit(server, try taskBody())
        let done = try waitFor(server, taskId)
        let url = try XCTUnwrap(((done["task_result"] as? [String: Any])?["videos"] as? [[String: Any]])?.first?["url"] as? String)
        let fileId = String(url.split(separator: "/").last ?? "")
        let other = try submit(server, try slowTaskBody(steps: 30))   // to cancel

        let paths = try XCTUnwrap(try document()["paths"] as? [String: [String: Any]])
        var answered = 0
        for (template, item) in paths.sorted(by: { $0.key < $1.key }) {
            for (method, op) in item where method != "parameters" {
                let op = op as? [String: Any] ?? [:]
                var path = template.replacingOccurrences(of: "{file_id}", with: fileId)
                path = path.replacingOccurrences(of: "{task_id}", with: template.hasSuffix("/cancel") ? other : taskId)
                var body: [UInt8] = []
                var headers: [String: String] = [:]
                if path == "/v1/videos/image2video" && method == "post" {
                    body = Array(try JSONSerialization.data(withJSONObject: try taskBody()))
                    headers["Content-Type"] = "application/json"
                } else if path == "/v1/moderation/check" {
                    body = Array(try JSONSerialization.data(withJSONObject: ["image": try imageBase64()]))
                    headers["Content-Type"] = "application/json"
                }
                let r = try c.request(method.uppercased(), path, headers: headers, body: body)
                let documented = Set((op["responses"] as? [String: Any] ?? [:]).keys)
                XCTAssertTrue(documented.contains(String(r.status)), "\(method) \(path) answered \(r.status), documented \(documented.sorted()): \(r.text.prefix(200))")
                XCTAssertFalse(r.text.contains("no route"), "\(method) \(path)")
                answered += 1
            }
        }
        XCTAssertEqual(answered, 13)
        XCTAssertEqual(server.stop(), 0)
    }

    func testSubmitSchemaListsExactlyTheAcceptedFields() throws {
        let schemas = try XCTUnwrap((try document()["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let documented = Set(try XCTUnwrap(((schemas["SubmitRequest"] as? [String: Any])?["properties"] as? [String: Any])?.keys))
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--slots", "0"])
        let r = try server.client.postJSON("/v1/videos/image2video", ["image": try imageBase64(), "zzz": 1])
        let accepted = try XCTUnwrap(r.message.components(separatedBy: "(accepted: ").last?.dropLast())
        XCTAssertEqual(Set(accepted.components(separatedBy: ", ")), documented)
        XCTAssertEqual(server.stop(), 0)
    }
}
