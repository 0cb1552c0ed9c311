import ArgumentParser

struct ConceptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "concepts", abstract: "Make and list concept vector files for concept guidance.")

    func run() throws {
        Console.error("'concepts' is not available yet in this build")
        throw ExitCode.failure
    }
}
