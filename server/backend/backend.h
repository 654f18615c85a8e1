/*
 * A backend owns the display (or its stand-in) and the GL context, and tells the loop
 * about window events. Each backend implements the same small function table.
 */
#ifndef TESSERA_BACKEND_H
#define TESSERA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

struct backend;

struct backend_impl {
	const char *name;
	/** Releases the context and the display; the renderer must be gone already. */
	void (*destroy)(struct backend *backend);
	/** Makes the context current and binds the framebuffer frames are drawn into. */
	bool (*begin_frame)(struct backend *backend);
	/** Presents what was drawn (swap buffers), or waits for it to finish (headless). */
	bool (*end_frame)(struct backend *backend);
	/**
	 * An fd that becomes readable when window-system events arrive, or -1 when the
	 * backend has none (headless). NULL means the same as returning -1.
	 */
	int (*get_fd)(struct backend *backend);
	/** Handles pending window-system events without blocking; may be NULL. */
	void (*dispatch)(struct backend *backend);
};

struct backend {
	const struct backend_impl *impl;
	int width, height;        // size of the frames, in pixels
	bool damaged;             // set by the backend when the screen must be redrawn (expose)
	bool close_requested;     // set by the backend when the user closed the window
};

/**
 * Headless: EGL on Mesa's surfaceless platform with an offscreen framebuffer of
 * @width x @height. Returns NULL after logging why when EGL or GLES 2 is unavailable.
 */
struct backend *backend_headless_create(int width, int height);

/**
 * Window: a GLFW window with a GLES 2 context made through EGL; @fullscreen takes the
 * primary monitor at its current mode (width and height then follow the monitor).
 * Returns NULL after logging why when there is no display.
 */
struct backend *backend_window_create(int width, int height, bool fullscreen);

static inline void backend_destroy(struct backend *backend) {
	if (backend != NULL) {
		backend->impl->destroy(backend);
	}
}

#endif
