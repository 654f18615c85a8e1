#include "tree.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "reaper.h"

// One entry of tree_build's stack: a group being drawn.
struct tree_frame {
	struct affine world;          // the group's local space to screen
	float opacity;                // multiplied down from the root (or the layer)
	uint32_t clip;                // the clip its children are in
	struct draw_box clip_box;     // that clip's box (the output when none)
	struct draw_box drawn;        // what its subtree covers, so far
	struct tree_node *group;
	uint32_t layer_item;          // its DRAW_LAYER_BEGIN in the list, or UINT32_MAX
	bool dirty;                   // it or an ancestor changed: its box is damage whole
	bool self_dirty;              // it changed itself (its box goes into the damage)
};

static const struct tree_extra default_extra = {
	.scale_x = 1, .scale_y = 1, .opacity = 1, .u.rect.border_rgba = 0x000000ffu,
};

_Static_assert(sizeof(struct tree_extra) <= 48, "a group's extra stays within 48 bytes");

// Damage past this share of the output (in pixels, overlaps counted twice) is drawn
// as a full repaint: scissoring many boxes costs more than it saves.
#define FULL_DAMAGE_SHARE 0.5

static struct tree_extra *extra_of(const struct tree_root *root, const struct tree_node *node) {
	assert(node->extra != 0 && node->extra <= root->extras_len);
	return &root->extras[node->extra - 1];
}

const struct tree_extra *tree_node_extra(const struct tree_root *root,
		const struct tree_node *node) {
	return node->extra != 0 ? extra_of(root, node) : &default_extra;
}

// 1 + the index of a fresh extra with the defaults of a @kind, or 0 when memory
// cannot be had. The pool grows by half: a tree of groups leaves less of it unused.
static uint32_t extra_alloc(struct tree_root *root, enum tree_kind kind) {
	uint32_t index;
	if (root->free_extra != 0) {
		index = root->free_extra - 1;
		root->free_extra = root->extras[index].u.next_free;
	} else {
		if (root->extras_len == root->extras_cap) {
			uint32_t cap = root->extras_cap ? root->extras_cap + root->extras_cap / 2 : 8;
			if (cap > UINT32_MAX / 2) {
				return 0;
			}
			struct tree_extra *extras = realloc(root->extras, (size_t)cap * sizeof *extras);
			if (extras == NULL) {
				return 0;
			}
			root->extras = extras;
			root->extras_cap = cap;
		}
		index = root->extras_len++;
	}
	root->extras[index] = default_extra;
	if (kind == TREE_GROUP) {
		root->extras[index].u.group.child = NULL;
		root->extras[index].u.group.drawn = (struct draw_box){ 0 };
	} else if (kind == TREE_IMAGE || kind == TREE_TEXT) {
		memset(&root->extras[index].u, 0, sizeof root->extras[index].u);
	}
	return index + 1;
}

static struct tree_node *first_child(const struct tree_root *root, const struct tree_node *group) {
	return group->kind == TREE_GROUP ? extra_of(root, group)->u.group.child : NULL;
}

// The sibling above @node, or NULL when it is the top one.
static struct tree_node *next_sibling(const struct tree_root *root, const struct tree_node *node) {
	struct tree_node *next = node->next;
	return next == first_child(root, node->parent) ? NULL : next;
}

static void damage_add(struct tree *tree, struct draw_box box) {
	tree->changed = true;
	if (tree->full_damage) {
		return;
	}
	struct draw_box output = { 0, 0, tree->width, tree->height };
	box = box_intersect(&box, &output);
	if (box_empty(&box)) {
		return;
	}
	// Overlapping boxes merge, so that a node moving a little costs one box.
	for (uint32_t i = 0; i < tree->damage_len; i++) {
		struct draw_box *d = &tree->damage[i];
		struct draw_box both = box_intersect(d, &box);
		if (!box_empty(&both)) {
			*d = box_union(d, &box);
			return;
		}
	}
	if (tree->damage_len == sizeof tree->damage / sizeof tree->damage[0]) {
		tree->full_damage = true;
		return;
	}
	tree->damage[tree->damage_len++] = box;
}

static struct node_placement placement_of(const struct tree_root *root,
		const struct tree_node *node) {
	const struct tree_extra *e = tree_node_extra(root, node);
	return (struct node_placement){
		.x = node->x, .y = node->y, .width = node->width, .height = node->height,
		.anchor_x = e->anchor_x, .anchor_y = e->anchor_y, .rotation = e->rotation,
		.scale_x = e->scale_x, .scale_y = e->scale_y,
	};
}

