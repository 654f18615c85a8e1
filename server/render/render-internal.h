/*
 * What the renderer's files share: the vertex format, the commands a frame is built
 * into, and struct renderer. Drawing a frame has two halves: render-batch.c walks the
 * draw list on the CPU and writes every quad of the frame into one vertex stream and a
 * short list of commands (no GL at all); render.c uploads the stream once and runs
 * the commands, each a GL draw call or a change of target.
 */
#ifndef TESSERA_RENDER_INTERNAL_H
#define TESSERA_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "draw-list.h"
#include "render.h"

/*
 * One vertex of the frame's stream, 36 bytes (a quad is 144). Every material shares it:
 *
 *   offset  size  field   attribute  type
 *        0     8  x, y    a_pos      2 x GL_FLOAT       screen pixels, y down
 *        8    16  edge    a_edge     4 x GL_FLOAT       see below
 *       24     4  fill    a_fill     4 x GL_UNSIGNED_BYTE, normalized: premultiplied RGBA
 *       28     4  border  a_border   4 x GL_UNSIGNED_BYTE, normalized: premultiplied RGBA
 *       32     4  shape   a_shape    2 x GL_UNSIGNED_SHORT: radius, border width; 1/8 px
 *
 * A rect's edge holds the distances from the vertex to the rect's left, right, top and
 * bottom edges, in its local pixels times the item's scale (about screen pixels).
 * Interpolated, they give the fragment shader its distances to the edges, which are
 * small exactly where they matter (near an edge), so mediump floats are precise enough
 * there; a position relative to the centre would need the full size's precision.
 * Stencil quads leave edge, colours and shape zero. The textured program reads edge's
 * first two floats as texel coordinates (a_uv).
 *
 * The image program, and the glyph program (the same vertex shader), lay the same 36
 * bytes out their own way (render.c points the attributes so for their draw calls):
 *
 *        8    16  edge    a_uv       4 x GL_FLOAT       u, v; the least u, v sampled
 *       24     4  fill    a_tint     4 x GL_UNSIGNED_BYTE, normalized: premultiplied
 *       28     8  uv_max  a_uv_max   2 x GL_FLOAT       the greatest u, v sampled
 *
 * u, v are normalized texture coordinates. Sampling is clamped to the centres of the
 * source rectangle's outermost texels, so that linear filtering of a scaled sprite
 * never blends in the texels beside it on its sheet.
 */
struct vertex {
	float x, y;
	float edge[4];
	uint8_t fill[4];
	union {
		struct {
			uint8_t border[4];
			uint16_t shape[2];
		};
		float uv_max[2];   // images
	};
};

#define QUAD_VERTS 4
#define QUAD_INDICES 6
// 16-bit indices (GL_UNSIGNED_SHORT; OES_element_index_uint may be missing) reach 65536
// vertices: a longer run is split into draw calls of at most this many quads.
#define BATCH_QUADS (65536 / QUAD_VERTS)
// Layers drawn offscreen at once (nested); deeper ones draw through (no group opacity).
#define LAYER_DEPTH_MAX 16
// Damage boxes drawn one by one; with more, their bounding box is drawn instead.
#define DAMAGE_BOXES_MAX 8
// Shape values are fixed point with 3 fractional bits.
#define SHAPE_ONE 8.0f

enum cmd_kind {
	CMD_BOX,          // the main target: scissor to the damage box, clear it
	CMD_RECTS,        // quads with the rect program
	CMD_IMAGES,       // quads with the image program, all sampling @texture
	CMD_GLYPHS,       // quads with the glyph program, all sampling @texture (A8)
	CMD_STENCIL,      // a clip chain's quads into the stencil (colour writes off)
	CMD_LAYER_BEGIN,  // a layer target for @box, cleared, becomes current
	CMD_LAYER_END,    // back to the target below
	CMD_COMPOSITE,    // the layer that just ended, drawn there (quad @first)
};

struct cmd {
	uint8_t kind;
	uint8_t stencil;          // RECTS, COMPOSITE: the stencil value to pass, 0: no test
	bool shaped;              // RECTS: some have a radius or a border (else all solid)
	float opacity;            // COMPOSITE
	uint32_t texture;         // IMAGES, GLYPHS: the GL texture every quad samples
	uint32_t first, count;    // quads in the stream
	struct draw_box box;      // screen box: the scissor, or the region of a layer
};

