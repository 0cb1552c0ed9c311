import Foundation
import Hummingbird

/// The web page and the OpenAPI document, served from the module's resources.
enum Static {
    static func page(_ name: String) throws -> Response {
        let ext = (name as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: (name as NSString).deletingPathExtension, withExtension: ext, subdirectory: "Resources"),
              let data = try? Data(contentsOf: url) else { throw APIError.notFound("resource \(name)") }
        let type = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                    "json": "application/json; charset=utf-8"][ext] ?? "application/octet-stream"
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
