/*
 * The tree scenario: rects in groups of ten, every group turned, scaled and moved each
 * frame. For now the plain GL baseline of its frames (raw_gl_tree_frame_ms_N) and what
 * the scene tree alone costs to turn such a tree into a draw list each frame
 * (tree_build_ms_N, in this process, no GL): the scene's share of a frame.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tessera/client.h>

#include "bench.h"
#include "tree.h"

// ms per tree_build of @n rects in groups, every group changed before each build.
static double tree_build_ms(uint32_t n, uint32_t frames) {
	struct tree tree;
	struct tree_root root;
	uint32_t groups = (n + BENCH_TREE_GROUP - 1) / BENCH_TREE_GROUP;
	struct tree_node *nodes = calloc((size_t)n + groups, sizeof *nodes);
	if (nodes == NULL || !tree_init(&tree, 0x202833ffu, BENCH_WIDTH, BENCH_HEIGHT, 64) ||
			!tree_root_init(&tree, &root, TREE_LAYER_NORMAL)) {
		bench_fail("no memory for a tree of %u rects", n);
	}
	struct tree_node *group_nodes = nodes + n;
	for (uint32_t g = 0; g < groups; g++) {
		struct tree_node *group = &group_nodes[g];
		if (!tree_node_init(&root, group, TREE_GROUP) ||
				tree_node_attach(&tree, &root, group, &root.node, NULL, true) != TREE_ATTACH_OK) {
			bench_fail("cannot build the tree");
		}
		for (uint32_t k = 0; k < BENCH_TREE_GROUP && g * BENCH_TREE_GROUP + k < n; k++) {
			uint32_t i = g * BENCH_TREE_GROUP + k;
			struct tree_node *rect = &nodes[i];
			tree_node_init(&root, rect, TREE_RECT);
			bench_tree_child(k, &rect->x, &rect->y);
			rect->width = rect->height = BENCH_RECT_SIZE;
			rect->rgba = bench_rect_color(i);
			if (tree_node_attach(&tree, &root, rect, group, NULL, true) != TREE_ATTACH_OK) {
				bench_fail("cannot build the tree");
			}
		}
	}
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 0; f < warmup + frames; f++) {
		if (f == warmup) {
			start = bench_now_ns();
		}
		for (uint32_t g = 0; g < groups; g++) {
			struct tree_props p;
			tree_node_props(&root, &group_nodes[g], &p);
			bench_tree_group(g, f, &p.x, &p.y, &p.rotation, &p.scale_x);
			p.scale_y = p.scale_x;
			p.width = p.height = BENCH_TREE_GROUP_SIZE;
			p.anchor_x = p.anchor_y = 0.5f;
			if (!tree_node_set_props(&tree, &root, &group_nodes[g], &p)) {
				bench_fail("no memory for a group's extra");
			}
		}
		// Rects wholly off screen are left out of the list, so a few may be missing.
		if (!tree_build(&tree) || tree.list.len > n || tree.list.len < n * 9 / 10) {
			bench_fail("the tree drew %zu of %u rects", tree.list.len, n);
		}
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	tree_root_finish(&tree, &root);
	tree_finish(&tree);
	free(nodes);
	return ms;
}

void run_tree(struct bench *b) {
	static const struct {
		uint32_t n, frames, quick_frames;
		const char *raw, *build;
	} sizes[] = {
		{ 1000, 200, 60, "raw_gl_tree_frame_ms_1k", "tree_build_ms_1k" },
		{ 10000, 100, 30, "raw_gl_tree_frame_ms_10k", "tree_build_ms_10k" },
		{ 100000, 20, 8, "raw_gl_tree_frame_ms_100k", "tree_build_ms_100k" },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t frames = b->quick ? sizes[i].quick_frames : sizes[i].frames;
		bench_record(b, sizes[i].raw, bench_gl_tree_frame_ms(sizes[i].n, frames));
		bench_record(b, sizes[i].build, tree_build_ms(sizes[i].n, frames));
	}
}

/* ---- the tree through the server ---- */

struct tree_client {
	struct ts_display *display;
	struct ts_group **groups;
	struct ts_rect **rects;
	uint32_t n, group_count;
};

