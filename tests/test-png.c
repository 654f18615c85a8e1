/*
 * Unit tests of the PNG loader (tessera/image.h). The corpus is made here with
 * libpng's write API: every colour type at every bit depth, interlaced and not, with
 * and without tRNS. Each decoded pixel is compared with premultiplied RGBA computed
 * here from the source samples. Then broken input: every truncation of a file,
 * corrupt chunks, garbage, oversized headers, and files that cannot be opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <png.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/image.h"

// Odd sizes, so that Adam7's passes are partly empty and rows end mid-byte.
#define WIDTH 37
#define HEIGHT 29

// A source image: raw samples as they go into the PNG, and what decodes them.
struct source {
	int color_type, depth;
	bool interlaced, trns;
	uint32_t width, height;
	uint16_t *samples; // width * height * channels(color_type), row by row
	png_color palette[256];
	uint8_t palette_alpha[256];
	int palette_size, num_trans;
	uint16_t key[3];        // the tRNS colour key: grey, or red, green and blue
	const char *text_after; // the text of a tEXt chunk after the image data, or NULL
	size_t idat_size;       // libpng's compression buffer (so IDAT size); 0: default
	double gamma;           // a gAMA chunk's value, or 0 for none
	bool srgb;              // an sRGB chunk
};

struct png_buf {
	uint8_t *data;
	size_t size, cap;
};

static int channels(int color_type) {
	switch (color_type) {
	case PNG_COLOR_TYPE_GRAY:
	case PNG_COLOR_TYPE_PALETTE:
		return 1;
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		return 2;
	case PNG_COLOR_TYPE_RGB:
		return 3;
	default:
		return 4;
	}
}

static const char *describe(const struct source *s) {
	static char text[128];
	static const char *names[] = {
		[PNG_COLOR_TYPE_GRAY] = "grey",
		[PNG_COLOR_TYPE_PALETTE] = "palette",
		[PNG_COLOR_TYPE_GRAY_ALPHA] = "grey+alpha",
		[PNG_COLOR_TYPE_RGB] = "RGB",
		[PNG_COLOR_TYPE_RGBA] = "RGBA",
	};
	snprintf(text, sizeof text, "%s %d-bit%s%s, %u x %u", names[s->color_type],
		s->depth, s->interlaced ? " Adam7" : "", s->trns ? " tRNS" : "", s->width,
		s->height);
	return text;
}

static uint32_t next_random(uint32_t *state) {
	// xorshift32: reproducible, and enough to spread samples over their range.
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static uint16_t *sample_at(const struct source *s, uint32_t x, uint32_t y) {
	return s->samples + ((size_t)y * s->width + x) * channels(s->color_type);
}

// Puts the colour key, and colours one sample away from it, among the pixels: the key
// must be compared at the file's depth (for 16 bits, before it is scaled to 8 bits).
static void scatter_key(struct source *s) {
	int n = channels(s->color_type);
	memcpy(s->key, sample_at(s, 2, 0), n * sizeof s->key[0]);
	for (uint32_t y = 0; y < s->height; y++) {
		for (uint32_t x = 3; x < s->width; x++) {
			uint16_t *v = sample_at(s, x, y);
			unsigned kind = (x + y) % 5;
			if (kind > 2 || (kind == 2 && s->depth != 16)) {
				continue;
			}
			memcpy(v, s->key, n * sizeof s->key[0]);
			if (kind == 1) {
				v[x % n] ^= 1; // a near miss in the lowest bit
			} else if (kind == 2) {
				v[x % n] ^= 0x100; // one in the high byte
			}
		}
	}
}

static void make_palette(struct source *s, uint32_t *seed) {
	s->palette_size = 1 << s->depth;
	for (int i = 0; i < s->palette_size; i++) {
		s->palette[i] = (png_color){
			.red = (png_byte)next_random(seed),
			.green = (png_byte)next_random(seed),
			.blue = (png_byte)next_random(seed),
		};
		s->palette_alpha[i] = (uint8_t)next_random(seed);
	}
	s->palette[0].red = 255; // a colour that alpha 0 must clear
	s->palette_alpha[0] = 0;
	s->palette_alpha[1] = 255;
	if (s->palette_size > 2) {
		s->palette_alpha[2] = 128;
	}
	// One entry past tRNS's list, which is opaque.
	s->num_trans = s->trns ? s->palette_size - 1 : 0;
}

// A source of random samples, with the extremes in columns 0 and 1.
static void make_source(struct source *s, int color_type, int depth, bool interlaced,
		bool trns, uint32_t width, uint32_t height) {
	*s = (struct source){
		.color_type = color_type,
		.depth = depth,
		.interlaced = interlaced,
		.trns = trns,
		.width = width,
		.height = height,
	};
	uint32_t seed = 0x9e3779b9u ^ (uint32_t)(color_type * 131 + depth * 7 + interlaced * 3 +
		trns);
	int n = channels(color_type);
	s->samples = malloc((size_t)width * height * n * sizeof *s->samples);
	assert_non_null(s->samples);
	unsigned max = (1u << depth) - 1;
	for (uint32_t y = 0; y < height; y++) {
		for (uint32_t x = 0; x < width; x++) {
			uint16_t *v = sample_at(s, x, y);
			for (int c = 0; c < n; c++) {
				unsigned value = next_random(&seed) % (max + 1);
				v[c] = (uint16_t)(x == 0 ? 0 : x == 1 ? max : value);
			}
		}
	}
	if (color_type == PNG_COLOR_TYPE_PALETTE) {
		make_palette(s, &seed);
	} else if (trns && width > 3) {
		scatter_key(s);
	}
}

static void free_source(struct source *s) {
	free(s->samples);
	s->samples = NULL;
}

// --- writing PNGs ----------------------------------------------------------------------

static void write_fn(png_structp png, png_bytep data, size_t size) {
	struct png_buf *buf = png_get_io_ptr(png);
	if (buf->size + size > buf->cap) {
		buf->cap = (buf->size + size) * 2;
		buf->data = realloc(buf->data, buf->cap);
		assert_non_null(buf->data);
	}
	memcpy(buf->data + buf->size, data, size);
	buf->size += size;
}

static void flush_fn(png_structp png) {
}

// libpng must not return from its error function; cmocka's failure does not.
static void write_error(png_structp png, png_const_charp message) {
	fail_msg("libpng cannot write the test PNG: %s", message);
}

static size_t row_bytes(const struct source *s) {
	return ((size_t)s->width * channels(s->color_type) * s->depth + 7) / 8;
}

// Packs row @y as the PNG holds it: samples big-endian, sub-byte ones from the top bit.
static void pack_row(const struct source *s, uint32_t y, uint8_t *row) {
	size_t count = (size_t)s->width * channels(s->color_type);
	const uint16_t *v = sample_at(s, 0, y);
	memset(row, 0, row_bytes(s));
	for (size_t i = 0; i < count; i++) {
		if (s->depth == 16) {
			row[2 * i] = (uint8_t)(v[i] >> 8);
			row[2 * i + 1] = (uint8_t)v[i];
		} else {
			size_t bit = i * s->depth;
			row[bit / 8] |= (uint8_t)(v[i] << (8 - s->depth - bit % 8));
		}
	}
}

static void set_trns(png_structp png, png_infop info, const struct source *s) {
	if (s->color_type == PNG_COLOR_TYPE_PALETTE) {
		png_set_tRNS(png, info, s->palette_alpha, s->num_trans, NULL);
	} else {
		png_color_16 key = {
			.gray = s->key[0],
			.red = s->key[0],
			.green = s->key[1],
			.blue = s->key[2],
		};
		png_set_tRNS(png, info, NULL, 0, &key);
	}
}

static struct png_buf encode(const struct source *s) {
	struct png_buf buf = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, write_error,
		NULL);
	assert_non_null(png);
	png_infop info = png_create_info_struct(png);
	png_infop end = png_create_info_struct(png);
	assert_non_null(info);
	assert_non_null(end);
	png_set_write_fn(png, &buf, write_fn, flush_fn);
	if (s->idat_size != 0) {
		png_set_compression_buffer_size(png, s->idat_size);
	}
	png_set_IHDR(png, info, s->width, s->height, s->depth, s->color_type,
		s->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
		PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (s->color_type == PNG_COLOR_TYPE_PALETTE) {
		png_set_PLTE(png, info, s->palette, s->palette_size);
	}
	if (s->trns) {
		set_trns(png, info, s);
	}
	if (s->gamma != 0) {
		png_set_gAMA(png, info, s->gamma);
	}
	if (s->srgb) {
		png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
	}
	png_write_info(png, info);
	size_t stride = row_bytes(s);
	uint8_t *pixels = malloc(stride * s->height);
	png_bytep *rows = malloc(s->height * sizeof *rows);
	assert_non_null(pixels);
	assert_non_null(rows);
	for (uint32_t y = 0; y < s->height; y++) {
		rows[y] = pixels + y * stride;
		pack_row(s, y, rows[y]);
	}
	png_write_image(png, rows); // all seven passes when interlaced
	png_text text = {
		.compression = PNG_TEXT_COMPRESSION_NONE,
		.key = (char *)"Comment",
		.text = (char *)s->text_after,
	};
	if (s->text_after != NULL) {
		png_set_text(png, end, &text, 1);
	}
	png_write_end(png, end);
	png_destroy_info_struct(png, &end);
	png_destroy_write_struct(&png, &info);
	free(rows);
	free(pixels);
	return buf;
}

// --- what a decoded pixel must be ------------------------------------------------------

// A sample scaled to 8 bits. 1, 2 and 4 bits scale exactly (255 is a multiple of 1, 3
// and 15). 16 bits: libpng 1.6's png_set_scale_16, which the simplified API uses,
// rounds v * 255 / 65535 to the nearest integer (there are no ties, 65535 being odd),
// which is (v + 128) / 257. (v * 255 + 32895) / 65535 is not it: it rounds v = 128
// (mod 257) up; test_16bit_rounding checks every value.
static unsigned to8(unsigned v, int depth) {
	if (depth == 16) {
		return (v * 255 + 32767) / 65535;
	}
	return v * 255 / ((1u << depth) - 1);
}

// c * a / 255, rounded half up (written otherwise than the library's (c*a + 127) / 255).
static uint8_t times_alpha(unsigned c, unsigned a) {
	return (uint8_t)((2 * c * a + 255) / 510);
}

static bool is_key(const struct source *s, const uint16_t *v) {
	return s->trns && memcmp(v, s->key, channels(s->color_type) * sizeof *v) == 0;
}

static void expected_pixel(const struct source *s, uint32_t x, uint32_t y, uint8_t out[4]) {
	const uint16_t *v = sample_at(s, x, y);
	unsigned r, g, b, a = 255;
	switch (s->color_type) {
	case PNG_COLOR_TYPE_GRAY:
		r = g = b = to8(v[0], s->depth);
		a = is_key(s, v) ? 0 : 255;
		break;
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		r = g = b = to8(v[0], s->depth);
		a = to8(v[1], s->depth);
		break;
	case PNG_COLOR_TYPE_PALETTE:
		r = s->palette[v[0]].red;
		g = s->palette[v[0]].green;
		b = s->palette[v[0]].blue;
		a = v[0] < s->num_trans ? s->palette_alpha[v[0]] : 255;
		break;
	case PNG_COLOR_TYPE_RGB:
		r = to8(v[0], s->depth);
		g = to8(v[1], s->depth);
		b = to8(v[2], s->depth);
		a = is_key(s, v) ? 0 : 255;
		break;
	default:
		r = to8(v[0], s->depth);
		g = to8(v[1], s->depth);
		b = to8(v[2], s->depth);
		a = to8(v[3], s->depth);
		break;
	}
	out[0] = times_alpha(r, a);
	out[1] = times_alpha(g, a);
	out[2] = times_alpha(b, a);
	out[3] = (uint8_t)a;
}

static void assert_matches(const struct source *s, const struct ts_pixels *px) {
	assert_int_equal(px->width, s->width);
	assert_int_equal(px->height, s->height);
	assert_true(px->stride >= px->width * 4);
	assert_non_null(px->data);
	for (uint32_t y = 0; y < s->height; y++) {
		for (uint32_t x = 0; x < s->width; x++) {
			uint8_t want[4];
			expected_pixel(s, x, y, want);
			const uint8_t *got = px->data + (size_t)y * px->stride + x * 4;
			if (memcmp(got, want, 4) != 0) {
				const uint16_t *v = sample_at(s, x, y);
				fail_msg("%s: pixel %u,%u is %u,%u,%u,%u, expected %u,%u,%u,%u "
					"(first sample %u)", describe(s), x, y, got[0], got[1], got[2],
					got[3], want[0], want[1], want[2], want[3], v[0]);
			}
		}
	}
}

// A tRNS source must have pixels that tRNS makes transparent, and opaque ones.
static void assert_trns_shows(const struct source *s) {
	int clear = 0, opaque = 0;
	for (uint32_t y = 0; y < s->height; y++) {
		for (uint32_t x = 0; x < s->width; x++) {
			uint8_t want[4];
			expected_pixel(s, x, y, want);
			clear += want[3] == 0;
			opaque += want[3] == 255;
		}
	}
	if (clear == 0 || opaque == 0) {
		fail_msg("%s: %d transparent, %d opaque pixels", describe(s), clear, opaque);
	}
}

static void check_source(const struct source *s) {
	if (s->trns) {
		assert_trns_shows(s);
	}
	struct png_buf buf = encode(s);
	struct ts_pixels px;
	int ret = ts_image_load_png_memory(buf.data, buf.size, &px);
	if (ret != 0) {
		fail_msg("%s: %d (%s)", describe(s), ret, ts_image_error());
	}
	assert_matches(s, &px);
	ts_pixels_free(&px);
	free(buf.data);
}

// Every depth of @depths, interlaced and not, and with tRNS too when @trns.
static void check_type(int color_type, const int *depths, size_t count, bool trns) {
	for (size_t i = 0; i < count; i++) {
		for (int interlaced = 0; interlaced < 2; interlaced++) {
			for (int with_trns = 0; with_trns <= (int)trns; with_trns++) {
				struct source s;
				make_source(&s, color_type, depths[i], interlaced, with_trns, WIDTH,
					HEIGHT);
				check_source(&s);
				free_source(&s);
			}
		}
	}
}

static void test_grey(void **state) {
	static const int depths[] = {1, 2, 4, 8, 16};
	check_type(PNG_COLOR_TYPE_GRAY, depths, 5, true);
}

static void test_grey_alpha(void **state) {
	static const int depths[] = {8, 16};
	check_type(PNG_COLOR_TYPE_GRAY_ALPHA, depths, 2, false);
}

static void test_palette(void **state) {
	static const int depths[] = {1, 2, 4, 8};
	check_type(PNG_COLOR_TYPE_PALETTE, depths, 4, true);
}

static void test_rgb(void **state) {
	static const int depths[] = {8, 16};
	check_type(PNG_COLOR_TYPE_RGB, depths, 2, true);
}

static void test_rgba(void **state) {
	static const int depths[] = {8, 16};
	check_type(PNG_COLOR_TYPE_RGBA, depths, 2, false);
}

// Every 16-bit value, as 256 x 256 grey pixels, and the values where formulas differ.
static void test_16bit_rounding(void **state) {
	struct source s;
	make_source(&s, PNG_COLOR_TYPE_GRAY, 16, false, false, 256, 256);
	for (unsigned v = 0; v < 65536; v++) {
		s.samples[v] = (uint16_t)v;
	}
	check_source(&s);
	struct png_buf buf = encode(&s);
	struct ts_pixels px;
	assert_int_equal(ts_image_load_png_memory(buf.data, buf.size, &px), 0);
	// No gAMA chunk: taken as sRGB, not linear (which would make 32768 come out 186).
	assert_int_equal(px.data[32768 * 4], 128);
	assert_int_equal(px.data[0], 0);
	assert_int_equal(px.data[65535 * 4], 255);
	// 128 / 257 = 0.498 and 385 / 257 = 1.498 round down, 129 / 257 = 0.502 up.
	assert_int_equal(px.data[128 * 4], 0);
	assert_int_equal(px.data[129 * 4], 1);
	assert_int_equal(px.data[385 * 4], 1);
	ts_pixels_free(&px);
	free(buf.data);
	free_source(&s);
}

// Premultiplication's rounding at known values.
static void test_premultiply_exact(void **state) {
	static const uint8_t in[][4] = {
		{10, 20, 30, 0}, {1, 2, 3, 255}, {255, 255, 255, 128}, {255, 0, 100, 1},
		{200, 100, 50, 127}, {128, 64, 255, 254},
	};
	static const uint8_t want[][4] = {
		{0, 0, 0, 0}, {1, 2, 3, 255}, {128, 128, 128, 128}, {1, 0, 0, 1},
		{100, 50, 25, 127}, {127, 64, 254, 254},
	};
	size_t count = sizeof in / sizeof in[0];
	struct source s;
	make_source(&s, PNG_COLOR_TYPE_RGBA, 8, false, false, (uint32_t)count, 1);
	for (size_t i = 0; i < count * 4; i++) {
		s.samples[i] = in[i / 4][i % 4];
	}
	struct png_buf buf = encode(&s);
	struct ts_pixels px;
	assert_int_equal(ts_image_load_png_memory(buf.data, buf.size, &px), 0);
	assert_int_equal(px.width, count);
	for (size_t i = 0; i < count; i++) {
		assert_memory_equal(px.data + i * 4, want[i], 4);
	}
	ts_pixels_free(&px);
	free(buf.data);
	free_source(&s);
}

// Grey 0, 32, 64, 128, 200 and 255 with the chunk(s) of @s: the red of each decoded
// pixel goes into @red.
static void decode_greys(struct source *s, uint8_t red[6]) {
	static const uint16_t greys[6] = {0, 32, 64, 128, 200, 255};
	memcpy(s->samples, greys, sizeof greys);
	struct png_buf buf = encode(s);
	struct ts_pixels px;
	assert_int_equal(ts_image_load_png_memory(buf.data, buf.size, &px), 0);
	assert_int_equal(px.width, 6);
	for (int i = 0; i < 6; i++) {
		red[i] = px.data[i * 4];
		assert_int_equal(px.data[i * 4 + 3], 255);
	}
	ts_pixels_free(&px);
	free(buf.data);
}

// A gAMA chunk is honoured: the output is sRGB, which libpng takes as gamma 2.2.
static void test_gamma(void **state) {
	// round(255 * (v / 255)^(1 / 2.2)), from a linear (gAMA 1.0) file.
	static const uint8_t from_linear[6] = {0, 99, 136, 186, 228, 255};
	static const uint8_t same[6] = {0, 32, 64, 128, 200, 255};
	struct source s;
	make_source(&s, PNG_COLOR_TYPE_GRAY, 8, false, false, 6, 1);
	uint8_t red[6];
	s.gamma = 1.0;
	decode_greys(&s, red);
	for (int i = 0; i < 6; i++) {
		if (abs(red[i] - from_linear[i]) > 1) {
			fail_msg("grey %u with gAMA 1.0 came out %u, expected %u", same[i], red[i],
				from_linear[i]);
		}
	}
	s.gamma = 1 / 2.2; // what sRGB is taken as
	decode_greys(&s, red);
	assert_memory_equal(red, same, 6);
	s.gamma = 0;
	s.srgb = true;
	decode_greys(&s, red);
	assert_memory_equal(red, same, 6);
	free_source(&s);
}

// --- broken input ----------------------------------------------------------------------

static uint32_t be32(const uint8_t *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

// The CRC-32 of PNG chunks (ISO 3309), bit by bit.
static uint32_t crc32_of(const uint8_t *bytes, size_t size) {
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < size; i++) {
		crc ^= bytes[i];
		for (int bit = 0; bit < 8; bit++) {
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
		}
	}
	return ~crc;
}

// The offset of the @nth chunk of @type (from 0), or 0 for none.
static size_t find_chunk(const struct png_buf *buf, const char *type, int nth) {
	size_t at = 8;
	while (at + 12 <= buf->size) {
		if (memcmp(buf->data + at + 4, type, 4) == 0 && nth-- == 0) {
			return at;
		}
		at += 12 + (size_t)be32(buf->data + at);
	}
	return 0;
}

static int count_chunks(const struct png_buf *buf, const char *type) {
	int count = 0;
	while (find_chunk(buf, type, count) != 0) {
		count++;
	}
	return count;
}

// Recomputes the CRC of the chunk at @at, after an edit of its data.
static void fix_crc(struct png_buf *buf, size_t at) {
	uint32_t length = be32(buf->data + at);
	put_be32(buf->data + at + 8 + length, crc32_of(buf->data + at + 4, 4 + length));
}

static struct png_buf copy_of(const struct png_buf *buf) {
	struct png_buf copy = {malloc(buf->size), buf->size, buf->size};
	assert_non_null(copy.data);
	memcpy(copy.data, buf->data, buf->size);
	return copy;
}

// Loads @size bytes of @data, which must fail with @err, leave the output zeroed and
// say why.
static void assert_fails(const void *data, size_t size, int err, const char *what) {
	struct ts_pixels px;
	memset(&px, 0xab, sizeof px);
	int ret = ts_image_load_png_memory(data, size, &px);
	if (ret != -err) {
		fail_msg("%s: %d (%s), expected %d", what, ret, ts_image_error(), -err);
	}
	assert_null(px.data);
	assert_int_equal(px.width, 0);
	assert_int_equal(px.height, 0);
	assert_int_equal(px.stride, 0);
	assert_true(ts_image_error()[0] != '\0');
}

// A small PNG with several IDAT chunks and a tEXt after them.
static struct png_buf small_png(struct source *s) {
	make_source(s, PNG_COLOR_TYPE_PALETTE, 4, true, true, 11, 9);
	s->text_after = "after the image data";
	s->idat_size = 16;
	return encode(s);
}

static void check_truncations(const struct source *s, const struct png_buf *buf) {
	struct ts_pixels px;
	assert_int_equal(ts_image_load_png_memory(buf->data, buf->size, &px), 0);
	assert_matches(s, &px);
	ts_pixels_free(&px);
	for (size_t size = 0; size < buf->size; size++) {
		char what[192];
		snprintf(what, sizeof what, "%s cut to %zu of %zu bytes", describe(s), size,
			buf->size);
		assert_fails(buf->data, size, EINVAL, what);
	}
}

// Every prefix fails: inside the image data, and after it (libpng's simplified read
// stops there), in tEXt and IEND.
static void test_truncated(void **state) {
	struct source s;
	struct png_buf buf = small_png(&s);
	assert_true(count_chunks(&buf, "IDAT") > 1);
	assert_true(find_chunk(&buf, "tEXt", 0) > find_chunk(&buf, "IDAT", 0));
	check_truncations(&s, &buf);
	free(buf.data);
	free_source(&s);

	make_source(&s, PNG_COLOR_TYPE_RGBA, 16, false, false, 5, 3);
	buf = encode(&s);
	assert_int_equal(count_chunks(&buf, "IDAT"), 1);
	check_truncations(&s, &buf);
	free(buf.data);
	free_source(&s);
}

// Flips the byte at @offset into the chunk @type (from its length field), fixing its
// CRC up when @fix, and expects -EINVAL.
static void check_corrupt(const struct png_buf *good, const char *type, size_t offset,
		uint8_t xor, bool fix, const char *what) {
	struct png_buf bad = copy_of(good);
	size_t at = find_chunk(&bad, type, 0);
	assert_true(at != 0);
	assert_true(at + offset < bad.size);
	bad.data[at + offset] ^= xor;
	if (fix) {
		fix_crc(&bad, at);
	}
	assert_fails(bad.data, bad.size, EINVAL, what);
	free(bad.data);
}

static void test_corrupt(void **state) {
	struct source s;
	make_source(&s, PNG_COLOR_TYPE_RGB, 8, false, false, 16, 16);
	struct png_buf good = encode(&s);
	uint32_t idat_length = be32(good.data + find_chunk(&good, "IDAT", 0));
	// The test's CRC is right: IEND's is a known constant.
	size_t iend = find_chunk(&good, "IEND", 0);
	assert_int_equal(be32(good.data + iend + 8), 0xae426082u);
	assert_int_equal(crc32_of(good.data + iend + 4, 4), 0xae426082u);

	struct png_buf bad = copy_of(&good);
	bad.data[1] ^= 0x20; // "\x89png"
	assert_fails(bad.data, bad.size, EINVAL, "bad signature");
	free(bad.data);
	check_corrupt(&good, "IHDR", 8 + 13, 0x01, false, "IHDR CRC");
	check_corrupt(&good, "IDAT", 8 + idat_length + 3, 0x80, false, "IDAT CRC");
	check_corrupt(&good, "IDAT", 8 + idat_length / 2, 0x10, false, "IDAT byte");
	check_corrupt(&good, "IDAT", 8, 0xff, true, "zlib header, CRC fixed");
	check_corrupt(&good, "IEND", 8, 0x01, false, "IEND CRC");
	check_corrupt(&good, "IHDR", 8 + 8, 0x8 ^ 0x3, true, "bit depth 3");
	check_corrupt(&good, "IHDR", 8 + 9, 0x2 ^ 0x5, true, "colour type 5");
	check_corrupt(&good, "IHDR", 8 + 3, 16, true, "width 0");
	check_corrupt(&good, "IHDR", 4, 'I' ^ 'X', false, "no IHDR first");
	free(good.data);
	free_source(&s);
}

static void test_garbage(void **state) {
	uint32_t seed = 12345;
	uint8_t bytes[4096];
	for (size_t i = 0; i < sizeof bytes; i++) {
		bytes[i] = (uint8_t)next_random(&seed);
	}
	for (size_t size = 0; size <= sizeof bytes; size += size < 64 ? 1 : 509) {
		assert_fails(bytes, size, EINVAL, "random bytes");
	}
	// A valid signature and IHDR, then garbage.
	struct source s;
	struct png_buf buf = small_png(&s);
	memcpy(bytes, buf.data, 33);
	for (size_t size = 33; size <= sizeof bytes; size += 97) {
		assert_fails(bytes, size, EINVAL, "IHDR then random bytes");
	}
	memset(bytes, 0, sizeof bytes);
	assert_fails(bytes, sizeof bytes, EINVAL, "zeros");
	assert_fails(NULL, 0, EINVAL, "NULL");
	free(buf.data);
	free_source(&s);
}

// The small PNG claiming @width x @height, its IHDR's CRC fixed up.
static struct png_buf claiming(uint32_t width, uint32_t height) {
	struct source s;
	struct png_buf buf = small_png(&s);
	free_source(&s);
	size_t ihdr = find_chunk(&buf, "IHDR", 0);
	put_be32(buf.data + ihdr + 8, width);
	put_be32(buf.data + ihdr + 12, height);
	fix_crc(&buf, ihdr);
	return buf;
}

// Oversized images are refused before any pixel memory is taken: 100000 x 100000
// RGBA8 is 40 GB, whose malloc would fail (-ENOMEM) or take the machine, not -EFBIG.
static void test_too_big(void **state) {
	static const uint32_t sizes[][2] = {
		{100000, 100000}, {16385, 1}, {1, 16385}, {16385, 16385},
		{3000000, 1}, {0x7fffffff, 0x7fffffff}, // past libpng's own limits
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct png_buf buf = claiming(sizes[i][0], sizes[i][1]);
		char what[64];
		snprintf(what, sizeof what, "%u x %u", sizes[i][0], sizes[i][1]);
		assert_fails(buf.data, buf.size, EFBIG, what);
		assert_non_null(strstr(ts_image_error(), "16384"));
		free(buf.data);
	}
	// Real images at the limit and just past it.
	struct source s;
	make_source(&s, PNG_COLOR_TYPE_GRAY, 8, false, false, 16384, 1);
	check_source(&s);
	free_source(&s);
	make_source(&s, PNG_COLOR_TYPE_GRAY, 8, false, false, 16385, 1);
	struct png_buf buf = encode(&s);
	assert_fails(buf.data, buf.size, EFBIG, "a real 16385 x 1");
	free(buf.data);
	free_source(&s);
}

// --- files -----------------------------------------------------------------------------

static void write_file(const char *path, const void *data, size_t size) {
	FILE *file = fopen(path, "wb");
	assert_non_null(file);
	assert_int_equal(fwrite(data, 1, size, file), size);
	assert_int_equal(fclose(file), 0);
}

static void assert_file_fails(const char *path, int err) {
	struct ts_pixels px;
	memset(&px, 0xab, sizeof px);
	int ret = ts_image_load_png(path, &px);
	if (ret != -err) {
		fail_msg("%s: %d (%s), expected %d", path, ret, ts_image_error(), -err);
	}
	assert_null(px.data);
	assert_int_equal(px.width, 0);
	assert_true(ts_image_error()[0] != '\0');
}

// The files of test_files, in a folder of their own that teardown removes, also after
// a failure.
struct files {
	char dir[32];
	char good[64], cut[64], huge[64], missing[64];
};

static int make_dir(void **state) {
	struct files *f = calloc(1, sizeof *f);
	if (f == NULL) {
		return -1;
	}
	snprintf(f->dir, sizeof f->dir, "/tmp/test-png-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->good, sizeof f->good, "%s/good.png", f->dir);
	snprintf(f->cut, sizeof f->cut, "%s/cut.png", f->dir);
	snprintf(f->huge, sizeof f->huge, "%s/huge.png", f->dir);
	snprintf(f->missing, sizeof f->missing, "%s/missing.png", f->dir);
	*state = f;
	return 0;
}

// Fails the test when the folder is left (a file of the test's own not removed).
static int remove_dir(void **state) {
	struct files *f = *state;
	unlink(f->good);
	unlink(f->cut);
	unlink(f->huge);
	int ret = rmdir(f->dir);
	free(f);
	return ret;
}

static void test_files(void **state) {
	struct files *f = *state;
	struct source s;
	struct png_buf buf = small_png(&s);
	write_file(f->good, buf.data, buf.size);
	write_file(f->cut, buf.data, buf.size - 1); // in IEND, after the image data
	struct png_buf big = claiming(100000, 100000);
	write_file(f->huge, big.data, big.size);

	struct ts_pixels px;
	int ret = ts_image_load_png(f->good, &px);
	if (ret != 0) {
		fail_msg("%s: %d (%s)", f->good, ret, ts_image_error());
	}
	assert_matches(&s, &px);
	ts_pixels_free(&px);
	assert_file_fails(f->cut, EINVAL);
	assert_file_fails(f->huge, EFBIG);
	assert_file_fails(f->missing, ENOENT);
	assert_non_null(strstr(ts_image_error(), "missing.png"));
	assert_file_fails(f->dir, EISDIR);
	free(big.data);
	free(buf.data);
	free_source(&s);
}

// --- the error text and freeing --------------------------------------------------------

static void *fail_in_thread(void *text) {
	static const uint8_t junk[] = "not a png at all";
	struct ts_pixels px;
	if (ts_image_load_png_memory(junk, sizeof junk, &px) != -EINVAL) {
		return NULL;
	}
	snprintf(text, 256, "%s", ts_image_error());
	return text;
}

// Each thread has its own last error.
static void test_error_per_thread(void **state) {
	assert_file_fails("/nonexistent/one.png", ENOENT);
	char text[256] = "";
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, fail_in_thread, text), 0);
	void *result;
	assert_int_equal(pthread_join(thread, &result), 0);
	assert_ptr_equal(result, text);
	assert_non_null(strstr(text, "PNG"));
	assert_non_null(strstr(ts_image_error(), "/nonexistent/one.png"));
}

static void test_pixels_free(void **state) {
	ts_pixels_free(NULL);
	struct ts_pixels px = {0};
	ts_pixels_free(&px);
	struct source s;
	struct png_buf buf = small_png(&s);
	assert_int_equal(ts_image_load_png_memory(buf.data, buf.size, &px), 0);
	assert_non_null(px.data);
	ts_pixels_free(&px);
	assert_null(px.data);
	assert_int_equal(px.width, 0);
	ts_pixels_free(&px); // twice is fine
	free(buf.data);
	free_source(&s);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grey),
		cmocka_unit_test(test_grey_alpha),
		cmocka_unit_test(test_palette),
		cmocka_unit_test(test_rgb),
		cmocka_unit_test(test_rgba),
		cmocka_unit_test(test_16bit_rounding),
		cmocka_unit_test(test_premultiply_exact),
		cmocka_unit_test(test_gamma),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test_setup_teardown(test_files, make_dir, remove_dir),
		cmocka_unit_test(test_error_per_thread),
		cmocka_unit_test(test_pixels_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
