/*
 * The tree scenario: rects in groups of ten, every group turned, scaled and moved each
 * frame. For now the plain GL baseline of its frames (raw_gl_tree_frame_ms_N) and what
 * the scene tree alone costs to turn such a tree into a draw list each frame
 * (tree_build_ms_N, in this process, no GL): the scene's share of a frame.
 */
#include <stdlib.h>

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
