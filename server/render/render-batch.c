/*
 * The CPU half of a frame: the draw list becomes one vertex stream and a short list of
 * commands (render-internal.h). No GL here, so everything a frame costs per item is in
 * this file: a bounds test, four transformed corners and four vertices written.
 *
 * Each damage box is drawn on its own: scissored to it, cleared inside it, and only the
 * items whose bounds meet it are written, so a small change costs a few quads however
 * large the list. Boxes may overlap: each one is cleared and drawn whole, so a pixel
 * in two of them ends up as the last one drew it, which is the right picture.
 *
 * Consecutive rects whose clips come to the same state (the same scissor box, and the
 * same stencil contents when rotated) share one command, that is one draw call; so do
 * consecutive images of one texture, and consecutive glyphs of one atlas page. Rect,
 * image and glyph runs alternate as the list does: items are never reordered, since
 * they may overlap. A rotated clip writes its
 * chain of quads into the stencil once, when an item under it follows one that was not.
 */
#include "render-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Layers open at once, drawn offscreen or through; deeper ones all draw through.
#define NEST_MAX 256

// One render target of the frame: the main one for a damage box, or a layer's.
struct level {
	struct draw_box region;  // the screen box it covers, inside the level below
	uint32_t stencil_clip;   // the clip whose chain its stencil holds, or DRAW_NO_CLIP
	uint32_t layer_clip;     // a layer's: the clip it is composited under
	float opacity;           // a layer's
};

struct builder {
	struct renderer *renderer;
	const struct draw_list *list;
	struct draw_box output;
	struct level levels[LAYER_DEPTH_MAX + 1];
	size_t depth;            // levels[depth] is the current one
	bool offscreen[NEST_MAX];// per open layer: drawn offscreen (pushed a level)
	size_t nest;             // layers open
	uint32_t run_clip;       // the clip of the last item of the open run
	// The last image's texture and its size in texels (0 x 0: not one of ours).
	uint32_t size_name;
	int size_w, size_h;
	bool ok;
};

uint32_t render_premultiply(uint32_t rgba) {
	uint32_t a = rgba & 0xff, out = a;
	for (int shift = 8; shift < 32; shift += 8) {
		uint32_t c = (rgba >> shift) & 0xff;
		out |= ((c * a + 127) / 255) << shift;
	}
	return out;
}

bool batch_reserve(struct renderer *renderer, size_t more) {
	if (more <= renderer->quads_cap - renderer->quads) {
		return true;
	}
	size_t cap = renderer->quads_cap ? renderer->quads_cap : 1024;
	while (cap - renderer->quads < more) {
		if (cap > SIZE_MAX / 2 / (QUAD_VERTS * sizeof *renderer->verts)) {
			return false;
		}
		cap *= 2;
	}
	struct vertex *verts = realloc(renderer->verts, cap * QUAD_VERTS * sizeof *verts);
	if (verts == NULL) {
		return false;
	}
	renderer->verts = verts;
	renderer->quads_cap = cap;
	return true;
}

static struct cmd *push_cmd(struct builder *b, uint8_t kind) {
	struct renderer *r = b->renderer;
	if (r->cmd_len == r->cmd_cap) {
		size_t cap = r->cmd_cap ? r->cmd_cap * 2 : 64;
		struct cmd *cmds = cap < SIZE_MAX / sizeof *cmds
			? realloc(r->cmds, cap * sizeof *cmds) : NULL;
		if (cmds == NULL) {
			b->ok = false;
			return NULL;
		}
		r->cmds = cmds;
		r->cmd_cap = cap;
	}
	struct cmd *cmd = &r->cmds[r->cmd_len++];
	memset(cmd, 0, sizeof *cmd);
	cmd->kind = kind;
	cmd->first = (uint32_t)r->quads;
	return cmd;
}

// The open run that can take an item drawn as @kind (CMD_RECTS, or CMD_IMAGES or
// CMD_GLYPHS of @texture): the last command, when it is such a run and its quads end
// the stream.
static struct cmd *open_run(struct builder *b, uint8_t kind, uint32_t texture) {
	struct renderer *r = b->renderer;
	if (r->cmd_len == 0) {
		return NULL;
	}
	struct cmd *cmd = &r->cmds[r->cmd_len - 1];
	if (cmd->kind != kind || cmd->first + cmd->count != r->quads) {
		return NULL;
	}
	return (kind != CMD_IMAGES && kind != CMD_GLYPHS) || cmd->texture == texture ? cmd : NULL;
}

