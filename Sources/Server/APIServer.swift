import Foundation
import HTTPTypes
import Hummingbird
import Jobs
import Logging
import ServiceLifecycle

/// `img2vid serve`: the HTTP task API over a `JobStore`, with in-process worker slots and the
/// webhook outbox, run as one `ServiceGroup` that shuts down gracefully on SIGTERM/SIGINT.
/// The server never runs a model itself: it validates, moderates (input and prompt stages), queues,
/// and answers; workers run tasks through the `TaskRunner`.
public struct APIServer: Sendable {
    let config: ServerConfiguration
    /// The store as the handlers use it: bounded by `config.storeTimeout`, its outages thrown as
    /// `JobStoreUnavailable` (503). The worker slots and the webhook dispatcher use `store.base`.
    let store: BoundedJobStore
    let runner: any TaskRunner
    let pool: WorkerPool
    let dispatcher: WebhookDispatcher
    let metrics = ServerMetrics()
    let publicURL: PublicURL

    /// `publicURL` must be the one the store's renderer was made with (`renderer(publicURL:)`).
    public init(config: ServerConfiguration, store: any JobStore, runner: any TaskRunner, publicURL: PublicURL) throws {
        self.config = config
        self.publicURL = publicURL
        self.store = BoundedJobStore(store, timeout: config.storeTimeout)
        self.runner = runner
        let metrics = self.metrics
        pool = WorkerPool(store: store, runner: runner,
                          settings: .init(slots: config.slots, filesDirectory: (config.dataDirectory as NSString).appendingPathComponent("files")),
                          observer: .init(stepFinished: { metrics.stepSeconds.record($0) },
                                          taskFinished: { outcome in
                                              if case .failed("rejected", _, let m) = outcome { metrics.rejected(stage: m?.stage ?? "output") }
                                          }))
        dispatcher = WebhookDispatcher(store: store, signer: try WebhookSigner(secret: config.webhookSecret),
                                       maxAttempts: config.webhookMaxAttempts, baseDelay: config.webhookBaseDelay)
    }

    /// The store's renderer: status events and webhook bodies carry the API's task object.
    public static func renderer(publicURL: PublicURL) -> SQLiteJobStore.Renderer {
        { task in TaskJSON.string(TaskJSON.object(task, baseURL: publicURL.string)) }
    }

    /// Runs until SIGTERM or SIGINT. Tasks left processing by a killed process are queued again first.
    public func run() async throws {
        let requeued = try await store.base.requeueAbandoned()
        var logger = Logger(label: "img2vid.serve")
        logger.logLevel = .info
        if requeued > 0 { logger.info("queued again \(requeued) task(s) left processing by the previous run") }
        let app = Application(router: buildRouter(), configuration: .init(address: .hostname(config.host, port: config.port),
                                                                          serverName: "img2vid"),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? config.port
                                  publicURL.bound(host: config.host, port: port)
                                  FileHandle.standardOutput.write(Data("img2vid serve: listening on http://\(config.host):\(port) (data in \(config.dataDirectory))\n".utf8))
                              },
                              logger: logger)
        let pool = self.pool, dispatcher = self.dispatcher
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if config.slots > 0 {
            services.append(.init(service: LoopService { await pool.run() }))
        }
        services.append(.init(service: LoopService { await dispatcher.run() }))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    // MARK: Routes

