/// The paths the server answers and the methods each takes: the same routes as
/// `APIServer.buildRouter()` and the OpenAPI document (`OpenAPIDocumentTests` and
/// `SchemathesisFindingsTests` check that the three agree).
///
/// Hummingbird's router answers 404 for a known path asked with another method; RFC 9110 (15.5.6)
/// wants 405 with an `Allow` header listing the methods the path takes, and schemathesis checks it
/// (ST204, "wrong response to undeclared method").
enum RouteTable {
    /// Path templates (`:name` is one path segment) and their methods.
    static let routes: [(template: String, methods: [String])] = [
        ("/", ["GET"]),
        ("/app.js", ["GET"]),
        ("/app.css", ["GET"]),
        ("/openapi.json", ["GET"]),
        ("/healthz", ["GET"]),
        ("/readyz", ["GET"]),
        ("/metrics", ["GET"]),
        ("/v1/videos/image2video", ["GET", "POST"]),
        ("/v1/videos/image2video/:task_id", ["GET"]),
        ("/v1/videos/image2video/:task_id/cancel", ["POST"]),
        ("/v1/videos/image2video/:task_id/events", ["GET"]),
        ("/v1/files/:file_id", ["GET", "HEAD"]),
        ("/v1/moderation/check", ["POST"]),
    ]

    /// The methods `path` takes; nil when no route has that path.
    static func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for route in routes {
            let parts = route.template.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard parts.count == segments.count else { continue }
            if zip(parts, segments).allSatisfy({ $0.hasPrefix(":") ? !$1.isEmpty : $0 == $1 }) { return route.methods }
        }
        return nil
    }
}
