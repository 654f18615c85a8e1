/*
 * The scene tree: every client's nodes, under that client's root, with roots in
 * layers. Knows nothing of GL, sockets or clients: the client code makes the changes a
 * commit applies, and each frame tree_build() turns the tree into a draw list (what
 * render/ draws) and a damage region.
 *
 * Nodes live in their owners' memory (a client's object slots) and are linked by
 * pointers: parent, and a circular list of siblings (a group's first child is the
 * bottom one; first->prev is the top one). What a node rarely has (rotation, scale,
 * anchor, opacity, corner radius, border; and what every group has: its children and
 * the box it covered) sits in its root's pool of extras, so that a plain rect is 56
 * bytes. A root owns the pool: freeing a root frees every extra of its tree at once,
 * and the nodes themselves may go with their owner's memory, unread.
 *
 * No recursion: walks go through parent and sibling links, and tree_build keeps an
 * explicit stack no deeper than the depth limit, which every change that attaches a
 * node checks.
 *
 * Damage: a change adds the box the node covered on screen (walking up to compose its
 * transform; a group's box is kept from the frame that drew it) unless the node or
 * an ancestor already changed since that frame, and marks the node dirty; tree_build
 * adds the boxes that dirty nodes cover now. A root that goes adds the box its tree
 * covered.
 */
#ifndef TESSERA_TREE_H
#define TESSERA_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "draw-list.h"
#include "list.h"
#include "transform.h"

enum tree_kind {
	TREE_GROUP = 1,
	TREE_RECT,
	TREE_IMAGE,
	TREE_TEXT,
};

/**
 * What an image node shows: a texture, owned by the node's client (an image buffer's),
 * which outlives every node that shows it. When its pixels change the owner calls
 * tree_texture_changed, and the next frame redraws every node that shows it.
 */
struct tree_texture {
	uint32_t name;                  // the GL texture (draw_item.image.texture)
	uint32_t width, height;         // texels
	// Where they are in the GL texture, and its size: (0, 0) and width x height for a
	// texture of its own; a rectangle of a page for a small image in the shared atlas.
	uint32_t x, y, tex_width, tex_height;
	uint64_t changed;               // tree.builds when its pixels last changed
};

/** One glyph of a text: a quad of an atlas page. */
struct tree_glyph {
	float x, y, w, h;               // the quad in the text's local pixels
	float u0, v0, u1, v1;           // its texels in the page (0 to 1, v 0 the top row)
	uint32_t texture;               // the page's GL texture
	bool color;                     // an RGBA page: drawn as an image (with the opacity)
};

/**
 * What a text node draws: glyph quads (owned by the node's client, laid out by the text
 * code) and the local box that holds all of them and the layout box. The owner changes
 * it only right after tree_node_redraw, in a commit.
 */
struct tree_text {
	const struct tree_glyph *glyphs;
	uint32_t len;
	float x0, y0, x1, y1;
};

enum tree_layer {
	TREE_LAYER_BACKGROUND = 0,
	TREE_LAYER_NORMAL,
	TREE_LAYER_OVERLAY,
	TREE_LAYERS,
};

enum tree_flag {
	TREE_VISIBLE = 1 << 0,
	TREE_CLIP = 1 << 1,     // a group: its children are cut to its bounds
	TREE_ISOLATE = 1 << 2,  // a group: true group opacity (an offscreen pass below 1)
	TREE_DIRTY = 1 << 3,    // changed since the last frame (or never drawn)
	TREE_ANIMATED = 1 << 4, // the owner's hint that animations may drive it; not read here
};

/** What an animation may drive (the protocol's animation properties, same numbers). */
enum tree_prop {
	TREE_PROP_POSITION,     // x, y
	TREE_PROP_SIZE,         // width, height
	TREE_PROP_SCALE,        // x, y
	TREE_PROP_ROTATION,     // degrees
	TREE_PROP_OPACITY,      // 0 to 1
	TREE_PROP_COLOR,        // a rect's fill, straight 0xRRGGBBAA
	TREE_PROP_RADIUS,       // a rect's corner radius
	TREE_PROP_COUNT_,
};

struct tree_node {
	struct tree_node *parent;       // NULL while detached (and for a root)
	struct tree_node *prev, *next;  // siblings, circular; itself when alone
	float x, y, width, height;
	uint32_t rgba;                  // a rect's fill, straight 0xRRGGBBAA
	uint32_t extra;                 // 1 + index in the root's pool; 0: every default
	uint32_t user;                  // the owner's (a client's pending index); never read here
	uint8_t kind;                   // enum tree_kind
	uint8_t flags;                  // enum tree_flag
	uint16_t depth;                 // 0: a root; else the parent's + 1 (a detached top: 1)
};

