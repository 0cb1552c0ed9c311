import ArgumentParser

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "Generate the same seed with several guidance settings, side by side.")

    func run() throws {
        Console.error("'compare' is not available yet in this build")
        throw ExitCode.failure
    }
}
