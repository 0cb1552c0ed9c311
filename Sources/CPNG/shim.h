#ifndef IMG2VID_CPNG_SHIM_H
#define IMG2VID_CPNG_SHIM_H
#include <png.h>
/* Macros of the simplified libpng API that do not import into Swift (FACTS.md). */
static inline png_uint_32 img2vid_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline png_uint_32 img2vid_png_format_rgba(void) { return PNG_FORMAT_RGBA; }
static inline png_uint_32 img2vid_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline int img2vid_png_image_failed(png_image *image) { return PNG_IMAGE_FAILED(*image); }
/* The error or warning text of a png_image (a char[64] that imports as a tuple). */
static inline const char *img2vid_png_image_message(const png_image *image) { return image->message; }
#endif
