import CFFmpeg
import CPNG
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a still image file into an 8-bit `RGBImage`.
///
/// The format is detected from the content (magic bytes), never from the extension:
/// - **PNG** through libpng's simplified API (`png_image_*`): every bit depth and colour type
///   (grey, grey+alpha, palette with or without tRNS, RGB, RGBA, 8 or 16 bits, interlaced).
///   16-bit files without a gAMA/sRGB chunk are taken as sRGB-encoded (`PNG_IMAGE_FLAG_16BIT_sRGB`;
///   libpng would otherwise treat them as linear and brighten them), so 16-bit `v * 257` reads as `v`.
///   A gAMA chunk is honoured (converted to sRGB) by libpng; ICC profiles and eXIf are ignored.
/// - **JPEG** through FFmpeg's mjpeg decoder, converted to RGB by swscale (bicubic chroma
///   upsampling, accurate rounding, BT.601 full range unless the frame says otherwise).
///   EXIF orientation is applied: FFmpeg 5.1's mjpeg decoder exports the EXIF IFD0 tags as frame
///   metadata (`Orientation`, values 1-8, mirrored ones included) and also a display matrix; the
///   tag is used, and the display matrix (pure rotations only) when a build exports only that.
///   A file whose end-of-image marker is missing is refused as truncated (FFmpeg would conceal it).
/// - **WebP** (still, lossy or lossless, with or without alpha) through FFmpeg's webp decoder;
///   its EXIF chunk's orientation is applied the same way. Animated WebP is refused.
///
/// Alpha is composited over white in sRGB space: `out = round((c * a + 255 * (255 - a)) / 255)`
/// (diffusers' `load_image` uses PIL's `convert("RGB")`, which drops alpha and so shows the
/// arbitrary colours hidden under transparent pixels; a white background is what viewers show).
///
/// Width and height are read from the header (PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X) and checked
/// against `maxPixels` before any pixel buffer is allocated.
public enum ImageDecoder {
    /// The default pixel limit: 64 megapixels (an 8000x8000 photo), about 200 MB of RGB.
    public static let defaultMaxPixels = 64_000_000

    /// Decodes the image file at `path`. Throws `ImageError` naming the file.
    public static func decode(path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let bytes = try readFile(path)
        return try decode(bytes: bytes, path: path, maxPixels: maxPixels)
    }