static struct affine local_of(const struct tree_root *root, const struct tree_node *node) {
	struct node_placement p = placement_of(root, node);
	if (node->extra == 0) {
		// The common case: a plain translation.
		return (struct affine){ 1, 0, 0, 1, p.x, p.y };
	}
	return node_local_transform(&p);
}

static bool shows(const struct tree_root *root, const struct tree_node *node) {
	return (node->flags & TREE_VISIBLE) && tree_node_extra(root, node)->opacity > 0.0f;
}

// The box @node covered in the last frame, or an empty one when that is damage already
// (it or an ancestor changed since) or it was not drawn (hidden, detached).
static struct draw_box covered(const struct tree_root *root, const struct tree_node *node) {
	static const struct draw_box none = { 0, 0, 0, 0 };
	struct affine world = affine_identity;
	bool need_transform = node->kind != TREE_GROUP;
	if (need_transform) {
		world = local_of(root, node);
	}
	for (const struct tree_node *n = node; n != &root->node; n = n->parent) {
		if (n->parent == NULL || (n->flags & TREE_DIRTY) || !shows(root, n)) {
			return none;
		}
		if (need_transform && n != node) {
			struct affine local = local_of(root, n);
			world = affine_mul(&local, &world);
		}
	}
	if (node->kind == TREE_GROUP) {
		return extra_of(root, node)->u.group.drawn;
	}
	float w = node->width, h = node->height;
	if (node->kind == TREE_IMAGE) {
		tree_image_extent(root, node, &w, &h);
	} else if (node->kind == TREE_TEXT) {
		const struct tree_text *t = extra_of(root, node)->u.text.text;
		struct affine at = { 1, 0, 0, 1, t->x0, t->y0 };
		world = affine_mul(&world, &at);
		w = t->x1 - t->x0;
		h = t->y1 - t->y0;
	}
	return affine_box(&world, w, h);
}

void tree_text_bind(struct tree_root *root, struct tree_node *node, const struct tree_text *text) {
	assert(node->kind == TREE_TEXT);
	extra_of(root, node)->u.text.text = text;
}

void tree_node_redraw(struct tree *tree, struct tree_root *root, struct tree_node *node) {
	damage_add(tree, covered(root, node));
	node->flags |= TREE_DIRTY;
	tree->changed = true;
}

// An image's source rectangle in texels: its own, or the whole texture while its width
// or height is 0 (all zero without a texture).
static struct image_source {
	float x, y, w, h;
} image_source(const struct tree_extra *e) {
	const struct tree_texture *t = e->u.image.texture;
	if (e->u.image.src_w > 0.0f && e->u.image.src_h > 0.0f) {
		return (struct image_source){ e->u.image.src_x, e->u.image.src_y, e->u.image.src_w,
			e->u.image.src_h };
	}
	return t != NULL ? (struct image_source){ 0, 0, (float)t->width, (float)t->height }
		: (struct image_source){ 0, 0, 0, 0 };
}

void tree_image_extent(const struct tree_root *root, const struct tree_node *node,
		float *width, float *height) {
	*width = node->width;
	*height = node->height;
	if (node->kind != TREE_IMAGE || node->width > 0.0f || node->height > 0.0f) {
		return;
	}
	struct image_source src = image_source(extra_of(root, node));
	*width = src.w;
	*height = src.h;
}

void tree_texture_changed(struct tree *tree, struct tree_texture *texture) {
	texture->changed = tree->builds;
	tree->changed = true;
}

bool tree_init(struct tree *tree, uint32_t background, int width, int height,
		uint16_t max_depth) {
	assert(max_depth >= 1 && max_depth <= 4096);
	memset(tree, 0, sizeof *tree);
	for (int l = 0; l < TREE_LAYERS; l++) {
		list_init(&tree->layers[l]);
	}
	tree->background = background;
	tree->max_depth = max_depth;
	tree->width = width;
	tree->height = height;
	tree->full_damage = true;
	tree->stack = calloc((size_t)max_depth + 1, sizeof *tree->stack);
	return tree->stack != NULL;
}

void tree_finish(struct tree *tree) {
	free(tree->stack);
	free(tree->list.items);
	free(tree->list.clips);
	free(tree->list.damage);
	memset(tree, 0, sizeof *tree);
}

void tree_damage_all(struct tree *tree) {
	tree->full_damage = true;
	tree->changed = true;
}

void tree_resize(struct tree *tree, int width, int height) {
	tree->width = width;
	tree->height = height;
	tree->full_damage = true;
	tree->changed = true;
}

static void node_reset(struct tree_node *node, enum tree_kind kind) {
	memset(node, 0, sizeof *node);
	node->prev = node->next = node;
	node->kind = (uint8_t)kind;
	node->flags = TREE_VISIBLE | TREE_DIRTY;
	node->rgba = 0xffffffffu;
	node->depth = 1;
}

