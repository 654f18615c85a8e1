/*
 * A renderer without GL for the server fuzz target (render.h). The scene's own walk
 * (tree_build, in the server) reads every node, so that AddressSanitizer sees a node
 * the scene still points to after its memory was freed; read_frame paints the last
 * list's rect boxes on the CPU, so screenshots are deterministic. render_target_* are
 * GL-only and not provided: the server does not use them.
 *
 * Textures are names only: init hands out 1, 2, 3... (RENDER_TOO_LARGE past 4096 a
 * side), upload keeps no pixels but counts the bytes and reads the first and last byte
 * of each of the box's rows, so that AddressSanitizer (or a fault) catches a server
 * handing over a box or stride that leaves the client's memory. read_frame paints an
 * image's bounds opaque STUB_IMAGE_RGBA, whatever its texels and tint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#define STUB_MAX_TEXTURE 4096
#define STUB_IMAGE_RGBA 0x808080ffu

struct renderer {
	uint64_t checksum; // of everything drawn, so reading the list is not optimised away
	struct draw_item *items; // the last frame's, for read_frame
	size_t count;
	uint32_t background;
	int width, height;
	unsigned next_texture;   // the last texture name handed out
	uint64_t uploaded_bytes;
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
		if (item->kind == DRAW_IMAGE) {
			h = mix(h, item->image.texture ^ (uint64_t)item->image.tint << 32);
		}
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
	// Back to front, each rect's screen box opaque in its fill, each image's in one
	// colour: deterministic, if not exact.
	for (size_t i = 0; i < renderer->count; i++) {
		const struct draw_item *item = &renderer->items[i];
		uint32_t colour;
		if (item->kind == DRAW_RECT) {
			colour = item->rect.fill;
		} else if (item->kind == DRAW_IMAGE) {
			colour = STUB_IMAGE_RGBA;
		} else {
			continue;
		}
		const struct draw_box *b = &item->bounds;
		for (int32_t y = b->y0 < 0 ? 0 : b->y0; y < b->y1 && y < height; y++) {
			for (int32_t x = b->x0 < 0 ? 0 : b->x0; x < b->x1 && x < width; x++) {
				put_rgba(rgba + 4 * ((size_t)y * (size_t)width + (size_t)x), colour);
			}
		}
	}
	return true;
}

int renderer_max_texture_size(const struct renderer *renderer) {
	(void)renderer;
	return STUB_MAX_TEXTURE;
}

enum render_status render_texture_init(struct renderer *renderer, struct render_texture *tex,
		int width, int height, enum render_format format) {
	memset(tex, 0, sizeof *tex);
	if (width < 1 || height < 1 || width > STUB_MAX_TEXTURE || height > STUB_MAX_TEXTURE) {
		return RENDER_TOO_LARGE;
	}
	if (render_format_bpp(format) == 0) {
		return RENDER_FAILED;
	}
	*tex = (struct render_texture){
		.name = ++renderer->next_texture, .width = width, .height = height,
		.format = (uint8_t)format,
	};
	return RENDER_OK;
}

enum render_status render_texture_upload(struct renderer *renderer, struct render_texture *tex,
		const uint8_t *pixels, size_t stride, struct draw_box box) {
	if (box.x0 >= box.x1 || box.y0 >= box.y1) {
		return RENDER_OK;
	}
	const size_t bpp = render_format_bpp((enum render_format)tex->format);
	if (tex->name == 0 || box.x0 < 0 || box.y0 < 0 || box.x1 > tex->width
			|| box.y1 > tex->height || (size_t)(box.x1 - box.x0) * bpp > stride) {
		return RENDER_FAILED;
	}
	// The bytes the real renderer reads first and last of each row.
	uint64_t h = renderer->checksum;
	for (int32_t y = box.y0; y < box.y1; y++) {
		const uint8_t *row = pixels + (size_t)y * stride;
		h = mix(h, row[(size_t)box.x0 * bpp]);
		h = mix(h, row[(size_t)box.x1 * bpp - 1]);
	}
	renderer->checksum = h;
	renderer->uploaded_bytes += (uint64_t)(box.x1 - box.x0) * (uint64_t)(box.y1 - box.y0)
		* bpp;
	return RENDER_OK;
}

void render_texture_finish(struct renderer *renderer, struct render_texture *tex) {
	(void)renderer;
	memset(tex, 0, sizeof *tex);
}

uint64_t renderer_uploaded_bytes(const struct renderer *renderer) {
	return renderer->uploaded_bytes;
}
