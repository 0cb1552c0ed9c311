import ArgumentParser

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Describe a model folder or a .safetensors file.")

    func run() throws {
        Console.error("'inspect' is not available yet in this build")
        throw ExitCode.failure
    }
}