    func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: EnvelopeMiddleware(metrics: metrics))
        let api = self
        router.get("/") { _, _ in try Static.page("index.html") }
        router.get("/app.js") { _, _ in try Static.page("app.js") }
        router.get("/app.css") { _, _ in try Static.page("app.css") }
        router.get("/openapi.json") { _, _ in try Static.page("openapi.json") }
        router.get("/healthz") { _, _ in JSONResponse.ok(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            // Ready means able to take tasks: the store answers (else 503, 5002) and the model is loaded.
            _ = try await api.store.hasActiveKeys()
            guard await api.runner.isReady() else { throw APIError.notReady() }
            return JSONResponse.ok(["status": "ready", "default_model": api.config.defaultModel])
        }
        router.get("/metrics") { _, _ in
            let text = await api.metrics.render(store: api.store, runningNow: await api.pool.runningCount, modelLoads: api.runner.modelLoadCount)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/v1/videos/image2video") { request, _ in try await api.submit(request) }
        router.get("/v1/videos/image2video") { request, _ in try await api.list(request) }
        router.get("/v1/videos/image2video/:task_id") { request, context in
            let key = try await api.authenticate(request)
            let task = try await api.ownedTask(context.parameters.get("task_id") ?? "", key: key)
            return JSONResponse.ok(TaskJSON.object(task, baseURL: api.publicURL.string, deliveries: try await api.store.deliveries(taskId: task.id)))
        }
        router.post("/v1/videos/image2video/:task_id/cancel") { request, context in
            let key = try await api.authenticate(request)
            let task = try await api.ownedTask(context.parameters.get("task_id") ?? "", key: key)
            if task.status.isFinished { throw APIError.conflict("task_id: the task already ended (\(task.status.rawValue))") }
            guard let updated = try await api.store.requestCancel(id: task.id) else { throw APIError.notFound("task \(task.id)") }
            await api.pool.cancel(taskId: task.id)
            return JSONResponse.ok(TaskJSON.object(updated, baseURL: api.publicURL.string))
        }
        router.get("/v1/videos/image2video/:task_id/events") { request, context in
            let key = try await api.authenticate(request)
            let task = try await api.ownedTask(context.parameters.get("task_id") ?? "", key: key)
            return api.events(task: task.id, request: request)
        }
        router.get("/v1/files/:file_id") { request, context in try await api.file(context.parameters.get("file_id") ?? "", request: request) }
        router.head("/v1/files/:file_id") { request, context in try await api.file(context.parameters.get("file_id") ?? "", request: request, head: true) }
        router.post("/v1/moderation/check") { request, _ in try await api.moderationCheck(request) }
        return router
    }

    // MARK: Auth

    /// The request's key; nil when the server has no keys (it then listens on loopback only).
    func authenticate(_ request: Request) async throws -> APIKey? {
        let keys = try await store.keys()
        guard keys.contains(where: { $0.revokedAt == nil }) else { return nil }
        guard let header = request.headers[.authorization], !header.isEmpty else { throw APIError.missingKey() }
        guard header.lowercased().hasPrefix("bearer ") else { throw APIError.malformedAuthorization() }
        let secret = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard let key = KeyHasher.match(secret, in: keys) else { throw APIError.invalidKey() }
        return key
    }

    func ownedTask(_ id: String, key: APIKey?) async throws -> TaskRecord {
        guard let task = try await store.task(id: id), key == nil || task.keyId == key?.id else { throw APIError.notFound("task \(id)") }
        return task
    }

    func policy(for key: APIKey?) throws -> String {
        guard let name = key?.policy else { return config.policy }
        do { return try config.resolvePolicy(name) } catch { throw APIError.internalError("the key's policy \(name): \(error)") }
    }

    // MARK: Submit

    func submit(_ request: Request) async throws -> Response {
        let key = try await authenticate(request)
        let body = try await collect(request)
        let contentType = request.headers[.contentType]?.lowercased() ?? "application/json"
        let submission: SubmitRequest
        if contentType.hasPrefix("multipart/form-data") {
            guard let parts = MultipartPart.parse(body, contentType: request.headers[.contentType] ?? "") else {
                throw APIError.malformed("body: not a well-formed multipart/form-data body")
            }
            submission = try SubmitRequest.parse(form: parts, defaultModel: config.defaultModel)
        } else if contentType.hasPrefix("application/json") {
            submission = try SubmitRequest.parse(json: body, defaultModel: config.defaultModel)
        } else {
            throw APIError.malformed("Content-Type: expected application/json or multipart/form-data, got \(contentType)")
        }
        // A repeated external_task_id from the same caller answers the task it already made.
        if let external = submission.externalTaskId, let existing = try await store.task(externalTaskId: external, keyId: key?.id) {
            return Self.submitted(existing)
        }
        guard runner.hasModel(submission.input.modelName) else {
            throw APIError.invalid("model_name", "no model named '\(submission.input.modelName)' (configured: \(config.models.keys.sorted().joined(separator: ", ")))")
        }
        let image: SubmittedImage
        do {
            image = try SubmittedImage(bytes: submission.imageBytes, maxPixels: config.maxInputPixels)
        } catch {
            switch error {
            case .tooManyPixels(let w, let h, let limit):
                throw APIError.invalid("image", "\(w)x\(h) is \(w * h) pixels, over the limit of \(limit)")
            case .unreadable(let reason):
                throw APIError.invalid("image", "not a readable PNG, JPEG or WebP image (\(reason))")
            }
        }
        if let key { try await checkLimits(key) }

        let taskId = "tsk_" + RandomToken.make(bytes: 12)
        let inputs = (config.dataDirectory as NSString).appendingPathComponent("inputs")
        let imagePath = (inputs as NSString).appendingPathComponent("\(taskId).\(image.fileExtension)")
        // A full or read-only data folder is the store's outage (503): nothing is written, nothing stored.
        try InputFile.write(image.bytes, to: imagePath)
        let policy = try policy(for: key)
        let preflight: PreflightResult
        do {
            preflight = try await runner.preflight(imagePath: imagePath, texts: submission.input.userTexts, policy: policy)
        } catch let error as TaskRunError {
            try? FileManager.default.removeItem(atPath: imagePath)
            if case .invalid(let message) = error { throw APIError.invalid("image", message) }
            throw APIError.internalError(error.description)
        }
        if let decisive = preflight.rejection {
            try? FileManager.default.removeItem(atPath: imagePath)
            metrics.rejected(stage: decisive.stage.rawValue)
            throw APIError.rejected(TaskModeration(decisive: decisive, policy: preflight.policySource, decisions: preflight.decisions))
        }
        let (task, created): (TaskRecord, Bool)
        do {
            // The task and its first event are one transaction; the image is removed whenever the
            // insert fails (also when it fails after the deadline answered 503), so a refused
            // submission leaves neither a task without its image nor an image without its task.
            (task, created) = try await store.submit(NewTask(id: taskId, keyId: key?.id, externalTaskId: submission.externalTaskId,
                                                             input: submission.input, imagePath: imagePath, policy: policy,
                                                             callbackURL: submission.callbackURL, unfinishedLimit: Self.unfinishedLimit(key)),
                                                     lateFailure: { try? FileManager.default.removeItem(atPath: imagePath) })
        } catch let reached as UnfinishedLimitReached {
            try? FileManager.default.removeItem(atPath: imagePath)
            guard let key else { throw APIError.internalError("a limit without a key") }
            throw try await overLimit(key, reached)
        } catch let unavailable as JobStoreUnavailable {
            // Timed out: the call may still commit; its late failure removes the image.
            if unavailable.reason != .timedOut { try? FileManager.default.removeItem(atPath: imagePath) }
            throw unavailable
        } catch is CancellationError {
            // The client went away mid-call: as with a timeout, the call may still commit, and
            // its late failure removes the image.
            throw CancellationError()
        } catch {
            try? FileManager.default.removeItem(atPath: imagePath)
            throw error
        }
        guard created else {
            // Lost a race with the same external_task_id: the other submission's task stands.
            try? FileManager.default.removeItem(atPath: imagePath)
            return Self.submitted(task)
        }
        metrics.submitted.increment()
        await pool.wake()
        return Self.submitted(task)
    }

    /// The answer to a submission (Kling's create-task `data`): the task's id, status and times.
    static func submitted(_ task: TaskRecord) -> Response {
        JSONResponse.ok(["task_id": task.id, "task_status": task.status.rawValue, "created_at": task.createdAt,
                         "updated_at": task.updatedAt, "task_info": ["external_task_id": task.externalTaskId ?? NSNull()] as [String: Any]])
    }

    /// The most unfinished tasks a key may have: max_concurrent (processing at once) plus
    /// max_queued (waiting behind them; 0 when unset); max_queued alone limits them to it; nil: no limit.
    static func unfinishedLimit(_ key: APIKey?) -> Int? {
        switch (key?.maxConcurrent, key?.maxQueued) {
        case (nil, nil): return nil
        case (let c?, let q): return c + (q ?? 0)
        case (nil, let q?): return q
        }
    }

    /// 429 (code 1303) when the key already has as many unfinished tasks as it may. Checked early
    /// (before any moderation work) and again by the store in the insert's transaction, which is
    /// what holds under concurrent submissions.
    func checkLimits(_ key: APIKey) async throws {
        guard let limit = Self.unfinishedLimit(key) else { return }
        let counts = try await store.counts(keyId: key.id)
        let processing = counts[.processing] ?? 0, waiting = counts[.submitted] ?? 0
        guard processing + waiting >= limit else { return }
        throw try await overLimit(key, UnfinishedLimitReached(processing: processing, waiting: waiting, limit: limit))
    }

    /// The 429 for a key at its limit, with a `Retry-After` from the running tasks' estimates.
    func overLimit(_ key: APIKey, _ reached: UnfinishedLimitReached) async throws -> APIError {
        let (tasks, _) = try await store.tasks(keyId: key.id, page: 1, pageSize: 50)
        let eta = tasks.filter { $0.status == .processing }.compactMap { $0.progress?.etaSeconds }.min()
        let retry = max(1, Int((eta ?? 9).rounded(.up)) + 1)
        return APIError.overLimit("key \(key.name): \(reached.processing) processing and \(reached.waiting) waiting, the limit is \(reached.limit) unfinished tasks "
                                  + "(max_concurrent \(key.maxConcurrent.map(String.init) ?? "unset") + max_queued \(key.maxQueued.map(String.init) ?? "0")); "
                                  + "retry after \(retry) s", retryAfter: retry)
    }

    func collect(_ request: Request) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: config.maxBodyBytes)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            throw APIError.tooLarge(config.maxBodyBytes)
        }
    }

    // MARK: List

    func list(_ request: Request) async throws -> Response {
        let key = try await authenticate(request)
        let q = request.uri.queryParameters
        let page = try Self.queryInt(q.get("pageNum"), name: "pageNum", default: 1, 1...100_000)
        let size = try Self.queryInt(q.get("pageSize"), name: "pageSize", default: 30, 1...500)
        let (tasks, total) = try await store.tasks(keyId: key?.id, page: page, pageSize: size)
        let items: [[String: Any]] = tasks.map { TaskJSON.object($0, baseURL: publicURL.string) }
        return JSONResponse.ok(items, extra: ["page_num": page, "page_size": size, "total": total])
    }

    /// An integer query parameter: absent means `def`; present it must be an integer in `range`
    /// (an empty `pageNum=` is refused like any other non-integer, as the OpenAPI document says).
    static func queryInt(_ value: String?, name: String, default def: Int, _ range: ClosedRange<Int>) throws -> Int {
        guard let value else { return def }
        guard let i = Int(value), range.contains(i) else { throw APIError.invalid(name, "expected an integer in \(range.lowerBound)...\(range.upperBound), got '\(value.prefix(20))'") }
        return i
    }

    // MARK: Events (Server-Sent Events)

    /// One event per stage or step change and one per status change; the stream ends after the
    /// event that reports the task finished. `Last-Event-ID` (or `?last_event_id=`) resumes after it.
    func events(task taskId: String, request: Request) -> Response {
        let header = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters.get("last_event_id") ?? ""
        let resumeAfter = Int64(header.trimmingCharacters(in: .whitespaces)) ?? 0
        let store = self.store
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache",
                                               HTTPField.Name("X-Accel-Buffering")!: "no"],
                        body: .init { writer in
            var after = resumeAfter
            var lastWrite = Date()
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled {
                let events = try await store.events(taskId: taskId, after: after)
                for e in events {
                    try await writer.write(ByteBuffer(string: "id: \(e.id)\nevent: \(e.kind)\ndata: \(e.data)\n\n"))
                    after = e.id
                    lastWrite = Date()
                }
                if let task = try await store.task(id: taskId), task.status.isFinished,
                   try await store.events(taskId: taskId, after: after).isEmpty {
                    break
                }
                if Date().timeIntervalSince(lastWrite) > 15 {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    lastWrite = Date()
                }
                try await Task.sleep(nanoseconds: 150_000_000)
            }
            try await writer.finish(nil)
        })
    }

    // MARK: Files

    /// The video, with `Range` support (206 and `Content-Range`; 416 past the end). The file id
    /// is an unguessable capability (a browser's `<video>` sends no Authorization header).
    func file(_ fileId: String, request: Request, head: Bool = false) async throws -> Response {
        guard fileId.hasPrefix("file_"), let task = try await store.task(fileId: fileId), let path = task.resultPath,
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            throw APIError.notFound("file \(fileId)")
        }
        var headers: HTTPFields = [.contentType: "video/mp4", HTTPField.Name("Accept-Ranges")!: "bytes",
                                   HTTPField.Name("Content-Disposition")!: "inline; filename=\"\(task.id).mp4\"",
                                   .cacheControl: "private, max-age=3600"]
        var range = 0..<size
        var status = HTTPResponse.Status.ok
        if let header = request.headers[HTTPField.Name("Range")!] {
            switch Self.byteRange(header, size: size) {
            case .ignored:
                break
            case .unsatisfiable:
                headers[HTTPField.Name("Content-Range")!] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            case .satisfiable(let r):
                range = r
                status = .partialContent
                headers[HTTPField.Name("Content-Range")!] = "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(size)"
            }
        }
        headers[.contentLength] = String(range.count)
        if head { return Response(status: status, headers: headers) }
        let slice = range
        return Response(status: status, headers: headers, body: .init(contentLength: slice.count) { writer in
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(slice.lowerBound))
            var left = slice.count
            while left > 0 {
                let chunk = try handle.read(upToCount: min(left, 1 << 16)) ?? Data()
                if chunk.isEmpty { break }
                left -= chunk.count
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        })
    }

    /// What a `Range` header asks of a file of `size` bytes (RFC 9110 14.1.2 and 14.2).
    enum ByteRange: Equatable {
        /// Not a byte range img2vid understands (another unit, bad syntax, last before first): the
        /// header is ignored and the whole file answered 200, as RFC 9110 14.2 lets a server do.
        case ignored
        /// A well-formed range that starts at or past the end (or a zero-length suffix): 416.
        case unsatisfiable
        /// The bytes to send (206).
        case satisfiable(Range<Int>)
    }

    /// The one range of `bytes=a-b`, `bytes=a-` or `bytes=-n`. Found by schemathesis: a malformed
    /// header (an empty `Range:`) was answered 416 with no body, which the document (and the RFC)
    /// reserve for ranges that are well formed but past the end.
    static func byteRange(_ header: String, size: Int) -> ByteRange {
        let h = header.trimmingCharacters(in: .whitespaces)
        guard h.lowercased().hasPrefix("bytes=") else { return .ignored }
        // Several ranges (bytes=0-9,20-29): ignored, the whole file answered (RFC 9110 14.2 lets a
        // server ignore Range; multipart/byteranges is not worth it for one short video).
        let specs = h.dropFirst(6).split(separator: ",", omittingEmptySubsequences: false)
        guard specs.count == 1 else { return .ignored }
        let spec = specs[0].trimmingCharacters(in: .whitespaces)
        let ends = spec.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2 else { return .ignored }
        let digits = { (s: Substring) in !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }
        if ends[0].isEmpty {
            guard digits(ends[1]) else { return .ignored }
            guard let n = Int(ends[1]) else { return size > 0 ? .satisfiable(0..<size) : .unsatisfiable }   // a suffix longer than Int: all of it
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .satisfiable(max(0, size - n)..<size)
        }
        guard digits(ends[0]), ends[1].isEmpty || digits(ends[1]) else { return .ignored }
        guard let a = Int(ends[0]) else { return .unsatisfiable }   // a first byte past Int.max is past the end
        let last = ends[1].isEmpty ? Int.max : (Int(ends[1]) ?? Int.max)
        guard last >= a else { return .ignored }
        guard a < size else { return .unsatisfiable }
        return .satisfiable(a..<(min(last, size - 1) + 1))
    }

    // MARK: Moderation check

    /// `POST /v1/moderation/check`: the input and prompt stages alone, as `img2vid check` runs
    /// them: `data.status` pass or rejected, the policy, every decision, the decisive one.
    func moderationCheck(_ request: Request) async throws -> Response {
        let key = try await authenticate(request)
        let body = try await collect(request)
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: Data(body)) } catch { throw APIError.malformed("body: not valid JSON") }
        guard case .object(let object) = value else { throw APIError.malformed("body: expected a JSON object") }
        for k in object.keys.sorted() where !["image", "prompt", "negative_prompt"].contains(k) {
            throw APIError.invalid(k, "unknown field (accepted: image, negative_prompt, prompt)")
        }
        guard case .string(let encoded)? = object["image"] else { throw APIError.invalid("image", "required: base64 or a data: URL") }
        var texts: [String] = []
        for name in ["prompt", "negative_prompt"] {
            if let v = object[name], v != .null {
                guard case .string(let s) = v else { throw APIError.invalid(name, "expected a string, got \(v.typeName)") }
                texts.append(s)
            }
        }
        let bytes = try SubmitRequest.decodeImage(encoded)
        let image: SubmittedImage
        do { image = try SubmittedImage(bytes: bytes, maxPixels: config.maxInputPixels) } catch {
            switch error {
            case .tooManyPixels(let w, let h, let limit): throw APIError.invalid("image", "\(w)x\(h) is \(w * h) pixels, over the limit of \(limit)")
            case .unreadable(let reason): throw APIError.invalid("image", "not a readable PNG, JPEG or WebP image (\(reason))")
            }
        }
        let scratch = (config.dataDirectory as NSString).appendingPathComponent("inputs/check-\(RandomToken.make(bytes: 8)).\(image.fileExtension)")
        try InputFile.write(bytes, to: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let policy = try policy(for: key)
        let result: PreflightResult
        do { result = try await runner.preflight(imagePath: scratch, texts: texts.filter { !$0.isEmpty }, policy: policy) } catch let error as TaskRunError {
            if case .invalid(let message) = error { throw APIError.invalid("image", message) }
            throw APIError.internalError(error.description)
        }
        let decisions = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(result.decisions))) ?? []
        var data: [String: Any] = ["status": result.rejection == nil ? "pass" : "rejected", "policy": result.policySource,
                                   "decisions": decisions]
        if let d = result.rejection {
            data["moderation"] = TaskJSON.moderation(TaskModeration(decisive: d, policy: result.policySource, decisions: result.decisions))
        }
        return JSONResponse.ok(data)
    }
}

/// A service that runs a loop until graceful shutdown cancels it.
struct LoopService: Service {
    let body: @Sendable () async -> Void
    init(_ body: @escaping @Sendable () async -> Void) { self.body = body }
    func run() async throws {
        try await cancelWhenGracefulShutdown { await body() }
    }
}
