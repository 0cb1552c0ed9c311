import Foundation

/// Standard Webhooks signatures (standardwebhooks.com): `webhook-signature: v1,<base64 of
/// HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")>`, with the secret given as
/// `whsec_<base64>` (the bytes after the prefix, base64-decoded, are the HMAC key).
public struct WebhookSigner: Sendable {
    public let key: [UInt8]

    public enum SecretError: Error, CustomStringConvertible {
        case malformed
        public var description: String {
            "the webhook secret must be whsec_ followed by base64 (for example whsec_\(Data(RandomToken.bytes(24)).base64EncodedString()))"
        }
    }

    public init(secret: String) throws {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let data = Data(base64Encoded: encoded), !data.isEmpty else { throw SecretError.malformed }
        key = [UInt8](data)
    }

    /// A new random secret, `whsec_` + base64 of 24 bytes.
    public static func newSecret() -> String { "whsec_" + Data(RandomToken.bytes(24)).base64EncodedString() }

    public func signature(id: String, timestamp: Int64, body: String) -> String {
        let mac = HMACSHA256.mac(key: key, message: Array("\(id).\(timestamp).\(body)".utf8))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The three headers of one delivery attempt.
    public func headers(id: String, timestamp: Int64, body: String) -> [String: String] {
        ["webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature(id: id, timestamp: timestamp, body: body)]
    }

    /// Whether any of the space-separated `v1,` signatures of a header matches.
    public func verify(id: String, timestamp: Int64, body: String, signatureHeader: String) -> Bool {
        let expected = Array(signature(id: id, timestamp: timestamp, body: body).utf8)
        return signatureHeader.split(separator: " ").contains { HMACSHA256.constantTimeEqual(Array($0.utf8), expected) }
    }
}