/** What a node has when it has no extra: 48 bytes, what is a rect's or a group's shared. */
struct tree_extra {
	float anchor_x, anchor_y;       // 0, 0
	float rotation;                 // 0 degrees
	float scale_x, scale_y;         // 1, 1
	float opacity;                  // 1
	union {
		struct {
			float radius, border;   // 0, 0
			uint32_t border_rgba;   // 0x000000ff
		} rect;
		struct {
			struct tree_node *child; // the bottom child, NULL for none
			struct draw_box drawn;   // what the subtree covered in the last frame
		} group;
		struct {
			const struct tree_texture *texture; // NULL: nothing drawn
			// The source rectangle in texels; width or height 0: the whole texture.
			float src_x, src_y, src_w, src_h;
		} image;
		struct {
			const struct tree_text *text; // set once (tree_text_bind); never NULL after
		} text;
		uint32_t next_free;         // 1 + next free index while in the free list
	} u;
};

/** A client's tree: its root group, its layer and the pool of its extras. */
struct tree_root {
	struct tree_node node;          // a group that fills the output; never detached
	struct list link;               // tree.layers[layer], bottom to top
	struct tree_extra *extras;
	uint32_t extras_len, extras_cap;
	uint32_t free_extra;            // 1 + the first free index; 0: none
	uint8_t layer;
};

struct tree {
	struct list layers[TREE_LAYERS];
	uint32_t background;            // straight 0xRRGGBBAA
	uint16_t max_depth;             // deepest a node may be (a root's children are 1)
	int width, height;              // the output
	// Boxes of what changed since the last frame (what it drew there must go); more
	// than fit make the frame a full repaint.
	struct draw_box damage[32];
	uint32_t damage_len;
	bool full_damage;
	bool changed;                   // something changed since the last tree_build
	// Nodes visited by attaches to check and renumber depths, ever: what a caller
	// bounds when one client's changes may move big subtrees between depths.
	uint64_t walked;
	uint64_t builds;                // tree_build calls that completed
	struct draw_list list;          // what tree_build last produced; the tree owns it
	// tree_build's stack, max_depth + 1 entries
	struct tree_frame *stack;
};

/**
 * An empty tree drawing into @width x @height. Nodes may nest @max_depth deep (at
 * least 1, at most 4096). Returns false when memory cannot be had.
 */
bool tree_init(struct tree *tree, uint32_t background, int width, int height,
	uint16_t max_depth);

/** Frees what the tree allocated. Roots belong to their owners and should be gone. */
void tree_finish(struct tree *tree);

/** True when something changed since the last tree_build: a frame must be drawn. */
static inline bool tree_changed(const struct tree *tree) {
	return tree->changed;
}

/** The output changed size: the next frame is a full repaint. */
void tree_resize(struct tree *tree, int width, int height);

/**
 * Adds @root (its owner's memory) on top of @layer, with an empty root group. Returns
 * false when memory cannot be had (then there is nothing to finish).
 */
bool tree_root_init(struct tree *tree, struct tree_root *root, enum tree_layer layer);

/**
 * Takes @root and its whole tree off the screen at once and frees its pool of extras:
 * O(1) but for one free(). Its nodes are not read, so their memory may be freed unread
 * right after. Damages what the tree covered in the last frame.
 */
void tree_root_finish(struct tree *tree, struct tree_root *root);

/**
 * Whether @root's tree drew any pixel inside the output in the last tree_build (false
 * for a tree with no node, or with every node hidden, transparent or off screen).
 */
bool tree_root_on_screen(const struct tree *tree, const struct tree_root *root);

/** The next frame redraws the whole output. */
void tree_damage_all(struct tree *tree);

/** Moves @root on top of the roots of @layer. */
void tree_root_set_layer(struct tree *tree, struct tree_root *root, enum tree_layer layer);

/** Puts @root on top of the roots of its layer. */
void tree_root_raise(struct tree *tree, struct tree_root *root);

/**
 * Prepares a detached node of @kind in @root's memory with every default: at (0, 0),
 * 0 x 0, visible, opaque white for a rect. Returns false when a group's extra cannot
 * be had (then there is nothing to finish).
 */
bool tree_node_init(struct tree_root *root, struct tree_node *node, enum tree_kind kind);

/**
 * Gives back what a detached node holds in the pool (its extra). A group must have no
 * children left. (tree_root_finish frees a whole pool instead.)
 */
