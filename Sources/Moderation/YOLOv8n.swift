import Foundation
import Layers
import Tensor

/// The YOLOv8n detection network as Ultralytics exports it to ONNX (opset 17, batch norm folded
/// into the convolutions), on img2vid's tensor runtime. Mirrors `ultralytics/nn/modules`
/// (`Conv`, `C2f`, `Bottleneck`, `SPPF`, `Detect`, `DFL`) with the `yolov8n.yaml` layout
/// (depth 0.33, width 0.25):
///
///     0  Conv 3->16 k3 s2          8  C2f 256->256 n1 shortcut
///     1  Conv 16->32 k3 s2         9  SPPF 256->256 (5x5 max pool, three times)
///     2  C2f 32->32 n1 shortcut    10 upsample 2x, 11 concat [10, 6]
///     3  Conv 32->64 k3 s2         12 C2f 384->128 n1          15 C2f 192->64 n1 (P3, stride 8)
///     4  C2f 64->64 n2 shortcut    13 upsample 2x, 14 concat [13, 4]
///     5  Conv 64->128 k3 s2        16 Conv 64->64 k3 s2, 17 concat [16, 12], 18 C2f 192->128 (P4)
///     6  C2f 128->128 n2 shortcut  19 Conv 128->128 k3 s2, 20 concat [19, 9], 21 C2f 384->256 (P5)
///     7  Conv 128->256 k3 s2       22 Detect on (P3, P4, P5)
///
/// Weights are read under the ONNX initializer names, which are the PyTorch module paths
/// (`model.4.m.1.cv2.conv.weight`, `model.22.cv3.0.2.bias`): each submodule below is built from
/// the `WeightScope` of its own path, so the name table is the structure itself.
///
/// Output: `[N, 4 + classes, anchors]`, as the ONNX graph's `output0`: per anchor the box centre x,
/// centre y, width and height in input pixels, then the sigmoid class scores. Anchors run over
/// the stride-8, 16 and 32 grids in turn, row-major within each (2100 anchors at 320x320).
public final class YOLOv8n {
    /// Strides of the three detection levels (P3, P4, P5).
    public static let strides = [8, 16, 32]
    /// Bins of the distribution focal loss box head (`reg_max`).
    public static let regMax = 16

    public let classCount: Int
    private let stem0: Conv, stem1: Conv
    private let c2f2: C2f, conv3: Conv, c2f4: C2f, conv5: Conv, c2f6: C2f, conv7: Conv, c2f8: C2f
    private let sppf9: SPPF
    private let c2f12: C2f, c2f15: C2f, conv16: Conv, c2f18: C2f, conv19: Conv, c2f21: C2f
    private let head: Detect

    /// Builds the network from `weights` scoped at the checkpoint root (keys `model.N...`).
    public init(weights root: WeightScope, classCount: Int) {
        let w = root["model"]
        self.classCount = classCount
        stem0 = Conv(w[0], 3, 16, kernel: 3, stride: 2)
        stem1 = Conv(w[1], 16, 32, kernel: 3, stride: 2)
        c2f2 = C2f(w[2], 32, 32, blocks: 1, shortcut: true)
        conv3 = Conv(w[3], 32, 64, kernel: 3, stride: 2)
        c2f4 = C2f(w[4], 64, 64, blocks: 2, shortcut: true)
        conv5 = Conv(w[5], 64, 128, kernel: 3, stride: 2)
        c2f6 = C2f(w[6], 128, 128, blocks: 2, shortcut: true)
        conv7 = Conv(w[7], 128, 256, kernel: 3, stride: 2)
        c2f8 = C2f(w[8], 256, 256, blocks: 1, shortcut: true)
        sppf9 = SPPF(w[9], 256, 256)
        c2f12 = C2f(w[12], 384, 128, blocks: 1, shortcut: false)
        c2f15 = C2f(w[15], 192, 64, blocks: 1, shortcut: false)
        conv16 = Conv(w[16], 64, 64, kernel: 3, stride: 2)
        c2f18 = C2f(w[18], 192, 128, blocks: 1, shortcut: false)
        conv19 = Conv(w[19], 128, 128, kernel: 3, stride: 2)
        c2f21 = C2f(w[21], 384, 256, blocks: 1, shortcut: false)
        head = Detect(w[22], channels: [64, 128, 256], classes: classCount)
    }

