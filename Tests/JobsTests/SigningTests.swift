import Foundation
import Jobs
import XCTest

final class SigningTests: XCTestCase {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex { let j = hex.index(i, offsetBy: 2); out.append(UInt8(hex[i..<j], radix: 16)!); i = j }
        return out
    }

    /// RFC 4231 test cases 1, 2, 4, 6 (key longer than a block) and 7.
    func testHMACSHA256MatchesRFC4231() {
        XCTAssertEqual(hex(HMACSHA256.mac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(hex(HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hex(HMACSHA256.mac(key: bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                                          message: [UInt8](repeating: 0xcd, count: 50))),
                       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        XCTAssertEqual(hex(HMACSHA256.mac(key: [UInt8](repeating: 0xaa, count: 131),
                                          message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        XCTAssertEqual(hex(HMACSHA256.mac(key: [UInt8](repeating: 0xaa, count: 131), message: Array(
            "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8))),
                       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    /// The Standard Webhooks reference vector (standard-webhooks/standard-webhooks, libraries' tests).
    func testStandardWebhooksSignature() throws {
        let signer = try WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let sig = signer.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: #"{"test": 2432232314}"#)
        XCTAssertEqual(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        XCTAssertTrue(signer.verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: #"{"test": 2432232314}"#,
                                    signatureHeader: "v1,bm9ldmVu " + sig))
        XCTAssertFalse(signer.verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265331, body: #"{"test": 2432232314}"#,
                                     signatureHeader: sig))
        XCTAssertThrowsError(try WebhookSigner(secret: "whsec_###"))
        XCTAssertTrue(WebhookSigner.newSecret().hasPrefix("whsec_"))
    }

    func testKeysAreSaltedAndMatchOnlyThemselves() {
        let (secret, key) = KeyHasher.newKey(name: "a", policy: nil, maxConcurrent: nil, maxQueued: nil)
        let (other, key2) = KeyHasher.newKey(name: "b", policy: nil, maxConcurrent: nil, maxQueued: nil)
        XCTAssertNotEqual(key.salt, key2.salt)
        XCTAssertFalse(key.hash.contains(secret.dropFirst(4)))
        XCTAssertEqual(KeyHasher.match(secret, in: [key, key2])?.name, "a")
        XCTAssertEqual(KeyHasher.match(other, in: [key, key2])?.name, "b")
        XCTAssertNil(KeyHasher.match(secret + "0", in: [key, key2]))
        var tampered = secret
        tampered.removeLast()
        tampered += secret.last == "0" ? "1" : "0"
        XCTAssertNil(KeyHasher.match(tampered, in: [key]))
        var revoked = key
        revoked.revokedAt = 1
        XCTAssertNil(KeyHasher.match(secret, in: [revoked]))
    }
}
