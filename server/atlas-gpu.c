#include "atlas-gpu.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "transform.h"

#define PAGE_SIZE_MAX 1024

bool atlas_gpu_init(struct atlas_gpu *gpu, struct renderer *renderer, size_t budget) {
	memset(gpu, 0, sizeof *gpu);
	int max = renderer_max_texture_size(renderer);
	int size = max < PAGE_SIZE_MAX ? max - max % ATLAS_PLOT : PAGE_SIZE_MAX;
	if (size < ATLAS_PLOT) {
		log_error("the GPU's textures are too small for an atlas (%d texels)", max);
		return false;
	}
	gpu->atlas = atlas_create(size, budget);
	if (gpu->atlas == NULL) {
		log_error("out of memory for an atlas");
		return false;
	}
	gpu->renderer = renderer;
	return true;
}

void atlas_gpu_finish(struct atlas_gpu *gpu) {
	for (size_t i = 0; i < gpu->page_len; i++) {
		render_texture_finish(gpu->renderer, &gpu->pages[i]);
	}
	free(gpu->pages);
	atlas_destroy(gpu->atlas);
	memset(gpu, 0, sizeof *gpu);
}

bool atlas_gpu_sync(struct atlas_gpu *gpu) {
	size_t count = atlas_page_count(gpu->atlas);
	if (count <= gpu->page_len) {
		return true;
	}
	struct render_texture *pages = realloc(gpu->pages, count * sizeof *pages);
	if (pages == NULL) {
		log_error("out of memory for an atlas page");
		return false;
	}
	gpu->pages = pages;
	while (gpu->page_len < count) {
		const struct atlas_page *page = atlas_page(gpu->atlas, gpu->page_len);
		if (render_texture_init(gpu->renderer, &gpu->pages[gpu->page_len], page->size,
				page->size, page->color ? RENDER_RGBA8 : RENDER_A8) != RENDER_OK) {
			log_error("the GPU refused an atlas page of %d x %d", page->size, page->size);
			return false;
		}
		gpu->page_len++;
	}
	return true;
}

void atlas_gpu_flush(struct atlas_gpu *gpu) {
	for (size_t i = 0; i < gpu->page_len; i++) {
		struct draw_box box = atlas_take_dirty(gpu->atlas, i);
		if (box_empty(&box)) {
			continue;
		}
		const struct atlas_page *page = atlas_page(gpu->atlas, i);
		size_t stride = (size_t)page->size * (page->color ? 4 : 1);
		if (render_texture_upload(gpu->renderer, &gpu->pages[i], page->pixels, stride,
				box) != RENDER_OK) {
			log_error("uploading an atlas page failed");
		}
	}
}