/** A pool of offscreen targets for layers, reused across frames (render-target.c). */
struct layer_pool {
	struct render_target targets[LAYER_DEPTH_MAX];
	uint32_t last_used[LAYER_DEPTH_MAX]; // frame number
	bool busy[LAYER_DEPTH_MAX];
};

struct texture_size {
	uint32_t name;
	int width, height;
};

struct renderer {
	unsigned int rect_program, solid_program, tex_program, image_program, glyph_program;
	int rect_proj, solid_proj, tex_proj, tex_texel, tex_opacity, tex_sampler; // uniform locations
	int image_proj, image_sampler, glyph_proj, glyph_sampler;
	unsigned int vbo, ibo;
	int max_texture;

	// Image textures (render-texture.c). With unpack_subimage GL reads a box's rows
	// straight out of client memory (GL_UNPACK_ROW_LENGTH); without it, or when the
	// format needs converting, they are copied into staging first.
	bool unpack_subimage;
	uint8_t *staging;          // grows, never shrinks
	size_t staging_cap;
	uint64_t uploaded_bytes;
	// The size of every texture render_texture_init made, by name (GLES 2 cannot be
	// asked), for the image quads' sampling bounds.
	struct texture_size *sizes; // sorted by name
	size_t size_len, size_cap;

	// The CPU side of the frame, reused across frames; grow, never shrink.
	struct vertex *verts;
	size_t quads, quads_cap;   // quads used and allocated in verts
	struct cmd *cmds;
	size_t cmd_len, cmd_cap;

	// The window's canvas (see render.h) and what the last frame went into.
	struct render_target canvas;
	unsigned int last_fbo;
	int last_width, last_height;
	bool last_canvas, last_valid;

	struct layer_pool layers;
	uint32_t frame;            // frames drawn, for the pool's ageing
};

/**
 * Writes the whole frame of @list for a @width x @height output into renderer->verts
 * and renderer->cmds (render-batch.c), redrawing everything when @full. Counts
 * nodes_drawn and damaged_pixels into @stats. Returns false when memory cannot be had.
 */
bool batch_build(struct renderer *renderer, const struct draw_list *list, int width,
	int height, bool full, struct render_stats *stats);

/** Writes a textured quad covering @box whose texels are (0, 0)-(w, h) of @box, the top
 *  row of the box being texel row h - 1 (GL's rows run bottom up). */
void batch_texture_quad(struct vertex v[QUAD_VERTS], struct draw_box box);

/** Grows the stream to hold @more quads beyond renderer->quads; false without memory. */
bool batch_reserve(struct renderer *renderer, size_t more);

/**
 * A free layer target of at least @width x @height from the pool, marked busy, made or
 * remade when none fits (leaving it bound); NULL (logged) when GL refuses or all are
 * busy.
 */
struct render_target *layer_pool_acquire(struct layer_pool *pool, int width, int height,
	int max_size, uint32_t frame);
/** Gives a target from layer_pool_acquire back to the pool. */
void layer_pool_release(struct layer_pool *pool, struct render_target *target);
/** Deletes targets no layer used in the last few seconds of frames. */
void layer_pool_trim(struct layer_pool *pool, uint32_t frame);
/** Deletes every target (context current). */
void layer_pool_finish(struct layer_pool *pool);

/** The size of texture @name as render_texture_init made it; false for another name. */
bool texture_size_of(const struct renderer *renderer, uint32_t name, int *width,
	int *height);

/** Discards GL errors left by others, so that the next glGetError is about our calls. */
void render_drain_errors(void);

/** Straight 0xRRGGBBAA to premultiplied 0xRRGGBBAA, rounding to nearest. */
uint32_t render_premultiply(uint32_t rgba);

static inline struct draw_box box_intersect(struct draw_box a, struct draw_box b) {
	return (struct draw_box){
		a.x0 > b.x0 ? a.x0 : b.x0, a.y0 > b.y0 ? a.y0 : b.y0,
		a.x1 < b.x1 ? a.x1 : b.x1, a.y1 < b.y1 ? a.y1 : b.y1,
	};
}

static inline bool box_empty(struct draw_box b) {
	return b.x0 >= b.x1 || b.y0 >= b.y1;
}

static inline bool box_equal(struct draw_box a, struct draw_box b) {
	return a.x0 == b.x0 && a.y0 == b.y0 && a.x1 == b.x1 && a.y1 == b.y1;
}

#endif
