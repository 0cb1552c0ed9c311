import ArgumentParser
import Foundation
import Img2Vid

@main
struct Img2VidCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "img2vid",
        abstract: "Turn one still image into a short video on the CPU (Stable Video Diffusion).",
        discussion: """
            Examples:
              img2vid generate --image Examples/lighthouse.png --output demo.mp4
              img2vid generate --image in.jpg --output out.mp4 --model Weights/stable-video-diffusion-img2vid-xt --seed 7

            Exit codes: 0 ok, 2 usage error, 3 bad input image, 4 bad model or weights,
            5 rejected by moderation, 130 interrupted, 1 anything else.
            """,
        version: Img2VidVersion.string,
        subcommands: [GenerateCommand.self, CheckCommand.self, CompareCommand.self, ConceptsCommand.self,
                      InspectCommand.self, BenchCommand.self, BenchQueueCommand.self, ServeCommand.self, WorkerCommand.self, KeysCommand.self]
    )

    /// ArgumentParser's own entry point, except that usage errors (unknown or missing options,
    /// failed validation) exit 2 as documented, not with its EX_USAGE (64).
    /// It first restarts the program when OpenBLAS chose a slow kernel (`BLASKernelRestart`).
    static func main() async {
        BLASKernelRestart.restartIfSlowKernel()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
