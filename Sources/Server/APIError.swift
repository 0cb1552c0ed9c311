import Foundation
import Jobs

/// An answer other than success: an HTTP status, Kling's numeric `code` and a message that names
/// the field and the limit. The table of codes is `docs/API.md` ("Errors"); keep both in step.
struct APIError: Error, Sendable {
    var status: Int
    var code: Int
    var message: String
    /// Extra `data` members (the moderation decision of a 1301).
    var moderation: TaskModeration?
    /// Seconds for `Retry-After` (429, and 503 when the job store is out).
    var retryAfter: Int?

    init(status: Int, code: Int, _ message: String, moderation: TaskModeration? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.moderation = moderation
        self.retryAfter = retryAfter
    }

    // 1000-1004 authentication
    static func missingKey() -> APIError {
        APIError(status: 401, code: 1001, "Authorization is empty: send 'Authorization: Bearer <key>' (img2vid keys add NAME prints one)")
    }
    static func invalidKey() -> APIError { APIError(status: 401, code: 1002, "Authorization is invalid: the key is unknown or was revoked") }
    static func malformedAuthorization() -> APIError {
        APIError(status: 401, code: 1000, "Authorization failed: expected 'Authorization: Bearer <key>'")
    }

    // 1100-1103 limits
    static func overLimit(_ message: String, retryAfter: Int) -> APIError {
        APIError(status: 429, code: 1303, message, retryAfter: retryAfter)
    }

    // 1200-1203 parameters
    static func malformed(_ message: String) -> APIError { APIError(status: 400, code: 1200, message) }
    static func invalid(_ field: String, _ message: String) -> APIError { APIError(status: 400, code: 1201, "\(field): \(message)") }
    static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: 413, code: 1201, "body: over the limit of \(limit) bytes (the image counts; send a smaller one, or raise --max-body-bytes)")
    }
    static func notFound(_ what: String) -> APIError { APIError(status: 404, code: 1203, "\(what) does not exist") }
    static func conflict(_ message: String) -> APIError { APIError(status: 409, code: 1201, message) }

    // 1300-1304 policy
    static func rejected(_ moderation: TaskModeration) -> APIError {
        APIError(status: 400, code: 1301, "rejected by the moderation policy: \(moderation.message)", moderation: moderation)
    }

    // 5000 server
    static func internalError(_ message: String) -> APIError { APIError(status: 500, code: 5000, "server error: \(message)") }
    static func notReady() -> APIError { APIError(status: 503, code: 5001, "not ready: the default model is still loading") }

    /// 503 when the job store cannot serve: 5003 when its disk is full (an operator must free
    /// space), 5002 for anything else (down, unreachable, read-only, I/O error, no answer in time).
    /// Whatever the request was, it was not carried out; a refused submission stored nothing.
    static func storeUnavailable(_ e: JobStoreUnavailable) -> APIError {
        if e.isFull {
            return APIError(status: 503, code: 5003, "job store full: \(e.detail). The request was not carried out; retry once space is freed",
                            retryAfter: storeFullRetrySeconds)
        }
        return APIError(status: 503, code: 5002, "job store unavailable (\(words(e.reason))): \(e.detail). The request was not carried out; "
                        + "retry in a few seconds", retryAfter: storeRetrySeconds)
    }
    static func words(_ reason: JobStoreUnavailable.Reason) -> String {
        switch reason {
        case .unreachable: return "unreachable"
        case .full: return "disk full"
        case .readOnly: return "read-only"
        case .ioError: return "I/O error"
        case .busy: return "locked"
        case .timedOut: return "timed out"
        }
    }
    static let storeRetrySeconds = 5
    static let storeFullRetrySeconds = 30
}
