import Foundation

/// API keys: `i2v_` + 32 random bytes in hex, shown once. The store keeps a random salt and
/// HMAC-SHA256(salt, key) in hex. Keys carry 256 bits of entropy, so one keyed hash is enough
/// (a slow password hash protects low-entropy secrets, which these are not). The key's id (its
/// first 12 characters after the prefix) finds the row without scanning every hash.
public enum KeyHasher {
    public static let prefix = "i2v_"

    /// A new key and its stored form.
    public static func newKey(name: String, policy: String?, maxConcurrent: Int?, maxQueued: Int?) -> (secret: String, key: APIKey) {
        let secret = prefix + RandomToken.make(bytes: 32)
        let salt = RandomToken.make(bytes: 16)
        let key = APIKey(id: id(of: secret)!, name: name, salt: salt, hash: hash(secret, salt: salt), policy: policy,
                         maxConcurrent: maxConcurrent, maxQueued: maxQueued, createdAt: SQLiteJobStore.now(), revokedAt: nil)
        return (secret, key)
    }

    /// The id part of a key, nil when it is not shaped like one.
    public static func id(of secret: String) -> String? {
        guard secret.hasPrefix(prefix), secret.count == prefix.count + 64 else { return nil }
        return "key_" + secret.dropFirst(prefix.count).prefix(12)
    }

    public static func hash(_ secret: String, salt: String) -> String {
        HMACSHA256.mac(key: Array(salt.utf8), message: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The matching unrevoked key, if any.
    public static func match(_ secret: String, in keys: [APIKey]) -> APIKey? {
        guard let id = id(of: secret) else { return nil }
        return keys.first { key in
            key.id == id && key.revokedAt == nil
                && HMACSHA256.constantTimeEqual(Array(hash(secret, salt: key.salt).utf8), Array(key.hash.utf8))
        }
    }
}