    /// Runs the network on `[N, 3, H, W]` images (H and W multiples of 32; values as the caller
    /// prepared them, [0, 1] for NudeNet) and returns `[N, 4 + classes, anchors]`.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == 3, "YOLOv8n expects [N, 3, H, W], got \(images.shape)")
        precondition(images.shape[2] % 32 == 0 && images.shape[3] % 32 == 0,
                     "YOLOv8n needs a height and width divisible by 32, got \(images.shape)")
        // Backbone.
        var x = stem1(stem0(images))
        x = conv3(c2f2(x))
        let p3Backbone = c2f4(x)
        let p4Backbone = c2f6(conv5(p3Backbone))
        let p5Backbone = sppf9(c2f8(conv7(p4Backbone)))
        // Neck: top-down, then bottom-up.
        let n12 = c2f12(concat([upsampleNearest2x(p5Backbone), p4Backbone], axis: 1))
        let p3 = c2f15(concat([upsampleNearest2x(n12), p3Backbone], axis: 1))
        let p4 = c2f18(concat([conv16(p3), n12], axis: 1))
        let p5 = c2f21(concat([conv19(p4), p5Backbone], axis: 1))
        return head([p3, p4, p5])
    }
}

extension YOLOv8n {
    /// Ultralytics `Conv`: Conv2d with "same" padding (k / 2) whose bias holds the folded batch
    /// norm, then SiLU (the export's Sigmoid + Mul).
    struct Conv {
        let conv: Conv2d

        init(_ w: WeightScope, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1) {
            conv = Conv2d(w["conv"], in: inChannels, out: outChannels, kernel: kernel, stride: stride, padding: kernel / 2)
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            var y = conv(x)
            siluInPlace(&y)
            return y
        }
    }

    /// Ultralytics `Bottleneck` with e = 1.0 and two 3x3 convolutions: x + cv2(cv1(x)) when
    /// `shortcut` (the backbone), cv2(cv1(x)) otherwise (the neck).
    struct Bottleneck {
        let cv1: Conv, cv2: Conv
        let shortcut: Bool

        init(_ w: WeightScope, _ channels: Int, shortcut: Bool) {
            cv1 = Conv(w["cv1"], channels, channels, kernel: 3)
            cv2 = Conv(w["cv2"], channels, channels, kernel: 3)
            self.shortcut = shortcut
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            var y = cv2(cv1(x))
            if shortcut { addInPlace(&y, x) }
            return y
        }
    }

    /// Ultralytics `C2f`: cv1 (1x1, to 2c channels), split into two halves of c = out / 2, a chain
    /// of bottlenecks on the second half whose every output is kept, concat [a, b, m0(b), m1(..)]
    /// and cv2 (1x1, (2 + n) c -> out).
    struct C2f {
        let cv1: Conv, cv2: Conv
        let blocks: [Bottleneck]
        let hidden: Int

        init(_ w: WeightScope, _ inChannels: Int, _ outChannels: Int, blocks n: Int, shortcut: Bool) {
            hidden = outChannels / 2
            cv1 = Conv(w["cv1"], inChannels, 2 * hidden, kernel: 1)
            cv2 = Conv(w["cv2"], (2 + n) * hidden, outChannels, kernel: 1)
            blocks = (0..<n).map { Bottleneck(w["m"][$0], outChannels / 2, shortcut: shortcut) }
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            let y = cv1(x)
            var parts = split(y, sizes: [hidden, hidden], axis: 1)
            for block in blocks { parts.append(block(parts[parts.count - 1])) }
            return cv2(concat(parts, axis: 1))
        }
    }

    /// Ultralytics `SPPF`: cv1 (1x1, to in / 2), three chained 5x5 stride-1 max pools (padding 2),
    /// concat [x, p1, p2, p3], cv2 (1x1, 2 in -> out).
    struct SPPF {
        let cv1: Conv, cv2: Conv

        init(_ w: WeightScope, _ inChannels: Int, _ outChannels: Int) {
            cv1 = Conv(w["cv1"], inChannels, inChannels / 2, kernel: 1)
            cv2 = Conv(w["cv2"], inChannels * 2, outChannels, kernel: 1)
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            let y0 = cv1(x)
            let y1 = maxPool2d(y0, kernel: 5, stride: 1, padding: 2)
            let y2 = maxPool2d(y1, kernel: 5, stride: 1, padding: 2)
            let y3 = maxPool2d(y2, kernel: 5, stride: 1, padding: 2)
            return cv2(concat([y0, y1, y2, y3], axis: 1))
        }
    }

    /// Ultralytics `Detect` (inference path of the export): per level a box branch `cv2.i`
    /// (Conv 3x3 -> 64, Conv 3x3, Conv2d 1x1 -> 4 * 16) and a class branch `cv3.i` (Conv 3x3 ->
    /// max(c_P3, min(classes, 100)), Conv 3x3, Conv2d 1x1 -> classes); then `DFL` (softmax over the
    /// 16 bins of each box side, expectation with the `dfl.conv` weights 0...15), `dist2bbox`
    /// (x1y1 = anchor - lt, x2y2 = anchor + rb, centre = (x1y1 + x2y2) / 2, size = x2y2 - x1y1)
    /// times the stride, anchors at cell centres (i + 0.5), and a sigmoid on the class logits.
    struct Detect {
        struct Branch {
            let conv0: Conv, conv1: Conv
            let out: Conv2d

