/*
 * Textures of image buffers and glyph atlas pages (render.h): made, filled box by box
 * from client (or the text code's) memory, deleted. The server calls these between frames; they leave GL_TEXTURE_2D unbound
 * and the unpack state at GL's defaults, so the frame code finds what it expects.
 *
 * Client memory is read-only shared memory that may end right after the image's last
 * pixel, so an upload reads exactly the rows of its box, and of each row exactly the
 * box's pixels: never a whole stride past the box's last row.
 */
#include "render-internal.h"

#include <stdlib.h>
#include <string.h>

#include <epoxy/gl.h>

#include "log.h"

// Bytes per texel on the GPU, as charged and counted (render-format.c).
static unsigned gpu_bpp(enum render_format format) {
	return render_format_bpp(format);
}

int renderer_max_texture_size(const struct renderer *renderer) {
	return renderer->max_texture;
}

uint64_t renderer_uploaded_bytes(const struct renderer *renderer) {
	return renderer->uploaded_bytes;
}

// The index in renderer->sizes of @name, or where it would go.
static size_t size_index(const struct renderer *r, uint32_t name) {
	size_t lo = 0, hi = r->size_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->sizes[mid].name < name) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

bool texture_size_of(const struct renderer *renderer, uint32_t name, int *width,
		int *height) {
	size_t i = size_index(renderer, name);
	if (i == renderer->size_len || renderer->sizes[i].name != name) {
		return false;
	}
	*width = renderer->sizes[i].width;
	*height = renderer->sizes[i].height;
	return true;
}

// GL hands out names mostly in increasing order, so this is nearly always an append.
static bool size_insert(struct renderer *r, uint32_t name, int width, int height) {
	if (r->size_len == r->size_cap) {
		size_t cap = r->size_cap ? r->size_cap * 2 : 64;
		struct texture_size *sizes = cap < SIZE_MAX / sizeof *sizes
			? realloc(r->sizes, cap * sizeof *sizes) : NULL;
		if (sizes == NULL) {
			return false;
		}
		r->sizes = sizes;
		r->size_cap = cap;
	}
	size_t i = size_index(r, name);
	memmove(&r->sizes[i + 1], &r->sizes[i], (r->size_len - i) * sizeof *r->sizes);
	r->sizes[i] = (struct texture_size){ name, width, height };
	r->size_len++;
	return true;
}

static void size_remove(struct renderer *r, uint32_t name) {
	size_t i = size_index(r, name);
	if (i < r->size_len && r->sizes[i].name == name) {
		r->size_len--;
		memmove(&r->sizes[i], &r->sizes[i + 1], (r->size_len - i) * sizeof *r->sizes);
	}
}

// GL's format and type for @format's texels, as uploaded.
static void gl_format(enum render_format format, GLenum *gl_fmt, GLenum *type) {
	if (format == RENDER_A8) {
		// Coverage: GL_ALPHA textures sample (0, 0, 0, a); the glyph program reads a.
		*gl_fmt = GL_ALPHA;
		*type = GL_UNSIGNED_BYTE;
	} else if (format == RENDER_RGB565) {
		// Little-endian uint16 in client memory is what GL reads on a little-endian
		// host; GL_RGB textures sample alpha 1.
		*gl_fmt = GL_RGB;
		*type = GL_UNSIGNED_SHORT_5_6_5;
	} else {
		*gl_fmt = GL_RGBA;
		*type = GL_UNSIGNED_BYTE;
	}
}

// The status of the GL calls since the last drain: @what is logged for other errors.
static enum render_status gl_status(const char *what, int width, int height) {
	GLenum err = glGetError();
	if (err == GL_NO_ERROR) {
		return RENDER_OK;
	}
	if (err == GL_OUT_OF_MEMORY) {
		log_error("render: out of GPU memory for %s (%dx%d)", what, width, height);
		return RENDER_OUT_OF_MEMORY;
	}
	log_error("render: %s (%dx%d) failed (GL error 0x%04x)", what, width, height,
		(unsigned)err);
	return RENDER_FAILED;
}

enum render_status render_texture_init(struct renderer *renderer, struct render_texture *tex,
		int width, int height, enum render_format format) {
	memset(tex, 0, sizeof *tex);
	if (width < 1 || height < 1 || width > renderer->max_texture
			|| height > renderer->max_texture) {
		return RENDER_TOO_LARGE;
	}
	if (render_format_bpp(format) == 0) {
		log_error("render: no texture format %d", (int)format);
		return RENDER_FAILED;
	}
	GLenum gl_fmt, type;
	gl_format(format, &gl_fmt, &type);
	render_drain_errors();
	GLuint name = 0;
	glGenTextures(1, &name);
	if (name == 0) {
		log_error("render: glGenTextures failed");
		return RENDER_FAILED;
	}
	glBindTexture(GL_TEXTURE_2D, name);
	// Linear: images are scaled and turned. No mipmaps and clamped edges: what GLES 2
	// needs to sample a texture whose sides are not powers of two.
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
	glTexImage2D(GL_TEXTURE_2D, 0, (GLint)gl_fmt, width, height, 0, gl_fmt, type, NULL);
	glBindTexture(GL_TEXTURE_2D, 0);
	enum render_status status = gl_status("making a texture", width, height);
	if (status == RENDER_OK && !size_insert(renderer, name, width, height)) {
		log_error("render: out of memory");
		status = RENDER_OUT_OF_MEMORY;
	}
	if (status != RENDER_OK) {
		glDeleteTextures(1, &name);
		return status;
	}
	*tex = (struct render_texture){
		.name = name, .width = width, .height = height, .format = (uint8_t)format,
	};
	return RENDER_OK;
}