// Two corner points and a width and height vector: the quad of a transformed rect.
static void quad_corners(struct vertex v[QUAD_VERTS], const struct affine *m, float w,
		float h) {
	const float ax = m->a * w, bx = m->b * w, cy = m->c * h, dy = m->d * h;
	v[0].x = m->e;
	v[0].y = m->f;
	v[1].x = m->e + ax;
	v[1].y = m->f + bx;
	v[2].x = m->e + cy;
	v[2].y = m->f + dy;
	v[3].x = m->e + ax + cy;
	v[3].y = m->f + bx + dy;
}

static void put_rgba(uint8_t out[4], uint32_t rgba) {
	out[0] = (uint8_t)(rgba >> 24);
	out[1] = (uint8_t)(rgba >> 16);
	out[2] = (uint8_t)(rgba >> 8);
	out[3] = (uint8_t)rgba;
}

static uint16_t shape_fixed(float px) {
	float v = px * SHAPE_ONE + 0.5f;
	return !(v > 0.0f) ? 0 : v >= 65535.0f ? 65535 : (uint16_t)v;
}

// Vertex order 0 (0, 0), 1 (w, 0), 2 (0, h), 3 (w, h); the index buffer makes the two
// triangles 0 1 2 and 2 1 3 of it.
static void write_rect(struct vertex v[QUAD_VERTS], const struct draw_item *item) {
	const struct affine *m = &item->rect.world;
	const float w = item->rect.width, h = item->rect.height;
	// Distances in local pixels times the scale are about screen pixels (exactly so
	// without a non-uniform scale or shear), which is what one pixel of smoothing at
	// the corners and the border's inner edge are measured in.
	const float s = sqrtf(fabsf(m->a * m->d - m->b * m->c));
	const float half = (w < h ? w : h) * 0.5f;
	float radius = item->rect.radius, border = item->rect.border;
	radius = radius < half ? radius : half;
	border = border < half ? border : half;
	const float ws = w * s, hs = h * s;

	struct vertex t;
	put_rgba(t.fill, item->rect.fill);
	put_rgba(t.border, item->rect.border_rgba);
	t.shape[0] = shape_fixed(radius * s);
	t.shape[1] = shape_fixed(border * s);
	v[0] = v[1] = v[2] = v[3] = t;
	quad_corners(v, m, w, h);
	// left, right, top, bottom
	v[0].edge[0] = 0.0f, v[0].edge[1] = ws, v[0].edge[2] = 0.0f, v[0].edge[3] = hs;
	v[1].edge[0] = ws, v[1].edge[1] = 0.0f, v[1].edge[2] = 0.0f, v[1].edge[3] = hs;
	v[2].edge[0] = 0.0f, v[2].edge[1] = ws, v[2].edge[2] = hs, v[2].edge[3] = 0.0f;
	v[3].edge[0] = ws, v[3].edge[1] = 0.0f, v[3].edge[2] = hs, v[3].edge[3] = 0.0f;
}

void batch_texture_quad(struct vertex v[QUAD_VERTS], struct draw_box box) {
	memset(v, 0, QUAD_VERTS * sizeof *v);
	const float x0 = (float)box.x0, y0 = (float)box.y0;
	const float x1 = (float)box.x1, y1 = (float)box.y1;
	const float w = x1 - x0, h = y1 - y0;
	v[0].x = x0, v[0].y = y0, v[0].edge[0] = 0.0f, v[0].edge[1] = h;
	v[1].x = x1, v[1].y = y0, v[1].edge[0] = w, v[1].edge[1] = h;
	v[2].x = x0, v[2].y = y1, v[2].edge[0] = 0.0f, v[2].edge[1] = 0.0f;
	v[3].x = x1, v[3].y = y1, v[3].edge[0] = w, v[3].edge[1] = 0.0f;
}

static bool clip_valid(const struct draw_list *list, uint32_t clip) {
	return clip != DRAW_NO_CLIP && clip < list->clip_len;
}

