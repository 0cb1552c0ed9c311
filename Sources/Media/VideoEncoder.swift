import CFFmpeg
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Encodes frames into a video file with FFmpeg's libraries (libavformat + libavcodec + swscale).
///
/// The container and codec follow the path's extension (`VideoFormat`): `.mp4` and `.mkv`
/// libx264 yuv420p (CRF 18 by default, `.mp4` with `+faststart`), `.webm` libvpx-vp9 yuv420p
/// (constant quality: CRF 24 by default with `b:v 0`), `.gif` FFmpeg's GIF encoder fed PAL8 frames
/// with one global palette built here (`GIFPalette`: median cut, optional ordered dither).
///
/// - RGB to YUV: swscale bicubic with accurate rounding and full-resolution chroma input,
///   BT.709 matrix, limited (TV) range; the streams are tagged BT.709 so players convert back
///   the same way.
/// - Odd sizes: yuv420p needs even width and height, so an odd-sized frame is padded by one
///   column and/or row repeating its edge pixels (the file is then e.g. 66x34 for 65x33 frames).
///   GIF keeps the exact size.
/// - Timing: frame `i` is shown at `i / fps` seconds. With `outputFPS`, the stream runs at that
///   rate and each output frame shows the source frame current at its time (frames repeated or
///   dropped, the duration stays `count / fps`). Every packet gets a duration (libx264 leaves it 0),
///   so the last frame lasts a full frame.
/// - Metadata: `title` and `comment` go into the container (MP4 `©nam`/`©cmt`, Matroska/WebM
///   Title and COMMENT tag). GIF has no title field: both are written as GIF Comment Extensions,
///   the title first and the comment last (FFmpeg's GIF reader keeps the last one).
/// - Writes exactly `path` (create or truncate); a failed encode removes the partial file.
///   Use `AtomicOutputFile` for temp-then-rename. FFmpeg's own logging is silenced.
public enum VideoEncoder {
    /// Encoding settings.
    public struct Options: Sendable, Equatable {
        /// Frames per second of the input frames (their timing).
        public var fps: Int
        /// Frame rate of the written stream when it differs from `fps` (frames repeated or dropped).
        public var outputFPS: Int?
        /// Constant-rate-factor quality (lower is better): nil means `VideoFormat.defaultCRF`
        /// (18 for H.264, 24 for VP9). Ignored for GIF.
        public var crf: Int?
        /// libx264 preset (speed/size trade-off; quality is set by CRF).
        public var x264Preset: String
        /// libvpx-vp9 `cpu-used` (0 slowest/best ... 8 fastest).
        public var vp9Speed: Int
        /// Container metadata.
        public var title: String?
        public var comment: String?
        /// GIF only: how colours are mapped to the 256-colour palette.
        public var gifDither: GIFDither

        public init(fps: Int, outputFPS: Int? = nil, crf: Int? = nil, x264Preset: String = "medium", vp9Speed: Int = 4,
                    title: String? = nil, comment: String? = nil, gifDither: GIFDither = .ordered) {
            self.fps = fps
            self.outputFPS = outputFPS
            self.crf = crf
            self.x264Preset = x264Preset
            self.vp9Speed = vp9Speed
            self.title = title
            self.comment = comment
            self.gifDither = gifDither
        }
    }

    /// The number of frames written for `frameCount` input frames at `fps` re-timed to `outputFPS`:
    /// `ceil(frameCount * outputFPS / fps)`.
    public static func outputFrameCount(frameCount: Int, fps: Int, outputFPS: Int?) -> Int {
        let out = outputFPS ?? fps
        return (frameCount * out + fps - 1) / fps
    }