            init(_ w: WeightScope, _ inChannels: Int, _ hidden: Int, _ outChannels: Int) {
                conv0 = Conv(w[0], inChannels, hidden, kernel: 3)
                conv1 = Conv(w[1], hidden, hidden, kernel: 3)
                out = Conv2d(w[2], in: hidden, out: outChannels, kernel: 1)
            }

            func callAsFunction(_ x: Tensor) -> Tensor { out(conv1(conv0(x))) }
        }

        let boxBranches: [Branch], classBranches: [Branch]
        let classes: Int
        /// `dfl.conv.weight` [1, 16, 1, 1]: the bin values (0, 1, ..., 15 in every export).
        let binValues: [Float]

        init(_ w: WeightScope, channels: [Int], classes: Int) {
            self.classes = classes
            let boxHidden = max(16, channels[0] / 4, 4 * YOLOv8n.regMax)
            let classHidden = max(channels[0], min(classes, 100))
            boxBranches = channels.enumerated().map { Branch(w["cv2"][$0.offset], $0.element, boxHidden, 4 * YOLOv8n.regMax) }
            classBranches = channels.enumerated().map { Branch(w["cv3"][$0.offset], $0.element, classHidden, classes) }
            let dfl = w["dfl"]["conv"].tensor("weight", [1, YOLOv8n.regMax, 1, 1])
            binValues = (try? dfl.floatTensor().scalars) ?? Array(repeating: 0, count: YOLOv8n.regMax)
        }

        func callAsFunction(_ levels: [Tensor]) -> Tensor {
            let n = levels[0].shape[0]
            let sizes = levels.map { $0.shape[2] * $0.shape[3] }
            let anchors = sizes.reduce(0, +)
            let rows = 4 + classes
            var out = Tensor(uninitialized: [n, rows, anchors])
            var offset = 0
            for (level, feature) in levels.enumerated() {
                let box = boxBranches[level](feature)      // [N, 64, h, w]
                let cls = sigmoid(classBranches[level](feature))  // [N, classes, h, w]
                let (h, w) = (feature.shape[2], feature.shape[3])
                let stride = Float(YOLOv8n.strides[level])
                out.withUnsafeMutableBufferPointer { po in
                    box.withUnsafeBufferPointer { pb in
                        cls.withUnsafeBufferPointer { pc in
                            Detect.decode(box: pb.baseAddress!, classScores: pc.baseAddress!, into: po.baseAddress!,
                                          images: n, height: h, width: w, classes: classes, stride: stride,
                                          anchors: anchors, offset: offset, bins: binValues)
                        }
                    }
                }
                offset += h * w
            }
            return out
        }

        /// Writes one level's decoded boxes and scores into columns `offset ..< offset + h * w`
        /// of `out` [N, 4 + classes, anchors], in the ONNX graph's order of f32 operations.
        static func decode(box: UnsafePointer<Float>, classScores: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                           images: Int, height h: Int, width w: Int, classes: Int, stride: Float,
                           anchors: Int, offset: Int, bins: [Float]) {
            let plane = h * w
            let regMax = YOLOv8n.regMax
            bins.withUnsafeBufferPointer { binp in
                Parallel.forRanges(images * plane, minChunk: 256) { range in
                    // Scratch per chunk of anchors: the 16 bin logits of one side, the 4 distances.
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: regMax + 4) { scratch in
                        let logits = scratch.baseAddress!, distance = logits + regMax
                        for item in range {
                            let image = item / plane, a = item % plane
                            let src = box + image * 4 * regMax * plane + a
                            let dst = out + image * (4 + classes) * anchors + offset + a
                            for side in 0..<4 {
                                // DFL: softmax over the bins (max subtracted, as onnxruntime's
                                // Softmax), then the 1x1 conv with the bin values: the expectation.
                                var m = -Float.infinity
                                for b in 0..<regMax {
                                    logits[b] = src[(side * regMax + b) * plane]
                                    m = max(m, logits[b])
                                }
                                var sum: Float = 0
                                for b in 0..<regMax {
                                    logits[b] = Foundation.exp(logits[b] - m)
                                    sum += logits[b]
                                }
                                var expectation: Float = 0
                                for b in 0..<regMax { expectation += (logits[b] / sum) * binp[b] }
                                distance[side] = expectation
                            }
                            // dist2bbox(xywh=True) * stride, anchors at cell centres.
                            let ax = Float(a % w) + 0.5, ay = Float(a / w) + 0.5
                            let x1 = ax - distance[0], y1 = ay - distance[1]
                            let x2 = ax + distance[2], y2 = ay + distance[3]
                            dst[0] = (x1 + x2) / 2 * stride
                            dst[anchors] = (y1 + y2) / 2 * stride
                            dst[2 * anchors] = (x2 - x1) * stride
                            dst[3 * anchors] = (y2 - y1) * stride
                            let scores = classScores + image * classes * plane + a
                            for c in 0..<classes { dst[(4 + c) * anchors] = scores[c * plane] }
                        }
                    }
                }
            }
        }
    }
}