bool tree_root_init(struct tree *tree, struct tree_root *root, enum tree_layer layer) {
	assert(layer < TREE_LAYERS);
	memset(root, 0, sizeof *root);
	node_reset(&root->node, TREE_GROUP);
	root->node.depth = 0;
	root->node.extra = extra_alloc(root, TREE_GROUP);
	if (root->node.extra == 0) {
		return false;
	}
	root->layer = (uint8_t)layer;
	list_append(&tree->layers[layer], &root->link);
	return true;
}

void tree_root_finish(struct tree *tree, struct tree_root *root) {
	if (root->node.extra != 0) {
		damage_add(tree, extra_of(root, &root->node)->u.group.drawn);
		list_remove(&root->link);
	}
	reaper_free(root->extras, (size_t)root->extras_cap * sizeof *root->extras);
	memset(root, 0, sizeof *root);
}

void tree_root_raise(struct tree *tree, struct tree_root *root) {
	struct list *layer = &tree->layers[root->layer];
	if (layer->prev == &root->link) {
		return;
	}
	list_remove(&root->link);
	list_append(layer, &root->link);
	// What it covers now comes over the roots it went above.
	damage_add(tree, extra_of(root, &root->node)->u.group.drawn);
}

void tree_root_set_layer(struct tree *tree, struct tree_root *root, enum tree_layer layer) {
	assert(layer < TREE_LAYERS);
	if (root->layer == layer) {
		return;
	}
	root->layer = (uint8_t)layer;
	list_remove(&root->link);
	list_append(&tree->layers[layer], &root->link);
	damage_add(tree, extra_of(root, &root->node)->u.group.drawn);
}

bool tree_node_init(struct tree_root *root, struct tree_node *node, enum tree_kind kind) {
	node_reset(node, kind);
	if (kind == TREE_GROUP || kind == TREE_IMAGE || kind == TREE_TEXT) {
		node->extra = extra_alloc(root, kind);
		return node->extra != 0;
	}
	return true;
}

void tree_node_finish(struct tree_root *root, struct tree_node *node) {
	if (node->extra != 0) {
		root->extras[node->extra - 1].u.next_free = root->free_extra;
		root->free_extra = node->extra;
		node->extra = 0;
	}
}

// The node after @n in a pre-order walk of @top's subtree (parents before their
// children), or NULL after the last.
static struct tree_node *preorder_next(const struct tree_root *root,
		const struct tree_node *top, struct tree_node *n) {
	struct tree_node *child = first_child(root, n);
	if (child != NULL) {
		return child;
	}
	for (; n != top; n = n->parent) {
		struct tree_node *next = next_sibling(root, n);
		if (next != NULL) {
			return next;
		}
	}
	return NULL;
}

// The depth of the deepest node of @node's subtree below @node (0 for a leaf). Every
// node's depth is its parent's + 1, in a detached subtree too.
static unsigned subtree_height(struct tree *tree, const struct tree_root *root,
		struct tree_node *node) {
	unsigned height = 0;
	for (struct tree_node *n = node; n != NULL; n = preorder_next(root, node, n)) {
		unsigned below = (unsigned)(n->depth - node->depth);
		height = below > height ? below : height;
		tree->walked++;
	}
	return height;
}

// Sets the depths of @node's subtree from @node's.
static void set_depths(struct tree *tree, const struct tree_root *root,
		struct tree_node *node) {
	for (struct tree_node *n = preorder_next(root, node, node); n != NULL;
			n = preorder_next(root, node, n)) {
		n->depth = (uint16_t)(n->parent->depth + 1);
		tree->walked++;
	}
}

static void unlink_node(struct tree_root *root, struct tree_node *node) {
	struct tree_extra *parent = extra_of(root, node->parent);
	if (node->next == node) {
		parent->u.group.child = NULL;
	} else {
		if (parent->u.group.child == node) {
			parent->u.group.child = node->next;
		}
		node->prev->next = node->next;
		node->next->prev = node->prev;
	}
	node->prev = node->next = node;
	node->parent = NULL;
}

void tree_node_detach(struct tree *tree, struct tree_root *root, struct tree_node *node) {
	if (node->parent == NULL) {
		return;
	}
	damage_add(tree, covered(root, node));
	unlink_node(root, node);
	// A detached subtree counts its depth from 1, as if it hung from a root, so that an
	// attach under any group (attached or not) can check the limit from the parent's.
	if (node->depth != 1) {
		node->depth = 1;
		set_depths(tree, root, node);
	}
}

