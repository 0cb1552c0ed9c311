import Foundation
import Media
import Tensor

/// The `nudenet` detector: NudeNet 3.4.2's YOLOv8n model (`nudenet/320n.onnx`, 18 body-part
/// labels) on img2vid's own tensor runtime, with the package's pre- and post-processing.
///
/// Mirrors `NudeDetector.detect` of the `nudenet` package (nudenet/nudenet.py):
/// `_read_image` (letterbox to a square, 8-bit resize to 320x320, /255, B-G-R planes: see
/// `NudeNetPreprocessor`), the ONNX model (`YOLOv8n`), and `_postprocess` (best class per
/// anchor, keep scores >= 0.2, boxes scaled back to the image and clipped, class-agnostic
/// `cv2.dnn.NMSBoxes` with score threshold 0.25 and IoU 0.45, boxes truncated to integers:
/// see `NudeNetPostprocessor`). Detections come best first, with the package's label names and
/// integer boxes (x, y, width, height) in the scanned image's pixels.
///
/// The weights are the ONNX file's initializers converted to safetensors by
/// `Scripts/fetch-nudenet` (the model is AGPL-3.0 licensed and is never committed).
public final class NudeNetDetector: Detector {
    /// The package's labels, in the order of the model's class outputs.
    public static let labels = [
        "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED",
        "BELLY_COVERED", "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE",
        "BELLY_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED",
        "BUTTOCKS_COVERED",
    ]
    /// The model's input side (`inference_resolution` 320).
    public static let inputSize = 320
    /// Where `Scripts/fetch-nudenet` writes the weights, relative to the repository root.
    public static let defaultWeightsPath = "Weights/moderation/nudenet-320n.safetensors"

    public let name = "nudenet"
    public let weightsPath: String
    let network: YOLOv8n

    /// Loads the converted weights. Throws `NudeNetError` when the file is missing, unreadable,
    /// or does not hold every tensor of the model with its expected shape.
    public init(weightsPath: String) throws {
        self.weightsPath = weightsPath
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            throw NudeNetError.weightsMissing(path: weightsPath)
        }
        let checkpoint: SafeTensorsCheckpoint
        do {
            checkpoint = try SafeTensorsCheckpoint(path: weightsPath)
        } catch {
            throw NudeNetError.weightsUnreadable(path: weightsPath, reason: "\(error)")
        }
        let weights = CheckpointWeights(checkpoint)
        network = YOLOv8n(weights: WeightScope(weights), classCount: Self.labels.count)
        do {
            try weights.finish()
        } catch let error as WeightLoadingError {
            let missing = error.missing.prefix(3).joined(separator: ", ")
            let shapes = error.misshapen.prefix(3).map { "\($0.key) is \($0.found), expected \($0.expected)" }.joined(separator: "; ")
            let parts = [missing.isEmpty ? nil : "missing \(error.missing.count) tensors (\(missing))",
                         shapes.isEmpty ? nil : shapes,
                         error.unreadable.isEmpty ? nil : "unreadable: \(error.unreadable.prefix(3).joined(separator: ", "))",
                         error.unexpected.isEmpty ? nil : "\(error.unexpected.count) unexpected tensors"].compactMap { $0 }
            throw NudeNetError.weightsMismatch(path: weightsPath, reason: parts.joined(separator: "; ") + ".")
        }
    }

    /// Findings on `image`, as the package's `NudeDetector().detect(path)` reports them for the
    /// same pixels: label, score, and box [x, y, width, height] (integers, as the package's).
    public func detect(image: RGBImage) throws -> [Detection] {
        let output = rawOutput(NudeNetPreprocessor.blob(image))
        return Self.detections(output: output, imageWidth: image.width, imageHeight: image.height)
    }

    /// NudeNet reads no text.
    public func detect(text: String) throws -> [Detection] { [] }

    /// The network's raw output [1, 22, 2100] for a prepared input [1, 3, 320, 320] (the ONNX
    /// graph's `output0`).
    public func rawOutput(_ blob: Tensor) -> Tensor { network(blob) }

    /// `_postprocess` on a raw output: candidates, NMS, integer boxes, best first.
    public static func detections(output: Tensor, imageWidth: Int, imageHeight: Int) -> [Detection] {
        let candidates = NudeNetPostprocessor.candidates(output, imageWidth: imageWidth, imageHeight: imageHeight)
        let kept = NudeNetPostprocessor.nmsBoxes(candidates.map { ($0.x, $0.y, $0.width, $0.height) },
                                                 scores: candidates.map(\.score))
        return kept.map { i in
            let c = candidates[i]
            // Python's int(): truncation toward zero.
            let box = [c.x, c.y, c.width, c.height].map { $0.rounded(.towardZero) }
            return Detection(label: labels[c.classIndex], score: c.score, box: box)
        }
    }
}
