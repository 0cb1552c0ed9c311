import Foundation
import NIOSSL
import PostgresNIO

/// Where the PostgreSQL job store lives: a `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...]`
/// URL, with what it leaves out taken from the `PG*` environment variables as libpq does
/// (PostgreSQL docs, "Environment Variables": PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
/// PGSSLMODE; a HOST starting with `/` is a Unix-socket folder, as libpq reads it).
///
/// The password is never printed: `description` shows the URL without it.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// libpq's sslmode: disable, prefer (the default), require (encrypted, certificate not
    /// checked), verify-full (encrypted, certificate and host name checked).
    public var sslMode: String

    public enum Problem: Error, CustomStringConvertible {
        case notAURL(String)
        case badSSLMode(String)

        public var description: String {
            switch self {
            case .notAURL(let why): return "--store: \(why) (expected postgres://USER@HOST:PORT/DB)"
            case .badSSLMode(let mode): return "--store: sslmode=\(mode) is not one of disable, prefer, require, verify-full"
            }
        }
    }

    /// Whether `store` names PostgreSQL (`postgres://` or `postgresql://`).
    public static func isPostgresURL(_ store: String) -> Bool {
        store.hasPrefix("postgres://") || store.hasPrefix("postgresql://")
    }

    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw Problem.notAURL("not a postgres:// URL")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let env = { (name: String) -> String? in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        host = components.host.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding } ?? query["host"] ?? env("PGHOST") ?? "localhost"
        port = components.port ?? query["port"].flatMap(Int.init) ?? env("PGPORT").flatMap(Int.init) ?? 5432
        user = components.user.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding } ?? env("PGUSER") ?? "postgres"
        password = components.password.flatMap { $0.removingPercentEncoding } ?? env("PGPASSWORD")
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? (env("PGDATABASE") ?? user) : (path.removingPercentEncoding ?? path)
        sslMode = query["sslmode"] ?? env("PGSSLMODE") ?? "prefer"
        guard ["disable", "prefer", "require", "verify-full", "verify-ca", "allow"].contains(sslMode) else { throw Problem.badSSLMode(sslMode) }
    }

    /// The URL without the password.
    public var description: String {
        let hostPart = host.hasPrefix("/") ? "?host=\(host)" : ""
        let shown = host.hasPrefix("/") ? "" : (host.contains(":") ? "[\(host)]" : host)
        return "postgres://\(user)@\(shown):\(port)/\(database)\(hostPart)"
    }

    /// The client configuration: TCP (TLS per sslmode) or the Unix socket `HOST/.s.PGSQL.PORT`.
    public func clientConfiguration(maxConnections: Int) -> PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        if host.hasPrefix("/") {
            config = .init(unixSocketPath: (host as NSString).appendingPathComponent(".s.PGSQL.\(port)"), username: user,
                           password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS
            switch sslMode {
            case "disable":
                tls = .disable
            case "verify-full", "verify-ca":
                tls = .require(.makeClientConfiguration())
            case "require":
                // libpq's `require` encrypts without checking the certificate.
                var unchecked = TLSConfiguration.makeClientConfiguration()
                unchecked.certificateVerification = .none
                tls = .require(unchecked)
            default:
                var unchecked = TLSConfiguration.makeClientConfiguration()
                unchecked.certificateVerification = .none
                tls = .prefer(unchecked)
            }
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        config.options.maximumConnections = max(2, maxConnections)
        config.options.connectTimeout = .seconds(5)
        config.options.keepAliveBehavior = .init(frequency: .seconds(15))
        return config
    }
}