enum tree_attach_error tree_node_attach(struct tree *tree, struct tree_root *root,
		struct tree_node *node, struct tree_node *parent, struct tree_node *sibling,
		bool above) {
	assert(node != &root->node);
	if (parent->kind != TREE_GROUP) {
		return TREE_ATTACH_NOT_GROUP;
	}
	if (sibling != NULL && (sibling->parent != parent || sibling == node)) {
		return TREE_ATTACH_SIBLING;
	}
	// Up from the parent: meeting the node means the parent is inside it. The walk is
	// no longer than the depth limit, as every attached node obeys it.
	for (const struct tree_node *n = parent; n != NULL; n = n->parent) {
		if (n == node) {
			return TREE_ATTACH_CYCLE;
		}
	}
	// A node that stays at its depth (restacked among its siblings, or moved to a group
	// as deep as its parent) keeps its subtree's depths, which obey the limit already:
	// only a move between depths walks the subtree, to check and renumber it.
	bool same_depth = (unsigned)parent->depth + 1 == node->depth;
	if (!same_depth && (unsigned)parent->depth + 1 + subtree_height(tree, root, node) >
			tree->max_depth) {
		return TREE_ATTACH_DEPTH;
	}
	if (node->parent != NULL) {
		damage_add(tree, covered(root, node));
		unlink_node(root, node);
	}
	struct tree_extra *p = extra_of(root, parent);
	struct tree_node *first = p->u.group.child;
	if (first == NULL) {
		p->u.group.child = node;
	} else {
		// Insert before @before in the circle; the first child changes when the node
		// goes to the bottom.
		struct tree_node *before;
		if (sibling == NULL) {
			before = first;
		} else {
			before = above ? sibling->next : sibling;
		}
		node->prev = before->prev;
		node->next = before;
		before->prev->next = node;
		before->prev = node;
		if ((sibling == NULL && !above) || (sibling == first && !above)) {
			p->u.group.child = node;
		}
	}
	node->parent = parent;
	if (!same_depth) {
		node->depth = (uint16_t)(parent->depth + 1);
		set_depths(tree, root, node);
	}
	node->flags |= TREE_DIRTY;
	tree->changed = true;
	return TREE_ATTACH_OK;
}

// The deepest first descendant of @node (itself when it has no children).
static struct tree_node *leftmost_leaf(const struct tree_root *root, struct tree_node *node) {
	struct tree_node *child;
	while ((child = first_child(root, node)) != NULL) {
		node = child;
	}
	return node;
}

struct tree_node *tree_subtree_first(struct tree_root *root, struct tree_node *top) {
	return leftmost_leaf(root, top);
}

struct tree_node *tree_subtree_next(struct tree_root *root, struct tree_node *top,
		struct tree_node *node) {
	if (node == top) {
		return NULL;
	}
	struct tree_node *next = next_sibling(root, node);
	return next != NULL ? leftmost_leaf(root, next) : node->parent;
}

void tree_node_props(const struct tree_root *root, const struct tree_node *node,
		struct tree_props *props) {
	const struct tree_extra *e = tree_node_extra(root, node);
	bool rect = node->kind == TREE_RECT, image = node->kind == TREE_IMAGE;
	*props = (struct tree_props){
		.x = node->x, .y = node->y, .width = node->width, .height = node->height,
		.anchor_x = e->anchor_x, .anchor_y = e->anchor_y, .rotation = e->rotation,
		.scale_x = e->scale_x, .scale_y = e->scale_y, .opacity = e->opacity,
		.radius = rect ? e->u.rect.radius : 0, .border = rect ? e->u.rect.border : 0,
		.rgba = node->rgba,
		.border_rgba = rect ? e->u.rect.border_rgba : default_extra.u.rect.border_rgba,
		.flags = node->flags & (TREE_VISIBLE | TREE_CLIP | TREE_ISOLATE),
		.texture = image ? e->u.image.texture : NULL,
		.src_x = image ? e->u.image.src_x : 0, .src_y = image ? e->u.image.src_y : 0,
		.src_w = image ? e->u.image.src_w : 0, .src_h = image ? e->u.image.src_h : 0,
	};
}

static bool extra_is_default(const struct tree_props *p) {
	const struct tree_extra *d = &default_extra;
	return p->anchor_x == d->anchor_x && p->anchor_y == d->anchor_y &&
		p->rotation == d->rotation && p->scale_x == d->scale_x &&
		p->scale_y == d->scale_y && p->opacity == d->opacity && p->radius == d->u.rect.radius &&
		p->border == d->u.rect.border && p->border_rgba == d->u.rect.border_rgba &&
		p->texture == NULL;
}

