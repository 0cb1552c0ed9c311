import Foundation
import Jobs
import PostgresStore
import XCTest

/// `img2vid bench-queue` against PostgreSQL, small: a throw-away database beside the cluster's
/// (`PostgresScratchDatabase`), a `QueueBenchmark` round with LISTEN/NOTIFY wake-ups that counts
/// every task exactly once, and the database gone afterwards.
final class PostgresQueueBenchmarkTests: XCTestCase {
    func testOneRoundInAScratchDatabaseCountsEveryTaskOnceAndDropsIt() async throws {
        let cluster: PostgresCluster
        do { cluster = try PostgresCluster() } catch { throw XCTSkip("no PostgreSQL cluster (run Scripts/setup): \(error)") }
        defer { cluster.destroy() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-pgbench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let image = (folder as NSString).appendingPathComponent("in.png")
        FileManager.default.createFile(atPath: image, contents: Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]))

        let scratch = try await PostgresScratchDatabase.create(beside: try PostgresLocation(url: cluster.url()))
        XCTAssertTrue(scratch.location.database.hasPrefix("img2vid_bench_"))
        XCTAssertEqual(try cluster.psql("SELECT count(*) FROM pg_database WHERE datname = '\(scratch.location.database)'"), "1")
        let maxConnections = try await scratch.serverSetting("max_connections")
        XCTAssertEqual(maxConnections, "200")

        var settings = PostgresJobStore.Settings(scratchDirectory: (folder as NSString).appendingPathComponent("cache"))
        settings.maxConnections = 5
        let store = try await PostgresJobStore.open(scratch.location, settings: settings, render: { _ in "{}" })
        var bench = QueueBenchmark.Settings(tasks: 20, latencyTasks: 5, rate: 100, imagePath: image)
        bench.pollSeconds = 5   // longer than the whole latency phase: only NOTIFY can wake a claimer in time
        let round = try await QueueBenchmark(settings: bench).run(store: store, workers: 3,
                                                                   wakeSource: .listener { wake in await store.listenForSubmissions(wake) })
        store.close()
        XCTAssertTrue(round.exactlyOnce, "\(round.problems)")
        XCTAssertEqual(round.submitted, 25)
        XCTAssertEqual(round.claims, 25)
        XCTAssertEqual(round.finished, 25)
        XCTAssertEqual(round.storeCounts, ["submitted": 0, "processing": 0, "succeed": 0, "failed": 25])
        XCTAssertEqual(round.submitToClaimMilliseconds.count, 5)
        XCTAssertLessThan(round.submitToClaimMilliseconds.max, 2000, "claims waited for the poll, not for NOTIFY")
        XCTAssertGreaterThan(round.tasksPerSecond, 0)

        try await scratch.drop()
        XCTAssertEqual(try cluster.psql("SELECT count(*) FROM pg_database WHERE datname = '\(scratch.location.database)'"), "0")
    }
}
