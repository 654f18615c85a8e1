#include "scene.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum owner_state {
	OWNER_FREE = 0,
	OWNER_LIVE,
	OWNER_GONE, // destroyed; its entries in nodes[] wait for the next compaction
};

#define MIN_CAP 64

void scene_init(struct scene *scene, uint32_t background) {
	memset(scene, 0, sizeof *scene);
	scene->background = background;
	scene->damaged = true;
}

void scene_finish(struct scene *scene) {
	free(scene->nodes);
	free(scene->owners);
	free(scene->order);
	free(scene->owner_table);
	uint32_t background = scene->background;
	memset(scene, 0, sizeof *scene);
	scene->background = background;
}

// Drops holes and the entries of gone owners, keeping the order of the rest, and frees
// the gone owners' numbers. Reads only nodes of live owners.
static void compact(struct scene *scene) {
	size_t j = 0;
	for (size_t i = 0; i < scene->len; i++) {
		struct scene_node *node = scene->nodes[i];
		uint16_t owner = scene->owners[i];
		if (node == NULL || scene->owner_table[owner].state != OWNER_LIVE) {
			continue;
		}
		node->index = (uint32_t)j;
		scene->nodes[j] = node;
		scene->owners[j] = owner;
		j++;
	}
	assert(j == scene->count);
	scene->len = j;
	scene->stale = 0;
	if (scene->gone_owners > 0) {
		for (size_t o = 1; o < scene->owner_cap; o++) {
			if (scene->owner_table[o].state == OWNER_GONE) {
				scene->owner_table[o].state = OWNER_FREE;
			}
		}
		scene->gone_owners = 0;
	}
	// Give back most of a mostly empty array (a big client went away).
	if (scene->cap > 16 * MIN_CAP && j < scene->cap / 4) {
		size_t cap = j * 2 > MIN_CAP ? j * 2 : MIN_CAP;
		struct scene_node **nodes = realloc(scene->nodes, cap * sizeof *nodes);
		if (nodes != NULL) {
			scene->nodes = nodes;
			uint16_t *owners = realloc(scene->owners, cap * sizeof *owners);
			if (owners != NULL) {
				scene->owners = owners;
				scene->cap = cap;
			}
		}
	}
	scene->order_dirty = true;
}

uint16_t scene_owner_create(struct scene *scene) {
	for (;;) {
		// From where the last search ended: numbers are mostly handed out in turn.
		size_t start = scene->owner_next > 0 ? scene->owner_next - 1 : 0;
		for (size_t i = 0; i + 1 < scene->owner_cap; i++) {
			size_t o = (start + i) % (scene->owner_cap - 1) + 1;
			struct scene_owner *owner = &scene->owner_table[o];
			if (owner->state == OWNER_FREE) {
				memset(owner, 0, sizeof *owner);
				owner->state = OWNER_LIVE;
				scene->owner_next = o + 1;
				return (uint16_t)o;
			}
		}
		if (scene->owner_cap < (size_t)SCENE_MAX_OWNERS + 1) {
			size_t cap = scene->owner_cap ? scene->owner_cap * 2 : 16;
			if (cap > (size_t)SCENE_MAX_OWNERS + 1) {
				cap = (size_t)SCENE_MAX_OWNERS + 1;
			}
			struct scene_owner *table = realloc(scene->owner_table, cap * sizeof *table);
			if (table == NULL) {
				return 0;
			}
			memset(table + scene->owner_cap, 0, (cap - scene->owner_cap) * sizeof *table);
			scene->owner_table = table;
			scene->owner_cap = cap;
		} else if (scene->gone_owners > 0) {
			compact(scene);
		} else {
			return 0;
		}
	}
}

void scene_owner_destroy(struct scene *scene, uint16_t id) {
	if (id == 0) {
		return;
	}
	assert(id < scene->owner_cap && scene->owner_table[id].state == OWNER_LIVE);
	struct scene_owner *owner = &scene->owner_table[id];
	scene->damaged |= owner->drawn > 0;
	if (owner->nodes == 0) {
		// Only holes can still name it, and holes are skipped whoever they name.
		owner->state = OWNER_FREE;
		return;
	}
	scene->count -= owner->nodes;
	scene->stale += owner->nodes;
	scene->order_dirty = true;
	owner->state = OWNER_GONE;
	scene->gone_owners++;
}

void scene_node_init(struct scene_node *node) {
	memset(node, 0, sizeof *node);
	node->index = SCENE_DETACHED;
}

