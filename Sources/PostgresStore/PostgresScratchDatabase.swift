import Foundation
import Jobs
import Logging
import PostgresNIO

/// A throw-away database beside the one a location names, for `img2vid bench-queue`: created empty
/// (`CREATE DATABASE`, which needs the CREATEDB privilege or a superuser), dropped at the end
/// (`DROP DATABASE ... WITH (FORCE)`, PostgreSQL 13 and later, which also ends sessions still
/// open in it). A benchmark run this way never sees, claims or deletes anybody's real tasks.
public struct PostgresScratchDatabase: Sendable {
    /// The new database: the admin location with another database name.
    public let location: PostgresLocation
    /// The location it was created from (the URL's own database), used again to drop it.
    public let admin: PostgresLocation

    /// Creates `PREFIX_<12 random hex digits>` beside `admin`'s database.
    public static func create(beside admin: PostgresLocation, prefix: String = "img2vid_bench") async throws -> PostgresScratchDatabase {
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        do {
            _ = try await execute("CREATE DATABASE \(name)", on: admin)
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            throw PostgresStoreError.scratchDatabase(admin.description,
                                                     "CREATE DATABASE \(name) failed: \(PostgresJobStore.describe(error)) "
                                                     + "(the user needs CREATEDB; or point --store at a throw-away cluster, Scripts/bench-queue)")
        }
        var location = admin
        location.database = name
        return PostgresScratchDatabase(location: location, admin: admin)
    }

    /// Drops the database (and ends any session left in it).
    public func drop() async throws {
        do {
            _ = try await Self.execute("DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)", on: admin)
        } catch {
            throw PostgresStoreError.scratchDatabase(admin.description,
                                                     "DROP DATABASE \(location.database) failed: \(PostgresJobStore.describe(error))")
        }
    }

    /// A server setting as `SHOW` prints it (for example `max_connections`).
    public func serverSetting(_ name: String) async throws -> String {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) else {
            throw PostgresStoreError.scratchDatabase(admin.description, "not a setting name: \(name)")
        }
        do {
            return try await Self.execute("SHOW \(name)", on: location).first ?? ""
        } catch {
            throw PostgresStoreError.scratchDatabase(admin.description, "SHOW \(name) failed: \(PostgresJobStore.describe(error))")
        }
    }

    /// One statement on a short-lived client of its own; the first column of each row as text.
    /// `sql` is built from generated names only (DDL takes no bind parameters). A server that
    /// cannot be reached fails after `timeout` seconds (the pool would otherwise keep retrying).
    private static func execute(_ sql: String, on location: PostgresLocation, timeout: Double = 15) async throws -> [String] {
        var quiet = Logger(label: "img2vid.postgres.scratch")
        quiet.logLevel = .critical
        let logger = quiet
        let client = PostgresClient(configuration: location.clientConfiguration(maxConnections: 1))
        let running = Task { await client.run() }
        defer { running.cancel() }
        do {
            return try await Deadline.run(seconds: timeout) {
                var values: [String] = []
                for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String.self) {
                    values.append(value)
                }
                return values
            }
        } catch is Deadline.Passed {
            throw PostgresStoreError.unreachable(location.description, "no connection within \(Int(timeout)) s")
        }
    }
}
