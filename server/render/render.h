/*
 * The GLES 2 renderer: the only code that calls GL for drawing. Draws a draw list (what
 * the scene hands over each frame, draw-list.h) with a handful of draw calls: every
 * rect and image of a frame goes into one vertex stream, and draw calls grow with
 * clip, layer, material and texture changes, never with the number of items.
 *
 * Frames and damage: a frame that is not full redraws only its damage, so the pixels
 * outside must still hold the previous frame. A framebuffer object keeps its pixels,
 * so when a framebuffer object is bound (the headless backend's) the renderer draws
 * straight into it. The default framebuffer of a window (binding 0) does not: its back
 * buffer is undefined after a swap. Then the renderer draws into a canvas of its own (a
 * render_target it keeps) and copies the canvas to the window with one textured
 * full-screen quad. Either way renderer_read_frame reads back what the screen shows.
 */
#ifndef TESSERA_RENDER_H
#define TESSERA_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "draw-list.h"

struct renderer;

/**
 * Compiles the embedded shaders and makes the buffers. Needs a current GLES 2 context.
 * Returns NULL (after logging why) when the GL implementation refuses.
 */
struct renderer *renderer_create(void);

/** Frees GL objects (the context must still be current) and the renderer; NULL is fine. */
void renderer_destroy(struct renderer *renderer);

/**
 * Draws @list into the bound framebuffer (@width x @height pixels) and fills @stats
 * (NULL is fine). Items are drawn back to front with premultiplied alpha blending over
 * list->background. When !list->full only list->damage is redrawn and every other pixel
 * keeps the previous frame's; the renderer repaints everything anyway when it cannot
 * know the previous frame (the first frame, another framebuffer or size than last
 * time). The list is only read, and not kept. Leaves the framebuffer binding it found
 * bound, with the viewport covering it and scissor and stencil tests off.
 *
 * Returns false when memory for the vertex stream or the commands cannot be had, or a
 * canvas or layer buffer cannot be made (logged); the frame then shows the background
 * or a part of the list, and the next frame is drawn in full.
 */
bool renderer_draw_list(struct renderer *renderer, const struct draw_list *list,
	int width, int height, struct render_stats *stats);

/**
 * Reads back the frame renderer_draw_list last drew (from its canvas, or from the
 * framebuffer object it drew into, which must still exist) into @rgba: width * 4 bytes
 * per row, top row first, premultiplied RGBA8 as stored; exactly what the screen shows.
 * @width and @height must be that frame's. Restores the framebuffer binding it found.
 * Returns false (logged) when there is no such frame or GL fails.
 */
bool renderer_read_frame(struct renderer *renderer, int width, int height, uint8_t *rgba);

/*
 * Textures of image buffers and glyph atlas pages. The server makes one per buffer,
 * uploads what the client damaged at each commit, and deletes it when the buffer goes;
 * the renderer draws the DRAW_IMAGE items that name it. A glyph atlas page (RENDER_A8,
 * or RENDER_RGBA8 for colour glyphs) is made and filled the same way by the text code,
 * and drawn by DRAW_GLYPH (or DRAW_IMAGE) items. Every call needs the GL context
 * current (it is, on the loop's thread, for the server's whole life).
 */

/**
 * Pixel formats of the memory textures are uploaded from: client buffers (PROTOCOL.md,
 * buffer_create), which may only be in the first RENDER_CLIENT_FORMATS, and the
 * server's own glyph atlas pages.
 */
enum render_format {
	RENDER_RGBA8 = 0,   // premultiplied, bytes R, G, B, A
	RENDER_XRGB8 = 1,   // uint32 0xXXRRGGBB, little endian (bytes B, G, R, X); opaque
	RENDER_RGB565 = 2,  // uint16 little endian: R in bits 15-11, G 10-5, B 4-0; opaque
	RENDER_CLIENT_FORMATS = 3, // how many of the formats a client's buffer may be in
	// One byte of coverage a texel (a GL_ALPHA texture, sampled as (0, 0, 0, a)): the
	// glyph atlas's pages, the server's own, never a client's. DRAW_GLYPH items draw it.
	RENDER_A8 = 3,
	RENDER_FORMATS,     // how many formats there are
};

/** Bytes per pixel of @format in client memory. */
unsigned render_format_bpp(enum render_format format);

/** What a @width x @height texture of @format costs in GPU memory (as charged). */
size_t render_texture_bytes(int width, int height, enum render_format format);

enum render_status {
	RENDER_OK = 0,
	RENDER_TOO_LARGE,       // over renderer_max_texture_size on a side
	RENDER_OUT_OF_MEMORY,   // GL_OUT_OF_MEMORY (or no memory for a staging copy)
	RENDER_FAILED,          // any other GL error (logged)
};

struct render_texture {
	unsigned int name;      // GL texture; 0: none
	int width, height;
	uint8_t format;         // enum render_format
};

/** GL_MAX_TEXTURE_SIZE, as queried when the renderer was made. */
int renderer_max_texture_size(const struct renderer *renderer);

/**
 * Makes @tex a @width x @height texture for pixels of @format (contents undefined
 * until uploaded). On failure @tex is zeroed and nothing is left behind.
 */
enum render_status render_texture_init(struct renderer *renderer, struct render_texture *tex,
	int width, int height, enum render_format format);

/**
 * Uploads the pixels of @box (texels, inside the texture, top row first) from
 * @pixels, the image's top-left pixel in client memory, rows @stride bytes apart
 * (a multiple of the format's bytes per pixel). Only that box reaches the GPU:
 * with EXT_unpack_subimage straight from @pixels, else through a staging copy (as
 * also for XRGB8, whose X byte becomes an opaque alpha). Counts the bytes sent into
 * renderer_uploaded_bytes.
 */
enum render_status render_texture_upload(struct renderer *renderer, struct render_texture *tex,
	const uint8_t *pixels, size_t stride, struct draw_box box);

/** Deletes @tex's GL texture; a zeroed one is fine. */
void render_texture_finish(struct renderer *renderer, struct render_texture *tex);

/** Texel bytes handed to GL by render_texture_upload so far (in the GPU's format). */
uint64_t renderer_uploaded_bytes(const struct renderer *renderer);

/** An offscreen framebuffer: a texture as its colour (RGBA8 renderbuffers are not core
 *  GLES 2) and an 8-bit stencil renderbuffer for rotated clips. Used for screenshots,
 *  the canvas, layers and by the headless backend. */
struct render_target {
	unsigned int fbo, tex;
	unsigned int stencil;   // renderbuffer; 0 when the GPU would not attach one
	int width, height;
};

/**
 * Makes @target @width x @height and leaves it bound. Returns false after logging why
 * (too large, incomplete framebuffer), with nothing left behind and @target zeroed. A
 * GPU that takes no 8-bit stencil attachment (neither GL_STENCIL_INDEX8 nor a packed
 * depth-stencil) still gets a target, without stencil: rotated clips then clip to
 * their bounding boxes only.
 */
bool render_target_init(struct render_target *target, int width, int height);

/** Deletes the GL objects of @target (context current); a zeroed target is fine. */
void render_target_finish(struct render_target *target);

#endif