static bool same_props(const struct tree_props *a, const struct tree_props *b) {
	return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height &&
		a->anchor_x == b->anchor_x && a->anchor_y == b->anchor_y &&
		a->rotation == b->rotation && a->scale_x == b->scale_x && a->scale_y == b->scale_y &&
		a->opacity == b->opacity && a->radius == b->radius && a->border == b->border &&
		a->rgba == b->rgba && a->border_rgba == b->border_rgba && a->flags == b->flags &&
		a->texture == b->texture && a->src_x == b->src_x && a->src_y == b->src_y &&
		a->src_w == b->src_w && a->src_h == b->src_h;
}

bool tree_node_set_props(struct tree *tree, struct tree_root *root, struct tree_node *node,
		const struct tree_props *props) {
	struct tree_props old;
	tree_node_props(root, node, &old);
	if (same_props(&old, props)) {
		return true;
	}
	if (node->extra == 0 && !extra_is_default(props)) {
		node->extra = extra_alloc(root, (enum tree_kind)node->kind);
		if (node->extra == 0) {
			return false;
		}
	}
	damage_add(tree, covered(root, node));
	tree->changed = true;
	node->x = props->x;
	node->y = props->y;
	node->width = props->width;
	node->height = props->height;
	node->rgba = props->rgba;
	node->flags = (uint8_t)((node->flags & TREE_ANIMATED) | TREE_DIRTY |
		(props->flags & (TREE_VISIBLE | TREE_CLIP | TREE_ISOLATE)));
	if (node->extra != 0) {
		struct tree_extra *e = extra_of(root, node);
		e->anchor_x = props->anchor_x;
		e->anchor_y = props->anchor_y;
		e->rotation = props->rotation;
		e->scale_x = props->scale_x;
		e->scale_y = props->scale_y;
		e->opacity = props->opacity;
		if (node->kind == TREE_RECT) {
			e->u.rect.radius = props->radius;
			e->u.rect.border = props->border;
			e->u.rect.border_rgba = props->border_rgba;
		} else if (node->kind == TREE_IMAGE) {
			e->u.image.texture = props->texture;
			e->u.image.src_x = props->src_x;
			e->u.image.src_y = props->src_y;
			e->u.image.src_w = props->src_w;
			e->u.image.src_h = props->src_h;
		}
	}
	return true;
}

void tree_node_get(const struct tree_root *root, const struct tree_node *node,
		enum tree_prop prop, float v[2], uint32_t *rgba) {
	const struct tree_extra *e = tree_node_extra(root, node);
	v[0] = v[1] = 0;
	*rgba = node->rgba;
	switch (prop) {
	case TREE_PROP_POSITION: v[0] = node->x; v[1] = node->y; break;
	case TREE_PROP_SIZE: v[0] = node->width; v[1] = node->height; break;
	case TREE_PROP_SCALE: v[0] = e->scale_x; v[1] = e->scale_y; break;
	case TREE_PROP_ROTATION: v[0] = e->rotation; break;
	case TREE_PROP_OPACITY: v[0] = e->opacity; break;
	case TREE_PROP_RADIUS: v[0] = node->kind == TREE_RECT ? e->u.rect.radius : 0; break;
	case TREE_PROP_COLOR:
	case TREE_PROP_COUNT_:
		break;
	}
}

bool tree_node_set(struct tree *tree, struct tree_root *root, struct tree_node *node,
		enum tree_prop prop, const float v[2], uint32_t rgba) {
	bool in_node = prop == TREE_PROP_POSITION || prop == TREE_PROP_SIZE ||
		prop == TREE_PROP_COLOR;
	if (!in_node && node->extra == 0) {
		node->extra = extra_alloc(root, (enum tree_kind)node->kind);
		if (node->extra == 0) {
			return false;
		}
	}
	// What it covered goes; what it covers after is added when the frame is built.
	if (!tree->full_damage) {
		damage_add(tree, covered(root, node));
	}
	tree->changed = true;
	node->flags |= TREE_DIRTY;
	struct tree_extra *e = in_node ? NULL : extra_of(root, node);
	switch (prop) {
	case TREE_PROP_POSITION: node->x = v[0]; node->y = v[1]; break;
	case TREE_PROP_SIZE: node->width = v[0]; node->height = v[1]; break;
	case TREE_PROP_COLOR: node->rgba = rgba; break;
	case TREE_PROP_SCALE: e->scale_x = v[0]; e->scale_y = v[1]; break;
	case TREE_PROP_ROTATION: e->rotation = v[0]; break;
	case TREE_PROP_OPACITY: e->opacity = v[0]; break;
	case TREE_PROP_RADIUS:
		if (node->kind == TREE_RECT) {
			e->u.rect.radius = v[0];
		}
		break;
	case TREE_PROP_COUNT_:
		break;
	}
	return true;
}

