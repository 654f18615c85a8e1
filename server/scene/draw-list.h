/*
 * The draw list: what the scene hands the renderer each frame. Plain data with no GL
 * and no pointers into the scene, so render/ draws it and never reaches back, and the
 * scene can be tested without a GPU.
 *
 * Coordinates are screen pixels of the output, (0, 0) at the top-left corner, y down.
 * Colours are premultiplied 0xRRGGBBAA, with every opacity on the way down the tree
 * already multiplied in (except that of a layer, which is applied when it is
 * composited).
 */
#ifndef TESSERA_DRAW_LIST_H
#define TESSERA_DRAW_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRAW_NO_CLIP UINT32_MAX

/**
 * A 2D affine transform, laid out as CSS's matrix(a, b, c, d, e, f):
 *   x' = a x + c y + e
 *   y' = b x + d y + f
 */
struct affine {
	float a, b, c, d, e, f;
};

/** An axis-aligned box of whole pixels: x0 <= x < x1, y0 <= y < y1. Empty when x0 >= x1
 *  or y0 >= y1. */
struct draw_box {
	int32_t x0, y0, x1, y1;
};

/**
 * A group's clip: its bounds (0, 0)-(width, height) in its own space, through @world, and
 * inside its parent clip (the chain of parents is the whole clip).
 */
struct draw_clip {
	struct affine world;  // the group's local space to screen
	float width, height;  // the group's size in local pixels
	// The screen box of this clip intersected with its parent's and the output: all a
	// scissor can do. Exact (the whole clip) when @axis_aligned.
	struct draw_box box;
	uint32_t parent;      // index in draw_list.clips of the enclosing clip, or DRAW_NO_CLIP
	uint16_t depth;       // 1 without a parent, else the parent's depth + 1
	// This clip and every one it is inside map to screen boxes (no rotation, no
	// mirroring; scale and translation only): a scissor to @box is the whole clip.
	bool axis_aligned;
};

enum draw_kind {
	// A rect node: the rect material (solid, rounded corners, border).
	DRAW_RECT = 0,
	// The items up to the matching DRAW_LAYER_END are drawn into an offscreen buffer,
	// which is then drawn with layer.opacity: a group's true group opacity. Layers nest.
	DRAW_LAYER_BEGIN,
	DRAW_LAYER_END,
	// An image node: a texture's source rectangle drawn onto a quad.
	DRAW_IMAGE,
	// One glyph of a text node: like DRAW_IMAGE (item.image), but the texture is a
	// single-channel (RENDER_A8) glyph atlas page whose texels are coverage, and the
	// tint is the text's premultiplied colour (times the opacity down the tree):
	// the pixel is tint * coverage. Colour glyphs come as DRAW_IMAGE items.
	DRAW_GLYPH,
};

struct draw_item {
	uint8_t kind;               // enum draw_kind
	uint32_t clip;              // index in draw_list.clips, or DRAW_NO_CLIP
	// Screen box that holds everything the item covers, inside its clip's box and the
	// output; for a layer, everything its items cover. The renderer may skip an item
	// whose bounds miss the damage.
	struct draw_box bounds;
	union {
		struct {
			struct affine world; // the node's local space to screen
			float width, height; // local pixels: the rect is (0, 0)-(width, height)
			float radius;        // corner radius, local pixels, 0 to min(width, height) / 2
			float border;        // border width, local pixels, inside the rect; 0: none
			uint32_t fill;       // premultiplied 0xRRGGBBAA
			uint32_t border_rgba;// premultiplied 0xRRGGBBAA
		} rect;
		struct {
			float opacity;       // 0 to 1, applied to the layer as a whole
		} layer;
		struct {
			// The unit square (0, 0)-(1, 1) to screen: the node's local space to
			// screen times its size, so the quad is the node's box.
			struct affine world;
			// The source rectangle, in texture coordinates (0 to 1, y down: v 0 is
			// the image's top row): (u0, v0) lands on the quad's (0, 0) corner.
			float u0, v0, u1, v1;
			uint32_t texture;    // the GL texture name (render_texture.name)
			// Premultiplied 0xRRGGBBAA the texels are multiplied by: the opacity
			// multiplied down the tree, in all four channels.
			uint32_t tint;
		} image;             // DRAW_IMAGE and DRAW_GLYPH
	};
};

struct draw_list {
	struct draw_item *items;    // back to front
	size_t len, cap;
	struct draw_clip *clips;
	size_t clip_len, clip_cap;
	// What to redraw this frame: every pixel when @full, else the union of @damage
	// (inside the output; may overlap). Pixels outside it keep last frame's content.
	struct draw_box *damage;
	size_t damage_len, damage_cap;
	bool full;
	uint32_t background;        // straight 0xRRGGBBAA: the colour under everything
};

/** What drawing one frame cost: the figures tessera-info reports under "frame". */
struct render_stats {
	uint32_t draw_calls;        // glDrawArrays/glDrawElements calls, stencil writes included
	uint32_t nodes_drawn;       // rect and image items drawn (at least partly inside the damage)
	uint64_t damaged_pixels;    // pixels of the output redrawn
	uint32_t offscreen_passes;  // layers drawn through an offscreen buffer
	double frame_ms;            // CPU time from the start of drawing to the end of it
};

#endif