// @n rects of the tree scenario in groups of ten under the root, committed and shown.
static void tree_client_make(struct tree_client *t, struct ts_display *display, uint32_t n,
		bool hidden) {
	t->display = display;
	t->n = n;
	t->group_count = (n + BENCH_TREE_GROUP - 1) / BENCH_TREE_GROUP;
	t->groups = calloc(t->group_count, sizeof *t->groups);
	t->rects = calloc(n, sizeof *t->rects);
	if (t->groups == NULL || t->rects == NULL) {
		bench_fail("out of memory");
	}
	for (uint32_t g = 0; g < t->group_count; g++) {
		t->groups[g] = ts_group_create(display, NULL);
		if (t->groups[g] == NULL) {
			bench_check(display, -1, "group_create");
		}
		struct ts_node *node = ts_group_node(t->groups[g]);
		bench_check(display, ts_node_set_size(node, BENCH_TREE_GROUP_SIZE, BENCH_TREE_GROUP_SIZE),
			"set_size");
		bench_check(display, ts_node_set_anchor(node, 0.5, 0.5), "set_anchor");
		for (uint32_t k = 0; k < BENCH_TREE_GROUP && g * BENCH_TREE_GROUP + k < n; k++) {
			uint32_t i = g * BENCH_TREE_GROUP + k;
			struct ts_rect *rect = ts_rect_create_in(t->groups[g]);
			if (rect == NULL) {
				bench_check(display, -1, "rect_create");
			}
			float x, y;
			bench_tree_child(k, &x, &y);
			bench_check(display, ts_node_set_position(ts_rect_node(rect), x, y), "set_position");
			bench_check(display, ts_rect_set_size(rect, BENCH_RECT_SIZE, BENCH_RECT_SIZE), "set_size");
			bench_check(display, ts_rect_set_color(rect, bench_rect_color(i)), "set_color");
			if (hidden) {
				bench_check(display, ts_rect_set_visible(rect, false), "set_visible");
			}
			t->rects[i] = rect;
		}
	}
}

// Turns, scales and moves every group as it is in @frame.
static void tree_client_move(struct tree_client *t, uint32_t frame) {
	for (uint32_t g = 0; g < t->group_count; g++) {
		float x, y, rotation, scale;
		bench_tree_group(g, frame, &x, &y, &rotation, &scale);
		struct ts_node *node = ts_group_node(t->groups[g]);
		if (ts_node_set_position(node, x, y) < 0 || ts_node_set_rotation(node, rotation) < 0 ||
				ts_node_set_scale(node, scale, scale) < 0) {
			bench_check(t->display, -1, "moving a group");
		}
	}
}

static void tree_client_destroy(struct tree_client *t) {
	// Destroying the groups destroys their rects; the rects' handles are freed after.
	for (uint32_t g = 0; g < t->group_count; g++) {
		ts_group_destroy(t->groups[g]);
	}
	for (uint32_t i = 0; i < t->n; i++) {
		ts_rect_destroy(t->rects[i]);
	}
	free(t->groups);
	free(t->rects);
}

static struct ts_server_info frame_info(struct ts_display *display) {
	struct ts_server_info info;
	bench_check(display, ts_display_query_info(display, &info), "info_query");
	return info;
}

// ms per frame of @n rects in groups, every group changed every frame, through the server.
static double tree_frame_ms(struct bench *b, uint32_t n, uint32_t frames,
		uint32_t *draw_calls) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *display = bench_connect_or_fail(&server, "bench-tree");
	struct tree_client t;
	tree_client_make(&t, display, n, false);
	tree_client_move(&t, 0);
	bench_commit_and_wait_frame(display);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 1; f <= warmup + frames; f++) {
		if (f == warmup + 1) {
			start = bench_now_ns();
		}
		tree_client_move(&t, f);
		bench_commit_and_wait_frame(display);
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	struct ts_server_info info = frame_info(display);
	*draw_calls = info.frame.draw_calls;
	ts_server_info_finish(&info);
	tree_client_destroy(&t);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	return ms;
}

// 10,000 solid and rounded rects, every other one rounded, no clips: the draw calls of
// one full frame of them.
static uint32_t draw_calls_10k(struct bench *b) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *display = bench_connect_or_fail(&server, "bench-draw-calls");
	for (uint32_t i = 0; i < 10000; i++) {
		struct ts_rect *rect = ts_rect_create(display);
		if (rect == NULL) {
			bench_check(display, -1, "rect_create");
		}
		int32_t x, y;
		bench_rect_position(i, 0, &x, &y);
		bench_check(display, ts_rect_set_position(rect, x, y), "set_position");
		bench_check(display, ts_rect_set_size(rect, BENCH_RECT_SIZE, BENCH_RECT_SIZE), "set_size");
		bench_check(display, ts_rect_set_color(rect, bench_rect_color(i)), "set_color");
		if (i % 2) {
			bench_check(display, ts_rect_set_radius(rect, 5), "set_radius");
		}
	}
	bench_commit_and_wait_frame(display);
	struct ts_server_info info = frame_info(display);
	uint32_t calls = info.frame.draw_calls;
	ts_server_info_finish(&info);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	return calls;
}

