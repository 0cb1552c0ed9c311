/// Data movement ops: concat, stack, split, chunk, slice, permute, transpose, repeatInterleave.
///
/// Each returns dense row-major tensors (a fresh copy, or the input's storage when the element
/// order does not change) and mirrors the torch function of the same role, `.contiguous()`
/// applied. Axes may be negative (counted from the end), as in torch. Copies are threaded.

/// Mirrors torch.cat(tensors, dim=axis). All shapes must agree except along `axis`.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat: needs at least one tensor")
    let first = tensors[0]
    let axis = ShapeOps.normalize(axis, rank: first.rank, "concat")
    for t in tensors {
        precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                     "concat: shapes \(tensors.map(\.shape)) differ outside axis \(axis)")
    }
    if tensors.count == 1 { return first }
    var shape = first.shape
    shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
    let outer = first.shape[..<axis].reduce(1, *)
    let inner = first.shape[(axis + 1)...].reduce(1, *)
    let outRow = shape[axis] * inner
    var out = Tensor(uninitialized: shape)
    out.withUnsafeMutableBufferPointer { op in
        var offset = 0
        for t in tensors {
            let row = t.shape[axis] * inner
            t.withUnsafeBufferPointer { tp in
                ShapeOps.copyRows(outer, length: row, from: tp.baseAddress, stride: row,
                                  to: op.baseAddress.map { $0 + offset }, stride: outRow)
            }
            offset += row
        }
    }
    return out
}

/// Mirrors torch.stack(tensors, dim=axis): a new axis of size `tensors.count` at `axis`
/// (`-(rank+1)...rank`). All shapes must be equal.
public func stack(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "stack: needs at least one tensor")
    let shape = tensors[0].shape
    precondition(tensors.allSatisfy { $0.shape == shape }, "stack: shapes differ: \(tensors.map(\.shape))")
    let axis = ShapeOps.normalize(axis, rank: shape.count + 1, "stack")
    var unit = shape
    unit.insert(1, at: axis)
    return concat(tensors.map { $0.reshaped(unit) }, axis: axis)
}

/// Mirrors torch.split(x, sizes, dim=axis) with a list of sizes, which must add up to the
/// length of `axis`.
public func split(_ x: Tensor, sizes: [Int], axis: Int) -> [Tensor] {
    let axis = ShapeOps.normalize(axis, rank: x.rank, "split")
    precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == x.shape[axis],
                 "split: sizes \(sizes) do not add up to dimension \(axis) of \(x.shape)")
    var start = 0
    return sizes.map { size in
        defer { start += size }
        return slice(x, axis: axis, range: start..<(start + size))
    }
}

/// Mirrors torch.chunk(x, n, dim=axis): chunks of `ceil(len / n)` along `axis`, the last one
/// smaller; like torch it may return fewer than `n` chunks (a length of 5 in 4 chunks gives
/// 2, 2, 1), and `n` empty tensors for an empty axis.
public func chunk(_ x: Tensor, _ n: Int, axis: Int) -> [Tensor] {
    precondition(n >= 1, "chunk: needs at least one chunk, got \(n)")
    let axis = ShapeOps.normalize(axis, rank: x.rank, "chunk")
    let length = x.shape[axis]
    if length == 0 { return Array(repeating: x, count: n) }
    let size = (length + n - 1) / n
    let sizes = stride(from: 0, to: length, by: size).map { min(size, length - $0) }
    return split(x, sizes: sizes, axis: axis)
}

/// Mirrors `x.narrow(axis, range.lowerBound, range.count).contiguous()` (`x[..., lo:hi, ...]`).
public func slice(_ x: Tensor, axis: Int, range: Range<Int>) -> Tensor {
    let axis = ShapeOps.normalize(axis, rank: x.rank, "slice")
    precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[axis],
                 "slice: range \(range) outside dimension \(axis) of \(x.shape)")
    var shape = x.shape
    shape[axis] = range.count
    if range.count == x.shape[axis] { return x }
    let outer = x.shape[..<axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    var out = Tensor(uninitialized: shape)
    out.withUnsafeMutableBufferPointer { op in
        x.withUnsafeBufferPointer { xp in
            ShapeOps.copyRows(outer, length: range.count * inner,
                              from: xp.baseAddress.map { $0 + range.lowerBound * inner }, stride: x.shape[axis] * inner,
                              to: op.baseAddress, stride: range.count * inner)
        }
    }
    return out
}