// A clip of the chain that its box alone does not describe: one turned or sheared.
static bool clip_turned(const struct draw_clip *clip) {
	return clip->world.b != 0.0f || clip->world.c != 0.0f;
}

// The stencil value inside every turned clip of the chain of @clip: how many there are
// (the innermost 255 at most: the stencil has 8 bits).
static uint8_t chain_turned(const struct draw_list *list, uint32_t clip) {
	unsigned n = 0;
	for (size_t steps = 0; clip_valid(list, clip) && steps < list->clip_len && n < 255;
			steps++) {
		const struct draw_clip *c = &list->clips[clip];
		n += clip_turned(c);
		clip = c->parent;
	}
	return (uint8_t)n;
}

// Writes the stencil of the current level for @clip: every turned quad of the chain
// adds one where it covers (each quad covers a pixel once), so the pixels inside all
// of them hold @n and a draw passes where the stencil equals it. One draw call for the
// whole chain, where testing for each level below before incrementing needs one each.
static bool write_stencil(struct builder *b, uint32_t clip, uint8_t n,
		struct draw_box scissor) {
	if (!batch_reserve(b->renderer, n)) {
		b->ok = false;
		return false;
	}
	struct cmd *cmd = push_cmd(b, CMD_STENCIL);
	if (cmd == NULL) {
		return false;
	}
	cmd->box = scissor;
	cmd->stencil = n;
	struct renderer *r = b->renderer;
	const struct draw_list *list = b->list;
	for (uint32_t c = clip; cmd->count < n; c = list->clips[c].parent) {
		const struct draw_clip *dc = &list->clips[c];
		if (!clip_turned(dc)) {
			continue;
		}
		struct vertex *v = &r->verts[r->quads * QUAD_VERTS];
		memset(v, 0, QUAD_VERTS * sizeof *v);
		quad_corners(v, &dc->world, dc->width, dc->height);
		r->quads++;
		cmd->count++;
	}
	b->levels[b->depth].stencil_clip = clip;
	return true;
}

// Where drawing under @clip at the current level is allowed: *@scissor, and the
// stencil value to pass (0: no stencil test), writing the stencil first when it holds
// another clip's chain. False when nothing can be drawn there (or no memory).
static bool use_clip(struct builder *b, uint32_t clip, struct draw_box *scissor,
		uint8_t *stencil) {
	struct level *level = &b->levels[b->depth];
	*stencil = 0;
	if (!clip_valid(b->list, clip)) {
		*scissor = level->region;
		return true;
	}
	const struct draw_clip *c = &b->list->clips[clip];
	*scissor = box_intersect(c->box, level->region);
	if (box_empty(*scissor)) {
		return false;
	}
	if (c->axis_aligned) {
		return true;
	}
	uint8_t n = chain_turned(b->list, clip);
	if (n == 0) {
		return true;
	}
	*stencil = n;
	if (level->stencil_clip == clip) {
		return true;
	}
	return write_stencil(b, clip, n, *scissor);
}

// The run to draw an item of @kind (and @texture, for images and glyphs) under @clip in: the open
// one when it can take it, else a new one. NULL when nothing can be drawn there (or no
// memory).
static struct cmd *run_for(struct builder *b, uint8_t kind, uint32_t texture,
		uint32_t clip) {
	struct cmd *run = open_run(b, kind, texture);
	if (run != NULL && clip == b->run_clip) {
		return run;
	}
	struct draw_box scissor;
	uint8_t stencil;
	size_t cmds_before = b->renderer->cmd_len;
	if (!use_clip(b, clip, &scissor, &stencil)) {
		return NULL;
	}
	// A clip that comes to the same scissor, with the stencil (if any) untouched,
	// continues the run: neighbours in one scissored group, say.
	if (run != NULL && b->renderer->cmd_len == cmds_before && box_equal(run->box, scissor)
			&& run->stencil == stencil) {
		b->run_clip = clip;
		return run;
	}
	run = push_cmd(b, kind);
	if (run == NULL) {
		return NULL;
	}
	run->texture = texture;
	run->box = scissor;
	run->stencil = stencil;
	b->run_clip = clip;
	return run;
}