// Room for one more entry in a growing array of @size-byte entries; false when memory
// cannot be had.
static bool reserve(void **array, size_t *cap, size_t len, size_t size) {
	if (len < *cap) {
		return true;
	}
	size_t more = *cap ? *cap * 2 : 256;
	if (more > SIZE_MAX / size) {
		return false;
	}
	void *grown = realloc(*array, more * size);
	if (grown == NULL) {
		return false;
	}
	*array = grown;
	*cap = more;
	return true;
}

static struct draw_item *new_item(struct draw_list *list) {
	if (!reserve((void **)&list->items, &list->cap, list->len, sizeof *list->items)) {
		return NULL;
	}
	return &list->items[list->len++];
}

// Straight 0xRRGGBBAA with @opacity multiplied in, premultiplied, rounded to nearest.
static uint32_t premultiply(uint32_t rgba, float opacity) {
	float alpha = (float)(rgba & 0xff) * opacity;
	uint32_t a = alpha >= 255.0f ? 255u : (uint32_t)(alpha + 0.5f);
	uint32_t out = a;
	for (int shift = 24; shift >= 8; shift -= 8) {
		uint32_t c = (rgba >> shift) & 0xff;
		out |= ((c * a + 127) / 255) << shift;
	}
	return out;
}

static float minf(float a, float b) {
	return a < b ? a : b;
}

// A new item of @kind covering @world's @w x @h box inside @f's clip, with its clip and
// bounds set; NULL when that box is empty, or (*@ok false) when memory runs out.
static struct draw_item *place_item(struct draw_list *list, const struct affine *world,
		float w, float h, const struct tree_frame *f, uint8_t kind, bool *ok) {
	struct draw_box box = affine_box(world, w, h);
	box = box_intersect(&box, &f->clip_box);
	if (box_empty(&box)) {
		return NULL;
	}
	struct draw_item *item = new_item(list);
	if (item == NULL) {
		*ok = false;
		return NULL;
	}
	item->kind = kind;
	item->clip = f->clip;
	item->bounds = box;
	return item;
}

// Adds the rect item of @node (drawn at @world with @opacity inside @f's clip), and
// returns the box it covers (empty when it draws nothing).
static struct draw_box emit_rect(struct draw_list *list, const struct tree_root *root,
		const struct tree_node *node, const struct affine *world, float opacity,
		const struct tree_frame *f, bool *ok) {
	static const struct draw_box none = { 0, 0, 0, 0 };
	const struct tree_extra *e = tree_node_extra(root, node);
	uint32_t fill = premultiply(node->rgba, opacity);
	float half = minf(node->width, node->height) / 2;
	float border = minf(e->u.rect.border, half);
	uint32_t border_rgba = border > 0 ? premultiply(e->u.rect.border_rgba, opacity) : 0;
	if ((fill & 0xff) == 0 && (border_rgba & 0xff) == 0) {
		return none;
	}
	struct draw_item *item = place_item(list, world, node->width, node->height, f,
		DRAW_RECT, ok);
	if (item == NULL) {
		return none;
	}
	item->rect.world = *world;
	item->rect.width = node->width;
	item->rect.height = node->height;
	item->rect.radius = minf(e->u.rect.radius, half);
	item->rect.border = border;
	item->rect.fill = fill;
	item->rect.border_rgba = border_rgba;
	return item->bounds;
}

// The draw item of an image node; its box on screen, or an empty one when it draws
// nothing. *@changed: its texture's pixels changed since the last frame.
static struct draw_box emit_image(struct draw_list *list, const struct tree *tree,
		const struct tree_root *root, const struct tree_node *node,
		const struct affine *world, float opacity, const struct tree_frame *f, bool *ok,
		bool *changed) {
	static const struct draw_box none = { 0, 0, 0, 0 };
	const struct tree_extra *e = extra_of(root, node);
	const struct tree_texture *t = e->u.image.texture;
	*changed = false;
	float w, h;
	tree_image_extent(root, node, &w, &h);
	uint32_t a = (uint32_t)(opacity * 255.0f + 0.5f);
	if (t == NULL || t->name == 0 || a == 0 || !(w > 0.0f && h > 0.0f)) {
		return none;
	}
	struct draw_item *item = place_item(list, world, w, h, f, DRAW_IMAGE, ok);
	if (item == NULL) {
		return none;
	}
	*changed = t->changed == tree->builds;
	struct image_source src = image_source(e);
	item->image.world = (struct affine){ world->a * w, world->b * w, world->c * h,
		world->d * h, world->e, world->f };
	float tw = (float)t->tex_width, th = (float)t->tex_height;
	item->image.u0 = ((float)t->x + src.x) / tw;
	item->image.v0 = ((float)t->y + src.y) / th;
	item->image.u1 = ((float)t->x + src.x + src.w) / tw;
	item->image.v1 = ((float)t->y + src.y + src.h) / th;
	item->image.texture = t->name;
	item->image.tint = a << 24 | a << 16 | a << 8 | a;
	return item->bounds;
}