    /// Encodes `frames` (all the same size) into `path`; the extension picks the format.
    public static func encode(_ frames: [RGBImage], to path: String, options: Options) throws {
        let format = try VideoFormat.forPath(path)
        guard let first = frames.first else { throw VideoError.noFrames }
        for (i, f) in frames.enumerated() where f.width != first.width || f.height != first.height || f.pixelCount == 0 {
            throw VideoError.frameSizeMismatch(index: i, width: f.width, height: f.height,
                                               expectedWidth: first.width, expectedHeight: first.height)
        }
        for rate in [options.fps, options.outputFPS ?? options.fps] where !(1...1000).contains(rate) {
            throw VideoError.invalidFrameRate(rate)
        }
        if let crf = options.crf, format != .gif, !format.crfRange.contains(crf) {
            throw VideoError.invalidQuality(crf: crf, range: format.crfRange, encoder: format.encoderName)
        }
        _ = FFmpegSupport.quietLogs

        let outFPS = options.outputFPS ?? options.fps
        let count = outputFrameCount(frameCount: frames.count, fps: options.fps, outputFPS: outFPS)
        let source: (Int) -> Int = { j in min(j * options.fps / outFPS, frames.count - 1) }

        if format == .gif {
            try encodeGIF(frames, to: path, options: options, fps: outFPS, count: count, source: source)
        } else {
            try encodeYUV(frames, to: path, format: format, options: options, fps: outFPS, count: count, source: source)
        }
    }

    // MARK: yuv420p codecs (libx264, libvpx-vp9)

    private static func encodeYUV(_ frames: [RGBImage], to path: String, format: VideoFormat, options: Options,
                                  fps: Int, count: Int, source: (Int) -> Int) throws {
        let w = frames[0].width, h = frames[0].height
        let ew = (w + 1) & ~1, eh = (h + 1) & ~1
        var codecOptions: [String: String] = ["crf": String(options.crf ?? format.defaultCRF!)]
        if format == .webm {
            codecOptions["deadline"] = "good"
            codecOptions["cpu-used"] = String(options.vp9Speed)
            codecOptions["row-mt"] = "1"
        } else {
            codecOptions["preset"] = options.x264Preset
        }
        let muxer = try Muxer(path: path, format: format, width: ew, height: eh, pixelFormat: AV_PIX_FMT_YUV420P,
                              fps: fps, codecOptions: codecOptions, options: options, inMemory: false) { ctx in
            ctx.pointee.bit_rate = 0  // constant quality (VP9 needs b:v 0 for CRF mode)
            ctx.pointee.color_primaries = AVCOL_PRI_BT709
            ctx.pointee.color_trc = AVCOL_TRC_BT709
            ctx.pointee.colorspace = AVCOL_SPC_BT709
            ctx.pointee.color_range = AVCOL_RANGE_MPEG
        }
        let flags = Int32(SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP)
        guard let sws = sws_getContext(Int32(ew), Int32(eh), AV_PIX_FMT_RGB24, Int32(ew), Int32(eh), AV_PIX_FMT_YUV420P,
                                       flags, nil, nil, nil) else {
            muxer.abandon()
            throw VideoError.encodingFailed(path: path, stage: "colour conversion setup", reason: "swscale refused RGB24 -> yuv420p")
        }
        defer { sws_freeContext(sws) }
        let bt709 = sws_getCoefficients(SWS_CS_ITU709)
        _ = sws_setColorspaceDetails(sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16)

        var paddedIndex = -1
        var padded = frames[0]
        try muxer.run(count: count) { j, frame in
            let s = source(j)
            if s != paddedIndex {
                padded = frames[s].paddedReplicatingEdges(toWidth: ew, height: eh)
                paddedIndex = s
            }
            let rows = padded.pixels.withUnsafeBufferPointer {
                img2vid_sws_scale_packed_to_frame(sws, $0.baseAddress, Int32(ew * 3), Int32(eh), frame)
            }
            guard rows == Int32(eh) else {
                throw VideoError.encodingFailed(path: path, stage: "colour conversion", reason: "swscale wrote \(rows) of \(eh) rows")
            }
        }
    }

    // MARK: GIF