// The index of the DRAW_LAYER_END matching the DRAW_LAYER_BEGIN at @i (the last item
// when it has none).
static size_t layer_end(const struct draw_list *list, size_t i) {
	size_t open = 0;
	for (; i < list->len; i++) {
		if (list->items[i].kind == DRAW_LAYER_BEGIN) {
			open++;
		} else if (list->items[i].kind == DRAW_LAYER_END && --open == 0) {
			return i;
		}
	}
	return list->len - 1;
}

// Returns the index of the item to go on after (@i, or the end of a skipped layer).
static size_t layer_begin(struct builder *b, size_t i) {
	const struct draw_item *item = &b->list->items[i];
	const struct level *level = &b->levels[b->depth];
	struct draw_box region = box_intersect(item->bounds, level->region);
	if (clip_valid(b->list, item->clip)) {
		region = box_intersect(region, b->list->clips[item->clip].box);
	}
	const float opacity = item->layer.opacity;
	if (!(opacity > 0.0f) || box_empty(region)) {
		return layer_end(b->list, i);
	}
	// Opaque, a layer is its items drawn straight: source-over is associative.
	bool offscreen = opacity < 1.0f && b->depth < LAYER_DEPTH_MAX && b->nest < NEST_MAX;
	if (b->nest < NEST_MAX) {
		b->offscreen[b->nest] = offscreen;
	}
	b->nest++;
	if (!offscreen) {
		return i;
	}
	struct cmd *cmd = push_cmd(b, CMD_LAYER_BEGIN);
	if (cmd == NULL) {
		return b->list->len;
	}
	cmd->box = region;
	b->depth++;
	b->levels[b->depth] = (struct level){
		.region = region, .stencil_clip = DRAW_NO_CLIP,
		.layer_clip = item->clip, .opacity = opacity,
	};
	return i;
}

static void layer_finish(struct builder *b) {
	if (b->nest == 0) {
		return; // an end without a beginning: nothing to close
	}
	b->nest--;
	if (b->nest >= NEST_MAX || !b->offscreen[b->nest]) {
		return;
	}
	// Back to the level below first: a stencil write for the composite goes there.
	if (push_cmd(b, CMD_LAYER_END) == NULL) {
		return;
	}
	const struct level layer = b->levels[b->depth--];
	struct draw_box scissor;
	uint8_t stencil;
	if (!use_clip(b, layer.layer_clip, &scissor, &stencil)) {
		// The layer was cut to its clip's box, so that is not empty: out of memory.
		return;
	}
	if (!batch_reserve(b->renderer, 1)) {
		b->ok = false;
		return;
	}
	struct cmd *cmd = push_cmd(b, CMD_COMPOSITE);
	if (cmd == NULL) {
		return;
	}
	struct renderer *r = b->renderer;
	batch_texture_quad(&r->verts[r->quads * QUAD_VERTS], layer.region);
	r->quads++;
	cmd->count = 1;
	cmd->box = scissor;
	cmd->stencil = stencil;
	cmd->opacity = layer.opacity;
}

static bool rect_drawn(const struct draw_item *item) {
	return item->rect.width > 0.0f && item->rect.height > 0.0f
		&& (item->rect.fill != 0
			|| (item->rect.border > 0.0f && item->rect.border_rgba != 0));
}

// Nothing to draw: no texture, fully transparent, or a quad of no area (whose
// inverse the rasteriser would divide by).
static bool image_drawn(const struct draw_item *item) {
	const struct affine *m = &item->image.world;
	const float det = m->a * m->d - m->b * m->c;
	return item->image.texture != 0 && item->image.tint != 0 && isfinite(det)
		&& det != 0.0f;
}

// The size of @texture in texels, looked up once a run of images of it; 0 when it is
// none that render_texture_init made.
static void texture_size(struct builder *b, uint32_t texture, int *w, int *h) {
	if (texture != b->size_name) {
		b->size_name = texture;
		if (!texture_size_of(b->renderer, texture, &b->size_w, &b->size_h)) {
			b->size_w = b->size_h = 0;
		}
	}
	*w = b->size_w;
	*h = b->size_h;
}

