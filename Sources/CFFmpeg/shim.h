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

/* Macros that do not import into Swift (FACTS.md), wrapped as functions. */
static inline int img2vid_averror(int e) { return AVERROR(e); }
static inline int img2vid_averror_eof(void) { return AVERROR_EOF; }
static inline int img2vid_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int64_t img2vid_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational img2vid_av_time_base_q(void) { AVRational q = {1, AV_TIME_BASE}; return q; }
static inline void img2vid_av_strerror(int errnum, char *buf, size_t size) { av_strerror(errnum, buf, size); }
#endif
