import Foundation
import Tensor
import XCTest

/// PSNR in dB between two uint8 images of the same size (infinity when equal).
public func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
    var squared = 0.0
    for (x, y) in zip(a, b) { squared += (Double(x) - Double(y)) * (Double(x) - Double(y)) }
    let mse = squared / Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

/// Asserts that every frame (interleaved RGB bytes) is at least `minimumPSNR` dB from the same frame
/// of `reference`: uint8 frames laid out one after another, `[1, F, H, W, 3]` as diffusers'
/// StableVideoDiffusionPipeline returns them.
public func assertFramesPSNR(_ frames: [[UInt8]], _ reference: StoredTensor, atLeast minimumPSNR: Double,
                             file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(reference.dtype, .u8, "reference frames dtype", file: file, line: line)
    XCTAssertGreaterThanOrEqual(reference.shape.count, 3, "reference frames shape \(reference.shape)", file: file, line: line)
    guard reference.dtype == .u8, reference.shape.count >= 3 else { return }
    let frameSize = reference.shape.suffix(3).reduce(1, *)
    XCTAssertEqual(frames.count, reference.count / frameSize, "frame count", file: file, line: line)
    for (f, frame) in frames.enumerated() where (f + 1) * frameSize <= reference.count {
        XCTAssertEqual(frame.count, frameSize, "frame \(f) size", file: file, line: line)
        let value = psnr(frame, Array(reference.bytes[(f * frameSize)..<((f + 1) * frameSize)]))
        XCTAssertGreaterThanOrEqual(value, minimumPSNR, "frame \(f) PSNR \(value) dB", file: file, line: line)
    }
}
