#ifndef IMG2VID_CFFMPEG_SHIM_H
#define IMG2VID_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>

/* Macros that do not import into Swift (FACTS.md), wrapped as functions. */
static inline int img2vid_averror(int e) { return AVERROR(e); }
static inline int img2vid_averror_eof(void) { return AVERROR_EOF; }
static inline int img2vid_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int img2vid_averror_patchwelcome(void) { return AVERROR_PATCHWELCOME; }
static inline int img2vid_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }
static inline int64_t img2vid_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational img2vid_av_time_base_q(void) { AVRational q = {1, AV_TIME_BASE}; return q; }
static inline void img2vid_av_strerror(int errnum, char *buf, size_t size) { av_strerror(errnum, buf, size); }
/* Helpers for the Media module: AVFrame.data/linesize import as 8-tuples and sws_scale takes
 * arrays of plane pointers, both awkward from Swift (FACTS.md). */
static inline uint8_t *img2vid_frame_data(const AVFrame *f, int plane) { return f->data[plane]; }
static inline int img2vid_frame_linesize(const AVFrame *f, int plane) { return f->linesize[plane]; }

/* Scales one packed image (RGB24, RGBA, ...) into the planes of `dst`. */
static inline int img2vid_sws_scale_packed_to_frame(struct SwsContext *ctx, const uint8_t *src,
                                                    int src_stride, int src_height, AVFrame *dst) {
    const uint8_t *planes[4] = { src, NULL, NULL, NULL };
    const int strides[4] = { src_stride, 0, 0, 0 };
    return sws_scale(ctx, planes, strides, 0, src_height, dst->data, dst->linesize);
}

/* Scales the planes of `src` into one packed image (RGB24, RGBA, ...). */
static inline int img2vid_sws_scale_frame_to_packed(struct SwsContext *ctx, const AVFrame *src,
                                                    uint8_t *dst, int dst_stride) {
    uint8_t *planes[4] = { dst, NULL, NULL, NULL };
    const int strides[4] = { dst_stride, 0, 0, 0 };
    return sws_scale(ctx, (const uint8_t *const *)src->data, src->linesize, 0, src->height, planes, strides);
}

/* Whether a pixel format carries an alpha channel (AV_PIX_FMT_FLAG_ALPHA). */
static inline int img2vid_pix_fmt_has_alpha(enum AVPixelFormat fmt) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    return d != NULL && (d->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
}

/* The 3x3 display matrix exported as frame side data (mjpeg EXIF orientation), or NULL. */
static inline const int32_t *img2vid_frame_display_matrix(const AVFrame *f) {
    AVFrameSideData *sd = av_frame_get_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX);
    return (sd != NULL && sd->size >= 9 * (int)sizeof(int32_t)) ? (const int32_t *)sd->data : NULL;
}
#endif
