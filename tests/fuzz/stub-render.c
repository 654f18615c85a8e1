/*
 * A renderer without GL for the server fuzz target (render.h). It reads every node of
 * the scene the way the real one does, so that AddressSanitizer sees a node the scene
 * still points to after its memory was freed; capture paints the rectangles on the CPU,
 * so screenshots are deterministic. render_target_* are GL-only and not provided: the
 * server core does not use them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "scene.h"

struct renderer {
	uint64_t checksum; // of everything drawn, so reading the nodes is not optimised away
};

struct renderer *renderer_create(void) {
	return calloc(1, sizeof(struct renderer));
}

void renderer_destroy(struct renderer *renderer) {
	free(renderer);
}

static uint64_t mix(uint64_t h, uint64_t v) {
	return (h ^ v) * 0x100000001b3ull;
}

bool renderer_draw(struct renderer *renderer, struct scene *scene, int width, int height) {
	size_t count;
	struct scene_node *const *nodes = scene_ordered(scene, &count);
	uint64_t h = renderer->checksum;
	for (size_t i = 0; i < count; i++) {
		const struct scene_rect_state *s = &nodes[i]->state;
		if (scene_rect_drawn(s)) {
			h = mix(h, (uint32_t)s->x);
			h = mix(h, (uint32_t)s->y);
			h = mix(h, s->rgba);
			h = mix(h, (uint64_t)s->width << 16 | s->height);
		}
	}
	renderer->checksum = h;
	return nodes != NULL;
}

// Clips [pos, pos + len) to [0, limit).
static void clip(int32_t pos, uint32_t len, int limit, int *from, int *to) {
	int64_t a = pos, b = (int64_t)pos + len;
	*from = a < 0 ? 0 : a > limit ? limit : (int)a;
	*to = b < 0 ? 0 : b > limit ? limit : (int)b;
}

static void put_rgba(uint8_t *p, uint32_t rgba) {
	p[0] = (uint8_t)(rgba >> 24);
	p[1] = (uint8_t)(rgba >> 16);
	p[2] = (uint8_t)(rgba >> 8);
	p[3] = (uint8_t)rgba;
}

bool renderer_capture(struct renderer *renderer, struct scene *scene, int width, int height,
		uint8_t *rgba) {
	for (int i = 0; i < width * height; i++) {
		put_rgba(rgba + 4 * i, scene->background);
	}
	size_t count;
	struct scene_node *const *nodes = scene_ordered(scene, &count);
	if (nodes == NULL) {
		return false;
	}
	// Back to front, opaque: the last rect over a pixel wins (no blending needed here).
	for (size_t i = 0; i < count; i++) {
		const struct scene_rect_state *s = &nodes[i]->state;
		if (!scene_rect_drawn(s)) {
			continue;
		}
		int x0, x1, y0, y1;
		clip(s->x, s->width, width, &x0, &x1);
		clip(s->y, s->height, height, &y0, &y1);
		for (int y = y0; y < y1; y++) {
			for (int x = x0; x < x1; x++) {
				put_rgba(rgba + 4 * ((size_t)y * (size_t)width + (size_t)x), s->rgba);
			}
		}
	}
	return true;
}