/// Mirrors torch.repeat_interleave(x, repeats, dim=axis) with an integer count: each slice along
/// `axis` is repeated `repeats` times in place (`[a, b]` -> `[a, a, b, b]`), unlike torch.repeat.
public func repeatInterleave(_ x: Tensor, repeats: Int, axis: Int) -> Tensor {
    precondition(repeats >= 0, "repeatInterleave: negative repeat count \(repeats)")
    let axis = ShapeOps.normalize(axis, rank: x.rank, "repeatInterleave")
    if repeats == 1 { return x }
    var shape = x.shape
    shape[axis] *= repeats
    let rows = x.shape[...axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    var out = Tensor(uninitialized: shape)
    out.withUnsafeMutableBufferPointer { op in
        x.withUnsafeBufferPointer { xp in
            for r in 0..<repeats {
                ShapeOps.copyRows(rows, length: inner, from: xp.baseAddress, stride: inner,
                                  to: op.baseAddress.map { $0 + r * inner }, stride: repeats * inner)
            }
        }
    }
    return out
}

/// Mirrors torch.transpose(x, a, b).contiguous().
public func transpose(_ x: Tensor, _ a: Int, _ b: Int) -> Tensor {
    let a = ShapeOps.normalize(a, rank: x.rank, "transpose")
    let b = ShapeOps.normalize(b, rank: x.rank, "transpose")
    var order = Array(0..<x.rank)
    order.swapAt(a, b)
    return permute(x, order)
}

/// Mirrors `x.permute(order).contiguous()`: output axis `i` is input axis `order[i]`.
///
/// Size-1 axes are dropped and input axes that stay neighbours are merged first, so every
/// permutation reduces to one of two threaded kernels: when the innermost axis stays innermost
/// (e.g. swapping two axes that are not last, like the head split `[B, L, H, D] -> [B, H, L, D]`),
/// contiguous runs are copied; otherwise a 32x32-tiled transpose between the input's innermost
/// axis and the output's innermost axis runs for each index of the remaining axes (the batched
/// 2-D transpose is the case where they are neighbours). An order that leaves the element
/// order unchanged returns `x`'s storage without copying.
public func permute(_ x: Tensor, _ order: [Int]) -> Tensor {
    let rank = x.rank
    let order = order.map { ShapeOps.normalize($0, rank: rank, "permute") }
    precondition(order.count == rank && Set(order).count == rank, "permute: \(order) is not a permutation of \(rank) axes")
    let outShape = order.map { x.shape[$0] }
    let plan = ShapeOps.PermutePlan(shape: x.shape, order: order)
    if plan.shape.count <= 1 || x.count == 0 {
        return Tensor(shape: outShape, storage: x.storage)
    }
    var out = Tensor(uninitialized: outShape)
    out.withUnsafeMutableBufferPointer { op in
        x.withUnsafeBufferPointer { xp in
            plan.run(from: xp.baseAddress!, to: op.baseAddress!)
        }
    }
    return out
}

/// Helpers of the data movement ops.
enum ShapeOps {
    static func normalize(_ axis: Int, rank: Int, _ op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(op): axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// Copies `rows` runs of `length` floats, run `r` from `src + r * srcStride` to
    /// `dst + r * dstStride`, split over the threads by element count.
    static func copyRows(_ rows: Int, length: Int, from src: UnsafePointer<Float>?, stride srcStride: Int,
                         to dst: UnsafeMutablePointer<Float>?, stride dstStride: Int) {
        guard rows > 0, length > 0, let src, let dst else { return }
        OpProfile.measure(.copy) { Parallel.forRanges(rows * length, minChunk: 65_536) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let r = i / length
                let j = i - r * length
                let n = min(length - j, range.upperBound - i)
                (dst + r * dstStride + j).update(from: src + r * srcStride + j, count: n)
                i += n
            }
        } }
    }

    /// A permutation reduced to its essential axes: size-1 axes dropped and input axes that stay
    /// neighbours in the output merged.
    struct PermutePlan {
        /// Reduced input shape, in input order.
        let shape: [Int]
        /// Reduced order: output axis `i` is reduced input axis `order[i]`.
        let order: [Int]

        init(shape fullShape: [Int], order fullOrder: [Int]) {
            // Drop size-1 axes and renumber the rest.
            let kept = (0..<fullShape.count).filter { fullShape[$0] != 1 }
            var renumber = [Int](repeating: -1, count: fullShape.count)
            for (i, a) in kept.enumerated() { renumber[a] = i }
            let order1 = fullOrder.filter { fullShape[$0] != 1 }.map { renumber[$0] }
            let shape1 = kept.map { fullShape[$0] }
            // Group runs of consecutive input axes in output order.
            var groups: [[Int]] = []
            for a in order1 {
                if let last = groups.last?.last, last + 1 == a {
                    groups[groups.count - 1].append(a)
                } else {
                    groups.append([a])
                }
            }
            // Reduced input axes are the groups sorted by their first input axis.
            let byInput = groups.indices.sorted { groups[$0][0] < groups[$1][0] }
            var inputIndex = [Int](repeating: 0, count: groups.count)
            for (i, g) in byInput.enumerated() { inputIndex[g] = i }
            shape = byInput.map { groups[$0].reduce(1) { $0 * shape1[$1] } }
            order = groups.indices.map { inputIndex[$0] }
        }

        func run(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>) {
            let rank = shape.count
            var inStrides = [Int](repeating: 1, count: rank)
            for a in stride(from: rank - 2, through: 0, by: -1) { inStrides[a] = inStrides[a + 1] * shape[a + 1] }
            let outShape = order.map { shape[$0] }
            var outStrides = [Int](repeating: 1, count: rank)
            for a in stride(from: rank - 2, through: 0, by: -1) { outStrides[a] = outStrides[a + 1] * outShape[a + 1] }

            if order[rank - 1] == rank - 1 {
                // The innermost axis stays innermost: copy runs of shape[rank-1].
                let length = shape[rank - 1]
                let outerShape = Array(outShape.dropLast())
                let outerInStrides = order.dropLast().map { inStrides[$0] }
                let runs = outerShape.reduce(1, *)
                OpProfile.measure(.copy) { Parallel.forRanges(runs, minChunk: max(1, 65_536 / length)) { range in
                    var counter = Odometer(shape: outerShape, strides: outerInStrides, start: range.lowerBound)
                    if length >= 16 {
                        for r in range {
                            (dst + r * length).update(from: src + counter.offset, count: length)
                            counter.advance()
                        }
                    } else {
                        // Short runs: a plain loop beats a memmove call per run.
                        for r in range {
                            let d = dst + r * length, s = src + counter.offset
                            for e in 0..<length { d[e] = s[e] }
                            counter.advance()
                        }
                    }
                } }
                return
            }

            // Tiled transpose between axis j (innermost in the output) and axis i (innermost in
            // the input), for every index of the other axes.
            let jAxis = order[rank - 1]
            let iPosition = order.firstIndex(of: rank - 1)!
            let ni = shape[rank - 1], nj = shape[jAxis]
            let jInStride = inStrides[jAxis]
            let iOutStride = outStrides[iPosition]
            let otherPositions = (0..<rank).filter { $0 != iPosition && $0 != rank - 1 }
            let otherShape = otherPositions.map { outShape[$0] }
            let otherInStrides = otherPositions.map { inStrides[order[$0]] }
            let otherOutStrides = otherPositions.map { outStrides[$0] }
            let tile = 32
            let bands = (ni + tile - 1) / tile
            let items = otherShape.reduce(1, *) * bands
            OpProfile.measure(.copy) { Parallel.forRanges(items, minChunk: max(1, 65_536 / (tile * nj))) { range in
                for item in range {
                    let band = item % bands
                    var rest = item / bands
                    var inBase = 0, outBase = 0
                    for p in stride(from: otherShape.count - 1, through: 0, by: -1) {
                        let idx = rest % otherShape[p]
                        rest /= otherShape[p]
                        inBase += idx * otherInStrides[p]
                        outBase += idx * otherOutStrides[p]
                    }
                    let i0 = band * tile, i1 = min(i0 + tile, ni)
                    var j0 = 0
                    while j0 < nj {
                        let j1 = min(j0 + tile, nj)
                        for i in i0..<i1 {
                            let s = src + inBase + i
                            let d = dst + outBase + i * iOutStride
                            for j in j0..<j1 { d[j] = s[j * jInStride] }
                        }
                        j0 = j1
                    }
                }
            } }
        }
    }

    /// Walks a multi-index in row-major order, tracking the matching offset under other strides.
    struct Odometer {
        let shape: [Int]
        let strides: [Int]
        var index: [Int]
        var offset = 0

        init(shape: [Int], strides: [Int], start: Int) {
            self.shape = shape
            self.strides = strides
            index = [Int](repeating: 0, count: shape.count)
            var rest = start
            for p in stride(from: shape.count - 1, through: 0, by: -1) {
                index[p] = rest % shape[p]
                rest /= shape[p]
                offset += index[p] * strides[p]
            }
        }

        mutating func advance() {
            var p = shape.count - 1
            while p >= 0 {
                index[p] += 1
                offset += strides[p]
                if index[p] < shape[p] { return }
                offset -= index[p] * strides[p]
                index[p] = 0
                p -= 1
            }
        }
    }
}
