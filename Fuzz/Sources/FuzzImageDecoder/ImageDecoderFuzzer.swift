import FuzzSupport
import Media

/// libFuzzer entry: the input is an image file (PNG through libpng; JPEG and WebP through FFmpeg,
/// with their EXIF orientation), decoded with `ImageDecoder.decode(bytes:)` at the default pixel
/// limit, as `--image` is. An accepted image has the size its header claimed (axes swapped by an
/// EXIF rotation) and exactly width x height x 3 bytes; a bad one throws `ImageError`, never traps,
/// and a header claiming more than the limit is refused before any pixel buffer is allocated.
@main
enum ImageDecoderFuzzer {
    static func main() { FuzzDriver.run { imageDecoderFuzzer($0, $1) } }
}

private func imageDecoderFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let image = attempt({ try ImageDecoder.decode(bytes: bytes, path: "fuzz-input") }) else { return 0 }
    precondition(image.width > 0 && image.height > 0, "decoded an empty image")
    precondition(image.width * image.height <= ImageDecoder.defaultMaxPixels, "decoded past the pixel limit")
    precondition(image.pixels.count == image.width * image.height * 3, "pixel buffer disagrees with the size")
    keep(image.pixels.reduce(0) { $0 &+ UInt64($1) })
    return 0
}
