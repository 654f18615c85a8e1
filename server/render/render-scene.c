/*
 * The flat scene of rectangles (scene.h) as a draw list: what the server draws until
 * the scene tree replaces it. Every drawn rect becomes a DRAW_RECT item, translated,
 * square-cornered and unclipped, and every frame is full.
 */
#include "render-internal.h"

#include <stdlib.h>

#include "log.h"
#include "scene.h"

static int32_t clamp(int64_t v, int32_t lo, int32_t hi) {
	return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

// Fills renderer->flat from the scene; false without memory. Rects are cut to the
// output on the CPU: every coordinate stays a small exact integer in float, and rects
// off screen are left out entirely.
static bool build_list(struct renderer *r, struct scene *scene, int width, int height) {
	struct draw_list *list = &r->flat;
	list->len = 0;
	list->full = true;
	list->background = scene->background;
	size_t count;
	struct scene_node *const *nodes = scene_ordered(scene, &count);
	if (nodes == NULL) {
		log_error("render: no memory to sort %zu rectangles", scene->count);
		return false;
	}
	if (count > list->cap) {
		struct draw_item *items = count < SIZE_MAX / sizeof *items
			? realloc(list->items, count * sizeof *items) : NULL;
		if (items == NULL) {
			log_error("render: no memory for a list of %zu rectangles", count);
			return false;
		}
		list->items = items;
		list->cap = count;
	}
	for (size_t i = 0; i < count; i++) {
		const struct scene_rect_state *s = &nodes[i]->state;
		if (!scene_rect_drawn(s)) {
			continue;
		}
		struct draw_box box = {
			clamp(s->x, 0, width), clamp(s->y, 0, height),
			clamp((int64_t)s->x + s->width, 0, width),
			clamp((int64_t)s->y + s->height, 0, height),
		};
		if (box_empty(box)) {
			continue;
		}
		struct draw_item *item = &list->items[list->len++];
		item->kind = DRAW_RECT;
		item->clip = DRAW_NO_CLIP;
		item->bounds = box;
		item->rect.world = (struct affine){ 1, 0, 0, 1, (float)box.x0, (float)box.y0 };
		item->rect.width = (float)(box.x1 - box.x0);
		item->rect.height = (float)(box.y1 - box.y0);
		item->rect.radius = 0;
		item->rect.border = 0;
		item->rect.fill = render_premultiply(s->rgba);
		item->rect.border_rgba = 0;
	}
	return true;
}

bool renderer_draw(struct renderer *renderer, struct scene *scene, int width, int height) {
	if (width <= 0 || height <= 0) {
		return true;
	}
	if (!build_list(renderer, scene, width, height)) {
		renderer->flat.len = 0; // the background, at least
		renderer_draw_list(renderer, &renderer->flat, width, height, NULL);
		return false;
	}
	return renderer_draw_list(renderer, &renderer->flat, width, height, NULL);
}

bool renderer_capture(struct renderer *renderer, struct scene *scene, int width, int height,
		uint8_t *rgba) {
	if (width <= 0 || height <= 0) {
		log_error("render: cannot capture a %dx%d frame", width, height);
		return false;
	}
	if (!build_list(renderer, scene, width, height)) {
		return false;
	}
	return renderer_capture_list(renderer, &renderer->flat, width, height, rgba);
}
