#include "scene.h"

#include <stdlib.h>
#include <string.h>

void scene_init(struct scene *scene, uint32_t background) {
	memset(scene, 0, sizeof *scene);
	list_init(&scene->nodes);
	scene->background = background;
	scene->damaged = true;
}

void scene_finish(struct scene *scene) {
	free(scene->order);
	scene->order = NULL;
	scene->order_cap = 0;
}

void scene_node_init(struct scene_node *node, enum scene_node_type type) {
	memset(node, 0, sizeof *node);
	node->type = type;
	list_init(&node->link);
}

bool scene_node_drawn(const struct scene_node *node) {
	const struct scene_rect_state *s = &node->state;
	return s->visible && s->width > 0 && s->height > 0 && (s->rgba & 0xff) != 0;
}

// Field by field: the struct has padding, whose bytes memcmp would compare too.
static bool same_state(const struct scene_rect_state *a, const struct scene_rect_state *b) {
	return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height &&
		a->rgba == b->rgba && a->z == b->z && a->visible == b->visible;
}

bool scene_node_commit(struct scene *scene, struct scene_node *node,
		const struct scene_rect_state *state) {
	if (!node->in_scene) {
		// Reserve the slot in order[] now, so drawing never fails for memory.
		if (scene->count == scene->order_cap) {
			size_t cap = scene->order_cap ? scene->order_cap * 2 : 64;
			struct scene_node **order = realloc(scene->order, cap * sizeof *order);
			if (order == NULL) {
				return false;
			}
			scene->order = order;
			scene->order_cap = cap;
		}
		node->state = *state;
		node->in_scene = true;
		node->seq = scene->next_seq++;
		list_append(&scene->nodes, &node->link);
		scene->count++;
		scene->order_dirty = true;
		scene->damaged |= scene_node_drawn(node);
		return true;
	}
	if (same_state(&node->state, state)) {
		return true;
	}
	bool was_drawn = scene_node_drawn(node);
	if (node->state.z != state->z) {
		scene->order_dirty = true;
	}
	node->state = *state;
	scene->damaged |= was_drawn || scene_node_drawn(node);
	return true;
}

void scene_node_remove(struct scene *scene, struct scene_node *node) {
	if (!node->in_scene) {
		return;
	}
	scene->damaged |= scene_node_drawn(node);
	list_remove(&node->link);
	node->in_scene = false;
	scene->count--;
	scene->order_dirty = true;
}

static int compare_nodes(const void *a, const void *b) {
	const struct scene_node *na = *(struct scene_node *const *)a;
	const struct scene_node *nb = *(struct scene_node *const *)b;
	if (na->state.z != nb->state.z) {
		return na->state.z < nb->state.z ? -1 : 1;
	}
	return na->seq < nb->seq ? -1 : na->seq > nb->seq;
}

struct scene_node *const *scene_ordered(struct scene *scene, size_t *count) {
	if (scene->order_dirty) {
		size_t n = 0;
		bool sorted = true;
		struct list *pos, *tmp;
		list_for_each_safe(pos, tmp, &scene->nodes) {
			struct scene_node *node = list_entry(pos, struct scene_node, link);
			if (n > 0 && compare_nodes(&scene->order[n - 1], &node) > 0) {
				sorted = false;
			}
			scene->order[n++] = node;
		}
		// The list is in seq order, so with equal z everywhere it is already sorted.
		if (!sorted) {
			qsort(scene->order, n, sizeof *scene->order, compare_nodes);
		}
		scene->order_dirty = false;
	}
	*count = scene->count;
	return scene->order;
}