// The range of one coordinate that sampling may reach: from the first texel centre of
// the source (a to b, either way round) to the last, on a side of @texels (0: unknown,
// the source's edges). A source narrower than a texel samples its middle.
static void sample_range(float a, float b, int texels, float *lo, float *hi) {
	const float first = a < b ? a : b, last = a < b ? b : a;
	const float half = texels > 0 ? 0.5f / (float)texels : 0.0f;
	*lo = first + half;
	*hi = last - half;
	if (*lo > *hi) {
		*lo = *hi = (first + last) * 0.5f;
	}
}

// The image's quad: the unit square through its world, in write_rect's vertex order,
// each corner with its texture coordinates, the bounds of sampling and the tint.
static void write_image(struct builder *b, struct vertex v[QUAD_VERTS],
		const struct draw_item *item) {
	int tw, th;
	texture_size(b, item->image.texture, &tw, &th);
	float u_lo, u_hi, v_lo, v_hi;
	sample_range(item->image.u0, item->image.u1, tw, &u_lo, &u_hi);
	sample_range(item->image.v0, item->image.v1, th, &v_lo, &v_hi);
	memset(v, 0, QUAD_VERTS * sizeof *v);
	quad_corners(v, &item->image.world, 1.0f, 1.0f);
	const float us[QUAD_VERTS] = { item->image.u0, item->image.u1, item->image.u0,
		item->image.u1 };
	const float vs[QUAD_VERTS] = { item->image.v0, item->image.v0, item->image.v1,
		item->image.v1 };
	for (int i = 0; i < QUAD_VERTS; i++) {
		v[i].edge[0] = us[i];
		v[i].edge[1] = vs[i];
		v[i].edge[2] = u_lo;
		v[i].edge[3] = v_lo;
		v[i].uv_max[0] = u_hi;
		v[i].uv_max[1] = v_hi;
		put_rgba(v[i].fill, item->image.tint);
	}
}

