import Foundation
import HTTPTypes
import Hummingbird
import Jobs

/// Kling's envelope: `{code, message, request_id, data}`; `code` 0 and message SUCCEED on success.
enum JSONResponse {
    static func ok(_ data: Any, extra: [String: Any] = [:]) -> Response {
        var object: [String: Any] = ["code": 0, "message": "SUCCEED", "request_id": requestId(), "data": data]
        for (k, v) in extra { object[k] = v }
        return response(status: .ok, object)
    }

    static func error(_ e: APIError) -> Response {
        var data: [String: Any] = [:]
        if let m = e.moderation { data["moderation"] = TaskJSON.moderation(m) }
        var response = response(status: HTTPResponse.Status(code: e.status),
                                ["code": e.code, "message": e.message, "request_id": requestId(), "data": data.isEmpty ? NSNull() : data])
        if let retry = e.retryAfter { response.headers[HTTPField.Name("Retry-After")!] = String(retry) }
        return response
    }

    static func response(status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let body = TaskJSON.string(object)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func requestId() -> String { "req_" + RandomToken.make(bytes: 10) }
}

/// Turns every thrown error into the envelope: `APIError` as it says, the job store's outages as 503
/// (5002/5003), Hummingbird's 404/405 as 1203/1202, anything else as 5000 (logged, never a stack trace to the client).
struct EnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = request.uri.path.hasPrefix("/v1/files/") ? "/v1/files" : (request.uri.path.count > 64 ? "other" : request.uri.path)
        let response: Response
        do {
            response = try await next(request, context)
        } catch let e as APIError {
            response = JSONResponse.error(e)
        } catch let e as JobStoreUnavailable {
            FileHandle.standardError.write(Data("img2vid serve: \(request.method) \(request.uri.path): 503: \(e.detail)\n".utf8))
            response = JSONResponse.error(.storeUnavailable(e))
        } catch let e as HTTPError {
            switch e.status {
            case .notFound:
                // A known path asked with a method it does not take: 405 with Allow (RFC 9110 15.5.6).
                if let allowed = RouteTable.methods(for: request.uri.path) {
                    var answer = JSONResponse.error(APIError(status: 405, code: 1202, "method \(request.method) is not allowed on \(request.uri.path) "
                                                             + "(allowed: \(allowed.joined(separator: ", ")))"))
                    answer.headers[.allow] = allowed.joined(separator: ", ")
                    response = answer
                } else {
                    response = JSONResponse.error(APIError(status: 404, code: 1203, "no route \(request.method) \(request.uri.path)"))
                }
            case .methodNotAllowed: response = JSONResponse.error(APIError(status: 405, code: 1202, "method \(request.method) is not allowed on \(request.uri.path)"))
            default: response = JSONResponse.error(APIError(status: e.status.code, code: e.status.code >= 500 ? 5000 : 1200, e.body ?? "\(e.status)"))
            }
        } catch {
            FileHandle.standardError.write(Data("img2vid serve: \(request.method) \(request.uri.path): \(error)\n".utf8))
            response = JSONResponse.error(.internalError("\(type(of: error))"))
        }
        metrics.request(route: response.status.code == 404 ? "unmatched" : Self.template(route), status: response.status.code)
        return response
    }

    /// Route labels without task ids (bounded cardinality).
    static func template(_ path: String) -> String {
        var parts = path.split(separator: "/").map(String.init)
        for i in parts.indices where parts[i].hasPrefix("tsk_") { parts[i] = "{task_id}" }
        return "/" + parts.joined(separator: "/")
    }
}
