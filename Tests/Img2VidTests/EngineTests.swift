import Foundation
import Img2Vid
import Media
import Tensor
import XCTest

/// The engine in process, on the tiny random-weight pipelines of the SVD tests: concurrent
/// requests do not step on each other, a cancel stops one request within a step and writes
/// nothing, a model is loaded once for many requests, and the cache evicts under its budget.
final class EngineTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tiny = root.appendingPathComponent("Tests/SVDTests/Fixtures/tiny/pipeline").path
    static let tiny2 = root.appendingPathComponent("Tests/SVDTests/Fixtures/tiny2/pipeline").path
    static let inputA = root.appendingPathComponent("Tests/SVDTests/Fixtures/tiny/input-a.png").path
    static let inputB = root.appendingPathComponent("Tests/SVDTests/Fixtures/tiny/input-b.png").path

    var dir = ""

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-engine-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        dir = url.path
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    }

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// A small request on a tiny pipeline, saving its frames under `name`.
    func request(_ name: String, image: String = EngineTests.inputA, model: String = EngineTests.tiny,
                 seed: UInt64 = 0, steps: Int = 3, size: Int = 64) -> GenerationRequest {
        var r = GenerationRequest(imagePath: image, outputPath: path("\(name).mp4"), modelPath: model)
        r.variant = model == Self.tiny ? "fp16" : nil
        r.numFrames = 4
        r.settings.width = size
        r.settings.height = size
        r.settings.numInferenceSteps = steps
        r.settings.maxGuidanceScale = 2.5      // the guidance batch of 2
        r.seed = seed
        r.saveFramesDirectory = path("\(name)-frames")
        r.precision = .f32
        return r
    }

    /// The saved PNG frames of a finished request, as bytes.
    func frames(_ result: GenerationResult) throws -> [Data] {
        XCTAssertEqual(result.framePaths.count, 4)
        return try result.framePaths.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    }

    func testTwoConcurrentRequestsGiveTheFramesEachGivesAlone() async throws {
        let alone = Engine()
        let a = try frames(try await alone.generate(request("a-alone", seed: 1)))
        let b = try frames(try await alone.generate(request("b-alone", image: Self.inputB, seed: 2)))
        XCTAssertNotEqual(a, b)

        let engine = Engine()
        let a2 = request("a", seed: 1), b2 = request("b", image: Self.inputB, seed: 2)
        async let ra = engine.generate(a2)
        async let rb = engine.generate(b2)
        let (resultA, resultB) = try await (ra, rb)
        XCTAssertEqual(try frames(resultA), a, "request a changed when run beside b")
        XCTAssertEqual(try frames(resultB), b, "request b changed when run beside a")
        XCTAssertEqual(engine.models.loadCount, 1)
        XCTAssertEqual(resultA.precision, .f32)
    }

    func testCancellingOneRequestMidDenoiseStopsItWithinAStepWhileTheOtherCompletes() async throws {
        let engine = Engine()
        let expected = try frames(try await engine.generate(request("b-alone", image: Self.inputB, seed: 2)))

        // 128x128 steps take long enough that the events are read before the next step ends.
        let long = engine.start(request("long", steps: 200, size: 128))
        let other = engine.start(request("b", image: Self.inputB, seed: 2))
        var cancelledAfter: Int?
        var lastStep = 0
        for await event in long.events {
            guard case .step(let index, _, _) = event else { continue }
            lastStep = index
            if index == 2 {
                cancelledAfter = index
                long.cancel()
            }
        }
        let stoppedAt = try XCTUnwrap(cancelledAfter, "the long request never reached step 2")
        XCTAssertLessThanOrEqual(lastStep, stoppedAt + 1, "the request went on for more than one step after the cancel")
        do {
            _ = try await long.value()
            XCTFail("a cancelled request returned a result")
        } catch let error as GenerationError {
            guard case .cancelled = error else { return XCTFail("expected .cancelled, got \(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("long.mp4")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("long-frames")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("long") }, [], "temporary files left")

        let result = try await other.value()
        XCTAssertEqual(try frames(result), expected)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("b.mp4")))
    }

    func testCancellingTheAwaitingTaskCancelsTheRequest() async throws {
        let engine = Engine()
        let running = engine.start(request("long", steps: 200))
        let waiter = Task { try await running.value() }
        for await event in running.events {
            if case .step = event { waiter.cancel(); break }
        }
        do {
            _ = try await waiter.value
            XCTFail("a cancelled request returned a result")
        } catch let error as GenerationError {
            guard case .cancelled = error else { return XCTFail("expected .cancelled, got \(error)") }
        }
        XCTAssertTrue(running.cancellation.isCancelled)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("long.mp4")))
    }

    func testAModelIsLoadedOnceForManyRequests() async throws {
        let engine = Engine()
        let requests = (0..<4).map { request("r\($0)", seed: UInt64($0)) }
        let results = try await withThrowingTaskGroup(of: GenerationResult.self) { group in
            for r in requests { group.addTask { try await engine.generate(r) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(results.count, 4)
        XCTAssertEqual(engine.models.loadCount, 1, "concurrent requests for one model wait for one load")
        XCTAssertEqual(results.filter(\.loadedModel).count, 1)
        _ = try await engine.generate(request("again", seed: 9))
        XCTAssertEqual(engine.models.loadCount, 1, "a later request reuses the loaded model")
        XCTAssertEqual(engine.models.loadedKeys.count, 1)
        XCTAssertGreaterThan(engine.models.residentBytes, 0)
    }

    func testTheCacheEvictsUnderASmallBudgetAndReloadsCorrectly() async throws {
        let engine = Engine(modelCacheBytes: 1)     // room for one model at a time (the one in use)
        let first = try frames(try await engine.generate(request("first")))
        XCTAssertEqual(engine.models.loadCount, 1)
        _ = try await engine.generate(request("other", model: Self.tiny2))
        XCTAssertEqual(engine.models.loadCount, 2)
        XCTAssertEqual(engine.models.evictionCount, 1)
        XCTAssertEqual(engine.models.loadedKeys.map(\.folder), [Self.tiny2])
        let again = try await engine.generate(request("again"))
        XCTAssertTrue(again.loadedModel)
        XCTAssertEqual(engine.models.loadCount, 3)
        XCTAssertEqual(try frames(again), first, "a reloaded model gives the same frames")

        // With room for both, nothing is evicted.
        let roomy = Engine()
        _ = try await roomy.generate(request("x"))
        _ = try await roomy.generate(request("y", model: Self.tiny2))
        _ = try await roomy.generate(request("z"))
        XCTAssertEqual(roomy.models.loadCount, 2)
        XCTAssertEqual(roomy.models.evictionCount, 0)
    }

    func testThePrecisionIsPartOfTheModelKey() {
        let f32 = ModelKey(folder: Self.tiny, variant: "fp16", precision: .f32)
        XCTAssertEqual(f32, ModelKey(folder: Self.tiny + "/./", variant: "fp16", precision: .f32))
        XCTAssertNotEqual(f32, ModelKey(folder: Self.tiny, variant: "fp16", precision: .bf16))
        XCTAssertNotEqual(f32, ModelKey(folder: Self.tiny, variant: nil, precision: .f32))
        XCTAssertNotEqual(f32, ModelKey(folder: Self.tiny, variant: "fp16", precision: .f32, unetWeights: "/tmp/unet.safetensors"))
    }

    func testProgressStreamReportsStagesAndSteps() async throws {
        let running = Engine().start(request("p"))
        var stages: [GenerationStage] = []
        var steps: [Int] = []
        for await event in running.events {
            switch event {
            case .stageFinished(let s, _): stages.append(s)
            case .step(let i, let n, let seconds): steps.append(i); XCTAssertEqual(n, 3); XCTAssertGreaterThan(seconds, 0)
            default: break
            }
        }
        _ = try await running.value()
        XCTAssertEqual(stages, [.loadImage, .loadModel, .encodeImage, .denoise, .decode, .encodeVideo])
        XCTAssertEqual(steps, [1, 2, 3])
    }
}