// One 32x32 rect moving over 10,000 static ones: ms per frame, and the damaged pixels
// of the last one. With @full the moving rect covers the whole output instead, so that
// every frame is a full repaint of the same scene: the baseline.
static double damage_frame_ms(struct bench *b, uint32_t frames, bool full,
		uint32_t *damaged_pixels) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *display = bench_connect_or_fail(&server, "bench-damage");
	for (uint32_t i = 0; i < 10000; i++) {
		struct ts_rect *rect = ts_rect_create(display);
		int32_t x, y;
		bench_rect_position(i, 0, &x, &y);
		if (rect == NULL || ts_rect_set_position(rect, x, y) < 0 ||
				ts_rect_set_size(rect, BENCH_RECT_SIZE, BENCH_RECT_SIZE) < 0 ||
				ts_rect_set_color(rect, bench_rect_color(i)) < 0) {
			bench_check(display, -1, "making the static rects");
		}
	}
	struct ts_rect *mover = ts_rect_create(display);
	uint32_t side = full ? BENCH_WIDTH : 32;
	bench_check(display, mover != NULL ? ts_rect_set_size(mover, side, full ? BENCH_HEIGHT : 32) : -1,
		"the moving rect");
	bench_check(display, ts_rect_set_color(mover, 0xffffff80u), "set_color");
	bench_commit_and_wait_frame(display);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 1; f <= warmup + frames; f++) {
		if (f == warmup + 1) {
			start = bench_now_ns();
		}
		int32_t x = full ? (int32_t)(f % 2) : (int32_t)(100 + (f * 7) % 1000);
		bench_check(display, ts_rect_set_position(mover, x, full ? 0 : 300), "set_position");
		bench_commit_and_wait_frame(display);
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	struct ts_server_info info = frame_info(display);
	*damaged_pixels = info.frame.damaged_pixels;
	ts_server_info_finish(&info);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	return ms;
}

struct tree_victim {
	uint32_t n;
	bool hidden;
};

static void make_tree_victim(struct ts_display *display, const void *data) {
	const struct tree_victim *v = data;
	struct tree_client t;
	tree_client_make(&t, display, v->n, v->hidden);
}

// A client holding @n rects in groups of ten (hidden or drawn) is SIGKILLed: the
// server's time in client_destroy. *@bytes_per_node: the server's RSS growth per node
// while the client held them.
static double tree_cleanup_ms(struct bench *b, uint32_t n, bool hidden, double *bytes_per_node) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *observer = bench_connect_or_fail(&server, "bench-observer");
	bench_commit_and_wait_frame(observer);
	long before = bench_rss_kib(server.pid);
	struct tree_victim v = { .n = n, .hidden = hidden };
	pid_t victim = bench_victim_start(&server, "bench-tree-victim", make_tree_victim, &v);
	uint32_t cleanup_us, groups = (n + BENCH_TREE_GROUP - 1) / BENCH_TREE_GROUP;
	if (bench_other_objects(observer, &cleanup_us) < n + groups) {
		bench_fail("the server does not hold the %u nodes", n + groups);
	}
	long held = bench_rss_kib(server.pid);
	*bytes_per_node = (double)(held - before) * 1024.0 / (n + groups);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	while (bench_other_objects(observer, &cleanup_us) != 0) {
	}
	ts_display_disconnect(observer);
	bench_server_stop(&server);
	return cleanup_us / 1e3;
}

void run_tree_server(struct bench *b) {
	static const struct {
		uint32_t n, frames, quick_frames;
		const char *metric;
	} sizes[] = {
		{ 1000, 200, 60, "frame_ms_tree_1k" },
		{ 10000, 100, 30, "frame_ms_tree_10k" },
		{ 100000, 20, 8, "frame_ms_tree_100k" },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t frames = b->quick ? sizes[i].quick_frames : sizes[i].frames;
		uint32_t calls;
		bench_record(b, sizes[i].metric, tree_frame_ms(b, sizes[i].n, frames, &calls));
	}
	bench_record(b, "draw_calls_10k", draw_calls_10k(b));
	uint32_t damaged, full_damaged;
	uint32_t frames = b->quick ? 60 : 200;
	bench_record(b, "full_repaint_frame_ms_10k", damage_frame_ms(b, frames, true, &full_damaged));
	bench_record(b, "damage_frame_ms_10k", damage_frame_ms(b, frames, false, &damaged));
	bench_record(b, "damaged_pixels_32", damaged);
	double bytes;
	bench_record(b, "cleanup_ms_100k_tree", tree_cleanup_ms(b, 100000, false, &bytes));
	tree_cleanup_ms(b, 100000, true, &bytes);
	bench_record(b, "bytes_per_node", bytes);
}
