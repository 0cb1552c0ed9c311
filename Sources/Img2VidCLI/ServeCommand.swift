import ArgumentParser
import Foundation
import Img2Vid
import Jobs
import Moderation
import Server
#if canImport(Glibc)
import Glibc
#endif

/// `img2vid serve`: the HTTP task API (README "Serving over HTTP", docs/API.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP task API and the web page (submit, poll or stream progress, download).",
        discussion: """
            Tasks, events, webhook deliveries and keys live in an SQLite database under --data-dir; \
            inputs and videos beside it. A task left running by a killed server is queued again on \
            the next start. Without API keys (img2vid keys add) the server binds loopback only.

            Examples:
              img2vid serve
              img2vid serve --port 9000 --data-dir /var/lib/img2vid --model xt=Weights/stable-video-diffusion-img2vid-xt
              img2vid serve --host 0.0.0.0 --policy my-policy.json --slots 2   (needs keys)
            """
    )

    @Option(help: "Address to bind (loopback unless API keys exist).")
    var host = "127.0.0.1"

    @Option(help: "Port (0 picks a free one; the line 'listening on' says which).")
    var port = 8080

    @Option(help: "Folder for the job database, inputs and videos.")
    var dataDir = "img2vid-data"

    @Option(name: .customLong("model"), help: ArgumentHelp("A model as NAME=PATH (repeatable); the demo model is configured as 'demo' by default.", valueName: "name=path"))
    var models: [String] = []

    @Option(help: "model_name used when a request gives none (default: demo, else the first --model).")
    var defaultModel: String?

    @Option(help: ArgumentHelp("Default moderation policy for requests: a JSON file, standard, or none (keys may carry their own).",
                               discussion: "Default: $IMG2VID_POLICY, else standard.", valueName: "path|standard|none"))
    var policy: String?

    @Option(help: "Tasks this process runs at once (0: API only).")
    var slots = 1

    @Option(help: "Webhook signing secret, whsec_<base64> (default: $IMG2VID_WEBHOOK_SECRET, else one kept in --data-dir/webhook-secret).")
    var webhookSecret: String?

    @Option(help: "Largest request body in bytes.")
    var maxBodyBytes = 16 << 20

    @Option(help: "Largest input image in pixels.")
    var maxInputPixels = 16_777_216

    @Option(help: "Base of result URLs (default: http://HOST:PORT).")
    var publicUrl: String?

    @Option(help: "Webhook delivery attempts before giving up.")
    var webhookAttempts = 8

    @Option(help: "Seconds before the first webhook retry (doubled per attempt).")
    var webhookRetrySeconds = 1.0

    @Option(help: "Seconds a request waits for the job store before it is answered 503 (code 5002): a database that is down never holds a request longer.")
    var storeTimeout = 5.0

    @Option(help: ArgumentHelp(
        "A folder of detector weights, searched for a policy's relative weight paths after the policy's folder and the installation's Weights/.",
        discussion: "Default: $IMG2VID_WEIGHTS.", valueName: "path"))
    var weightsDir: String?

    @OptionGroup var storeOption: StoreOption

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if slots < 0 { throw ValidationError("--slots must be 0 or more") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0...65535") }
        if webhookAttempts < 1 { throw ValidationError("--webhook-attempts must be at least 1") }
        if !(storeTimeout > 0) { throw ValidationError("--store-timeout must be more than 0 seconds") }
    }

    func run() async throws {
        runtime.apply()
        let dataDir = URL(fileURLWithPath: self.dataDir).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let lock = try Self.lockDataDirectory(dataDir)
        defer { close(lock) }

        // Models: demo by default, plus NAME=PATH.
        var modelMap: [String: String] = [:]
        if let demo = Self.demoModel() { modelMap["demo"] = demo }
        var order: [String] = []
        for spec in models {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else { throw ValidationError("--model expects NAME=PATH, got '\(spec)'") }
            let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("model_index.json")) else {
                throw ValidationError("--model \(name)=\(path): no diffusers pipeline folder there (model_index.json missing)")
            }
            modelMap[name] = path
            order.append(name)
        }
        let defaultName = defaultModel ?? (modelMap["demo"] != nil ? "demo" : order.first)
        guard let defaultName, modelMap[defaultName] != nil else {
            throw ValidationError("no model: the demo model was not found and no --model NAME=PATH was given (or --default-model names none)")
        }

        let weightFolders = ModerationOptions.weightFolders(explicit: weightsDir)
        let resolve: @Sendable (String) throws -> String = { try Self.resolvePolicy($0, weightFolders: weightFolders) }
        let policyPath = try resolve(policy ?? ProcessInfo.processInfo.environment["IMG2VID_POLICY"] ?? "standard")
        let secret = try webhookSecret ?? ProcessInfo.processInfo.environment["IMG2VID_WEBHOOK_SECRET"] ?? Self.storedSecret(dataDir)
        _ = try WebhookSigner(secret: secret)

        let config0 = ServerConfiguration(host: host, port: port, dataDirectory: dataDir, models: modelMap, defaultModel: defaultName,
                                          policy: policyPath, resolvePolicy: resolve, slots: slots, webhookSecret: secret)
        var config = config0
        config.maxBodyBytes = maxBodyBytes
        config.maxInputPixels = maxInputPixels
        config.publicURL = publicUrl
        config.webhookMaxAttempts = webhookAttempts
        config.webhookBaseDelay = webhookRetrySeconds
        config.storeTimeout = storeTimeout
        let publicURL = PublicURL(config)
        let store = try await storeOption.open(dataDirectory: dataDir, render: APIServer.renderer(publicURL: publicURL))
        let hasKeys = try await store.hasActiveKeys()
        if !hasKeys {
            guard ServerConfiguration.isLoopback(host) else {
                throw ValidationError("refusing to bind \(host) without API keys: anyone who can reach it could use it. "
                                      + "Add a key first (img2vid keys add NAME --data-dir \(self.dataDir)) or bind 127.0.0.1")
            }
            Console.note("no API keys in \(self.dataDir): serving \(host) only, without authentication (img2vid keys add NAME enables keys)")
        }
        if policyPath == "none" { Console.note("moderation is off (--policy none)") }
        // One engine for the process: every slot's task runs on it, so loaded models are reused.
        let runner = EngineTaskRunner(models: modelMap, defaultModel: defaultName, engine: runtime.engine(), weightFolders: weightFolders)
        runner.warmUp()
        let server = try APIServer(config: config, store: store, runner: runner, publicURL: publicURL)
        try await server.run()
    }

    /// `$IMG2VID_MODEL`, else the bundled demo model beside the executable's checkout (as `generate` finds it).
    static func demoModel() -> String? {
        if let env = ProcessInfo.processInfo.environment["IMG2VID_MODEL"], !env.isEmpty { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Weights/demo")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("model_index.json").path) { return candidate.path }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    /// A policy name as `--policy` takes it, to a file path or "none"; the file must load, and its
    /// detectors too (missing weights fail here, at start, not on the first request).
    static func resolvePolicy(_ name: String, weightFolders: [String]) throws -> String {
        if name == "none" || name.isEmpty { return "none" }
        let path = try ModerationOptions.policyPath(name)
        do {
            var policy = try ModerationPolicy.load(path: path)
            policy.weightFolders = weightFolders
            _ = try Moderator(policy: policy)
        } catch {
            throw ValidationError("moderation policy \(name) (\(path)) cannot be used: \(GenerationError.wrap(error)). "
                                  + "Run Scripts/setup for the detector weights, or pass --policy none")
        }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The webhook secret kept in the data folder (created on first start, mode 0600).
    static func storedSecret(_ dataDir: String) throws -> String {
        let path = (dataDir as NSString).appendingPathComponent("webhook-secret")
        if let data = FileManager.default.contents(atPath: path) {
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let secret = WebhookSigner.newSecret()
        guard FileManager.default.createFile(atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path)")
        }
        Console.note("webhook signing secret created in \(path)")
        return secret
    }

    /// One server per data folder: an exclusive lock on `serve.lock` (released when the process ends, even by kill -9).
    static func lockDataDirectory(_ dataDir: String) throws -> Int32 {
        let path = (dataDir as NSString).appendingPathComponent("serve.lock")
        let fd = open(path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw ValidationError("cannot open \(path)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ValidationError("another img2vid serve uses \(dataDir) (it holds \(path)); stop it or pick another --data-dir")
        }
        return fd
    }
}