void render_texture_finish(struct renderer *renderer, struct render_texture *tex) {
	if (tex->name != 0) {
		size_remove(renderer, tex->name);
		glDeleteTextures(1, &tex->name);
	}
	memset(tex, 0, sizeof *tex);
}

// The most a staging copy holds at once: a staged upload goes up in bands of rows.
#define STAGING_BYTES ((size_t)256 << 10)

// Makes renderer->staging hold @size bytes; false without memory.
static bool staging_reserve(struct renderer *r, size_t size) {
	if (size <= r->staging_cap) {
		return true;
	}
	uint8_t *staging = realloc(r->staging, size);
	if (staging == NULL) {
		return false;
	}
	r->staging = staging;
	r->staging_cap = size;
	return true;
}

// Bytes B, G, R, X to R, G, B, 255, @n pixels.
static void xrgb_to_rgba(uint8_t *out, const uint8_t *in, size_t n) {
	for (size_t i = 0; i < n; i++, in += 4, out += 4) {
		out[0] = in[2];
		out[1] = in[1];
		out[2] = in[0];
		out[3] = 0xff;
	}
}

// Copies @rows rows of @row_bytes from @src (@stride apart) into the staging buffer,
// tightly, converting XRGB8 on the way. Returns the copy, or NULL without memory.
static const uint8_t *stage(struct renderer *r, enum render_format format,
		const uint8_t *src, size_t stride, size_t row_bytes, size_t rows) {
	if (rows > SIZE_MAX / row_bytes || !staging_reserve(r, row_bytes * rows)) {
		return NULL;
	}
	for (size_t y = 0; y < rows; y++) {
		uint8_t *out = r->staging + y * row_bytes;
		if (format == RENDER_XRGB8) {
			xrgb_to_rgba(out, src + y * stride, row_bytes / 4);
		} else {
			memcpy(out, src + y * stride, row_bytes);
		}
	}
	return r->staging;
}

static bool box_inside(const struct render_texture *tex, struct draw_box box) {
	return box.x0 >= 0 && box.y0 >= 0 && box.x1 <= tex->width && box.y1 <= tex->height;
}

enum render_status render_texture_upload(struct renderer *renderer, struct render_texture *tex,
		const uint8_t *pixels, size_t stride, struct draw_box box) {
	if (box_empty(box)) {
		return RENDER_OK;
	}
	const enum render_format format = (enum render_format)tex->format;
	const size_t bpp = render_format_bpp(format);
	if (tex->name == 0 || pixels == NULL || bpp == 0 || !box_inside(tex, box)) {
		log_error("render: an upload outside its texture");
		return RENDER_FAILED;
	}
	const int w = box.x1 - box.x0, h = box.y1 - box.y0;
	const size_t row_bytes = (size_t)w * bpp;
	if (stride < row_bytes) {
		log_error("render: an upload with rows of %zu bytes, %zu apart", row_bytes, stride);
		return RENDER_FAILED;
	}
	// The box's top-left pixel: GL gets no SKIP_PIXELS or SKIP_ROWS, so that it has no
	// reason to touch anything before it.
	const uint8_t *src = pixels + (size_t)box.y0 * stride + (size_t)box.x0 * bpp;
	const bool tight = h == 1 || stride == row_bytes;
	// The row length is in pixels: a stride that is not a whole number of them can
	// only be staged.
	const bool direct = format != RENDER_XRGB8 && (tight
		|| (renderer->unpack_subimage && stride % bpp == 0));
	int row_length = !direct || tight ? 0 : (int)(stride / bpp);
	// Staged boxes go up in bands of rows, so that the staging buffer stays small
	// (STAGING_BYTES, or one row) however large the box.
	size_t band = direct ? (size_t)h : STAGING_BYTES / row_bytes;
	band = band > 0 ? band : 1;

	GLenum gl_fmt, type;
	gl_format(format, &gl_fmt, &type);
	render_drain_errors();
	glBindTexture(GL_TEXTURE_2D, tex->name);
	// Rows are packed as they come: the default 4 would pad RGB565 rows of odd widths,
	// and A8 rows of any width that is not a multiple of 4.
	glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
	if (row_length != 0) {
		glPixelStorei(GL_UNPACK_ROW_LENGTH_EXT, row_length);
	}
	bool staged = true;
	for (size_t y = 0; y < (size_t)h && staged; y += band) {
		size_t rows = (size_t)h - y < band ? (size_t)h - y : band;
		const uint8_t *rows_src = src + y * stride;
		if (!direct) {
			rows_src = stage(renderer, format, rows_src, stride, row_bytes, rows);
			staged = rows_src != NULL;
		}
		if (staged) {
			glTexSubImage2D(GL_TEXTURE_2D, 0, box.x0, box.y0 + (int)y, w, (int)rows, gl_fmt,
				type, rows_src);
		}
	}
	if (row_length != 0) {
		glPixelStorei(GL_UNPACK_ROW_LENGTH_EXT, 0);
	}
	glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
	glBindTexture(GL_TEXTURE_2D, 0);
	if (!staged) {
		log_error("render: no memory to stage a %dx%d upload", w, h);
		return RENDER_OUT_OF_MEMORY;
	}
	enum render_status status = gl_status("uploading to a texture", w, h);
	if (status == RENDER_OK) {
		renderer->uploaded_bytes += (uint64_t)w * (uint64_t)h * gpu_bpp(format);
	}
	return status;
}
