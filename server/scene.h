/*
 * The scene: every committed node on screen, in drawing order. Knows nothing of GL,
 * sockets or clients; client.c feeds it committed state, render/ reads it.
 *
 * Nodes live in their owners' memory. The scene keeps pointers to them in an array in
 * order of first commit, with the owner of each beside it. Removing a node leaves a
 * hole; destroying an owner forgets all of its nodes at once without reading them, so
 * their memory may be freed right after. Holes and forgotten nodes are dropped when the
 * drawing order is next rebuilt (scene_ordered), which is the only way anything gets
 * at the nodes again.
 */
#ifndef TESSERA_SCENE_H
#define TESSERA_SCENE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCENE_DETACHED UINT32_MAX // scene_node.index of a node not in the scene
#define SCENE_MAX_OWNERS 65535    // owners alive at once

/** What a rectangle looks like; rgba is 0xRRGGBBAA, straight (not premultiplied). */
struct scene_rect_state {
	int32_t x, y;
	uint32_t rgba;
	int32_t z;
	uint16_t width, height;       // the protocol allows at most 32768
	bool visible;
};

struct scene_node {
	struct scene_rect_state state; // the committed state, which is what is drawn
	// Position in scene.nodes, or SCENE_DETACHED. Entries keep their order of first
	// commit, so this also breaks ties between equal z.
	uint32_t index;
};

/** Per owner: how many of its nodes are in the scene, and whether any is drawn. */
struct scene_owner {
	uint32_t nodes;
	uint32_t drawn;
	uint8_t state;                // free, live, or gone with entries left in scene.nodes
};

struct scene {
	struct scene_node **nodes;    // in order of first commit; NULL where one was removed
	uint16_t *owners;             // owners[i] owns nodes[i]
	size_t len;                   // entries used in nodes[], holes and stale ones included
	size_t cap;
	size_t count;                 // nodes in the scene
	size_t stale;                 // entries that are holes or belong to a gone owner
	bool damaged;                 // something visible changed since the last frame
	bool order_dirty;             // the drawing order must be rebuilt before drawing
	struct scene_node *const *ordered; // back to front: nodes, or order when z differ
	struct scene_node **order;    // nodes sorted by (z, index) when nodes[] is not
	size_t order_cap;
	struct scene_owner *owner_table; // [owner id]; id 0 means "no owner"
	size_t owner_cap;
	size_t owner_next;            // where the search for a free owner id starts
	size_t gone_owners;           // gone, with entries still in nodes[]
	uint32_t background;          // 0xRRGGBBAA
};

void scene_init(struct scene *scene, uint32_t background);
/** Frees the scene's arrays. Nodes belong to their owners, which should be gone. */
void scene_finish(struct scene *scene);

/**
 * A new owner of nodes: a number from 1 to SCENE_MAX_OWNERS, or 0 when no memory can
 * be had or too many owners are alive.
 */
uint16_t scene_owner_create(struct scene *scene);

/**
 * Takes every node of @owner out of the scene at once, in O(1): the scene will not
 * read them again, so their memory may be freed right away. Damages the scene when any
 * of them was drawn. Owner 0 is fine (nothing happens).
 */
void scene_owner_destroy(struct scene *scene, uint16_t owner);

/** Prepares a node that is not yet in any scene; its state is zeroed. */
void scene_node_init(struct scene_node *node);

static inline bool scene_node_in_scene(const struct scene_node *node) {
	return node->index != SCENE_DETACHED;
}

/**
 * The first commit: adds a node that is not in the scene, with the state it holds,
 * above every node of equal z already there. Damages the scene when the node is drawn. Returns
 * false when memory cannot be had (the node is then not added).
 */
bool scene_node_add(struct scene *scene, uint16_t owner, struct scene_node *node);

/**
 * Makes @state the committed state of @node, which is in the scene. Marks the scene
 * damaged when anything drawn changes.
 */
void scene_node_commit(struct scene *scene, struct scene_node *node,
	const struct scene_rect_state *state);

/** Takes the node out of the scene (no-op when it is not in it); damages the scene. */
void scene_node_remove(struct scene *scene, struct scene_node *node);

/** True when the state draws something: visible, non-empty, not fully transparent. */
static inline bool scene_rect_drawn(const struct scene_rect_state *s) {
	return s->visible && s->width > 0 && s->height > 0 && (s->rgba & 0xff) != 0;
}

/** True when the node draws something. */
static inline bool scene_node_drawn(const struct scene_node *node) {
	return scene_rect_drawn(&node->state);
}

/**
 * The nodes back to front, *@count of them; the array is valid until the scene next
 * changes. Returns NULL (and *@count 0) only when memory to sort them cannot be had.
 */
struct scene_node *const *scene_ordered(struct scene *scene, size_t *count);

#endif
