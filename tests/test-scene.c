/*
 * Unit tests of the scene, with no GL: drawing order by z then by first commit,
 * re-sorting, removal, and when the scene is marked damaged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "scene.h"

// A drawn rectangle at depth @z; padding bytes are zero.
static struct scene_rect_state rect(int32_t z) {
	struct scene_rect_state s;
	memset(&s, 0, sizeof s);
	s.x = 10;
	s.y = 20;
	s.width = 30;
	s.height = 40;
	s.rgba = 0x336699ff;
	s.z = z;
	s.visible = true;
	return s;
}

static void commit(struct scene *scene, struct scene_node *node, const struct scene_rect_state *s) {
	assert_true(scene_node_commit(scene, node, s));
	assert_true(node->in_scene);
}

// Checks that the drawing order is exactly @expect (@n nodes).
static void check_order(struct scene *scene, struct scene_node *const *expect, size_t n) {
	size_t count = 12345;
	struct scene_node *const *order = scene_ordered(scene, &count);
	assert_int_equal(count, n);
	assert_int_equal(scene->count, n);
	for (size_t i = 0; i < n; i++) {
		if (order[i] != expect[i]) {
			fail_msg("position %zu: node z=%d seq=%llu, expected z=%d seq=%llu", i,
				order[i]->state.z, (unsigned long long)order[i]->seq,
				expect[i]->state.z, (unsigned long long)expect[i]->seq);
		}
	}
}

#define CHECK_ORDER(scene, ...) \
	check_order(scene, (struct scene_node *const[]){ __VA_ARGS__ }, \
		sizeof((struct scene_node *const[]){ __VA_ARGS__ }) / sizeof(struct scene_node *))

static void test_empty(void **state) {
	struct scene scene;
	scene_init(&scene, 0x000000ff);
	assert_int_equal(scene.background, 0x000000ff);
	assert_true(scene.damaged);
	size_t count = 99;
	scene_ordered(&scene, &count);
	assert_int_equal(count, 0);

	// Removing a node that was never committed changes nothing.
	struct scene_node n;
	scene_node_init(&n, SCENE_NODE_RECT);
	assert_false(n.in_scene);
	scene.damaged = false;
	scene_node_remove(&scene, &n);
	assert_false(scene.damaged);
	assert_int_equal(scene.count, 0);
	scene_finish(&scene);
}

static void test_order_z_then_seq(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node n[6];
	static const int32_t z[6] = { 0, -5, 3, 0, -5, INT32_MIN };
	for (int i = 0; i < 6; i++) {
		scene_node_init(&n[i], SCENE_NODE_RECT);
		struct scene_rect_state s = rect(z[i]);
		commit(&scene, &n[i], &s);
		assert_int_equal(n[i].seq, i);
	}
	// Lowest z at the back; equal z in order of first commit.
	CHECK_ORDER(&scene, &n[5], &n[1], &n[4], &n[0], &n[3], &n[2]);
	// Asking twice gives the same answer.
	CHECK_ORDER(&scene, &n[5], &n[1], &n[4], &n[0], &n[3], &n[2]);
	scene_finish(&scene);
}

static void test_equal_z_keeps_commit_order(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node n[4];
	for (int i = 0; i < 4; i++) {
		scene_node_init(&n[i], SCENE_NODE_RECT);
	}
	// First commit order, not init or array order, decides.
	struct scene_rect_state s = rect(7);
	commit(&scene, &n[2], &s);
	commit(&scene, &n[0], &s);
	commit(&scene, &n[3], &s);
	commit(&scene, &n[1], &s);
	CHECK_ORDER(&scene, &n[2], &n[0], &n[3], &n[1]);
	scene_finish(&scene);
}

static void test_z_change_resorts(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node n[4];
	for (int i = 0; i < 4; i++) {
		scene_node_init(&n[i], SCENE_NODE_RECT);
		struct scene_rect_state s = rect(0);
		commit(&scene, &n[i], &s);
	}
	CHECK_ORDER(&scene, &n[0], &n[1], &n[2], &n[3]);

	struct scene_rect_state s = rect(10);
	commit(&scene, &n[0], &s);
	CHECK_ORDER(&scene, &n[1], &n[2], &n[3], &n[0]);
	s = rect(-1);
	commit(&scene, &n[3], &s);
	CHECK_ORDER(&scene, &n[3], &n[1], &n[2], &n[0]);
	// Back to a tie: the first commit order decides again, not the time of the change.
	s = rect(0);
	commit(&scene, &n[0], &s);
	commit(&scene, &n[3], &s);
	CHECK_ORDER(&scene, &n[0], &n[1], &n[2], &n[3]);
	assert_int_equal(n[0].seq, 0);
	assert_int_equal(n[3].seq, 3);

	// A re-commit that changes only the colour keeps seq and the order.
	s = rect(0);
	s.rgba = 0xff0000ff;
	commit(&scene, &n[1], &s);
	assert_int_equal(n[1].seq, 1);
	CHECK_ORDER(&scene, &n[0], &n[1], &n[2], &n[3]);
	scene_finish(&scene);
}

static void test_remove(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node n[4];
	for (int i = 0; i < 4; i++) {
		scene_node_init(&n[i], SCENE_NODE_RECT);
		struct scene_rect_state s = rect(i == 3 ? -1 : 0);
		commit(&scene, &n[i], &s);
	}
	CHECK_ORDER(&scene, &n[3], &n[0], &n[1], &n[2]);
	scene_node_remove(&scene, &n[1]);
	assert_false(n[1].in_scene);
	CHECK_ORDER(&scene, &n[3], &n[0], &n[2]);
	// A second remove is a no-op.
	scene_node_remove(&scene, &n[1]);
	assert_int_equal(scene.count, 3);
	scene_node_remove(&scene, &n[3]);
	CHECK_ORDER(&scene, &n[0], &n[2]);

	// Committed again after removal, it is new: it goes behind the others' ties.
	struct scene_rect_state s = rect(0);
	commit(&scene, &n[1], &s);
	assert_true(n[1].seq > n[2].seq);
	CHECK_ORDER(&scene, &n[0], &n[2], &n[1]);

	scene_node_remove(&scene, &n[0]);
	scene_node_remove(&scene, &n[1]);
	scene_node_remove(&scene, &n[2]);
	check_order(&scene, NULL, 0);
	assert_true(list_empty(&scene.nodes));
	scene_finish(&scene);
}

static void test_drawn(void **state) {
	struct scene_node n;
	scene_node_init(&n, SCENE_NODE_RECT);
	n.state = rect(0);
	assert_true(scene_node_drawn(&n));
	n.state.visible = false;
	assert_false(scene_node_drawn(&n));
	n.state = rect(0);
	n.state.width = 0;
	assert_false(scene_node_drawn(&n));
	n.state = rect(0);
	n.state.height = 0;
	assert_false(scene_node_drawn(&n));
	n.state = rect(0);
	n.state.rgba = 0xffffff00;
	assert_false(scene_node_drawn(&n));
	n.state.rgba = 0xffffff01;
	assert_true(scene_node_drawn(&n));
	n.state.rgba = 0x000000ff;
	assert_true(scene_node_drawn(&n));
	// Off-screen positions and negative z still draw (clipping is not the scene's job).
	n.state.x = -100000;
	n.state.z = INT32_MIN;
	n.state.width = n.state.height = 1;
	assert_true(scene_node_drawn(&n));
}

static void test_damage(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node a, b;
	scene_node_init(&a, SCENE_NODE_RECT);
	scene_node_init(&b, SCENE_NODE_RECT);

	// A drawn node's first commit damages.
	scene.damaged = false;
	struct scene_rect_state s = rect(0);
	commit(&scene, &a, &s);
	assert_true(scene.damaged);

	// The same state again does not.
	scene.damaged = false;
	struct scene_rect_state same = rect(0);
	commit(&scene, &a, &same);
	assert_false(scene.damaged);

	// Any drawn change does: position, size, colour, z.
	s.x = 11;
	commit(&scene, &a, &s);
	assert_true(scene.damaged);
	scene.damaged = false;
	s.height = 41;
	commit(&scene, &a, &s);
	assert_true(scene.damaged);
	scene.damaged = false;
	s.rgba = 0x336699fe;
	commit(&scene, &a, &s);
	assert_true(scene.damaged);
	scene.damaged = false;
	s.z = 4;
	commit(&scene, &a, &s);
	assert_true(scene.damaged);

	// An invisible node: its first commit and its changes draw nothing.
	scene.damaged = false;
	struct scene_rect_state hidden = rect(0);
	hidden.visible = false;
	commit(&scene, &b, &hidden);
	assert_false(scene.damaged);
	hidden.x = 500;
	hidden.rgba = 0x00ff00ff;
	commit(&scene, &b, &hidden);
	assert_false(scene.damaged);
	hidden.z = 9;
	commit(&scene, &b, &hidden);
	assert_false(scene.damaged);
	// ... but its order still changed.
	CHECK_ORDER(&scene, &a, &b);
	// Becoming visible damages, and so does becoming invisible again.
	hidden.visible = true;
	commit(&scene, &b, &hidden);
	assert_true(scene.damaged);
	scene.damaged = false;
	hidden.visible = false;
	commit(&scene, &b, &hidden);
	assert_true(scene.damaged);

	// Removing an undrawn node does not damage; removing a drawn one does.
	scene.damaged = false;
	scene_node_remove(&scene, &b);
	assert_false(scene.damaged);
	scene_node_remove(&scene, &a);
	assert_true(scene.damaged);
	assert_int_equal(scene.count, 0);
	scene_finish(&scene);
}

static void test_damage_transparent_and_empty(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node clear, empty;
	scene_node_init(&clear, SCENE_NODE_RECT);
	scene_node_init(&empty, SCENE_NODE_RECT);

	scene.damaged = false;
	struct scene_rect_state c = rect(0);
	c.rgba = 0x11223300;
	commit(&scene, &clear, &c);
	c.x = 99;
	commit(&scene, &clear, &c);
	assert_false(scene.damaged);
	c.rgba = 0x11223301;
	commit(&scene, &clear, &c);
	assert_true(scene.damaged);

	scene.damaged = false;
	struct scene_rect_state e = rect(0);
	e.width = 0;
	commit(&scene, &empty, &e);
	e.height = 700;
	e.y = -4;
	commit(&scene, &empty, &e);
	assert_false(scene.damaged);
	scene_node_remove(&scene, &empty);
	assert_false(scene.damaged);
	assert_int_equal(scene.count, 1);
	scene_node_remove(&scene, &clear);
	assert_true(scene.damaged);
	scene_finish(&scene);
}

// "Identical" means equal field values: padding bytes the caller never set are not
// part of what is drawn.
static void test_identical_values_different_padding(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node n;
	scene_node_init(&n, SCENE_NODE_RECT);
	struct scene_rect_state zeroed = rect(0);
	commit(&scene, &n, &zeroed);

	struct scene_rect_state dirty;
	memset(&dirty, 0xa5, sizeof dirty);
	dirty.x = zeroed.x;
	dirty.y = zeroed.y;
	dirty.width = zeroed.width;
	dirty.height = zeroed.height;
	dirty.rgba = zeroed.rgba;
	dirty.z = zeroed.z;
	dirty.visible = zeroed.visible;
	scene.damaged = false;
	commit(&scene, &n, &dirty);
	bool damaged = scene.damaged;
	scene_finish(&scene);
	assert_false(damaged);
}

static uint32_t rng(uint64_t *s) {
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545f4914f6cdd1dull) >> 32);
}

// Many nodes, random commits, z changes and removals: the order is always sorted by
// (z, seq) and holds exactly the nodes in the scene.
static void test_many_nodes(void **state) {
	enum { N = 1000 };
	struct scene_node *n = calloc(N, sizeof *n);
	assert_non_null(n);
	struct scene scene;
	scene_init(&scene, 0);
	for (int i = 0; i < N; i++) {
		scene_node_init(&n[i], SCENE_NODE_RECT);
	}
	uint64_t seed = 0x5ce4e5eedull;
	size_t expect = 0;
	for (int step = 0; step < 20000; step++) {
		struct scene_node *node = &n[rng(&seed) % N];
		uint32_t r = rng(&seed);
		if (r % 5 == 0) {
			expect -= node->in_scene;
			scene_node_remove(&scene, node);
		} else {
			struct scene_rect_state s = rect((int32_t)(r % 11) - 5);
			expect += !node->in_scene;
			commit(&scene, node, &s);
		}
		if (step % 97 == 0 || step == 19999) {
			size_t count;
			struct scene_node *const *order = scene_ordered(&scene, &count);
			assert_int_equal(count, expect);
			size_t in_scene = 0;
			for (int i = 0; i < N; i++) {
				in_scene += n[i].in_scene;
			}
			assert_int_equal(count, in_scene);
			for (size_t i = 0; i < count; i++) {
				assert_true(order[i]->in_scene);
				if (i > 0) {
					const struct scene_node *p = order[i - 1], *q = order[i];
					assert_true(p->state.z < q->state.z ||
						(p->state.z == q->state.z && p->seq < q->seq));
				}
			}
		}
	}
	assert_true(expect > 64); // past the first order[] allocation
	for (int i = 0; i < N; i++) {
		scene_node_remove(&scene, &n[i]);
	}
	assert_int_equal(scene.count, 0);
	assert_true(list_empty(&scene.nodes));
	scene_finish(&scene);
	assert_null(scene.order);
	free(n);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order_z_then_seq),
		cmocka_unit_test(test_equal_z_keeps_commit_order),
		cmocka_unit_test(test_z_change_resorts),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_drawn),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_damage_transparent_and_empty),
		cmocka_unit_test(test_identical_values_different_padding),
		cmocka_unit_test(test_many_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
