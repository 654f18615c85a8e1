/*
 * PNG loading (tessera/image.h) with libpng's sequential read API: libpng expands every
 * colour type and bit depth to straight-alpha RGBA8, and we premultiply in encoded
 * (sRGB) space, as the server blends.
 *
 * Not the simplified API (png_image_*), which would be shorter, for two reasons found
 * by the tests: in the libpng we build with (Debian's 1.6.39-2+deb12u6, whose
 * backported security fixes from 1.6.51-1.6.54 brought libpng issue #853) it decodes
 * Adam7 16-bit images to 8 bits wrongly, rows of earlier passes overwritten; and it
 * stops reading after the image data, so that a file cut in its IEND chunk would load.
 * The transforms asked for here are the ones it would ask for RGBA8 output.
 *
 * libpng reports errors by longjmp to the setjmp in decode(); everything a failure must
 * free is reachable from struct decoder, none of it from locals.
 */
#include "tessera/image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static _Thread_local char last_error[256];

struct decoder {
	png_structp png;
	png_infop info;
	FILE *file;          // the input, or NULL for memory:
	const uint8_t *data; // the input in memory
	size_t size, at;
	bool out_of_memory;  // an allocation of libpng's failed
	uint8_t *pixels;     // ours until they are handed out
	int err;             // -errno of a libpng error
};

const char *ts_image_error(void) {
	return last_error;
}

// Records why this thread's load failed; returns -@err for the caller to pass on.
__attribute__((format(printf, 2, 3)))
static int fail(int err, const char *format, ...) {
	va_list args;
	va_start(args, format);
	vsnprintf(last_error, sizeof last_error, format, args);
	va_end(args);
	return -err;
}

static int fail_errno(int err, const char *what, const char *path) {
	char text[128] = "";
	// The XSI strerror_r (no _GNU_SOURCE here): strerror's buffer is not per thread.
	if (strerror_r(err, text, sizeof text) != 0) {
		snprintf(text, sizeof text, "error %d", err);
	}
	return fail(err, "%s %s: %s", what, path, text);
}

void ts_pixels_free(struct ts_pixels *pixels) {
	if (pixels == NULL) {
		return;
	}
	free(pixels->data);
	*pixels = (struct ts_pixels){0};
}

// --- libpng's callbacks ----------------------------------------------------------------

// libpng tells errors only in words; it is this flag that tells running out of memory,
// the one failure that is not the file's fault, from damage.
static png_voidp allocate(png_structp png, png_alloc_size_t size) {
	void *block = malloc(size);
	if (block == NULL) {
		struct decoder *d = png_get_mem_ptr(png);
		d->out_of_memory = true;
	}
	return block;
}

static void release(png_structp png, png_voidp block) {
	free(block);
}

static void on_error(png_structp png, png_const_charp message) {
	struct decoder *d = png_get_error_ptr(png);
	int err = EINVAL;
	if (d->out_of_memory) {
		err = ENOMEM;
	} else if (d->file != NULL && ferror(d->file)) {
		err = EIO;
	}
	d->err = fail(err, "%s", message);
	png_longjmp(png, 1);
}

// Warnings are about damage libpng could get past (a bad CRC of an ancillary chunk).
static void on_warning(png_structp png, png_const_charp message) {
}

static void read_memory(png_structp png, png_bytep out, size_t count) {
	struct decoder *d = png_get_io_ptr(png);
	if (count > d->size - d->at) {
		png_error(png, "the PNG is truncated");
	}
	memcpy(out, d->data + d->at, count);
	d->at += count;
}

// --- decoding --------------------------------------------------------------------------

// The bytes a buffer of @width x @height RGBA8 pixels takes, or -EFBIG.
static int buffer_size(uint32_t width, uint32_t height, size_t *bytes) {
	if (width > TS_IMAGE_MAX_SIDE || height > TS_IMAGE_MAX_SIDE) {
		return fail(EFBIG, "the PNG is %" PRIu32 " x %" PRIu32 " pixels, more than %d "
			"per side", width, height, TS_IMAGE_MAX_SIDE);
	}
	size_t stride = (size_t)width * 4;
	// Cannot overflow under the side limit, even with a 32-bit size_t; kept so that
	// raising the limit cannot make it overflow silently.
	if (stride != 0 && height > SIZE_MAX / stride) {
		return fail(EFBIG, "the PNG is %" PRIu32 " x %" PRIu32 " pixels, too many for "
			"memory", width, height);
	}
	*bytes = stride * height;
	return 0;
}

// Skips every ancillary chunk but the two that change the pixels, as the simplified
// API does: no text, ICC profile or other compressed data is inflated for nothing.
static void skip_chunks(png_structp png) {
	static const png_byte wanted[] = "gAMA\0sRGB"; // names of 4, each NUL-ended
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_AS_DEFAULT, wanted,
		sizeof wanted / 5);
}

