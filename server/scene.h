/*
 * The scene: every committed node on screen, in drawing order. Knows nothing of GL,
 * sockets or clients; client.c feeds it committed state, render/ reads it.
 */
#ifndef TESSERA_SCENE_H
#define TESSERA_SCENE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

enum scene_node_type {
	SCENE_NODE_RECT,
};

/** What a rectangle looks like; rgba is 0xRRGGBBAA, straight (not premultiplied). */
struct scene_rect_state {
	int32_t x, y;
	uint32_t width, height;
	uint32_t rgba;
	int32_t z;
	bool visible;
};

struct scene_node {
	enum scene_node_type type;
	bool in_scene;                 // committed at least once and not removed
	struct scene_rect_state state; // the committed state, which is what is drawn
	uint64_t seq;                  // order of first commit: breaks ties between equal z
	struct list link;              // scene.nodes
};

struct scene {
	struct list nodes;            // scene_node.link, in order of first commit
	size_t count;
	uint64_t next_seq;
	bool damaged;                 // something visible changed since the last frame
	bool order_dirty;             // order[] must be rebuilt before drawing
	struct scene_node **order;    // nodes sorted by (z, seq): back to front
	size_t order_cap;
	uint32_t background;          // 0xRRGGBBAA
};

void scene_init(struct scene *scene, uint32_t background);
/** Frees the order array. The nodes belong to their clients and must be gone. */
void scene_finish(struct scene *scene);

/** Prepares a node that is not yet in any scene. */
void scene_node_init(struct scene_node *node, enum scene_node_type type);

/**
 * Makes @state the node's committed state, adding the node to the scene on its first
 * commit. Marks the scene damaged when anything drawn changes. Returns false only when
 * memory for the drawing order cannot be had (the node is then not added).
 */
bool scene_node_commit(struct scene *scene, struct scene_node *node,
	const struct scene_rect_state *state);

/** Takes the node out of the scene (no-op when it is not in it); damages the scene. */
void scene_node_remove(struct scene *scene, struct scene_node *node);

/** True when the node draws something: visible, non-empty and not fully transparent. */
bool scene_node_drawn(const struct scene_node *node);

/** The nodes back to front; the array is valid until the scene next changes. */
struct scene_node *const *scene_ordered(struct scene *scene, size_t *count);

#endif