bool scene_node_add(struct scene *scene, uint16_t id, struct scene_node *node) {
	assert(node->index == SCENE_DETACHED);
	assert(id != 0 && id < scene->owner_cap && scene->owner_table[id].state == OWNER_LIVE);
	if (scene->len == scene->cap) {
		if (scene->stale > 0 && scene->stale >= scene->len / 2) {
			// Mostly holes: reuse the room rather than grow.
			compact(scene);
		} else {
			size_t cap = scene->cap ? scene->cap * 2 : MIN_CAP;
			if (cap > SCENE_DETACHED) {
				return false;
			}
			struct scene_node **nodes = realloc(scene->nodes, cap * sizeof *nodes);
			if (nodes == NULL) {
				return false;
			}
			scene->nodes = nodes;
			uint16_t *owners = realloc(scene->owners, cap * sizeof *owners);
			if (owners == NULL) {
				return false;
			}
			scene->owners = owners;
			scene->cap = cap;
		}
	}
	node->index = (uint32_t)scene->len;
	scene->nodes[scene->len] = node;
	scene->owners[scene->len] = id;
	scene->len++;
	scene->count++;
	scene->order_dirty = true;
	struct scene_owner *owner = &scene->owner_table[id];
	owner->nodes++;
	if (scene_node_drawn(node)) {
		owner->drawn++;
		scene->damaged = true;
	}
	return true;
}

// Field by field: the struct has padding, whose bytes memcmp would compare too.
static bool same_state(const struct scene_rect_state *a, const struct scene_rect_state *b) {
	return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height &&
		a->rgba == b->rgba && a->z == b->z && a->visible == b->visible;
}

void scene_node_commit(struct scene *scene, struct scene_node *node,
		const struct scene_rect_state *state) {
	assert(node->index < scene->len);
	if (same_state(&node->state, state)) {
		return;
	}
	bool was_drawn = scene_node_drawn(node);
	if (node->state.z != state->z) {
		scene->order_dirty = true;
	}
	node->state = *state;
	bool drawn = scene_node_drawn(node);
	if (drawn != was_drawn) {
		struct scene_owner *owner = &scene->owner_table[scene->owners[node->index]];
		if (drawn) {
			owner->drawn++;
		} else {
			owner->drawn--;
		}
	}
	scene->damaged |= was_drawn || drawn;
}

void scene_node_remove(struct scene *scene, struct scene_node *node) {
	if (node->index == SCENE_DETACHED) {
		return;
	}
	assert(node->index < scene->len && scene->nodes[node->index] == node);
	struct scene_owner *owner = &scene->owner_table[scene->owners[node->index]];
	owner->nodes--;
	if (scene_node_drawn(node)) {
		owner->drawn--;
		scene->damaged = true;
	}
	if (node->index + 1 == scene->len) {
		scene->len--; // the newest entry: no hole to leave
	} else {
		scene->nodes[node->index] = NULL;
		scene->stale++;
	}
	node->index = SCENE_DETACHED;
	scene->count--;
	scene->order_dirty = true;
}

static int compare_nodes(const void *a, const void *b) {
	const struct scene_node *na = *(struct scene_node *const *)a;
	const struct scene_node *nb = *(struct scene_node *const *)b;
	if (na->state.z != nb->state.z) {
		return na->state.z < nb->state.z ? -1 : 1;
	}
	return na->index < nb->index ? -1 : na->index > nb->index;
}

struct scene_node *const *scene_ordered(struct scene *scene, size_t *count) {
	static struct scene_node *const empty[1];
	if (scene->order_dirty) {
		if (scene->stale > 0) {
			compact(scene);
		}
		// Entries are in order of first commit: with z never decreasing along them
		// (equal everywhere, say) they are the drawing order already.
		bool sorted = true;
		for (size_t i = 1; i < scene->len; i++) {
			if (scene->nodes[i - 1]->state.z > scene->nodes[i]->state.z) {
				sorted = false;
				break;
			}
		}
		if (sorted) {
			free(scene->order);
			scene->order = NULL;
			scene->order_cap = 0;
			scene->ordered = scene->nodes;
		} else {
			if (scene->order_cap < scene->len) {
				struct scene_node **order = realloc(scene->order,
					scene->len * sizeof *order);
				if (order == NULL) {
					*count = 0;
					return NULL;
				}
				scene->order = order;
				scene->order_cap = scene->len;
			}
			memcpy(scene->order, scene->nodes, scene->len * sizeof *scene->order);
			qsort(scene->order, scene->len, sizeof *scene->order, compare_nodes);
			scene->ordered = scene->order;
		}
		scene->order_dirty = false;
	}
	*count = scene->count;
	return scene->count > 0 ? scene->ordered : empty;
}
