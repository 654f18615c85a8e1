/*
 * Unit tests of the scene tree, with no GL: transform composition, sibling order and
 * layers, opacity down the tree and in layers, clips (rotated too), the depth limit,
 * cycles, subtree walks, and the damage each kind of change makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cglm/cglm.h>

#include "transform.h"
#include "tree.h"

#define W 1280
#define H 720

struct fixture {
	struct tree tree;
	struct tree_root root;
	struct tree_node nodes[64];
};

static int setup(void **state) {
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL || !tree_init(&f->tree, 0x000000ff, W, H, 8) ||
			!tree_root_init(&f->tree, &f->root, TREE_LAYER_NORMAL)) {
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fixture *f = *state;
	tree_root_finish(&f->tree, &f->root);
	tree_finish(&f->tree);
	free(f);
	return 0;
}

static void near(double got, double want) {
	if (fabs(got - want) > 1e-3) {
		fail_msg("got %f, expected %f", got, want);
	}
}

// A node of @kind at (x, y), w x h, attached on top of @parent (NULL: the root).
static struct tree_node *add(struct fixture *f, int i, enum tree_kind kind,
		struct tree_node *parent, float x, float y, float w, float h) {
	struct tree_node *n = &f->nodes[i];
	assert_true(tree_node_init(&f->root, n, kind));
	struct tree_props p;
	tree_node_props(&f->root, n, &p);
	p.x = x;
	p.y = y;
	p.width = w;
	p.height = h;
	assert_true(tree_node_set_props(&f->tree, &f->root, n, &p));
	assert_int_equal(tree_node_attach(&f->tree, &f->root, n,
		parent ? parent : &f->root.node, NULL, true), TREE_ATTACH_OK);
	return n;
}

static void set(struct fixture *f, struct tree_node *n, void (*edit)(struct tree_props *)) {
	struct tree_props p;
	tree_node_props(&f->root, n, &p);
	edit(&p);
	assert_true(tree_node_set_props(&f->tree, &f->root, n, &p));
}

static void build(struct fixture *f) {
	assert_true(tree_build(&f->tree));
}

static const struct draw_item *item(struct fixture *f, size_t i) {
	assert_true(i < f->tree.list.len);
	return &f->tree.list.items[i];
}

static uint64_t damage_area(const struct draw_list *l) {
	uint64_t a = 0;
	for (size_t i = 0; i < l->damage_len; i++) {
		a += box_area(&l->damage[i]);
	}
	return a;
}

static bool damage_holds(const struct draw_list *l, struct draw_box b) {
	for (size_t i = 0; i < l->damage_len; i++) {
		const struct draw_box *d = &l->damage[i];
		if (d->x0 <= b.x0 && d->y0 <= b.y0 && d->x1 >= b.x1 && d->y1 >= b.y1) {
			return true;
		}
	}
	return false;
}

// --- transforms

static void test_local_transform(void **state) {
	(void)state;
	// 30 degrees about the centre of a 100 x 50 node placed at (200, 100), scaled 2 x 1.
	struct node_placement p = { .x = 200, .y = 100, .width = 100, .height = 50,
		.anchor_x = 0.5f, .anchor_y = 0.5f, .rotation = 30, .scale_x = 2, .scale_y = 1 };
	struct affine t = node_local_transform(&p);
	double c = cos(GLM_PI / 6), s = sin(GLM_PI / 6);
	// The anchor lands on (x, y).
	float ox, oy;
	affine_apply(&t, 50, 25, &ox, &oy);
	near(ox, 200);
	near(oy, 100);
	// The local corner (100, 50) is (50, 25) from the anchor: scaled to (100, 25), then
	// turned clockwise on screen (y down).
	affine_apply(&t, 100, 50, &ox, &oy);
	near(ox, 200 + 100 * c - 25 * s);
	near(oy, 100 + 100 * s + 25 * c);
	// Quarter turns are exact: a 90-degree turn has no rounding in b and c.
	struct node_placement q = { .width = 10, .height = 10, .rotation = 90,
		.scale_x = 1, .scale_y = 1 };
	t = node_local_transform(&q);
	assert_true(t.a == 0.0f && t.b == 1.0f && t.c == -1.0f && t.d == 0.0f);
	q.rotation = -180;
	t = node_local_transform(&q);
	assert_true(t.a == -1.0f && t.b == 0.0f && t.c == 0.0f && t.d == -1.0f);
	assert_true(affine_axis_aligned(&t));
	q.rotation = 45;
	t = node_local_transform(&q);
	assert_false(affine_axis_aligned(&t));
}

static void test_compose_matches_cglm(void **state) {
	(void)state;
	struct affine outer = { 0.8f, 0.6f, -0.6f, 0.8f, 10, 20 };
	struct affine inner = { 2, 0.5f, -1, 3, -7, 4 };
	struct affine r = affine_mul(&outer, &inner);
	mat3 a = { { outer.a, outer.b, 0 }, { outer.c, outer.d, 0 }, { outer.e, outer.f, 1 } };
	mat3 b = { { inner.a, inner.b, 0 }, { inner.c, inner.d, 0 }, { inner.e, inner.f, 1 } };
	mat3 m;
	glm_mat3_mul(a, b, m);
	near(r.a, m[0][0]);
	near(r.b, m[0][1]);
	near(r.c, m[1][0]);
	near(r.d, m[1][1]);
	near(r.e, m[2][0]);
	near(r.f, m[2][1]);
	struct affine moved = affine_translated(&outer, 3, 4);
	struct affine translate = { 1, 0, 0, 1, 3, 4 };
	struct affine same = affine_mul(&outer, &translate);
	near(moved.e, same.e);
	near(moved.f, same.f);
}

static void test_box(void **state) {
	(void)state;
	struct affine t = { 1, 0, 0, 1, 10.5f, 20 };
	struct draw_box b = affine_box(&t, 5, 5);
	assert_int_equal(b.x0, 10);
	assert_int_equal(b.x1, 16);
	assert_int_equal(b.y0, 20);
	assert_int_equal(b.y1, 25);
	// A square turned 45 degrees about its centre: its box grows to the diagonal.
	struct node_placement p = { .x = 100, .y = 100, .width = 20, .height = 20,
		.anchor_x = 0.5f, .anchor_y = 0.5f, .rotation = 45, .scale_x = 1, .scale_y = 1 };
	t = node_local_transform(&p);
	b = affine_box(&t, 20, 20);
	assert_int_equal(b.x0, (int)floor(100 - 10 * sqrt(2)));
	assert_int_equal(b.x1, (int)ceil(100 + 10 * sqrt(2)));
	struct draw_box e = affine_box(&t, 0, 20);
	assert_true(box_empty(&e));
}

// --- structure and order

static void test_group_children_compose(void **state) {
	struct fixture *f = *state;
	struct tree_node *g = add(f, 0, TREE_GROUP, NULL, 100, 50, 200, 200);
	add(f, 1, TREE_RECT, g, 10, 20, 30, 40);
	build(f);
	assert_int_equal(f->tree.list.len, 1);
	const struct draw_item *it = item(f, 0);
	assert_int_equal(it->kind, DRAW_RECT);
	near(it->rect.world.e, 110);
	near(it->rect.world.f, 70);
	assert_int_equal(it->bounds.x0, 110);
	assert_int_equal(it->bounds.y1, 110);
	assert_int_equal(it->rect.fill, 0xffffffffu);
	assert_int_equal(it->clip, DRAW_NO_CLIP);
}

static void order_is(struct fixture *f, const int *expect, size_t n) {
	build(f);
	assert_int_equal(f->tree.list.len, n);
	for (size_t i = 0; i < n; i++) {
		// Each test rect sits at x = its index.
		if ((int)item(f, i)->rect.world.e != expect[i]) {
			fail_msg("position %zu holds rect %d, expected %d", i,
				(int)item(f, i)->rect.world.e, expect[i]);
		}
	}
}

static void test_sibling_order(void **state) {
	struct fixture *f = *state;
	struct tree_node *n[4];
	for (int i = 0; i < 4; i++) {
		n[i] = add(f, i, TREE_RECT, NULL, (float)i, 0, 10, 10);
	}
	order_is(f, (int[]){ 0, 1, 2, 3 }, 4);
	struct tree *t = &f->tree;
	struct tree_node *root = &f->root.node;
	assert_int_equal(tree_node_attach(t, &f->root, n[3], root, NULL, false), TREE_ATTACH_OK);
	order_is(f, (int[]){ 3, 0, 1, 2 }, 4);
	assert_int_equal(tree_node_attach(t, &f->root, n[3], root, n[1], true), TREE_ATTACH_OK);
	order_is(f, (int[]){ 0, 1, 3, 2 }, 4);
	assert_int_equal(tree_node_attach(t, &f->root, n[2], root, n[0], false), TREE_ATTACH_OK);
	order_is(f, (int[]){ 2, 0, 1, 3 }, 4);
	assert_int_equal(tree_node_attach(t, &f->root, n[2], root, n[3], true), TREE_ATTACH_OK);
	order_is(f, (int[]){ 0, 1, 3, 2 }, 4);
	assert_int_equal(tree_node_attach(t, &f->root, n[2], root, n[2], true),
		TREE_ATTACH_SIBLING);
	tree_node_detach(t, &f->root, n[1]);
	order_is(f, (int[]){ 0, 3, 2 }, 3);
	tree_node_finish(&f->root, n[1]);
}

static void test_layers_and_raise(void **state) {
	struct fixture *f = *state;
	struct tree_root over, back, other;
	assert_true(tree_root_init(&f->tree, &over, TREE_LAYER_OVERLAY));
	assert_true(tree_root_init(&f->tree, &back, TREE_LAYER_BACKGROUND));
	assert_true(tree_root_init(&f->tree, &other, TREE_LAYER_NORMAL));
	struct tree_root *roots[] = { &f->root, &over, &back, &other };
	struct tree_node n[4];
	for (int i = 0; i < 4; i++) {
		assert_true(tree_node_init(roots[i], &n[i], TREE_RECT));
		n[i].x = (float)i;
		n[i].width = n[i].height = 4;
		assert_int_equal(tree_node_attach(&f->tree, roots[i], &n[i], &roots[i]->node,
			NULL, true), TREE_ATTACH_OK);
	}
	order_is(f, (int[]){ 2, 0, 3, 1 }, 4);
	tree_root_raise(&f->tree, &f->root);
	order_is(f, (int[]){ 2, 3, 0, 1 }, 4);
	// A client raises itself within its layer only.
	tree_root_raise(&f->tree, &back);
	order_is(f, (int[]){ 2, 3, 0, 1 }, 4);
	tree_root_finish(&f->tree, &over);
	tree_root_finish(&f->tree, &back);
	tree_root_finish(&f->tree, &other);
	order_is(f, (int[]){ 0 }, 1);
}

static void test_cycles_and_kinds(void **state) {
	struct fixture *f = *state;
	struct tree_node *a = add(f, 0, TREE_GROUP, NULL, 0, 0, 10, 10);
	struct tree_node *b = add(f, 1, TREE_GROUP, a, 0, 0, 10, 10);
	struct tree_node *r = add(f, 2, TREE_RECT, b, 0, 0, 10, 10);
	struct tree *t = &f->tree;
	assert_int_equal(tree_node_attach(t, &f->root, a, b, NULL, true), TREE_ATTACH_CYCLE);
	assert_int_equal(tree_node_attach(t, &f->root, a, a, NULL, true), TREE_ATTACH_CYCLE);
	assert_int_equal(tree_node_attach(t, &f->root, a, r, NULL, true), TREE_ATTACH_NOT_GROUP);
	assert_int_equal(tree_node_attach(t, &f->root, r, a, b, false), TREE_ATTACH_OK);
	assert_int_equal(r->depth, 2);
	// Nothing moved on refusal: b still holds nothing, a holds r below b.
	assert_ptr_equal(r->parent, a);
	assert_ptr_equal(r->next, b);
}

static void test_depth_limit(void **state) {
	struct fixture *f = *state; // max_depth 8
	struct tree_node *parent = NULL;
	for (int i = 0; i < 8; i++) {
		parent = add(f, i, TREE_GROUP, parent, 1, 1, 100, 100);
		assert_int_equal(parent->depth, i + 1);
	}
	struct tree_node *r = &f->nodes[20];
	assert_true(tree_node_init(&f->root, r, TREE_RECT));
	r->width = r->height = 5;
	assert_int_equal(tree_node_attach(&f->tree, &f->root, r, parent, NULL, true),
		TREE_ATTACH_DEPTH);
	assert_int_equal(tree_node_attach(&f->tree, &f->root, r, parent->parent, NULL, true),
		TREE_ATTACH_OK);
	// Moving the chain's second group (depth 2, its deepest at 8) under a new group at
	// depth 2 would put its deepest at 9.
	struct tree_node *g = add(f, 22, TREE_GROUP, add(f, 21, TREE_GROUP, NULL, 0, 0, 1, 1),
		0, 0, 1, 1);
	assert_int_equal(tree_node_attach(&f->tree, &f->root, &f->nodes[1], g, NULL, true),
		TREE_ATTACH_DEPTH);
	// A detached subtree counts from 1: the chain from nodes[1] down is 7 deep + 1.
	tree_node_detach(&f->tree, &f->root, &f->nodes[1]);
	assert_int_equal(f->nodes[1].depth, 1);
	assert_int_equal(parent->depth, 7);
	assert_int_equal(tree_node_attach(&f->tree, &f->root, &f->nodes[1], &f->root.node,
		NULL, true), TREE_ATTACH_OK);
	assert_int_equal(parent->depth, 7);
	build(f);
	assert_int_equal(f->tree.list.len, 1);
	// A deep tree builds without recursion: 4,096 nested groups in a tree that allows it.
	struct tree deep;
	struct tree_root root;
	assert_true(tree_init(&deep, 0, W, H, 4096));
	assert_true(tree_root_init(&deep, &root, TREE_LAYER_NORMAL));
	struct tree_node *chain = calloc(4097, sizeof *chain);
	assert_non_null(chain);
	struct tree_node *p = &root.node;
	for (int i = 0; i < 4097; i++) {
		assert_true(tree_node_init(&root, &chain[i], i < 4096 ? TREE_GROUP : TREE_RECT));
		chain[i].width = chain[i].height = 4;
		chain[i].x = i < 4096 ? 0.25f : 0;
		enum tree_attach_error rc = tree_node_attach(&deep, &root, &chain[i], p, NULL, true);
		assert_int_equal(rc, i < 4096 ? TREE_ATTACH_OK : TREE_ATTACH_DEPTH);
		p = &chain[i];
	}
	chain[4096].width = 1;
	assert_int_equal(tree_node_attach(&deep, &root, &chain[4096], &chain[4094], NULL, true),
		TREE_ATTACH_OK);
	assert_true(tree_build(&deep));
	assert_int_equal(deep.list.len, 1);
	near(deep.list.items[0].rect.world.e, 4095 * 0.25);
	tree_root_finish(&deep, &root);
	tree_finish(&deep);
	free(chain);
}

static void test_subtree_walk(void **state) {
	struct fixture *f = *state;
	struct tree_node *a = add(f, 0, TREE_GROUP, NULL, 0, 0, 10, 10);
	struct tree_node *b = add(f, 1, TREE_GROUP, a, 0, 0, 10, 10);
	struct tree_node *c = add(f, 2, TREE_RECT, b, 0, 0, 10, 10);
	struct tree_node *d = add(f, 3, TREE_RECT, b, 0, 0, 10, 10);
	struct tree_node *e = add(f, 4, TREE_RECT, a, 0, 0, 10, 10);
	struct tree_node *keep = add(f, 5, TREE_RECT, NULL, 0, 0, 10, 10);
	struct tree_node *expect[] = { c, d, b, e, a };
	tree_node_detach(&f->tree, &f->root, a);
	size_t i = 0;
	struct tree_node *next;
	for (struct tree_node *n = tree_subtree_first(&f->root, a); n != NULL; n = next) {
		next = tree_subtree_next(&f->root, a, n);
		assert_true(i < 5);
		assert_ptr_equal(n, expect[i]);
		i++;
		// Freed as the walk goes, as a destroy does: the walk must not read it again.
		tree_node_finish(&f->root, n);
		memset(n, 0xa5, sizeof *n);
	}
	assert_int_equal(i, 5);
	build(f);
	assert_int_equal(f->tree.list.len, 1);
	assert_ptr_equal(f->root.node.prev, &f->root.node); // untouched by the subtree
	(void)keep;
	// The freed extras are reused.
	uint32_t len = f->root.extras_len;
	assert_true(tree_node_init(&f->root, &f->nodes[10], TREE_GROUP));
	assert_true(tree_node_init(&f->root, &f->nodes[11], TREE_GROUP));
	assert_int_equal(f->root.extras_len, len);
}

// --- opacity and clips

static void half(struct tree_props *p) {
	p->opacity = 0.5f;
}

static void test_opacity_multiplies(void **state) {
	struct fixture *f = *state;
	struct tree_node *g = add(f, 0, TREE_GROUP, NULL, 0, 0, 100, 100);
	struct tree_node *inner = add(f, 1, TREE_GROUP, g, 0, 0, 100, 100);
	struct tree_node *r = add(f, 2, TREE_RECT, inner, 0, 0, 10, 10);
	r->rgba = 0xff8040ffu;
	set(f, g, half);
	set(f, inner, half);
	build(f);
	assert_int_equal(f->tree.list.len, 1);
	// 255 * 0.25 = 63.75 -> 64; colours premultiplied by 64/255.
	uint32_t fill = item(f, 0)->rect.fill;
	assert_int_equal(fill & 0xff, 64);
	assert_int_equal(fill >> 24, (255 * 64 + 127) / 255);
	assert_int_equal((fill >> 16) & 0xff, (0x80 * 64 + 127) / 255);
	assert_int_equal((fill >> 8) & 0xff, (0x40 * 64 + 127) / 255);
	// Opacity 0 or hidden: nothing drawn.
	struct tree_props p;
	tree_node_props(&f->root, g, &p);
	p.opacity = 0;
	assert_true(tree_node_set_props(&f->tree, &f->root, g, &p));
	build(f);
	assert_int_equal(f->tree.list.len, 0);
	p.opacity = 1;
	p.flags &= (uint8_t)~TREE_VISIBLE;
	assert_true(tree_node_set_props(&f->tree, &f->root, g, &p));
	build(f);
	assert_int_equal(f->tree.list.len, 0);
}

static void isolate_half(struct tree_props *p) {
	p->opacity = 0.5f;
	p->flags |= TREE_ISOLATE;
}

static void test_group_opacity_layer(void **state) {
	struct fixture *f = *state;
	struct tree_node *g = add(f, 0, TREE_GROUP, NULL, 10, 10, 100, 100);
	add(f, 1, TREE_RECT, g, 0, 0, 20, 20);
	add(f, 2, TREE_RECT, g, 10, 10, 20, 20);
	set(f, g, isolate_half);
	build(f);
	assert_int_equal(f->tree.list.len, 4);
	assert_int_equal(item(f, 0)->kind, DRAW_LAYER_BEGIN);
	near(item(f, 0)->layer.opacity, 0.5);
	// Inside the layer, children are drawn at full opacity.
	assert_int_equal(item(f, 1)->rect.fill, 0xffffffffu);
	assert_int_equal(item(f, 2)->rect.fill, 0xffffffffu);
	assert_int_equal(item(f, 3)->kind, DRAW_LAYER_END);
	struct draw_box b = item(f, 0)->bounds;
	assert_int_equal(b.x0, 10);
	assert_int_equal(b.y0, 10);
	assert_int_equal(b.x1, 40);
	assert_int_equal(b.y1, 40);
	// At opacity 1 an isolated group needs no layer.
	struct tree_props p;
	tree_node_props(&f->root, g, &p);
	p.opacity = 1;
	assert_true(tree_node_set_props(&f->tree, &f->root, g, &p));
	build(f);
	assert_int_equal(f->tree.list.len, 2);
}

static void clip_on(struct tree_props *p) {
	p->flags |= TREE_CLIP;
}

static void turn_30(struct tree_props *p) {
	p->rotation = 30;
}

static void test_clips(void **state) {
	struct fixture *f = *state;
	struct tree_node *g = add(f, 0, TREE_GROUP, NULL, 100, 100, 50, 50);
	set(f, g, clip_on);
	add(f, 1, TREE_RECT, g, 40, 40, 30, 30);   // half outside
	add(f, 2, TREE_RECT, g, 60, 60, 10, 10);   // all outside: culled
	struct tree_node *inner = add(f, 3, TREE_GROUP, g, 10, 10, 20, 20);
	set(f, inner, clip_on);
	add(f, 4, TREE_RECT, inner, 0, 0, 100, 100);
	build(f);
	const struct draw_list *l = &f->tree.list;
	assert_int_equal(l->len, 2);
	assert_int_equal(l->clip_len, 2);
	const struct draw_clip *outer = &l->clips[0], *nested = &l->clips[1];
	assert_true(outer->axis_aligned);
	assert_int_equal(outer->depth, 1);
	assert_int_equal(outer->parent, DRAW_NO_CLIP);
	assert_int_equal(outer->box.x0, 100);
	assert_int_equal(outer->box.x1, 150);
	assert_int_equal(nested->parent, 0);
	assert_int_equal(nested->depth, 2);
	assert_int_equal(nested->box.x0, 110);
	assert_int_equal(nested->box.x1, 130);
	// The first rect is cut to the clip's box; the inner one to the nested clip.
	assert_int_equal(item(f, 0)->clip, 0);
	assert_int_equal(item(f, 0)->bounds.x1, 150);
	assert_int_equal(item(f, 0)->bounds.x0, 140);
	assert_int_equal(item(f, 1)->clip, 1);
	assert_int_equal(item(f, 1)->bounds.x0, 110);
	assert_int_equal(item(f, 1)->bounds.x1, 130);
	// Turned 30 degrees, the clip is no longer a box: it needs the stencil.
	set(f, g, turn_30);
	build(f);
	assert_false(l->clips[0].axis_aligned);
	assert_false(l->clips[1].axis_aligned);
	near(l->clips[0].world.a, cos(GLM_PI / 6));
	near(l->clips[0].world.b, sin(GLM_PI / 6));
	struct draw_box rb = affine_box(&l->clips[0].world, 50, 50);
	assert_int_equal(l->clips[0].box.x0, rb.x0);
	assert_int_equal(l->clips[0].box.y1, rb.y1);
}

// --- damage

static void move_right(struct tree_props *p) {
	p->x += 40;
}

static void test_damage_first_and_idle(void **state) {
	struct fixture *f = *state;
	add(f, 0, TREE_RECT, NULL, 10, 10, 10, 10);
	build(f);
	assert_true(f->tree.list.full);
	build(f);
	assert_false(f->tree.list.full);
	assert_int_equal(f->tree.list.damage_len, 0);
	// Setting what is already there changes nothing.
	struct tree_props p;
	tree_node_props(&f->root, &f->nodes[0], &p);
	assert_true(tree_node_set_props(&f->tree, &f->root, &f->nodes[0], &p));
	build(f);
	assert_int_equal(f->tree.list.damage_len, 0);
	tree_resize(&f->tree, 640, 480);
	build(f);
	assert_true(f->tree.list.full);
}

static void test_damage_moving_rect_over_many(void **state) {
	struct fixture *f = *state;
	struct tree_root big;
	assert_true(tree_root_init(&f->tree, &big, TREE_LAYER_NORMAL));
	struct tree_node *grid = calloc(10000, sizeof *grid);
	assert_non_null(grid);
	for (int i = 0; i < 10000; i++) {
		assert_true(tree_node_init(&big, &grid[i], TREE_RECT));
		grid[i].x = (float)(i % 100) * 12;
		grid[i].y = (float)(i / 100) * 7;
		grid[i].width = grid[i].height = 6;
		assert_int_equal(tree_node_attach(&f->tree, &big, &grid[i], &big.node, NULL, true),
			TREE_ATTACH_OK);
	}
	struct tree_node *mover = add(f, 0, TREE_RECT, NULL, 300, 300, 32, 32);
	build(f);
	assert_true(f->tree.list.full);
	set(f, mover, move_right);
	build(f);
	const struct draw_list *l = &f->tree.list;
	assert_false(l->full);
	assert_int_equal(l->len, 10001);
	// Old (300..332) and new (340..372) boxes; at most twice their area.
	assert_true(damage_holds(l, (struct draw_box){ 300, 300, 332, 332 }));
	assert_true(damage_holds(l, (struct draw_box){ 340, 300, 372, 332 }));
	assert_true(damage_area(l) <= 2 * 2 * 32 * 32);
	tree_root_finish(&f->tree, &big);
	free(grid);
	// The gone tree damages what it covered: nearly everything, so a full repaint.
	build(f);
	assert_true(f->tree.list.full);
}

static void test_damage_group_and_hidden(void **state) {
	struct fixture *f = *state;
	struct tree_node *g = add(f, 0, TREE_GROUP, NULL, 100, 100, 10, 10);
	add(f, 1, TREE_RECT, g, 0, 0, 20, 20);
	add(f, 2, TREE_RECT, g, 30, 0, 20, 20);
	build(f);
	// Turning the group damages its old box (100..150 x 100..120) and its new one.
	struct tree_props p;
	tree_node_props(&f->root, g, &p);
	p.rotation = 90;
	assert_true(tree_node_set_props(&f->tree, &f->root, g, &p));
	// A change under a changed group adds nothing of its own.
	set(f, &f->nodes[1], move_right);
	build(f);
	const struct draw_list *l = &f->tree.list;
	assert_false(l->full);
	assert_true(damage_holds(l, (struct draw_box){ 100, 100, 150, 120 }));
	// Turned 90 degrees about its corner: x from 100 - 20 to 100, y from 100 to 170.
	assert_true(damage_holds(l, (struct draw_box){ 80, 140, 100, 160 }));
	// A change inside a hidden group damages nothing.
	tree_node_props(&f->root, g, &p);
	p.flags &= (uint8_t)~TREE_VISIBLE;
	assert_true(tree_node_set_props(&f->tree, &f->root, g, &p));
	build(f);
	assert_true(l->damage_len > 0);
	set(f, &f->nodes[2], move_right);
	build(f);
	assert_int_equal(l->damage_len, 0);
	assert_false(l->full);
}

static void test_damage_structure(void **state) {
	struct fixture *f = *state;
	struct tree_node *a = add(f, 0, TREE_RECT, NULL, 10, 10, 10, 10);
	struct tree_node *g = add(f, 1, TREE_GROUP, NULL, 500, 500, 10, 10);
	build(f);
	assert_int_equal(tree_node_attach(&f->tree, &f->root, a, g, NULL, true), TREE_ATTACH_OK);
	build(f);
	const struct draw_list *l = &f->tree.list;
	assert_true(damage_holds(l, (struct draw_box){ 10, 10, 20, 20 }));
	assert_true(damage_holds(l, (struct draw_box){ 510, 510, 520, 520 }));
	tree_node_detach(&f->tree, &f->root, g);
	build(f);
	assert_true(damage_holds(l, (struct draw_box){ 510, 510, 520, 520 }));
	assert_int_equal(l->len, 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_transform),
		cmocka_unit_test(test_compose_matches_cglm),
		cmocka_unit_test(test_box),
		cmocka_unit_test_setup_teardown(test_group_children_compose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layers_and_raise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cycles_and_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subtree_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opacity_multiplies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_opacity_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_first_and_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_moving_rect_over_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_group_and_hidden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_structure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
