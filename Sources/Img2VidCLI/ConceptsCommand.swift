import ArgumentParser
import ConceptGuidance
import Foundation
import Img2Vid
import SVD
import Tensor

/// `img2vid concepts export|list`: concept vector files for `--concept-file` / `--avoid`.
struct ConceptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concepts", abstract: "Make and list concept vector files for concept guidance.",
        discussion: """
            Examples:
              img2vid concepts export --output concepts.safetensors --name smoke --image smoke1.png --image smoke2.png
              img2vid concepts export --output concepts.safetensors --name cat --text "a photo of a cat" --text-encoder Weights/clip-vit-h-14
              img2vid concepts list concepts.safetensors
              img2vid generate --image in.png --output out.mp4 --concept-file concepts.safetensors --avoid smoke --guidance strong
            """,
        subcommands: [Export.self, List.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Add a named concept vector to a file (created, or merged into when it exists).",
            discussion: """
                From images: the mean embedding through the model's image encoder and CLIP preprocessing (as --avoid-image).
                From text: the CLIP text encoder's embedding, stored as it is and rescaled to the image embedding's
                norm when used (as --avoid-concept).
                """)

        @Option(help: ArgumentHelp("Concept file to write (.safetensors).", valueName: "file"))
        var output: String

        @Option(help: "Name of the concept (what --avoid picks).")
        var name: String

        @Option(name: .customLong("image"), help: ArgumentHelp("Exemplar image (repeatable).", valueName: "path"))
        var images: [String] = []

        @Option(help: "Text of the concept (needs --text-encoder).")
        var text: String?

        @Option(help: ArgumentHelp("CLIP text encoder folder (CLIPModel or CLIPTextModelWithProjection).", valueName: "path"))
        var textEncoder: String?

        @OptionGroup var model: ModelOptions

        func run() async throws {
            guard !name.isEmpty, !name.contains("."), images.isEmpty != (text == nil) else {
                ConceptsCommand.fail("give a --name (no dots) and either --image (repeatable) or --text", code: 2)
            }
            var entries = FileManager.default.fileExists(atPath: output) ? try ConceptsCommand.guarded { try ConceptFile.read(output) } : []
            let entry: ConceptFile.Entry
            if let text {
                guard let folder = textEncoder else { ConceptsCommand.fail(ConceptGuidanceError.textEncoderRequired.description, code: 2) }
                let encoder = try ConceptsCommand.guarded { try TextConceptEncoder(folder: folder) }
                entry = ConceptFile.Entry(name: name, vector: encoder.embed(text), source: "text:\(text)")
            } else {
                let modelPath = try model.resolvedPath()
                let running = Engine(modelCacheBytes: 0).startImageConcept(imagePaths: images, modelPath: modelPath, variant: model.variant,
                                                                           maxPixels: 50_000_000, precision: .f32)
                let vector = try await ConceptsCommand.guardedAsync { try await running.value() }
                entry = ConceptFile.Entry(name: name, vector: vector.reshaped([vector.count]),
                                          source: "images:" + images.map { ($0 as NSString).lastPathComponent }.joined(separator: ","))
            }
            entries.removeAll { $0.name == name }
            entries.append(entry)
            try ConceptsCommand.guarded { try ConceptFile.write(entries, to: output) }
            Console.note("wrote concept '\(name)' (\(entry.vector.count) dimensions) to \(output) (\(entries.count) concept\(entries.count == 1 ? "" : "s"))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the concepts of a concept file.")

        @Argument(help: "A concept file (.safetensors).")
        var file: String

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        struct Item: Encodable {
            var name: String
            var dimensions: Int
            var norm: Double
            var source: String
        }

        func run() throws {
            let entries = try ConceptsCommand.guarded { try ConceptFile.read(file) }
            let items = entries.map { Item(name: $0.name, dimensions: $0.vector.count, norm: ConceptResolver.l2Norm($0.vector), source: $0.source) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(["file": ConceptsCommand.AnyJSON(file), "concepts": ConceptsCommand.AnyJSON(items)]) + Data("\n".utf8))
                return
            }
            for i in items {
                print("\(i.name)\t\(i.dimensions) dims\tnorm \(String(format: "%.3f", i.norm))\t\(i.source)")
            }
        }
    }
}

extension ConceptsCommand {
    /// Runs `body`, turning a failure into the documented exit code and message.
    static func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ExitCode {
            throw e
        } catch let e as ValidationError {
            fail(e.message, code: 2)
        } catch {
            let g = GenerationError.wrap(error)
            fail(g.description, code: g.exitCode)
        }
    }

    /// Prints the error and exits with `code`.
    static func guardedAsync<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as ExitCode {
            throw e
        } catch {
            let g = GenerationError.wrap(error)
            fail(g.description, code: g.exitCode)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        Console.error(message)
        Foundation.exit(code)
    }

    /// Type erasure for heterogeneous JSON objects.
    struct AnyJSON: Encodable {
        let encodeValue: (Encoder) throws -> Void
        init<T: Encodable>(_ value: T) { encodeValue = value.encode }
        func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
    }
}