    /// Decodes an image held in memory; `path` names it in error messages.
    public static func decode(bytes: [UInt8], path: String = "<memory>", maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        guard !bytes.isEmpty else { throw ImageError.emptyFile(path: path) }
        guard let format = ImageFormat.detect(bytes) else {
            throw ImageError.unsupportedFormat(path: path, detected: ImageFormat.describeUnsupported(bytes))
        }
        let header = try ImageHeader.parse(bytes, format: format, path: path)
        guard header.width > 0 && header.height > 0 else {
            throw ImageError.zeroSize(path: path, width: header.width, height: header.height)
        }
        let (product, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        guard !overflow && product <= maxPixels else {
            throw ImageError.tooManyPixels(path: path, width: header.width, height: header.height, limit: maxPixels)
        }
        switch format {
        case .png: return try decodePNG(bytes, header: header, path: path)
        case .jpeg, .webp: return try decodeWithFFmpeg(bytes, header: header, path: path, maxPixels: maxPixels)
        }
    }

    // MARK: Reading

    /// The bytes of an image file, with the errors `decode(path:)` gives for a missing or unreadable
    /// one (callers that also hash the file read it once with this, then `decode(bytes:path:)`).
    public static func readFile(_ path: String) throws -> [UInt8] {
        switch POSIXFile.kind(of: path) {
        case .missing:
            // stat fails for a missing file and for a path through an unreadable folder.
            if access(path, F_OK) != 0 && errno == EACCES { throw ImageError.permissionDenied(path: path) }
            throw ImageError.fileNotFound(path: path)
        case .directory:
            throw ImageError.isDirectory(path: path)
        case .file, .other:
            break
        }
        do {
            return try POSIXFile.readAll(path)
        } catch let failure as POSIXFile.Failure {
            switch failure.code {
            case ENOENT: throw ImageError.fileNotFound(path: path)
            case EACCES, EPERM: throw ImageError.permissionDenied(path: path)
            case EISDIR: throw ImageError.isDirectory(path: path)
            default: throw ImageError.readFailed(path: path, reason: "\(failure.operation): \(failure.message)")
            }
        }
    }

    // MARK: PNG (libpng simplified API)

    private static func decodePNG(_ bytes: [UInt8], header: ImageHeader, path: String) throws -> RGBImage {
        func corrupt(_ image: png_image) -> ImageError {
            var copy = image
            let message = String(cString: img2vid_png_image_message(&copy))
            return .corrupt(path: path, format: "PNG", reason: message.isEmpty ? "libpng refused the data" : message)
        }
        var image = png_image()
        image.version = img2vid_png_image_version()
        let began = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard began != 0 else {
            let error = corrupt(image)
            png_image_free(&image)
            throw error
        }
        let w = Int(image.width), h = Int(image.height)
        let hasAlpha = image.format & PNG_FORMAT_FLAG_ALPHA != 0
        let channels = hasAlpha ? 4 : 3
        image.format = hasAlpha ? img2vid_png_format_rgba() : img2vid_png_format_rgb()
        image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
        var buffer = [UInt8](repeating: 0, count: w * h * channels)
        let finished = buffer.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(w * channels), nil)
        }
        guard finished != 0 else {
            let error = corrupt(image)
            png_image_free(&image)
            throw error
        }
        png_image_free(&image)
        let pixels = hasAlpha ? compositeOverWhite(rgba: buffer, count: w * h) : buffer
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// RGBA (straight alpha) to RGB over a white background, rounded to nearest.
    static func compositeOverWhite(rgba: [UInt8], count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count * 3)
        rgba.withUnsafeBufferPointer { srcBuf in
            out.withUnsafeMutableBufferPointer { dstBuf in
                let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!
                Parallel.forRanges(count, minChunk: 1 << 16) { range in
                    for i in range {
                        let a = Int(src[i * 4 + 3])
                        for c in 0..<3 {
                            let v = Int(src[i * 4 + c]) * a + 255 * (255 - a)
                            dst[i * 3 + c] = UInt8((v + 127) / 255)
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: JPEG and WebP (libavcodec)

    private static func decodeWithFFmpeg(_ bytes: [UInt8], header: ImageHeader, path: String, maxPixels: Int) throws -> RGBImage {
        _ = FFmpegSupport.quietLogs
        let formatName = header.format.rawValue
        func corrupt(_ reason: String) -> ImageError { .corrupt(path: path, format: formatName, reason: reason) }
        let codecID = header.format == .jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_WEBP
        guard let codec = avcodec_find_decoder(codecID) else {
            throw ImageError.unsupportedFormat(path: path, detected: "\(formatName), but this FFmpeg build has no \(formatName) decoder")
        }
        guard bytes.count < Int(Int32.max) - Int(AV_INPUT_BUFFER_PADDING_SIZE) else {
            throw ImageError.readFailed(path: path, reason: "the file is larger than 2 GB, which FFmpeg cannot take as one packet")
        }
        var context = avcodec_alloc_context3(codec)
        guard let ctx = context else { throw ImageError.readFailed(path: path, reason: "out of memory") }
        defer { avcodec_free_context(&context) }
        // A second guard inside FFmpeg in case the stream disagrees with the header. FFmpeg checks
        // the stride-aligned size (width rounded up to 64), so leave that much room.
        ctx.pointee.max_pixels = Int64(maxPixels) + 64 * Int64(max(header.width, header.height))
        guard avcodec_open2(ctx, codec, nil) >= 0 else {
            throw ImageError.readFailed(path: path, reason: "could not open FFmpeg's \(formatName) decoder")
        }

        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard let pkt = packet, av_new_packet(pkt, Int32(bytes.count)) >= 0 else {
            throw ImageError.readFailed(path: path, reason: "out of memory")
        }
        bytes.withUnsafeBufferPointer { pkt.pointee.data.update(from: $0.baseAddress!, count: $0.count) }

        var sent = avcodec_send_packet(ctx, pkt)
        guard sent >= 0 else { throw corrupt(FFmpegSupport.errorString(sent)) }
        sent = avcodec_send_packet(ctx, nil)  // end of stream: flush the decoder
        var allocated = av_frame_alloc()
        defer { av_frame_free(&allocated) }
        guard let frame = allocated else { throw ImageError.readFailed(path: path, reason: "out of memory") }
        let received = avcodec_receive_frame(ctx, frame)
        guard received >= 0 else {
            if received == FFmpegSupport.averror(ENOSYS) || received == img2vid_averror_patchwelcome() {
                throw ImageError.unsupportedFormat(path: path, detected: "a \(formatName) variant FFmpeg does not decode")
            }
            throw corrupt(FFmpegSupport.errorString(received))
        }
        if frame.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 || frame.pointee.decode_error_flags != 0 {
            throw corrupt("the decoder reported damaged data")
        }
        let w = Int(frame.pointee.width), h = Int(frame.pointee.height)
        guard w > 0 && h > 0 else { throw ImageError.zeroSize(path: path, width: w, height: h) }
        guard w * h <= maxPixels else { throw ImageError.tooManyPixels(path: path, width: w, height: h, limit: maxPixels) }

        let image = try convertToRGB(frame, path: path, format: formatName)
        return orientation(of: frame).apply(to: image)
    }

    /// Converts a decoded frame of any pixel format to RGB (through RGBA and white compositing
    /// when the format has alpha).
    private static func convertToRGB(_ frame: UnsafeMutablePointer<AVFrame>, path: String, format: String) throws -> RGBImage {
        let w = Int(frame.pointee.width), h = Int(frame.pointee.height)
        let srcFormat = AVPixelFormat(rawValue: frame.pointee.format)
        let hasAlpha = img2vid_pix_fmt_has_alpha(srcFormat) != 0
        let dstFormat = hasAlpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24
        let channels = hasAlpha ? 4 : 3
        let flags = Int32(SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)
        guard let sws = sws_getContext(Int32(w), Int32(h), srcFormat, Int32(w), Int32(h), dstFormat, flags, nil, nil, nil) else {
            throw ImageError.unsupportedFormat(path: path, detected: "\(format) with a pixel layout swscale cannot convert")
        }
        defer { sws_freeContext(sws) }
        adjustColorspace(sws, for: frame.pointee)
        var buffer = [UInt8](repeating: 0, count: w * h * channels)
        let rows = buffer.withUnsafeMutableBufferPointer {
            img2vid_sws_scale_frame_to_packed(sws, frame, $0.baseAddress, Int32(w * channels))
        }
        guard rows == Int32(h) else {
            throw ImageError.corrupt(path: path, format: format, reason: "colour conversion produced \(rows) of \(h) rows")
        }
        let pixels = hasAlpha ? compositeOverWhite(rgba: buffer, count: w * h) : buffer
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// Makes swscale honour a frame's full-range flag and BT.709 matrix (it already treats the
    /// yuvj* formats as full range and defaults to BT.601).
    private static func adjustColorspace(_ sws: OpaquePointer, for frame: AVFrame) {
        let fullRange = frame.color_range == AVCOL_RANGE_JPEG
        let bt709 = frame.colorspace == AVCOL_SPC_BT709
        guard fullRange || bt709 else { return }
        var invTable: UnsafeMutablePointer<Int32>?
        var table: UnsafeMutablePointer<Int32>?
        var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        guard sws_getColorspaceDetails(sws, &invTable, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation) >= 0,
              let inv = invTable, let tab = table else { return }
        let coefficients = bt709 ? sws_getCoefficients(SWS_CS_ITU709) : UnsafePointer(inv)
        _ = sws_setColorspaceDetails(sws, coefficients, fullRange ? 1 : srcRange, UnsafePointer(tab), dstRange,
                                     brightness, contrast, saturation)
    }

    /// The orientation FFmpeg exported for the frame: the EXIF `Orientation` metadata tag
    /// (mjpeg and webp decoders), else the display-matrix side data, else upright.
    private static func orientation(of frame: UnsafeMutablePointer<AVFrame>) -> EXIFOrientation {
        if let entry = av_dict_get(frame.pointee.metadata, "Orientation", nil, 0), let value = entry.pointee.value {
            let text = String(cString: value).trimmingCharacters(in: " \t\0")
            if let n = Int(text), let o = EXIFOrientation(rawValue: n) { return o }
        }
        if let m = img2vid_frame_display_matrix(frame) {
            let determinant = Double(m[0]) * Double(m[4]) - Double(m[1]) * Double(m[3])
            let degrees = av_display_rotation_get(m)
            if let o = EXIFOrientation.fromDisplayRotation(degrees, mirrored: determinant < 0) { return o }
        }
        return .up
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
