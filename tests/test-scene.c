/*
 * Unit tests of the scene, with no GL: drawing order by z then by first commit,
 * re-sorting, removal, owners that go all at once, and when the scene is marked
 * damaged.
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

// Tests own their nodes through the first owner of their scene, which is number 1.
static uint16_t owner_of_tests(struct scene *scene) {
	if (scene->owner_cap == 0) {
		assert_int_equal(scene_owner_create(scene), 1);
	}
	return 1;
}

// The first commit adds the node with @s, the next ones change its state.
static void commit_as(struct scene *scene, uint16_t owner, struct scene_node *node,
		const struct scene_rect_state *s) {
	if (!scene_node_in_scene(node)) {
		node->state = *s;
		assert_true(scene_node_add(scene, owner, node));
	} else {
		scene_node_commit(scene, node, s);
	}
	assert_true(scene_node_in_scene(node));
}

static void commit(struct scene *scene, struct scene_node *node, const struct scene_rect_state *s) {
	commit_as(scene, owner_of_tests(scene), node, s);
}

// Checks that the drawing order is exactly @expect (@n nodes).
static void check_order(struct scene *scene, struct scene_node *const *expect, size_t n) {
	size_t count = 12345;
	struct scene_node *const *order = scene_ordered(scene, &count);
	assert_non_null(order);
	assert_int_equal(count, n);
	assert_int_equal(scene->count, n);
	for (size_t i = 0; i < n; i++) {
		if (order[i] != expect[i]) {
			fail_msg("position %zu: node z=%d index=%u, expected z=%d index=%u", i,
				order[i]->state.z, order[i]->index, expect[i]->state.z, expect[i]->index);
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
	assert_non_null(scene_ordered(&scene, &count));
	assert_int_equal(count, 0);

	// Removing a node that was never committed changes nothing.
	struct scene_node n;
	scene_node_init(&n);
	assert_false(scene_node_in_scene(&n));
	assert_int_equal(n.index, SCENE_DETACHED);
	scene.damaged = false;
	scene_node_remove(&scene, &n);
	assert_false(scene.damaged);
	assert_int_equal(scene.count, 0);
	scene_finish(&scene);
}

static void test_order_z_then_commit(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node n[6];
	static const int32_t z[6] = { 0, -5, 3, 0, -5, INT32_MIN };
	for (int i = 0; i < 6; i++) {
		scene_node_init(&n[i]);
		struct scene_rect_state s = rect(z[i]);
		commit(&scene, &n[i], &s);
		assert_int_equal(n[i].index, i);
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
		scene_node_init(&n[i]);
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
		scene_node_init(&n[i]);
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
	assert_int_equal(n[0].index, 0);
	assert_int_equal(n[3].index, 3);

	// A re-commit that changes only the colour keeps its place and the order.
	s = rect(0);
	s.rgba = 0xff0000ff;
	commit(&scene, &n[1], &s);
	assert_int_equal(n[1].index, 1);
	CHECK_ORDER(&scene, &n[0], &n[1], &n[2], &n[3]);
	scene_finish(&scene);
}

static void test_remove(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node n[4];
	for (int i = 0; i < 4; i++) {
		scene_node_init(&n[i]);
		struct scene_rect_state s = rect(i == 3 ? -1 : 0);
		commit(&scene, &n[i], &s);
	}
	CHECK_ORDER(&scene, &n[3], &n[0], &n[1], &n[2]);
	scene_node_remove(&scene, &n[1]);
	assert_false(scene_node_in_scene(&n[1]));
	CHECK_ORDER(&scene, &n[3], &n[0], &n[2]);
	// A second remove is a no-op.
	scene_node_remove(&scene, &n[1]);
	assert_int_equal(scene.count, 3);
	scene_node_remove(&scene, &n[3]);
	CHECK_ORDER(&scene, &n[0], &n[2]);

	// Committed again after removal, it is new: it goes behind the others' ties.
	struct scene_rect_state s = rect(0);
	commit(&scene, &n[1], &s);
	assert_true(n[1].index > n[2].index);
	CHECK_ORDER(&scene, &n[0], &n[2], &n[1]);

	scene_node_remove(&scene, &n[0]);
	scene_node_remove(&scene, &n[1]);
	scene_node_remove(&scene, &n[2]);
	check_order(&scene, NULL, 0);
	assert_int_equal(scene.len, 0);
	scene_finish(&scene);
}

static void test_drawn(void **state) {
	struct scene_node n;
	scene_node_init(&n);
	n.state = rect(0);
	assert_true(scene_node_drawn(&n));
	n.state.width = 32768;
	n.state.height = 32768;
	assert_true(scene_node_drawn(&n));
	n.state = rect(0);
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
	scene_node_init(&a);
	scene_node_init(&b);

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
	scene_node_init(&clear);
	scene_node_init(&empty);

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
	scene_node_init(&n);
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

// Owners going with all their nodes at once: the nodes are freed before the scene is
// asked for its order again (AddressSanitizer catches any read of them), the others
// keep their order, and the scene is damaged only when a gone node was drawn.
static void test_owner_destroy(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	uint16_t a = scene_owner_create(&scene), b = scene_owner_create(&scene);
	assert_int_not_equal(a, 0);
	assert_int_not_equal(b, 0);
	assert_int_not_equal(a, b);
	enum { N = 6 };
	struct scene_node *na[N], nb[N];
	for (int i = 0; i < N; i++) {
		na[i] = malloc(sizeof *na[i]);
		assert_non_null(na[i]);
		scene_node_init(na[i]);
		scene_node_init(&nb[i]);
		// Interleaved, with b's z mixed so that drawing needs a sort.
		struct scene_rect_state s = rect(0);
		commit_as(&scene, a, na[i], &s);
		s = rect(i % 2 ? 1 : -1);
		commit_as(&scene, b, &nb[i], &s);
	}
	CHECK_ORDER(&scene, &nb[0], &nb[2], &nb[4], na[0], na[1], na[2], na[3], na[4], na[5],
		&nb[1], &nb[3], &nb[5]);
	// One of a's removed on its own first: a hole and a gone owner together.
	scene_node_remove(&scene, na[2]);
	scene.damaged = false;
	scene_owner_destroy(&scene, a);
	assert_true(scene.damaged);
	assert_int_equal(scene.count, N);
	for (int i = 0; i < N; i++) {
		free(na[i]);
	}
	CHECK_ORDER(&scene, &nb[0], &nb[2], &nb[4], &nb[1], &nb[3], &nb[5]);
	assert_int_equal(scene.len, N); // compacted
	// b's nodes still change and go one by one.
	struct scene_rect_state s = rect(-1);
	commit_as(&scene, b, &nb[5], &s);
	CHECK_ORDER(&scene, &nb[0], &nb[2], &nb[4], &nb[5], &nb[1], &nb[3]);
	scene_node_remove(&scene, &nb[2]);
	CHECK_ORDER(&scene, &nb[0], &nb[4], &nb[5], &nb[1], &nb[3]);

	// An owner whose nodes draw nothing goes without damage; nor does one with none.
	uint16_t c = scene_owner_create(&scene), d = scene_owner_create(&scene);
	struct scene_node hidden, clear;
	scene_node_init(&hidden);
	scene_node_init(&clear);
	s = rect(5);
	s.visible = false;
	commit_as(&scene, c, &hidden, &s);
	s = rect(5);
	s.rgba = 0xffffff00;
	commit_as(&scene, c, &clear, &s);
	scene.damaged = false;
	scene_owner_destroy(&scene, d);
	assert_false(scene.damaged);
	scene_owner_destroy(&scene, c);
	assert_false(scene.damaged);
	assert_int_equal(scene.count, 5);
	scene_owner_destroy(&scene, 0); // no owner: nothing happens
	assert_false(scene.damaged);
	CHECK_ORDER(&scene, &nb[0], &nb[4], &nb[5], &nb[1], &nb[3]);

	// Drawn-ness follows commits: a node made visible after its first commit damages
	// when its owner goes; one made invisible does not.
	uint16_t e = scene_owner_create(&scene), f = scene_owner_create(&scene);
	struct scene_node ne, nf;
	scene_node_init(&ne);
	scene_node_init(&nf);
	s = rect(0);
	s.visible = false;
	commit_as(&scene, e, &ne, &s);
	s.visible = true;
	commit_as(&scene, e, &ne, &s);
	commit_as(&scene, f, &nf, &s);
	s.visible = false;
	commit_as(&scene, f, &nf, &s);
	scene.damaged = false;
	scene_owner_destroy(&scene, f);
	assert_false(scene.damaged);
	scene_owner_destroy(&scene, e);
	assert_true(scene.damaged);
	scene_owner_destroy(&scene, b);
	check_order(&scene, NULL, 0);
	scene_finish(&scene);
}

// A gone owner's number is not given out again while its entries are in the scene
// (they would pass for the new owner's), only after they are dropped.
static void test_owner_numbers(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	uint16_t a = scene_owner_create(&scene);
	struct scene_node *n = malloc(sizeof *n);
	assert_non_null(n);
	scene_node_init(n);
	struct scene_rect_state s = rect(0);
	commit_as(&scene, a, n, &s);
	scene_owner_destroy(&scene, a);
	free(n);
	uint16_t b = scene_owner_create(&scene);
	assert_int_not_equal(b, 0);
	assert_int_not_equal(b, a);
	struct scene_node m;
	scene_node_init(&m);
	commit_as(&scene, b, &m, &s);
	CHECK_ORDER(&scene, &m);
	assert_int_equal(scene.gone_owners, 0); // a's entries were dropped in drawing order
	scene_owner_destroy(&scene, b);
	assert_int_equal(scene.gone_owners, 1);
	check_order(&scene, NULL, 0);
	assert_int_equal(scene.gone_owners, 0);

	// An owner that never had a node is free at once.
	uint16_t c = scene_owner_create(&scene);
	assert_int_not_equal(c, 0);
	scene_owner_destroy(&scene, c);
	assert_int_equal(scene.gone_owners, 0);
	scene_finish(&scene);
}

// As many owners as there are numbers; one more only once a gone one is dropped, which
// happens then and there rather than at the next drawing.
static void test_owner_limit(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	for (unsigned i = 1; i <= SCENE_MAX_OWNERS; i++) {
		assert_int_equal(scene_owner_create(&scene), i);
	}
	assert_int_equal(scene_owner_create(&scene), 0);
	struct scene_node n;
	scene_node_init(&n);
	struct scene_rect_state s = rect(0);
	commit_as(&scene, 777, &n, &s);
	scene_owner_destroy(&scene, 777);
	assert_int_equal(scene.stale, 1);
	assert_int_equal(scene_owner_create(&scene), 777);
	assert_int_equal(scene.stale, 0);
	assert_int_equal(scene.len, 0);
	assert_int_equal(scene_owner_create(&scene), 0);
	scene_finish(&scene);
}

// Adding and removing in turn without ever drawing: the holes are reused, the array
// does not grow without bound, and the order stays right.
static void test_holes_reused(void **state) {
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node keep[3], churn[2];
	struct scene_rect_state s = rect(0);
	for (int i = 0; i < 3; i++) {
		scene_node_init(&keep[i]);
		commit(&scene, &keep[i], &s);
	}
	for (int round = 0; round < 10000; round++) {
		for (int i = 0; i < 2; i++) {
			scene_node_init(&churn[i]);
			commit(&scene, &churn[i], &s);
		}
		// The older of the two leaves a hole; the newest goes off the end.
		scene_node_remove(&scene, &churn[0]);
		if (round % 2) {
			scene_node_remove(&scene, &churn[1]);
		} else {
			scene_node_remove(&scene, &keep[round / 2 % 3]);
			commit(&scene, &keep[round / 2 % 3], &s);
			scene_node_remove(&scene, &churn[1]);
		}
		assert_int_equal(scene.count, 3);
		assert_true(scene.cap <= 64);
	}
	// A keeper added again goes behind the others: the last ones were keep[2] (round
	// 9994), keep[0] (9996) and keep[1] (9998).
	CHECK_ORDER(&scene, &keep[2], &keep[0], &keep[1]);
	scene_finish(&scene);
}

// With z equal everywhere the order of first commit is the drawing order: no sorted
// copy is made. A big owner going gives most of the array back.
static void test_memory(void **state) {
	enum { N = 5000 };
	struct scene scene;
	scene_init(&scene, 0);
	struct scene_node *n = calloc(N, sizeof *n);
	assert_non_null(n);
	uint16_t big = scene_owner_create(&scene), small = scene_owner_create(&scene);
	struct scene_node m[2];
	scene_node_init(&m[0]);
	scene_node_init(&m[1]);
	struct scene_rect_state s = rect(3);
	commit_as(&scene, small, &m[0], &s);
	for (int i = 0; i < N; i++) {
		scene_node_init(&n[i]);
		commit_as(&scene, big, &n[i], &s);
	}
	commit_as(&scene, small, &m[1], &s);
	size_t count;
	struct scene_node *const *order = scene_ordered(&scene, &count);
	assert_int_equal(count, N + 2);
	assert_ptr_equal(order, scene.nodes);
	assert_null(scene.order);
	assert_true(scene.cap >= N + 2);

	// Mixed z: a sorted copy.
	s.z = 2;
	commit_as(&scene, small, &m[1], &s);
	order = scene_ordered(&scene, &count);
	assert_non_null(scene.order);
	assert_ptr_equal(order, scene.order);
	assert_ptr_equal(order[0], &m[1]);
	assert_ptr_equal(order[1], &m[0]);
	assert_ptr_equal(order[N + 1], &n[N - 1]);

	scene_owner_destroy(&scene, big);
	free(n);
	order = scene_ordered(&scene, &count);
	assert_int_equal(count, 2);
	assert_ptr_equal(order[0], &m[1]);
	assert_ptr_equal(order[1], &m[0]);
	assert_true(scene.cap <= 64);
	scene_owner_destroy(&scene, small);
	scene_finish(&scene);
}

// Many nodes and owners, random commits, z changes, removals and owners going: the
// order is always sorted by (z, first commit) and holds exactly the nodes in the scene.
static void test_many_nodes(void **state) {
	enum { N = 1000, OWNERS = 8 };
	struct scene_node *n = calloc(N, sizeof *n);
	assert_non_null(n);
	struct scene scene;
	scene_init(&scene, 0);
	uint16_t owners[OWNERS];
	for (int o = 0; o < OWNERS; o++) {
		owners[o] = scene_owner_create(&scene);
		assert_int_not_equal(owners[o], 0);
	}
	// Node i belongs to owner i % OWNERS; seq[i] counts first commits.
	uint64_t *seq = calloc(N, sizeof *seq);
	assert_non_null(seq);
	uint64_t next_seq = 1;
	for (int i = 0; i < N; i++) {
		scene_node_init(&n[i]);
	}
	uint64_t seed = 0x5ce4e5eedull;
	size_t expect = 0;
	size_t max_count = 0;
	for (int step = 0; step < 20000; step++) {
		int i = (int)(rng(&seed) % N);
		struct scene_node *node = &n[i];
		uint32_t r = rng(&seed);
		if (r % 997 == 0) {
			// The owner goes with all its nodes; its nodes come back under a new one.
			int o = i % OWNERS;
			scene_owner_destroy(&scene, owners[o]);
			for (int j = o; j < N; j += OWNERS) {
				expect -= scene_node_in_scene(&n[j]);
				scene_node_init(&n[j]);
			}
			owners[o] = scene_owner_create(&scene);
			assert_int_not_equal(owners[o], 0);
		} else if (r % 5 == 0) {
			expect -= scene_node_in_scene(node);
			scene_node_remove(&scene, node);
		} else {
			struct scene_rect_state s = rect((int32_t)(r % 11) - 5);
			if (!scene_node_in_scene(node)) {
				expect++;
				seq[i] = next_seq++;
			}
			commit_as(&scene, owners[i % OWNERS], node, &s);
		}
		if (scene.count > max_count) {
			max_count = scene.count;
		}
		assert_int_equal(scene.count, expect);
		if (step % 97 == 0 || step == 19999) {
			size_t count;
			struct scene_node *const *order = scene_ordered(&scene, &count);
			assert_non_null(order);
			assert_int_equal(count, expect);
			size_t in_scene = 0;
			for (int j = 0; j < N; j++) {
				in_scene += scene_node_in_scene(&n[j]);
			}
			assert_int_equal(count, in_scene);
			for (size_t k = 0; k < count; k++) {
				assert_true(scene_node_in_scene(order[k]));
				assert_ptr_equal(scene.nodes[order[k]->index], order[k]);
				if (k > 0) {
					const struct scene_node *p = order[k - 1], *q = order[k];
					assert_true(p->state.z < q->state.z ||
						(p->state.z == q->state.z && seq[p - n] < seq[q - n]));
				}
			}
		}
	}
	assert_true(max_count > 64); // past the first allocation
	for (int o = 0; o < OWNERS; o++) {
		scene_owner_destroy(&scene, owners[o]);
	}
	assert_int_equal(scene.count, 0);
	check_order(&scene, NULL, 0);
	scene_finish(&scene);
	assert_null(scene.nodes);
	free(seq);
	free(n);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order_z_then_commit),
		cmocka_unit_test(test_equal_z_keeps_commit_order),
		cmocka_unit_test(test_z_change_resorts),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_drawn),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_damage_transparent_and_empty),
		cmocka_unit_test(test_identical_values_different_padding),
		cmocka_unit_test(test_owner_destroy),
		cmocka_unit_test(test_owner_numbers),
		cmocka_unit_test(test_owner_limit),
		cmocka_unit_test(test_holes_reused),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_many_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