void tree_node_finish(struct tree_root *root, struct tree_node *node);

/** Why an attach is refused. */
enum tree_attach_error {
	TREE_ATTACH_OK = 0,
	TREE_ATTACH_NOT_GROUP,   // the parent is not a group
	TREE_ATTACH_CYCLE,       // the parent is the node or inside it
	TREE_ATTACH_DEPTH,       // the node's subtree would reach deeper than max_depth
	TREE_ATTACH_SIBLING,     // the sibling is not a child of the parent (or is the node)
};

/**
 * Moves @node (detached, or anywhere in @root's tree) into @parent's children (a group
 * of @root's tree, @root's own node included): right above @sibling when @above, right
 * below it otherwise; with no @sibling, on top when @above, at the bottom otherwise.
 * Checks first, and changes nothing when it returns an error.
 */
enum tree_attach_error tree_node_attach(struct tree *tree, struct tree_root *root,
	struct tree_node *node, struct tree_node *parent, struct tree_node *sibling, bool above);

/** Takes @node (and what it holds) out of its parent; it stays as it is. */
void tree_node_detach(struct tree *tree, struct tree_root *root, struct tree_node *node);

/**
 * The next node of @top's subtree after @node in an order where every node comes after
 * all of its descendants (post-order), ending with @top itself; NULL after @top. Start
 * with tree_subtree_first(@top). A node may be detached and finished as soon as it has
 * been returned: the walk never reads it again. How a subtree is destroyed.
 */
struct tree_node *tree_subtree_first(struct tree_root *root, struct tree_node *top);
struct tree_node *tree_subtree_next(struct tree_root *root, struct tree_node *top,
	struct tree_node *node);

/** The extra of @node for reading: the defaults when it has none. */
const struct tree_extra *tree_node_extra(const struct tree_root *root,
	const struct tree_node *node);

/** Everything a client can set on a node, as one value (what a commit applies). */
struct tree_props {
	float x, y, width, height;
	float anchor_x, anchor_y, rotation, scale_x, scale_y, opacity;
	float radius, border;
	uint32_t rgba, border_rgba;
	uint8_t flags;                  // TREE_VISIBLE, TREE_CLIP, TREE_ISOLATE
	// An image's: what it shows and from where (tree_extra.u.image).
	const struct tree_texture *texture;
	float src_x, src_y, src_w, src_h;
};

/** The node's properties as they are. */
void tree_node_props(const struct tree_root *root, const struct tree_node *node,
	struct tree_props *props);

/**
 * Makes @props the node's properties, damaging what changes on screen. Returns false
 * when an extra is needed and memory cannot be had (the node is then unchanged).
 */
bool tree_node_set_props(struct tree *tree, struct tree_root *root, struct tree_node *node,
	const struct tree_props *props);

/** Property @prop of @node as it is: @v[0], @v[1] for numbers, *@rgba for a colour. */
void tree_node_get(const struct tree_root *root, const struct tree_node *node,
	enum tree_prop prop, float v[2], uint32_t *rgba);

/**
 * Sets one property (an animation's step), damaging what changes on screen. Cheaper
 * than tree_node_set_props. Returns false when an extra is needed and memory cannot be
 * had (the node is then unchanged).
 */
bool tree_node_set(struct tree *tree, struct tree_root *root, struct tree_node *node,
	enum tree_prop prop, const float v[2], uint32_t rgba);

/** @texture's pixels changed: the next frame redraws the nodes that show it. */
void tree_texture_changed(struct tree *tree, struct tree_texture *texture);

/**
 * Makes text node @node (just made) draw @text, which its owner keeps for the node's
 * life and changes only right after tree_node_redraw.
 */
void tree_text_bind(struct tree_root *root, struct tree_node *node, const struct tree_text *text);

/**
 * What @node shows is about to change behind tree_node_set_props's back (a text's
 * glyphs): damages the box it covered and redraws it in the next frame.
 */
void tree_node_redraw(struct tree *tree, struct tree_root *root, struct tree_node *node);

/**
 * The size an image node is drawn at: its own, or, while that is 0 x 0, its source
 * rectangle's (one texel to a pixel).
 */
void tree_image_extent(const struct tree_root *root, const struct tree_node *node,
	float *width, float *height);

/**
 * Builds tree->list for the frame: every drawn node back to front, with clips and
 * layers, and the damage since the last build (full on the first one). Clears the
 * damage. Returns false when memory cannot be had (the list is then empty, full).
 */
bool tree_build(struct tree *tree);

#endif
