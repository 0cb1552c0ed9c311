import Foundation
import XCTest

/// `img2vid bench-queue` (issue 17) on SQLite with tiny sizes: the JSON has every figure of every
/// round, the figures are consistent with each other, every task is counted exactly once, and a
/// round that leaves a task unfinished is reported (exit 1, `exactly_once` false).
final class BenchQueueCLITests: XCTestCase {
    func testSQLiteRoundsCountEveryTaskOnce() throws {
        let run = try CLI.run(["bench-queue", "--store", "sqlite", "--tasks", "20", "--workers", "1,2", "--latency-tasks", "5",
                               "--rate", "100", "--json"], timeout: 60)
        XCTAssertEqual(run.exitCode, 0, run.stderr)
        let json = try run.json()
        XCTAssertEqual(json["store"] as? String, "sqlite")
        XCTAssertEqual(json["exactly_once"] as? Bool, true, run.stdout)
        XCTAssertEqual(json["outcome"] as? String, #"failed(kind: "error", message: "benchmark")"#)
        XCTAssertNil(json["pool_max_connections"], "no pool for SQLite")
        let machine = try XCTUnwrap(json["machine"] as? [String: Any])
        XCTAssertGreaterThan(machine["cpus"] as? Int ?? 0, 0)
        let rounds = try XCTUnwrap(json["rounds"] as? [[String: Any]])
        XCTAssertEqual(rounds.map { $0["workers"] as? Int }, [1, 2])
        for round in rounds {
            let workers = round["workers"] as? Int ?? 0
            XCTAssertEqual(round["exactly_once"] as? Bool, true, "\(workers) workers: \(round["problems"] ?? "")")
            XCTAssertEqual(round["problems"] as? [String], [])
            XCTAssertEqual(round["tasks"] as? Int, 20)
            XCTAssertEqual(round["latency_tasks"] as? Int, 5)
            XCTAssertEqual(round["submitted"] as? Int, 25)
            XCTAssertEqual(round["claims"] as? Int, 25)
            XCTAssertEqual(round["finished"] as? Int, 25)
            for key in ["never_claimed", "duplicate_claims", "foreign_claims", "refused_finishes"] {
                XCTAssertEqual(round[key] as? Int, 0, "\(workers) workers: \(key)")
            }
            XCTAssertEqual(round["store_counts"] as? [String: Int], ["submitted": 0, "processing": 0, "succeed": 0, "failed": 25])
            let seconds = try XCTUnwrap(round["seconds"] as? Double), perSecond = try XCTUnwrap(round["tasks_per_s"] as? Double)
            XCTAssertGreaterThan(seconds, 0)
            XCTAssertEqual(perSecond, 20 / seconds, accuracy: 20 / seconds * 1e-9)
            let claim = try XCTUnwrap(round["claim_ms"] as? [String: Any]), finish = try XCTUnwrap(round["finish_ms"] as? [String: Any])
            XCTAssertEqual(claim["count"] as? Int, 20)
            XCTAssertEqual(finish["count"] as? Int, 20)
            let latency = try XCTUnwrap(round["submit_to_claim_ms"] as? [String: Any])
            XCTAssertEqual(latency["count"] as? Int, 5)
            let p50 = try XCTUnwrap(latency["p50"] as? Double), p95 = try XCTUnwrap(latency["p95"] as? Double)
            let p99 = try XCTUnwrap(latency["p99"] as? Double), high = try XCTUnwrap(latency["max"] as? Double)
            XCTAssertTrue(0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= high, "\(p50) \(p95) \(p99) \(high)")
            // Woken after each submit, an idle claimer takes a task well inside its 0.25 s poll interval.
            XCTAssertLessThan(p50, 250, "submit->claim p50 \(p50) ms: the wake-up did not work")
        }
        XCTAssertLessThan(run.seconds, 30)
    }

    func testAnUnfinishedTaskIsReportedAndFails() throws {
        let run = try CLI.run(["bench-queue", "--tasks", "10", "--workers", "2", "--latency-tasks", "2", "--rate", "100",
                               "--json", "--leave-one-unfinished"], timeout: 60)
        XCTAssertEqual(run.exitCode, 1, "a lost task must fail the run: \(run.stderr)")
        XCTAssertTrue(run.stderr.contains("TASKS LOST OR DUPLICATED"), run.stderr)
        let json = try run.json()
        XCTAssertEqual(json["exactly_once"] as? Bool, false)
        let round = try XCTUnwrap((json["rounds"] as? [[String: Any]])?.first)
        XCTAssertEqual(round["exactly_once"] as? Bool, false)
        XCTAssertEqual(round["finished"] as? Int, 11)
        XCTAssertEqual((round["store_counts"] as? [String: Int])?["processing"], 1)
        let problems = try XCTUnwrap(round["problems"] as? [String])
        XCTAssertTrue(problems.contains { $0.contains("1 claimed tasks were not finished") }, "\(problems)")
    }

    func testHelpExplainsTheMethod() throws {
        let run = try CLI.run(["bench-queue", "--help"])
        XCTAssertEqual(run.exitCode, 0, run.stderr)
        for text in ["--workers", "--tasks", "--store", "monotonic", "exactly", "maxConnections", "Examples:"] {
            XCTAssertTrue(run.stdout.contains(text), "help lacks \(text):\n\(run.stdout)")
        }
        let usage = try CLI.run(["bench-queue", "--workers", "0,4"])
        XCTAssertEqual(usage.exitCode, 2, usage.stderr)
    }
}
