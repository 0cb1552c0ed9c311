import Tensor

/// NudeNet's output decoding, as the `nudenet` 3.4.2 package's `_postprocess` does it.
public enum NudeNetPostprocessor {
    /// One row of the network output that passed the candidate threshold: its best class, that
    /// class's score, and the box (x, y, width, height) in image pixels, not yet truncated.
    public struct Candidate: Equatable, Sendable {
        public let classIndex: Int
        public let score: Float
        public let x: Float, y: Float, width: Float, height: Float
    }

    /// The package's candidate filter: `max_score >= 0.2`.
    public static let candidateThreshold: Float = 0.2
    /// `cv2.dnn.NMSBoxes(boxes, scores, 0.25, 0.45)`: score threshold (strictly greater) ...
    public static let nmsScoreThreshold: Float = 0.25
    /// ... and the IoU above which a lower-scored box is dropped.
    public static let nmsIoUThreshold: Float = 0.45

    /// Mirrors the loop of `_postprocess`: for each anchor of `output` [1, 4 + classes, anchors],
    /// the best class score (the first on ties, as `np.argmax`); rows with at least
    /// `candidateThreshold` become candidates whose box is converted from centre to corner,
    /// scaled by `side / inputSize` (side = max(width, height), the letterboxed square) and
    /// clipped to the image (`x = max(0, min(x, width))`, `w = min(w, width - x)`), in f32 as
    /// NumPy 2 computes it.
    public static func candidates(_ output: Tensor, imageWidth: Int, imageHeight: Int,
                                  inputSize: Int = NudeNetDetector.inputSize) -> [Candidate] {
        precondition(output.rank == 3 && output.shape[0] == 1 && output.shape[1] > 4,
                     "expected a [1, 4 + classes, anchors] output, got \(output.shape)")
        let rows = output.shape[1], anchors = output.shape[2]
        let side = Float(max(imageWidth, imageHeight)), size = Float(inputSize)
        let width = Float(imageWidth), height = Float(imageHeight)
        var result: [Candidate] = []
        output.withUnsafeBufferPointer { p in
            for a in 0..<anchors {
                var best = p[4 * anchors + a], bestClass = 0
                for c in 1..<(rows - 4) where p[(4 + c) * anchors + a] > best {
                    best = p[(4 + c) * anchors + a]
                    bestClass = c
                }
                guard best >= candidateThreshold else { continue }
                let cx = p[a], cy = p[anchors + a], w0 = p[2 * anchors + a], h0 = p[3 * anchors + a]
                var x = cx - w0 / 2, y = cy - h0 / 2
                x = x * side / size
                y = y * side / size
                var w = w0 * side / size, h = h0 * side / size
                // Python's min/max: min(x, W) is W only when W < x; max(0, v) is v only when v > 0.
                x = min(x, width); x = x > 0 ? x : 0
                y = min(y, height); y = y > 0 ? y : 0
                w = min(w, width - x)
                h = min(h, height - y)
                result.append(Candidate(classIndex: bestClass, score: best, x: x, y: y, width: w, height: h))
            }
        }
        return result
    }

    /// Mirrors `cv2.dnn.NMSBoxes(bboxes, scores, score_threshold, nms_threshold)` on `Rect2d`
    /// boxes (the Python binding converts the package's float boxes to doubles): keeps scores
    /// strictly above the threshold, orders them by descending score with a stable sort (ties
    /// keep their input order), and greedily keeps a box unless its IoU with an already kept box
    /// exceeds `iouThreshold` (`1 - Float(jaccardDistance)`, in double, compared in f32).
    /// Class-agnostic. Returns indices into `boxes`, best first.
    public static func nmsBoxes(_ boxes: [(x: Float, y: Float, width: Float, height: Float)], scores: [Float],
                                scoreThreshold: Float = nmsScoreThreshold, iouThreshold: Float = nmsIoUThreshold) -> [Int] {
        precondition(boxes.count == scores.count, "\(boxes.count) boxes for \(scores.count) scores")
        let order = scores.indices.filter { scores[$0] > scoreThreshold }
            .enumerated().sorted { l, r in
                scores[l.element] != scores[r.element] ? scores[l.element] > scores[r.element] : l.offset < r.offset
            }.map(\.element)
        var kept: [Int] = []
        for i in order {
            let keep = kept.allSatisfy { overlap(boxes[i], boxes[$0]) <= iouThreshold }
            if keep { kept.append(i) }
        }
        return kept
    }

    /// OpenCV's `rectOverlap` for Rect2d: `1.f - (float)jaccardDistance(a, b)`, with the
    /// intersection as `Rect_::operator&=` computes it.
    static func overlap(_ a: (x: Float, y: Float, width: Float, height: Float),
                        _ b: (x: Float, y: Float, width: Float, height: Float)) -> Float {
        let (ax, ay, aw, ah) = (Double(a.x), Double(a.y), Double(a.width), Double(a.height))
        let (bx, by, bw, bh) = (Double(b.x), Double(b.y), Double(b.width), Double(b.height))
        let areaA = aw * ah, areaB = bw * bh
        if areaA + areaB <= Double.ulpOfOne { return 1 }  // jaccardDistance 0
        var intersection = 0.0
        if aw > 0 && ah > 0 && bw > 0 && bh > 0 {
            let (minX, minW, maxX, maxW) = ax < bx ? (ax, aw, bx, bw) : (bx, bw, ax, aw)
            let (minY, minH, maxY, maxH) = ay < by ? (ay, ah, by, bh) : (by, bh, ay, ah)
            let disjoint = (minX < 0 && minX + minW < maxX) || (minX >= 0 && maxX - minX > minW)
                || (minY < 0 && minY + minH < maxY) || (minY >= 0 && maxY - minY > minH)
            if !disjoint {
                let w = min(minW - (maxX - minX), maxW), h = min(minH - (maxY - minY), maxH)
                intersection = w * h
            }
        }
        let distance = 1.0 - intersection / (areaA + areaB - intersection)
        return 1 - Float(distance)
    }
}