static bool meets(struct draw_box a, struct draw_box b) {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

// The quad for an item under @clip drawn by a run of @kind (and @texture), appended to
// that run (*@run); NULL when its clip leaves nothing to draw or memory runs out.
static struct vertex *run_quad(struct builder *b, uint8_t kind, uint32_t texture,
		uint32_t clip, struct cmd **run) {
	*run = run_for(b, kind, texture, clip);
	if (*run == NULL) {
		return NULL;
	}
	struct renderer *r = b->renderer;
	if (r->quads == r->quads_cap && !batch_reserve(r, 1)) {
		b->ok = false;
		return NULL;
	}
	struct vertex *v = &r->verts[r->quads * QUAD_VERTS];
	r->quads++;
	(*run)->count++;
	return v;
}

// Counts @item once a frame: in the first of the damage boxes before @k it meets.
static void count_node(const struct draw_item *item, const struct draw_box *boxes, size_t k,
		struct render_stats *stats) {
	bool counted = false;
	for (size_t j = 0; j < k && !counted; j++) {
		counted = meets(item->bounds, boxes[j]);
	}
	stats->nodes_drawn += !counted;
}

// Everything of the list inside @boxes[k], drawn from a cleared box.
static void draw_box(struct builder *b, const struct draw_box *boxes, size_t k,
		struct render_stats *stats) {
	struct cmd *cmd = push_cmd(b, CMD_BOX);
	if (cmd == NULL) {
		return;
	}
	cmd->box = boxes[k];
	b->depth = 0;
	b->levels[0] = (struct level){ .region = boxes[k], .stencil_clip = DRAW_NO_CLIP };
	b->nest = 0;

	const struct draw_list *list = b->list;
	for (size_t i = 0; i < list->len && b->ok; i++) {
		const struct draw_item *item = &list->items[i];
		const bool here = meets(item->bounds, b->levels[b->depth].region);
		struct cmd *run;
		struct vertex *v;
		switch (item->kind) {
		case DRAW_RECT:
			if (!here || !rect_drawn(item)) {
				break;
			}
			v = run_quad(b, CMD_RECTS, 0, item->clip, &run);
			if (v == NULL) {
				break;
			}
			write_rect(v, item);
			run->shaped |= (v->shape[0] | v->shape[1]) != 0;
			count_node(item, boxes, k, stats);
			break;
		case DRAW_IMAGE:
		case DRAW_GLYPH:
			// A glyph is an image of coverage: the same quad, another program.
			if (!here || !image_drawn(item)) {
				break;
			}
			v = run_quad(b, item->kind == DRAW_GLYPH ? CMD_GLYPHS : CMD_IMAGES,
				item->image.texture, item->clip, &run);
			if (v == NULL) {
				break;
			}
			write_image(b, v, item);
			count_node(item, boxes, k, stats);
			break;
		case DRAW_LAYER_BEGIN:
			i = layer_begin(b, i);
			break;
		case DRAW_LAYER_END:
			layer_finish(b);
			break;
		default:
			break; // a kind this renderer does not know yet draws nothing
		}
	}
	while (b->nest > 0 && b->ok) {
		layer_finish(b);
	}
}

static int cmp_int32(const void *a, const void *b) {
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

// The area of the union of @n boxes, over the grid their edges make.
static uint64_t union_area(const struct draw_box *boxes, size_t n) {
	int32_t xs[2 * DAMAGE_BOXES_MAX], ys[2 * DAMAGE_BOXES_MAX];
	for (size_t i = 0; i < n; i++) {
		xs[2 * i] = boxes[i].x0, xs[2 * i + 1] = boxes[i].x1;
		ys[2 * i] = boxes[i].y0, ys[2 * i + 1] = boxes[i].y1;
	}
	qsort(xs, 2 * n, sizeof *xs, cmp_int32);
	qsort(ys, 2 * n, sizeof *ys, cmp_int32);
	uint64_t area = 0;
	for (size_t i = 0; i + 1 < 2 * n; i++) {
		for (size_t j = 0; j + 1 < 2 * n; j++) {
			struct draw_box cell = { xs[i], ys[j], xs[i + 1], ys[j + 1] };
			if (box_empty(cell)) {
				continue;
			}
			for (size_t k = 0; k < n; k++) {
				if (box_equal(box_intersect(cell, boxes[k]), cell)) {
					area += (uint64_t)(cell.x1 - cell.x0) * (uint64_t)(cell.y1 - cell.y0);
					break;
				}
			}
		}
	}
	return area;
}

// The boxes to redraw, inside the output: at most DAMAGE_BOXES_MAX of them.
static size_t damage_boxes(const struct draw_list *list, struct draw_box output, bool full,
		struct draw_box boxes[DAMAGE_BOXES_MAX]) {
	if (full) {
		boxes[0] = output;
		return 1;
	}
	size_t n = 0;
	struct draw_box all = { INT32_MAX, INT32_MAX, INT32_MIN, INT32_MIN };
	for (size_t i = 0; i < list->damage_len; i++) {
		struct draw_box box = box_intersect(list->damage[i], output);
		if (box_empty(box)) {
			continue;
		}
		if (n < DAMAGE_BOXES_MAX) {
			boxes[n] = box;
		}
		n++;
		all.x0 = box.x0 < all.x0 ? box.x0 : all.x0;
		all.y0 = box.y0 < all.y0 ? box.y0 : all.y0;
		all.x1 = box.x1 > all.x1 ? box.x1 : all.x1;
		all.y1 = box.y1 > all.y1 ? box.y1 : all.y1;
	}
	if (n > DAMAGE_BOXES_MAX) {
		boxes[0] = all;
		n = 1;
	}
	return n;
}

bool batch_build(struct renderer *renderer, const struct draw_list *list, int width,
		int height, bool full, struct render_stats *stats) {
	renderer->quads = 0;
	renderer->cmd_len = 0;
	struct builder b = {
		.renderer = renderer,
		.list = list,
		.output = { 0, 0, width, height },
		.run_clip = DRAW_NO_CLIP,
		.ok = true,
	};
	// Most frames draw most of their items once: one allocation up front.
	if (!batch_reserve(renderer, list->len + 1)) {
		return false;
	}
	struct draw_box boxes[DAMAGE_BOXES_MAX];
	size_t n = damage_boxes(list, b.output, full, boxes);
	stats->damaged_pixels = n > 0 ? union_area(boxes, n) : 0;
	for (size_t k = 0; k < n && b.ok; k++) {
		draw_box(&b, boxes, k, stats);
	}
	return b.ok;
}
