import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Time model components (real architecture, random or real weights).")

    func run() throws {
        Console.error("'bench' is not available yet in this build")
        throw ExitCode.failure
    }
}
