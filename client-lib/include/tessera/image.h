/*
 * libtessera: loading images into client memory.
 *
 * The loaders never crash on bad input: whatever the bytes, they return 0 or a
 * negative errno. Each thread keeps the reason of its own last failure
 * (ts_image_error), so loading on several threads at once is fine.
 */
#ifndef TESSERA_IMAGE_H
#define TESSERA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The largest width and height the loaders accept. */
#define TS_IMAGE_MAX_SIDE 16384

/**
 * Pixels in client memory, premultiplied RGBA8: bytes R, G, B, A per pixel, rows top
 * first, stride bytes apart. The colour is premultiplied in its encoded (sRGB) form,
 * as the server blends it.
 */
struct ts_pixels {
	uint32_t width, height, stride;
	uint8_t *data; // malloc'd; free it with ts_pixels_free
};

/**
 * Loads the PNG file at @path (any colour type: palette, grey, grey+alpha, RGB, RGBA;
 * bit depths 1-16; interlaced or not; tRNS) into premultiplied RGBA8. 16-bit samples
 * without a gAMA or sRGB chunk are taken as sRGB-encoded, like 8-bit ones, and
 * rounded to the nearest 8-bit value; a gAMA or sRGB chunk is honoured.
 *
 * Returns 0, or a negative errno: -ENOENT etc. from opening; -EINVAL for a file that
 * is not a valid PNG, corrupt or truncated; -EFBIG when the width or the height
 * exceeds TS_IMAGE_MAX_SIDE or the pixel count would overflow; -ENOMEM. On failure
 * *@out is zeroed and ts_image_error() says why.
 */
int ts_image_load_png(const char *path, struct ts_pixels *out);

/** As ts_image_load_png, from the @size bytes at @data (a whole PNG file). */
int ts_image_load_png_memory(const void *data, size_t size, struct ts_pixels *out);

/** Why the last failed load on this thread failed, in words (libpng's message), or "". */
const char *ts_image_error(void);

/** Frees the pixels of @pixels and zeroes it. NULL, or pixels already freed, is fine. */
void ts_pixels_free(struct ts_pixels *pixels);

#ifdef __cplusplus
}
#endif

#endif