    private static func encodeGIF(_ frames: [RGBImage], to path: String, options: Options,
                                  fps: Int, count: Int, source: (Int) -> Int) throws {
        let w = frames[0].width, h = frames[0].height
        let palette = GIFPalette.build(from: frames)
        let mapper = GIFPalette.Mapper(palette: palette, dither: options.gifDither)
        var argb = [UInt32](repeating: 0xFF00_0000, count: 256)
        for (i, c) in palette.colors.enumerated() { argb[i] = 0xFF00_0000 | c }

        let muxer = try Muxer(path: path, format: .gif, width: w, height: h, pixelFormat: AV_PIX_FMT_PAL8,
                              fps: fps, codecOptions: [:], options: options, inMemory: true) { _ in }
        try muxer.run(count: count) { j, frame in
            mapper.map(frames[source(j)], into: img2vid_frame_data(frame, 0), stride: Int(img2vid_frame_linesize(frame, 0)))
            img2vid_frame_data(frame, 1).withMemoryRebound(to: UInt32.self, capacity: 256) { pal in
                argb.withUnsafeBufferPointer { pal.update(from: $0.baseAddress!, count: 256) }
            }
        }
        var bytes = muxer.memoryOutput
        insertGIFComments(&bytes, texts: [options.title, options.comment].compactMap { $0 }.filter { !$0.isEmpty })
        do {
            try bytes.withUnsafeBytes { try POSIXFile.writeAll($0, to: path) }
        } catch let failure as POSIXFile.Failure {
            unlink(path)
            throw Muxer.mapIOError(code: -failure.code, path: path, creating: failure.operation == "open")
        }
    }

    /// Inserts one GIF Comment Extension per text after the header and global colour table.
    static func insertGIFComments(_ bytes: inout [UInt8], texts: [String]) {
        guard !texts.isEmpty, bytes.count >= 13, bytes.starts(with: Array("GIF8".utf8)) else { return }
        let packed = bytes[10]
        let tableSize = packed & 0x80 != 0 ? 3 * (1 << (Int(packed & 0x07) + 1)) : 0
        let at = 13 + tableSize
        guard at <= bytes.count else { return }
        var block: [UInt8] = []
        for text in texts {
            block += [0x21, 0xFE]
            var utf8 = Array(text.utf8)[...]
            while !utf8.isEmpty {
                let chunk = utf8.prefix(255)
                block.append(UInt8(chunk.count))
                block += chunk
                utf8 = utf8.dropFirst(chunk.count)
            }
            block.append(0)
        }
        bytes.replaceSubrange(at..<at, with: block)
        bytes.replaceSubrange(0..<6, with: Array("GIF89a".utf8))  // extensions need GIF89a
    }
}

/// One encoder feeding one muxer; owns the FFmpeg objects and frees them when done.
private final class Muxer {
    let path: String
    private var formatContext: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>
    private let inMemory: Bool
    private var fileOpened = false
    private(set) var memoryOutput: [UInt8] = []

    init(path: String, format: VideoFormat, width: Int, height: Int, pixelFormat: AVPixelFormat, fps: Int,
         codecOptions: [String: String], options: VideoEncoder.Options, inMemory: Bool,
         configure: (UnsafeMutablePointer<AVCodecContext>) -> Void) throws {
        self.path = path
        self.inMemory = inMemory
        var fmt: UnsafeMutablePointer<AVFormatContext>?
        let allocated = avformat_alloc_output_context2(&fmt, nil, format.muxerName, path)
        guard allocated >= 0, let fmtCtx = fmt else {
            throw VideoError.encodingFailed(path: path, stage: "container setup (\(format.muxerName))", reason: FFmpegSupport.errorString(allocated))
        }
        formatContext = fmtCtx
        guard let codec = avcodec_find_encoder_by_name(format.encoderName) else {
            avformat_free_context(fmtCtx)
            throw VideoError.encoderUnavailable(encoder: format.encoderName, format: format.rawValue)
        }
        guard let st = avformat_new_stream(fmtCtx, nil), let ctx = avcodec_alloc_context3(codec) else {
            avformat_free_context(fmtCtx)
            throw VideoError.encodingFailed(path: path, stage: "stream setup", reason: "out of memory")
        }
        stream = st
        codecContext = ctx
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = pixelFormat
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(fps))
        ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        ctx.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        ctx.pointee.thread_count = Int32(Parallel.threads)
        if fmtCtx.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        configure(ctx)

