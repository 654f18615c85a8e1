/*
 * An atlas (text/atlas.h) with its pages on the GPU: a texture per page, made as the
 * atlas makes pages, and the box of each page that changed uploaded before a frame.
 * The glyph atlas (text.c) and the atlas of small images (image.c) are two of them.
 * Loop thread only (GL).
 */
#ifndef TESSERA_ATLAS_GPU_H
#define TESSERA_ATLAS_GPU_H

#include <stdbool.h>
#include <stddef.h>

#include "atlas.h"
#include "render.h"

struct atlas_gpu {
	struct atlas *atlas;
	struct renderer *renderer;
	struct render_texture *pages;   // one per atlas page
	size_t page_len;
};

/**
 * An empty atlas of pages of at most 1024 texels a side (less when the GPU's maximum
 * texture size is less), within @budget bytes. False (logged) when the GPU's textures
 * are too small for a plot or memory cannot be had.
 */
bool atlas_gpu_init(struct atlas_gpu *gpu, struct renderer *renderer, size_t budget);

/** Deletes the textures and the atlas. A zeroed one is fine. */
void atlas_gpu_finish(struct atlas_gpu *gpu);

/** Makes textures for the pages made since; false (logged) when the GPU refuses. */
bool atlas_gpu_sync(struct atlas_gpu *gpu);

/** Uploads what changed in every page since the last flush. */
void atlas_gpu_flush(struct atlas_gpu *gpu);

/** The GL texture of page @page. */
static inline unsigned int atlas_gpu_texture(const struct atlas_gpu *gpu, size_t page) {
	return page < gpu->page_len ? gpu->pages[page].name : 0;
}

#endif