// The draw items of a text node's glyphs; the box they cover on screen.
static struct draw_box emit_text(struct draw_list *list, const struct tree_root *root,
		const struct tree_node *node, const struct affine *world, float opacity,
		const struct tree_frame *f, bool *ok) {
	struct draw_box covers = { 0, 0, 0, 0 };
	const struct tree_text *t = extra_of(root, node)->u.text.text;
	uint32_t tint = premultiply(node->rgba, opacity);
	uint32_t a = (uint32_t)(opacity * 255.0f + 0.5f);
	uint32_t white = a << 24 | a << 16 | a << 8 | a;
	if (t == NULL || a == 0) {
		return covers;
	}
	for (uint32_t i = 0; i < t->len; i++) {
		const struct tree_glyph *g = &t->glyphs[i];
		if (!g->color && (tint & 0xff) == 0) {
			continue;
		}
		// The glyph's quad: the node's space moved to it and scaled to its size.
		struct affine at = { world->a, world->b, world->c, world->d,
			world->e + world->a * g->x + world->c * g->y,
			world->f + world->b * g->x + world->d * g->y };
		struct draw_item *item = place_item(list, &at, g->w, g->h, f,
			g->color ? DRAW_IMAGE : DRAW_GLYPH, ok);
		if (item == NULL) {
			if (!*ok) {
				return covers;
			}
			continue;
		}
		item->image.world = (struct affine){ at.a * g->w, at.b * g->w, at.c * g->h,
			at.d * g->h, at.e, at.f };
		item->image.u0 = g->u0;
		item->image.v0 = g->v0;
		item->image.u1 = g->u1;
		item->image.v1 = g->v1;
		item->image.texture = g->texture;
		item->image.tint = g->color ? white : tint;
		covers = box_union(&covers, &item->bounds);
	}
	return covers;
}

// Opens @group's clip for its children in @g (the frame just pushed), inside @f's.
static bool push_clip(struct draw_list *list, const struct tree_node *group,
		const struct tree_frame *f, struct tree_frame *g) {
	if (!reserve((void **)&list->clips, &list->clip_cap, list->clip_len, sizeof *list->clips)) {
		return false;
	}
	struct draw_clip *clip = &list->clips[list->clip_len];
	struct draw_box box = affine_box(&g->world, group->width, group->height);
	const struct draw_clip *parent = f->clip != DRAW_NO_CLIP ? &list->clips[f->clip] : NULL;
	*clip = (struct draw_clip){
		.world = g->world, .width = group->width, .height = group->height,
		.box = box_intersect(&box, &f->clip_box),
		.parent = f->clip,
		.depth = (uint16_t)(parent ? parent->depth + 1 : 1),
		.axis_aligned = affine_axis_aligned(&g->world) && (!parent || parent->axis_aligned),
	};
	g->clip = (uint32_t)list->clip_len++;
	g->clip_box = clip->box;
	return true;
}

