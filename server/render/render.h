/*
 * The GLES 2 renderer: the only code that calls GL. Draws a scene into whatever
 * framebuffer the backend has bound, batching every rectangle into one vertex buffer.
 */
#ifndef TESSERA_RENDER_H
#define TESSERA_RENDER_H

#include <stdbool.h>
#include <stdint.h>

struct scene;
struct renderer;

/**
 * Compiles the embedded shaders and makes the buffers. Needs a current GLES 2 context.
 * Returns NULL (after logging why) when the GL implementation refuses.
 */
struct renderer *renderer_create(void);

/** Frees GL objects (the context must still be current) and the renderer; NULL is fine. */
void renderer_destroy(struct renderer *renderer);

/**
 * Clears the bound framebuffer (@width x @height pixels) to the scene's background and
 * draws the scene back to front with premultiplied alpha blending. Returns false when
 * memory for the drawing order or the vertex batch cannot be had (the frame then shows
 * the background).
 */
bool renderer_draw(struct renderer *renderer, struct scene *scene, int width, int height);

/**
 * Draws the scene into an offscreen RGBA framebuffer of @width x @height and reads it
 * back into @rgba (width * 4 bytes per row, top row first, straight RGBA8 as stored).
 * Restores the framebuffer binding it found. Returns false on GL failure.
 */
bool renderer_capture(struct renderer *renderer, struct scene *scene, int width, int height,
	uint8_t *rgba);

/** An offscreen RGBA8 framebuffer with a texture as its colour (RGBA8 renderbuffers
 *  are not core GLES 2). Used for screenshots and by the headless backend. */
struct render_target {
	unsigned int fbo, tex;
	int width, height;
};

/**
 * Makes @target @width x @height and leaves it bound. Returns false after logging why
 * (too large, incomplete framebuffer), with nothing left behind and @target zeroed.
 */
bool render_target_init(struct render_target *target, int width, int height);

/** Deletes the GL objects of @target (context current); a zeroed target is fine. */
void render_target_finish(struct render_target *target);

#endif
