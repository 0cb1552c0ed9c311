import ArgumentParser
import Foundation
import Jobs

/// `img2vid keys`: API keys of `img2vid serve`, kept in the server's data folder. A key is
/// printed once by `add`; only its salted hash is stored.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the API keys of img2vid serve (add, list, revoke).",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "The server's data folder.")
        var dataDir = "img2vid-data"

        /// `--store postgres://...`: the keys of every server sharing that database.
        @OptionGroup var storeOption: StoreOption

        func store() async throws -> any JobStore {
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
            return try await storeOption.open(dataDirectory: dataDir, render: SQLiteJobStore.plainRender)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it once (only a salted hash is stored).",
            discussion: "Example: img2vid keys add alice --max-concurrent 1 --max-queued 4 --policy standard")

        @Argument(help: "A name for the key (unique).")
        var name: String

        @Option(help: ArgumentHelp("This key's moderation policy: a JSON file, standard or none (default: the server's --policy).", valueName: "path|standard|none"))
        var policy: String?

        @Option(help: "Tasks of this key processing at once (default: no limit).")
        var maxConcurrent: Int?

        @Option(help: "Tasks of this key that may wait behind the --max-concurrent ones (default 0); more get HTTP 429.")
        var maxQueued: Int?

        @OptionGroup var location: Location

        func validate() throws {
            if let m = maxConcurrent, m < 1 { throw ValidationError("--max-concurrent must be at least 1") }
            if let m = maxQueued, m < 0 { throw ValidationError("--max-queued must be 0 or more") }
            if name.isEmpty || name.count > 64 { throw ValidationError("the name must be 1 to 64 characters") }
        }

        func run() async throws {
            let store = try await location.store()
            if let policy { _ = try ServeCommand.resolvePolicy(policy, weightFolders: ModerationOptions.weightFolders(explicit: nil)) }
            let (secret, key) = KeyHasher.newKey(name: name, policy: policy, maxConcurrent: maxConcurrent, maxQueued: maxQueued)
            if try await store.keys().contains(where: { $0.name == name }) {
                throw ValidationError("a key named \(name) exists already (img2vid keys list)")
            }
            try await store.addKey(key)
            print(secret)
            Console.note("key \(key.id) (\(name)) added; the line above is the only time it is shown")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never the secrets).")

        @Flag(help: "One JSON array on stdout.")
        var json = false

        @OptionGroup var location: Location

        func run() async throws {
            let store = try await location.store()
            let keys = try await store.keys()
            if json {
                let rows: [[String: Any]] = keys.map { k in
                    ["id": k.id, "name": k.name, "policy": k.policy ?? NSNull(), "max_concurrent": k.maxConcurrent ?? NSNull(),
                     "max_queued": k.maxQueued ?? NSNull(), "created_at": k.createdAt, "revoked": k.revokedAt != nil]
                }
                let data = try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            if keys.isEmpty { print("no keys (the server binds loopback only, without authentication)") }
            for k in keys {
                let limits = "max_concurrent=\(k.maxConcurrent.map(String.init) ?? "-") max_queued=\(k.maxQueued.map(String.init) ?? "-")"
                print("\(k.id)  \(k.name)  policy=\(k.policy ?? "(server default)")  \(limits)  \(k.revokedAt == nil ? "active" : "revoked")")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id or name (takes effect on the next request).")

        @Argument(help: "The key's id (key_...) or name.")
        var key: String

        @OptionGroup var location: Location

        func run() async throws {
            let store = try await location.store()
            guard try await store.revokeKey(key) else {
                throw ValidationError("no active key with id or name \(key)")
            }
            print("revoked \(key)")
        }
    }
}
