/*
 * What the pixel formats of render.h cost, with no GL: the server checks buffers and
 * charges textures with these, and the fuzz target's GL-free renderer links them too.
 */
#include "render.h"

unsigned render_format_bpp(enum render_format format) {
	switch (format) {
	case RENDER_RGBA8:
	case RENDER_XRGB8:
		return 4;
	case RENDER_RGB565:
		return 2;
	case RENDER_A8:
		return 1;
	default:
		return 0;
	}
}

// On the GPU, XRGB8 becomes RGBA (GLES 2 takes no BGRX), the same 4 bytes a texel;
// RGB565 stays 2: what a texture is charged is what client memory holds.
size_t render_texture_bytes(int width, int height, enum render_format format) {
	if (width <= 0 || height <= 0) {
		return 0;
	}
	return (size_t)width * (size_t)height * render_format_bpp(format);
}
