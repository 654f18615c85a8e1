/*
 * Offscreen framebuffers: render_target (a texture with a stencil renderbuffer) and the
 * pool of them that layers draw into.
 */
#include "render-internal.h"

#include <string.h>

#include <epoxy/gl.h>

#include "log.h"

// A layer pool target unused for this many frames (about 5 s at 60 Hz) is deleted.
#define LAYER_IDLE_FRAMES 300
// Pool targets are made a multiple of this a side, so that layers of nearby sizes
// (a group growing by a pixel a frame) reuse one instead of remaking it each frame.
#define LAYER_GRAIN 64

// Attaches an 8-bit stencil to the bound framebuffer: GL_STENCIL_INDEX8 is core GLES 2,
// yet some GPUs only take stencil packed with depth (OES_packed_depth_stencil).
static GLuint attach_stencil(int width, int height) {
	GLuint rb = 0;
	glGenRenderbuffers(1, &rb);
	glBindRenderbuffer(GL_RENDERBUFFER, rb);
	glRenderbufferStorage(GL_RENDERBUFFER, GL_STENCIL_INDEX8, width, height);
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_STENCIL_ATTACHMENT, GL_RENDERBUFFER, rb);
	if (glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE) {
		glBindRenderbuffer(GL_RENDERBUFFER, 0);
		return rb;
	}
	if (epoxy_has_gl_extension("GL_OES_packed_depth_stencil")) {
		glRenderbufferStorage(GL_RENDERBUFFER, GL_DEPTH24_STENCIL8_OES, width, height);
		glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, rb);
		glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_STENCIL_ATTACHMENT, GL_RENDERBUFFER,
			rb);
		if (glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE) {
			glBindRenderbuffer(GL_RENDERBUFFER, 0);
			return rb;
		}
		glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, 0);
	}
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_STENCIL_ATTACHMENT, GL_RENDERBUFFER, 0);
	glBindRenderbuffer(GL_RENDERBUFFER, 0);
	glDeleteRenderbuffers(1, &rb);
	log_info("render: no 8-bit stencil attachment: rotated clips cut to their boxes");
	return 0;
}

bool render_target_init(struct render_target *target, int width, int height) {
	memset(target, 0, sizeof *target);
	GLint max_size = 0;
	glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
	if (width <= 0 || height <= 0 || width > max_size || height > max_size) {
		log_error("render: cannot make a %dx%d framebuffer (the GPU allows 1 to %d a side)",
			width, height, max_size);
		return false;
	}
	glGenTextures(1, &target->tex);
	glBindTexture(GL_TEXTURE_2D, target->tex);
	// No mipmaps and clamped edges: what GLES 2 needs for a non-power-of-two texture.
	// Nearest: a target is only ever drawn one texel to one pixel.
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
		NULL);
	glBindTexture(GL_TEXTURE_2D, 0);

	glGenFramebuffers(1, &target->fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, target->fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D,
		target->tex, 0);
	GLenum status = glCheckFramebufferStatus(GL_FRAMEBUFFER);
	if (status != GL_FRAMEBUFFER_COMPLETE) {
		log_error("render: cannot make a %dx%d framebuffer (status 0x%04x)",
			width, height, (unsigned)status);
		glBindFramebuffer(GL_FRAMEBUFFER, 0);
		render_target_finish(target);
		return false;
	}
	target->stencil = attach_stencil(width, height);
	target->width = width;
	target->height = height;
	return true;
}

void render_target_finish(struct render_target *target) {
	if (target->fbo != 0) {
		glDeleteFramebuffers(1, &target->fbo);
	}
	if (target->stencil != 0) {
		glDeleteRenderbuffers(1, &target->stencil);
	}
	if (target->tex != 0) {
		glDeleteTextures(1, &target->tex);
	}
	memset(target, 0, sizeof *target);
}

static int round_up(int v, int max_size) {
	int r = (v + LAYER_GRAIN - 1) / LAYER_GRAIN * LAYER_GRAIN;
	return r < max_size ? r : max_size;
}

struct render_target *layer_pool_acquire(struct layer_pool *pool, int width, int height,
		int max_size, uint32_t frame) {
	int best = -1, spare = -1;
	for (int i = 0; i < LAYER_DEPTH_MAX; i++) {
		const struct render_target *t = &pool->targets[i];
		if (pool->busy[i]) {
			continue;
		}
		if (t->fbo == 0 || t->width < width || t->height < height) {
			// Not fitting: remade if nothing fits; an empty slot first.
			if (spare < 0 || t->fbo == 0) {
				spare = i;
			}
			continue;
		}
		if (best < 0 || (int64_t)t->width * t->height
				< (int64_t)pool->targets[best].width * pool->targets[best].height) {
			best = i;
		}
	}
	if (best < 0) {
		if (spare < 0) {
			log_error("render: more than %d layers drawn at once", LAYER_DEPTH_MAX);
			return NULL;
		}
		struct render_target *t = &pool->targets[spare];
		render_target_finish(t);
		if (!render_target_init(t, round_up(width, max_size),
				round_up(height, max_size))) {
			return NULL;
		}
		best = spare;
	}
	pool->busy[best] = true;
	pool->last_used[best] = frame;
	return &pool->targets[best];
}

void layer_pool_release(struct layer_pool *pool, struct render_target *target) {
	pool->busy[target - pool->targets] = false;
}

void layer_pool_trim(struct layer_pool *pool, uint32_t frame) {
	for (int i = 0; i < LAYER_DEPTH_MAX; i++) {
		if (!pool->busy[i] && pool->targets[i].fbo != 0
				&& frame - pool->last_used[i] > LAYER_IDLE_FRAMES) {
			render_target_finish(&pool->targets[i]);
		}
	}
}

void layer_pool_finish(struct layer_pool *pool) {
	for (int i = 0; i < LAYER_DEPTH_MAX; i++) {
		render_target_finish(&pool->targets[i]);
		pool->busy[i] = false;
	}
}
