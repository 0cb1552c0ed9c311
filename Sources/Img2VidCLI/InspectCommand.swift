import ArgumentParser
import Foundation
import Img2Vid

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a model folder or a .safetensors file.",
        discussion: """
            For a diffusers pipeline folder: the pipeline class, each component (unet, vae,
            image_encoder, scheduler, feature_extractor) with its config, the weight files present,
            the one that would be loaded, its tensor and parameter counts, dtypes and size, and
            whether the model built from the config matches it (missing, unexpected and mis-shaped
            tensors). For a .safetensors file or a .safetensors.index.json: tensor count,
            parameters, dtypes, size, metadata and the largest tensors.

            Examples:
              img2vid inspect Weights/stable-video-diffusion-img2vid-xt
              img2vid inspect Weights/stable-video-diffusion-img2vid-xt --variant fp16 --json
              img2vid inspect Weights/stable-video-diffusion-img2vid-xt/unet/diffusion_pytorch_model.fp16.safetensors

            Exit codes: 0 usable, 4 missing or malformed files, weights that do not match the config.
            """
    )

    @Argument(help: "A pipeline folder, a .safetensors file or a .safetensors.index.json.")
    var path: String

    @Option(help: "Weight file variant to check, for example fp16 (default: the plain files, else the only variant present).")
    var variant: String?

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    func run() throws {
        let report = Engine(modelCacheBytes: 0).inspect(path: path, variant: variant)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(report)) ?? Data("{}".utf8)
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(Self.table(report).utf8))
        }
        if !report.isUsable {
            if json { report.problems.forEach { Console.error($0) } }
            throw ExitCode(4)
        }
    }

    /// The human-readable report.
    static func table(_ r: ModelReport) -> String {
        var out: [String] = []
        switch r.kind {
        case .pipeline:
            out.append("\(r.path): \(r.pipelineClass ?? "no pipeline class") (diffusers pipeline folder)")
            var rows = [["component", "class", "status", "weights", "tensors", "parameters", "dtypes", "size"]]
            for c in r.components {
                rows.append([c.name, c.className ?? "-", c.status, c.weights.map { ($0.file as NSString).lastPathComponent } ?? "-",
                             c.weights.map { "\($0.tensorCount)" } ?? "-", c.weights.map { count($0.parameterCount) } ?? "-",
                             c.weights.map { dtypes($0.dtypes) } ?? "-", c.weights.map { bytes($0.sizeBytes) } ?? "-"])
            }
            rows.append(["total", "", r.isUsable ? "ok" : "problems", "", "\(r.tensorCount)", count(r.parameterCount), "", bytes(r.sizeBytes)])
            out.append(grid(rows, rightAligned: [4, 5, 7]))
            for c in r.components where !c.config.isEmpty || c.weightFilesFound.count > 1 {
                out.append("")
                out.append("\(c.name) (\(c.configFile ?? "no config")):")
                if !c.config.isEmpty {
                    out.append("  " + c.config.keys.sorted().map { "\($0)=\(c.config[$0]!)" }.joined(separator: " "))
                }
                if !c.weightFilesFound.isEmpty { out.append("  weight files: " + c.weightFilesFound.joined(separator: ", ")) }
                for m in c.missingTensors.prefix(10) { out.append("  missing: \(m)") }
                for m in c.misshapenTensors.prefix(10) { out.append("  mis-shaped: \(m)") }
                for m in c.unexpectedTensors.prefix(10) { out.append("  unexpected: \(m)") }
                let more = c.missingTensors.count + c.misshapenTensors.count + c.unexpectedTensors.count
                    - min(10, c.missingTensors.count) - min(10, c.misshapenTensors.count) - min(10, c.unexpectedTensors.count)
                if more > 0 { out.append("  ... and \(more) more (see --json)") }
                for n in c.notes { out.append("  note: \(n)") }
            }
        case .safetensors, .shardedSafetensors, .unknown:
            out.append("\(r.path): \(r.kind == .shardedSafetensors ? "sharded safetensors checkpoint" : r.kind == .safetensors ? "safetensors file" : "unreadable")")
            if let w = r.weights {
                out.append(grid([["tensors", "parameters", "dtypes", "size", "files"],
                                 ["\(w.tensorCount)", count(w.parameterCount), dtypes(w.dtypes), bytes(w.sizeBytes), "\(w.files.count)"]],
                                rightAligned: [0, 1, 3, 4]))
                if !w.metadata.isEmpty {
                    out.append("metadata:")
                    for k in w.metadata.keys.sorted() { out.append("  \(k): \(w.metadata[k]!)") }
                }
                if !w.largest.isEmpty {
                    out.append("largest tensors:")
                    var rows = [["name", "dtype", "shape", "parameters"]]
                    rows += w.largest.map { [$0.name, $0.dtype, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", count($0.parameters)] }
                    out.append(grid(rows, rightAligned: [3]).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
                }
            }
        }
        if !r.problems.isEmpty {
            out.append("")
            out.append("problems:")
            for p in r.problems { out.append(p.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")) }
        }
        let notes = r.notes
        if !notes.isEmpty {
            out.append("")
            for n in notes { out.append("note: \(n)") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func grid(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ")
        }.map { line in
            var line = line
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// 1,524,623,082 -> "1.52 B"; small counts as they are.
    static func count(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.2f B", Double(n) / 1e9) }
        if n >= 1_000_000 { return String(format: "%.1f M", Double(n) / 1e6) }
        if n >= 10_000 { return String(format: "%.1f k", Double(n) / 1e3) }
        return "\(n)"
    }

    static func bytes(_ n: Int) -> String {
        if n >= 1 << 30 { return String(format: "%.2f GiB", Double(n) / Double(1 << 30)) }
        if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / Double(1 << 20)) }
        if n >= 1 << 10 { return String(format: "%.1f KiB", Double(n) / Double(1 << 10)) }
        return "\(n) B"
    }

    static func dtypes(_ d: [String: Int]) -> String {
        d.keys.sorted().map { d.count == 1 ? $0 : "\($0) x\(d[$0]!)" }.joined(separator: ", ")
    }
}