        var dict: OpaquePointer?
        for (k, v) in codecOptions { av_dict_set(&dict, k, v, 0) }
        let opened = avcodec_open2(ctx, codec, &dict)
        av_dict_free(&dict)
        guard opened >= 0 else {
            release()
            throw VideoError.encodingFailed(path: path, stage: "opening the \(format.encoderName) encoder", reason: FFmpegSupport.errorString(opened))
        }
        let copied = avcodec_parameters_from_context(st.pointee.codecpar, ctx)
        guard copied >= 0 else {
            release()
            throw VideoError.encodingFailed(path: path, stage: "stream parameters", reason: FFmpegSupport.errorString(copied))
        }
        st.pointee.time_base = ctx.pointee.time_base
        st.pointee.avg_frame_rate = ctx.pointee.framerate
        st.pointee.r_frame_rate = ctx.pointee.framerate
        st.pointee.sample_aspect_ratio = ctx.pointee.sample_aspect_ratio
        if let title = options.title { av_dict_set(&fmtCtx.pointee.metadata, "title", title, 0) }
        if let comment = options.comment { av_dict_set(&fmtCtx.pointee.metadata, "comment", comment, 0) }

        let io = inMemory ? avio_open_dyn_buf(&fmtCtx.pointee.pb) : avio_open(&fmtCtx.pointee.pb, path, AVIO_FLAG_WRITE)
        guard io >= 0 else {
            release()
            throw Muxer.mapIOError(code: io, path: path, creating: true)
        }
        fileOpened = !inMemory