// Draws @root's tree into tree->list, back to front, without recursion.
static bool build_root(struct tree *tree, struct tree_root *root) {
	struct draw_list *list = &tree->list;
	struct tree_frame *stack = tree->stack;
	unsigned top = 0;
	bool ok = true;
	stack[0] = (struct tree_frame){
		.world = affine_identity, .opacity = 1, .clip = DRAW_NO_CLIP,
		.clip_box = { 0, 0, tree->width, tree->height }, .group = &root->node,
		.layer_item = UINT32_MAX,
	};
	root->node.flags &= (uint8_t)~TREE_DIRTY;
	struct tree_node *node = first_child(root, &root->node);
	for (;;) {
		if (node == NULL) {
			// Every child of the group on top of the stack is drawn.
			struct tree_frame *f = &stack[top];
			if (f->layer_item != UINT32_MAX) {
				struct draw_item *end = new_item(list);
				if (end == NULL) {
					return false;
				}
				struct draw_item *begin = &list->items[f->layer_item];
				begin->bounds = f->drawn;
				*end = *begin;
				end->kind = DRAW_LAYER_END;
			}
			extra_of(root, f->group)->u.group.drawn = f->drawn;
			if (f->self_dirty && !(top > 0 && stack[top - 1].dirty)) {
				damage_add(tree, f->drawn);
			}
			if (top == 0) {
				return ok;
			}
			stack[top - 1].drawn = box_union(&stack[top - 1].drawn, &f->drawn);
			node = next_sibling(root, f->group);
			top--;
			continue;
		}
		struct tree_frame *f = &stack[top];
		bool was_dirty = node->flags & TREE_DIRTY;
		node->flags &= (uint8_t)~TREE_DIRTY;
		if (!shows(root, node)) {
			node = next_sibling(root, node);
			continue;
		}
		struct affine local = local_of(root, node);
		struct affine world = affine_mul(&f->world, &local);
		float opacity = f->opacity * tree_node_extra(root, node)->opacity;
		if (node->kind != TREE_GROUP) {
			bool pixels_changed = false;
			struct draw_box box = node->kind == TREE_IMAGE
				? emit_image(list, tree, root, node, &world, opacity, f, &ok,
					&pixels_changed)
				: node->kind == TREE_TEXT
				? emit_text(list, root, node, &world, opacity, f, &ok)
				: emit_rect(list, root, node, &world, opacity, f, &ok);
			if (!ok) {
				return false;
			}
			was_dirty |= pixels_changed;
			f->drawn = box_union(&f->drawn, &box);
			if (was_dirty && !f->dirty) {
				damage_add(tree, box);
			}
			node = next_sibling(root, node);
			continue;
		}
		// Attaching checks the depth limit, so the stack has room.
		assert(top < tree->max_depth);
		struct tree_frame *g = &stack[++top];
		*g = (struct tree_frame){
			.world = world, .opacity = opacity, .clip = f->clip, .clip_box = f->clip_box,
			.group = node, .layer_item = UINT32_MAX,
			.dirty = f->dirty || was_dirty, .self_dirty = was_dirty,
		};
		if ((node->flags & TREE_CLIP) && !push_clip(list, node, f, g)) {
			return false;
		}
		if ((node->flags & TREE_ISOLATE) && opacity < 1.0f) {
			// True group opacity: the children are drawn opaque into a layer, which is
			// drawn with the group's opacity.
			struct draw_item *begin = new_item(list);
			if (begin == NULL) {
				return false;
			}
			*begin = (struct draw_item){ .kind = DRAW_LAYER_BEGIN, .clip = f->clip,
				.layer.opacity = opacity };
			g->layer_item = (uint32_t)(list->len - 1);
			g->opacity = 1.0f;
		}
		node = first_child(root, node);
	}
}

bool tree_root_on_screen(const struct tree *tree, const struct tree_root *root) {
	if (root->node.extra == 0) {
		return false;
	}
	struct draw_box b = extra_of(root, &root->node)->u.group.drawn;
	return b.x0 < b.x1 && b.y0 < b.y1 && b.x1 > 0 && b.y1 > 0 &&
		b.x0 < tree->width && b.y0 < tree->height;
}

bool tree_build(struct tree *tree) {
	struct draw_list *list = &tree->list;
	list->len = 0;
	list->clip_len = 0;
	list->damage_len = 0;
	list->background = tree->background;
	bool ok = true;
	for (int l = 0; l < TREE_LAYERS && ok; l++) {
		struct list *pos, *tmp;
		list_for_each_safe(pos, tmp, &tree->layers[l]) {
			struct tree_root *root = list_entry(pos, struct tree_root, link);
			if (!build_root(tree, root)) {
				ok = false;
				break;
			}
		}
	}
	uint64_t area = 0;
	for (uint32_t i = 0; i < tree->damage_len; i++) {
		area += box_area(&tree->damage[i]);
	}
	list->full = !ok || tree->full_damage ||
		(double)area > FULL_DAMAGE_SHARE * (double)tree->width * (double)tree->height;
	if (!list->full && tree->damage_len > 0) {
		if (list->damage_cap < tree->damage_len) {
			size_t cap = sizeof tree->damage / sizeof tree->damage[0];
			struct draw_box *damage = realloc(list->damage, cap * sizeof *damage);
			if (damage == NULL) {
				list->full = true;
			} else {
				list->damage = damage;
				list->damage_cap = cap;
			}
		}
		if (!list->full) {
			memcpy(list->damage, tree->damage, tree->damage_len * sizeof *tree->damage);
			list->damage_len = tree->damage_len;
		}
	}
	if (!ok) {
		list->len = 0;
		list->clip_len = 0;
	}
	tree->damage_len = 0;
	tree->changed = false;
	tree->builds++;
	// A frame that failed leaves the dirty marks it did not reach: the next is full.
	tree->full_damage = !ok;
	return ok;
}
