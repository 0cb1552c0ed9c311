import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The web page in a real browser: Debian's chromium (headless) driven through chromium-driver's
/// W3C WebDriver HTTP protocol (no Selenium needed). Submits with the demo model and waits until the
/// `<video>` plays; submits a face under a face-rejecting policy and reads the rejection. With
/// `IMG2VID_SCREENSHOTS=DIR` it saves the screenshots committed in docs/.
final class BrowserTests: ServerTestCase {
    func testPagePlaysTheVideoAndShowsARejection() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/chromedriver") else {
            XCTFail("the browser test needs chromium and chromium-driver: run Scripts/setup")
            return
        }
        let dir = try Paths.temporaryFolder(self)
        guard let policy = try faceRejectingPolicy(in: dir) else { return }
        let server = try ServerProcess(test: self, extra: ["--policy", policy])
        let browser = try WebDriver(test: self)
        let shots = ProcessInfo.processInfo.environment["IMG2VID_SCREENSHOTS"]

        try browser.navigate("http://127.0.0.1:\(server.port)/")
        try browser.sendKeys("#file", Paths.root().appendingPathComponent("Examples/fog-pier.png").path)
        try browser.clear("#seed")
        try browser.sendKeys("#seed", "3")
        try browser.sendKeys("#steps", "4")
        try browser.click("#submit")
        let playing = try browser.waitFor(timeout: 300, """
            const v = document.getElementById('video');
            return !document.getElementById('result').hidden && v.readyState >= 2 && !v.paused && v.currentTime > 0;
            """)
        let status = try browser.run("return document.getElementById('status').textContent") as? String ?? ""
        XCTAssertTrue(playing, "the video plays; status: \(status)")
        XCTAssertTrue((try browser.run("return document.getElementById('status').textContent") as? String ?? "").contains("finished"))
        XCTAssertEqual(try browser.run("return document.querySelectorAll('#task-rows tr').length") as? Int, 1)
        if let shots { try browser.screenshot(to: shots + "/serve-page.png") }

        try browser.sendKeys("#file", Paths.astronautPNG())
        try browser.click("#submit")
        let rejected = try browser.waitFor(timeout: 60, "return document.getElementById('status').className === 'bad';")
        XCTAssertTrue(rejected)
        let message = try browser.run("return document.getElementById('status').textContent") as? String ?? ""
        XCTAssertTrue(message.contains(#"Moderation rejected this request at the input image: detector "nudenet" saw FACE_FEMALE with score"#), message)
        XCTAssertTrue(message.contains("(threshold 0.30), under the policy \(policy)"), message)
        if let shots { try browser.screenshot(to: shots + "/serve-rejection.png") }
        XCTAssertEqual(server.stop(), 0)
    }
}

/// A chromium-driver session over its HTTP protocol (W3C WebDriver).
final class WebDriver {
    let driver = Process()
    let port: Int
    var session = ""
    var client: HTTPClient { HTTPClient(port: port) }

    init(test: XCTestCase) throws {
        port = WebDriver.freePort()
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
        driver.arguments = ["--port=\(port)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        test.addTeardownBlock { [self] in
            if !session.isEmpty { _ = try? client.request("DELETE", "/session/\(session)") }
            if driver.isRunning { kill(driver.processIdentifier, SIGTERM); driver.waitUntilExit() }
        }
        let deadline = Date().addingTimeInterval(20)
        while (try? client.get("/status").status) != 200 && Date() < deadline { usleep(100_000) }
        let caps: [String: Any] = ["capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": [
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1150",
                     "--autoplay-policy=no-user-gesture-required", "--user-data-dir=\(NSTemporaryDirectory())img2vid-chromium-\(UUID().uuidString)"],
        ]]]]
        let r = try call("POST", "/session", caps)
        session = try XCTUnwrap((r as? [String: Any])?["sessionId"] as? String, "no session: \(String(describing: r))")
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    @discardableResult
    func call(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any? {
        let data = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? (method == "POST" ? Array("{}".utf8) : [])
        let r = try client.request(method, path, headers: ["Content-Type": "application/json"], body: data, timeout: 120)
        let object = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        if r.status != 200 { throw ServerTestError.notStarted("webdriver \(method) \(path): \(r.status) \(r.text.prefix(300))") }
        return object?["value"]
    }

    func navigate(_ url: String) throws { try call("POST", "/session/\(session)/url", ["url": url]) }

    func element(_ css: String) throws -> String {
        let v = try call("POST", "/session/\(session)/element", ["using": "css selector", "value": css]) as? [String: Any]
        return try XCTUnwrap(v?.values.first as? String, "no element \(css)")
    }

    func sendKeys(_ css: String, _ text: String) throws {
        try call("POST", "/session/\(session)/element/\(try element(css))/value", ["text": text])
    }

    func clear(_ css: String) throws { try call("POST", "/session/\(session)/element/\(try element(css))/clear") }

    func click(_ css: String) throws { try call("POST", "/session/\(session)/element/\(try element(css))/click") }

    func run(_ script: String) throws -> Any? { try call("POST", "/session/\(session)/execute/sync", ["script": script, "args": []]) }

    func waitFor(timeout: Double, _ script: String) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try run(script) as? Bool == true { return true }
            usleep(250_000)
        }
        return false
    }

    func screenshot(to path: String) throws {
        let base64 = try XCTUnwrap(try call("GET", "/session/\(session)/screenshot") as? String)
        try XCTUnwrap(Data(base64Encoded: base64)).write(to: URL(fileURLWithPath: path))
    }
}
