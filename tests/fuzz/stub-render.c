/*
 * A renderer without GL for the server fuzz target (render.h). The scene's own walk
 * (tree_build, in the server) reads every node, so that AddressSanitizer sees a node
 * the scene still points to after its memory was freed; read_frame paints the last
 * list's rect boxes on the CPU, so screenshots are deterministic. render_target_* are
 * GL-only and not provided: the server does not use them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

struct renderer {
	uint64_t checksum; // of everything drawn, so reading the list is not optimised away
	struct draw_item *items; // the last frame's, for read_frame
	size_t count;
	uint32_t background;
	int width, height;
};

struct renderer *renderer_create(void) {
	return calloc(1, sizeof(struct renderer));
}

void renderer_destroy(struct renderer *renderer) {
	if (renderer != NULL) {
		free(renderer->items);
	}
	free(renderer);
}

static uint64_t mix(uint64_t h, uint64_t v) {
	return (h ^ v) * 0x100000001b3ull;
}

bool renderer_draw_list(struct renderer *renderer, const struct draw_list *list,
		int width, int height, struct render_stats *stats) {
	// The list holds copies, not pointers into the scene: the scene's own walk
	// (tree_build) is what reads the nodes. Keep what a frame shows for read_frame.
	uint64_t h = renderer->checksum;
	free(renderer->items);
	renderer->items = NULL;
	renderer->count = 0;
	if (list->len > 0) {
		renderer->items = malloc(list->len * sizeof *renderer->items);
		if (renderer->items == NULL) {
			return false;
		}
		memcpy(renderer->items, list->items, list->len * sizeof *renderer->items);
		renderer->count = list->len;
	}
	for (size_t i = 0; i < list->len; i++) {
		const struct draw_item *item = &list->items[i];
		h = mix(h, item->kind);
		h = mix(h, (uint32_t)item->bounds.x0 ^ (uint32_t)item->bounds.y1 << 16);
	}
	renderer->checksum = h;
	renderer->background = list->background;
	renderer->width = width;
	renderer->height = height;
	if (stats != NULL) {
		memset(stats, 0, sizeof *stats);
		stats->nodes_drawn = (uint32_t)list->len;
	}
	return true;
}

static void put_rgba(uint8_t *p, uint32_t rgba) {
	p[0] = (uint8_t)(rgba >> 24);
	p[1] = (uint8_t)(rgba >> 16);
	p[2] = (uint8_t)(rgba >> 8);
	p[3] = (uint8_t)rgba;
}

bool renderer_read_frame(struct renderer *renderer, int width, int height, uint8_t *rgba) {
	if (width != renderer->width || height != renderer->height) {
		return false;
	}
	for (int i = 0; i < width * height; i++) {
		put_rgba(rgba + 4 * i, renderer->background);
	}
	// Back to front, each rect's screen box opaque: deterministic, if not exact.
	for (size_t i = 0; i < renderer->count; i++) {
		const struct draw_item *item = &renderer->items[i];
		if (item->kind != DRAW_RECT) {
			continue;
		}
		const struct draw_box *b = &item->bounds;
		for (int32_t y = b->y0 < 0 ? 0 : b->y0; y < b->y1 && y < height; y++) {
			for (int32_t x = b->x0 < 0 ? 0 : b->x0; x < b->x1 && x < width; x++) {
				put_rgba(rgba + 4 * ((size_t)y * (size_t)width + (size_t)x), item->rect.fill);
			}
		}
	}
	return true;
}