        var muxerOptions: OpaquePointer?
        if format == .mp4 { av_dict_set(&muxerOptions, "movflags", "+faststart", 0) }
        let header = avformat_write_header(fmtCtx, &muxerOptions)
        av_dict_free(&muxerOptions)
        guard header >= 0 else {
            abandon()
            throw Muxer.mapIOError(code: header, path: path, stage: "writing the container header")
        }
    }

    /// Encodes `count` frames, each filled by `fill(index, frame)`, then flushes and finishes the file.
    func run(count: Int, fill: (Int, UnsafeMutablePointer<AVFrame>) throws -> Void) throws {
        guard let ctx = codecContext, let fmt = formatContext else { return }
        var frame = av_frame_alloc()
        var packet = av_packet_alloc()
        defer {
            av_frame_free(&frame)
            av_packet_free(&packet)
        }
        do {
            guard let frm = frame, let pkt = packet else {
                throw VideoError.encodingFailed(path: path, stage: "frame setup", reason: "out of memory")
            }
            frm.pointee.format = ctx.pointee.pix_fmt.rawValue
            frm.pointee.width = ctx.pointee.width
            frm.pointee.height = ctx.pointee.height
            let got = av_frame_get_buffer(frm, 0)
            guard got >= 0 else { throw VideoError.encodingFailed(path: path, stage: "frame setup", reason: FFmpegSupport.errorString(got)) }
            for j in 0..<count {
                let writable = av_frame_make_writable(frm)
                guard writable >= 0 else {
                    throw VideoError.encodingFailed(path: path, stage: "frame \(j)", reason: FFmpegSupport.errorString(writable))
                }
                try fill(j, frm)
                frm.pointee.pts = Int64(j)
                let sent = avcodec_send_frame(ctx, frm)
                guard sent >= 0 else {
                    throw VideoError.encodingFailed(path: path, stage: "encoding frame \(j)", reason: FFmpegSupport.errorString(sent))
                }
                try drain(ctx, fmt, pkt)
            }
            let flushed = avcodec_send_frame(ctx, nil)
            guard flushed >= 0 else {
                throw VideoError.encodingFailed(path: path, stage: "flushing the encoder", reason: FFmpegSupport.errorString(flushed))
            }
            try drain(ctx, fmt, pkt)
            let trailer = av_write_trailer(fmt)
            guard trailer >= 0 else { throw Muxer.mapIOError(code: trailer, path: path, stage: "writing the container index") }
            try close()
        } catch {
            abandon()
            throw error
        }
    }

    private func drain(_ ctx: UnsafeMutablePointer<AVCodecContext>, _ fmt: UnsafeMutablePointer<AVFormatContext>,
                       _ pkt: UnsafeMutablePointer<AVPacket>) throws {
        while true {
            let r = avcodec_receive_packet(ctx, pkt)
            if r == FFmpegSupport.averror(EAGAIN) || r == img2vid_averror_eof() { return }
            guard r >= 0 else { throw VideoError.encodingFailed(path: path, stage: "encoding", reason: FFmpegSupport.errorString(r)) }
            if pkt.pointee.duration == 0 { pkt.pointee.duration = 1 }  // libx264 leaves it 0 (FACTS.md)
            av_packet_rescale_ts(pkt, ctx.pointee.time_base, stream.pointee.time_base)
            pkt.pointee.stream_index = stream.pointee.index
            let written = av_interleaved_write_frame(fmt, pkt)
            guard written >= 0 else { throw Muxer.mapIOError(code: written, path: path, stage: "writing a frame") }
            if let pb = fmt.pointee.pb, pb.pointee.error < 0 {
                throw Muxer.mapIOError(code: pb.pointee.error, path: path, stage: "writing a frame")
            }
        }
    }

    /// Flushes and closes the output, reporting a write error that avio_close would swallow.
    private func close() throws {
        guard let fmt = formatContext, let pb = fmt.pointee.pb else { release(); return }
        if inMemory {
            var buffer: UnsafeMutablePointer<UInt8>?
            let size = avio_close_dyn_buf(pb, &buffer)
            fmt.pointee.pb = nil
            if let buffer = buffer, size > 0 { memoryOutput = Array(UnsafeBufferPointer(start: buffer, count: Int(size))) }
            av_free(buffer)
        } else {
            avio_flush(pb)
            let error = pb.pointee.error
            avio_closep(&fmt.pointee.pb)
            fileOpened = false
            if error < 0 {
                unlink(path)
                release()
                throw Muxer.mapIOError(code: error, path: path, stage: "finishing the file")
            }
        }
        release()
    }

    /// Gives up: closes and deletes the partial output and frees everything.
    func abandon() {
        if let fmt = formatContext, fmt.pointee.pb != nil {
            if inMemory {
                var buffer: UnsafeMutablePointer<UInt8>?
                _ = avio_close_dyn_buf(fmt.pointee.pb, &buffer)
                av_free(buffer)
                fmt.pointee.pb = nil
            } else {
                avio_closep(&fmt.pointee.pb)
            }
        }
        if fileOpened {
            unlink(path)
            fileOpened = false
        }
        release()
    }

    private func release() {
        if codecContext != nil { avcodec_free_context(&codecContext) }
        if let fmt = formatContext {
            if fmt.pointee.pb != nil && !inMemory { avio_closep(&fmt.pointee.pb) }
            avformat_free_context(fmt)
            formatContext = nil
        }
    }

    deinit { release() }

    /// Maps an FFmpeg I/O error code to a `VideoError` naming `path`.
    static func mapIOError(code: Int32, path: String, creating: Bool = false, stage: String = "writing") -> VideoError {
        let posix = -code
        if posix == ENOSPC || posix == EDQUOT { return .diskFull(path: path) }
        if creating {
            switch posix {
            case ENOENT: return .cannotCreate(path: path, reason: "its folder does not exist")
            case EACCES, EPERM, EROFS: return .cannotCreate(path: path, reason: "permission denied")
            case EISDIR: return .cannotCreate(path: path, reason: "it is a directory")
            default: return .cannotCreate(path: path, reason: FFmpegSupport.errorString(code))
            }
        }
        if posix == EIO || posix == EFBIG || posix == EPIPE || posix == EACCES {
            return .writeFailed(path: path, reason: "\(stage): \(FFmpegSupport.errorString(code))")
        }
        return .encodingFailed(path: path, stage: stage, reason: FFmpegSupport.errorString(code))
    }
}