// Asks libpng for straight-alpha RGBA8 in sRGB, whatever the file holds.
static void ask_rgba8(png_structp png) {
	png_set_expand(png);   // palette to RGB, 1, 2 and 4 bits to 8, tRNS to alpha
	png_set_scale_16(png); // 16 bits to 8, to the nearest: (v + 128) / 257
	png_set_gray_to_rgb(png);
	png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER); // where there is no alpha
	// Straight alpha, sRGB out. A gAMA chunk is honoured; without one the file is
	// taken as sRGB, 16-bit ones too (the simplified API would take those as linear,
	// which is what nobody writes).
	png_set_alpha_mode(png, PNG_ALPHA_PNG, PNG_DEFAULT_sRGB);
}

// Rounds c * a / 255 to the nearest integer (an exact half cannot occur: 255 is odd).
static uint8_t premultiplied(unsigned c, unsigned a) {
	return (uint8_t)((c * a + 127) / 255);
}

static void premultiply(uint8_t *data, uint32_t width, uint32_t height, size_t stride) {
	for (uint32_t y = 0; y < height; y++) {
		uint8_t *pixel = data + y * stride;
		for (uint32_t x = 0; x < width; x++, pixel += 4) {
			unsigned a = pixel[3];
			if (a != 255) { // most pixels of most images are opaque
				pixel[0] = premultiplied(pixel[0], a);
				pixel[1] = premultiplied(pixel[1], a);
				pixel[2] = premultiplied(pixel[2], a);
			}
		}
	}
}

// The body of decode(): any libpng call may longjmp out of it.
static int read_image(struct decoder *d, struct ts_pixels *out) {
	png_structp png = d->png;
	png_infop info = d->info;
	// Sides are limited here (buffer_size), not by libpng, which would refuse them
	// only beyond 1000000 and then in words that do not tell size from damage.
	png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
	skip_chunks(png);
	png_read_info(png, info);
	uint32_t width = png_get_image_width(png, info);
	uint32_t height = png_get_image_height(png, info);
	size_t bytes;
	int ret = buffer_size(width, height, &bytes);
	if (ret < 0) {
		return ret;
	}
	size_t stride = (size_t)width * 4;
	ask_rgba8(png);
	int passes = png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != stride) {
		png_error(png, "libpng did not make RGBA8 rows");
	}
	d->pixels = malloc(bytes);
	if (d->pixels == NULL) {
		return fail(ENOMEM, "no memory for %" PRIu32 " x %" PRIu32 " pixels", width,
			height);
	}
	// Each Adam7 pass fills in its pixels of the rows it has.
	for (int pass = 0; pass < passes; pass++) {
		for (uint32_t y = 0; y < height; y++) {
			png_read_row(png, d->pixels + y * stride, NULL);
		}
	}
	// Reads on to IEND, checking every CRC: a file cut after the image data is refused.
	png_read_end(png, NULL);
	premultiply(d->pixels, width, height, stride);
	*out = (struct ts_pixels){
		.width = width,
		.height = height,
		.stride = (uint32_t)stride,
		.data = d->pixels,
	};
	d->pixels = NULL;
	return 0;
}

static int decode(struct decoder *d, struct ts_pixels *out) {
	d->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, d, on_error, on_warning,
		d, allocate, release);
	if (d->png == NULL) {
		return fail(ENOMEM, "no memory for libpng");
	}
	int ret;
	if (setjmp(png_jmpbuf(d->png)) != 0) {
		ret = d->err;
	} else {
		d->info = png_create_info_struct(d->png);
		if (d->info == NULL) {
			png_error(d->png, "no memory for libpng's info");
		}
		if (d->file != NULL) {
			png_init_io(d->png, d->file);
		} else {
			png_set_read_fn(d->png, d, read_memory);
		}
		ret = read_image(d, out);
	}
	png_destroy_read_struct(&d->png, &d->info, NULL);
	free(d->pixels);
	return ret;
}

int ts_image_load_png_memory(const void *data, size_t size, struct ts_pixels *out) {
	*out = (struct ts_pixels){0};
	if (data == NULL) {
		return fail(EINVAL, "no PNG: the data is NULL");
	}
	struct decoder d = {.data = data, .size = size};
	return decode(&d, out);
}

int ts_image_load_png(const char *path, struct ts_pixels *out) {
	*out = (struct ts_pixels){0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return fail_errno(errno, "cannot open", path);
	}
	// A directory opens, and would only fail as libpng's "Read Error".
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return fail_errno(EISDIR, "cannot read", path);
	}
	FILE *file = fdopen(fd, "r");
	if (file == NULL) {
		int ret = fail_errno(errno, "cannot read", path);
		close(fd);
		return ret;
	}
	struct decoder d = {.file = file};
	int ret = decode(&d, out);
	fclose(file);
	return ret;
}
