import ArgumentParser

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Run the moderation input and prompt stages alone.")

    func run() throws {
        Console.error("'check' is not available yet in this build")
        throw ExitCode.failure
    }
}
