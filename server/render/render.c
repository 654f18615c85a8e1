#include "render.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cglm/cglm.h>
#include <epoxy/gl.h>

#include "log.h"
#include "scene.h"
#include "shaders.h"

// Attribute locations are fixed before linking, so no lookups are needed per frame.
enum {
	ATTRIB_POS = 0,
	ATTRIB_COLOR = 1,
};

#define VERTS_PER_RECT 6

// 12 bytes: the colour rides as four normalized bytes, a third of four floats.
struct vertex {
	float x, y;
	uint8_t rgba[4]; // premultiplied
};

struct renderer {
	GLuint program;
	GLint u_proj;
	GLuint vbo;

	// The CPU side of the batch, reused across frames; grows, never shrinks.
	struct vertex *verts;
	size_t verts_cap;

	struct render_target capture; // made at the first screenshot, kept while the size holds
};

static GLuint compile_shader(GLenum type, const char *source, const char *name) {
	GLuint shader = glCreateShader(type);
	if (shader == 0) {
		log_error("render: glCreateShader failed for %s", name);
		return 0;
	}
	glShaderSource(shader, 1, &source, NULL);
	glCompileShader(shader);
	GLint ok = GL_FALSE;
	glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		char info[1024] = "";
		glGetShaderInfoLog(shader, sizeof info, NULL, info);
		log_error("render: cannot compile shader %s: %s", name, info);
		glDeleteShader(shader);
		return 0;
	}
	return shader;
}

static GLuint link_program(const char *vert_source, const char *frag_source) {
	GLuint program = 0;
	GLuint vert = compile_shader(GL_VERTEX_SHADER, vert_source, "rect.vert");
	if (vert == 0) {
		return 0;
	}
	GLuint frag = compile_shader(GL_FRAGMENT_SHADER, frag_source, "rect.frag");
	if (frag == 0) {
		goto delete_vert;
	}
	program = glCreateProgram();
	if (program == 0) {
		log_error("render: glCreateProgram failed");
		goto delete_frag;
	}
	glAttachShader(program, vert);
	glAttachShader(program, frag);
	glBindAttribLocation(program, ATTRIB_POS, "a_pos");
	glBindAttribLocation(program, ATTRIB_COLOR, "a_color");
	glLinkProgram(program);
	GLint ok = GL_FALSE;
	glGetProgramiv(program, GL_LINK_STATUS, &ok);
	if (!ok) {
		char info[1024] = "";
		glGetProgramInfoLog(program, sizeof info, NULL, info);
		log_error("render: cannot link the rect program: %s", info);
		glDeleteProgram(program);
		program = 0;
	}
	// Shaders stay alive while attached; deleting them now frees them with the program.
delete_frag:
	glDeleteShader(frag);
delete_vert:
	glDeleteShader(vert);
	return program;
}

struct renderer *renderer_create(void) {
	struct renderer *renderer = calloc(1, sizeof *renderer);
	if (renderer == NULL) {
		log_error("render: out of memory");
		return NULL;
	}
	log_debug("render: GL_VERSION %s, GL_RENDERER %s",
		(const char *)glGetString(GL_VERSION), (const char *)glGetString(GL_RENDERER));

	renderer->program = link_program(shader_rect_vert, shader_rect_frag);
	if (renderer->program == 0) {
		goto free_renderer;
	}
	renderer->u_proj = glGetUniformLocation(renderer->program, "u_proj");
	if (renderer->u_proj < 0) {
		log_error("render: the rect program has no u_proj uniform");
		goto delete_program;
	}
	glGenBuffers(1, &renderer->vbo);
	if (renderer->vbo == 0) {
		log_error("render: cannot create a vertex buffer");
		goto delete_program;
	}
	return renderer;

delete_program:
	glDeleteProgram(renderer->program);
free_renderer:
	free(renderer);
	return NULL;
}

void renderer_destroy(struct renderer *renderer) {
	if (renderer == NULL) {
		return;
	}
	render_target_finish(&renderer->capture);
	glDeleteBuffers(1, &renderer->vbo);
	glDeleteProgram(renderer->program);
	free(renderer->verts);
	free(renderer);
}

// Straight 0xRRGGBBAA to premultiplied bytes, rounding to nearest.
static void premultiply(uint32_t rgba, uint8_t out[4]) {
	uint32_t a = rgba & 0xff;
	for (int i = 0; i < 3; i++) {
		uint32_t c = (rgba >> (24 - 8 * i)) & 0xff;
		out[i] = (uint8_t)((c * a + 127) / 255);
	}
	out[3] = (uint8_t)a;
}

static bool reserve_verts(struct renderer *renderer, size_t count) {
	if (count <= renderer->verts_cap) {
		return true;
	}
	size_t cap = renderer->verts_cap ? renderer->verts_cap : 6 * 64;
	while (cap < count) {
		if (cap > SIZE_MAX / 2 / sizeof *renderer->verts) {
			return false;
		}
		cap *= 2;
	}
	struct vertex *verts = realloc(renderer->verts, cap * sizeof *verts);
	if (verts == NULL) {
		return false;
	}
	renderer->verts = verts;
	renderer->verts_cap = cap;
	return true;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
	return v < lo ? lo : v > hi ? hi : v;
}

// Fills the batch with the drawn nodes clipped to the screen; returns the vertex count.
// Clipping on the CPU keeps every coordinate a small exact integer in float and leaves
// off-screen rects out of the batch entirely.
static size_t build_batch(struct renderer *renderer, struct scene_node *const *nodes,
		size_t count, int width, int height) {
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		const struct scene_node *node = nodes[i];
		if (!scene_node_drawn(node)) {
			continue;
		}
		const struct scene_rect_state *s = &node->state;
		int64_t x0 = clamp64(s->x, 0, width);
		int64_t y0 = clamp64(s->y, 0, height);
		int64_t x1 = clamp64((int64_t)s->x + s->width, 0, width);
		int64_t y1 = clamp64((int64_t)s->y + s->height, 0, height);
		if (x0 >= x1 || y0 >= y1) {
			continue;
		}
		uint8_t rgba[4];
		premultiply(s->rgba, rgba);
		const float fx0 = (float)x0, fy0 = (float)y0, fx1 = (float)x1, fy1 = (float)y1;
		const float corners[VERTS_PER_RECT][2] = {
			{ fx0, fy0 }, { fx1, fy0 }, { fx0, fy1 },
			{ fx1, fy0 }, { fx1, fy1 }, { fx0, fy1 },
		};
		struct vertex *v = &renderer->verts[n];
		for (int k = 0; k < VERTS_PER_RECT; k++) {
			v[k].x = corners[k][0];
			v[k].y = corners[k][1];
			memcpy(v[k].rgba, rgba, sizeof rgba);
		}
		n += VERTS_PER_RECT;
	}
	return n;
}

static void clear_to(uint32_t background) {
	uint8_t c[4];
	premultiply(background, c);
	glClearColor(c[0] / 255.0f, c[1] / 255.0f, c[2] / 255.0f, c[3] / 255.0f);
	glClear(GL_COLOR_BUFFER_BIT);
}

bool renderer_draw(struct renderer *renderer, struct scene *scene, int width, int height) {
	if (width <= 0 || height <= 0) {
		// A minimised window has a 0x0 framebuffer: nothing to draw into.
		return true;
	}
	// Whoever drew last (a backend, a test) may have left any state; set all we rely on.
	glViewport(0, 0, width, height);
	glDisable(GL_SCISSOR_TEST);
	glDisable(GL_DEPTH_TEST);
	glDisable(GL_STENCIL_TEST);
	glDisable(GL_CULL_FACE);
	glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
	clear_to(scene->background);

	size_t count;
	struct scene_node *const *nodes = scene_ordered(scene, &count);
	if (nodes == NULL) {
		log_error("render: no memory to sort %zu rectangles", scene->count);
		return false;
	}
	if (count == 0) {
		return true;
	}
	// Reserve for every node, drawn or not: one check instead of one per rect.
	if (count > INT_MAX / VERTS_PER_RECT
			|| !reserve_verts(renderer, count * VERTS_PER_RECT)) {
		log_error("render: no memory for a batch of %zu rectangles", count);
		return false;
	}
	size_t n = build_batch(renderer, nodes, count, width, height);
	if (n == 0) {
		return true;
	}

	mat4 proj;
	// y down: (0, 0) is the top-left pixel of the framebuffer as shown.
	glm_ortho(0.0f, (float)width, (float)height, 0.0f, -1.0f, 1.0f, proj);

	glUseProgram(renderer->program);
	glUniformMatrix4fv(renderer->u_proj, 1, GL_FALSE, (const GLfloat *)proj);
	glBindBuffer(GL_ARRAY_BUFFER, renderer->vbo);
	// A fresh glBufferData each frame lets the driver hand us new storage instead of
	// waiting for the GPU to finish reading last frame's (orphaning).
	glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(n * sizeof *renderer->verts),
		renderer->verts, GL_STREAM_DRAW);
	glVertexAttribPointer(ATTRIB_POS, 2, GL_FLOAT, GL_FALSE, sizeof(struct vertex),
		(const void *)offsetof(struct vertex, x));
	glVertexAttribPointer(ATTRIB_COLOR, 4, GL_UNSIGNED_BYTE, GL_TRUE, sizeof(struct vertex),
		(const void *)offsetof(struct vertex, rgba));
	glEnableVertexAttribArray(ATTRIB_POS);
	glEnableVertexAttribArray(ATTRIB_COLOR);

	glEnable(GL_BLEND);
	glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
	glDrawArrays(GL_TRIANGLES, 0, (GLsizei)n);

	glDisableVertexAttribArray(ATTRIB_COLOR);
	glDisableVertexAttribArray(ATTRIB_POS);
	glBindBuffer(GL_ARRAY_BUFFER, 0);
	return true;
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
	target->width = width;
	target->height = height;
	return true;
}

void render_target_finish(struct render_target *target) {
	if (target->fbo != 0) {
		glDeleteFramebuffers(1, &target->fbo);
	}
	if (target->tex != 0) {
		glDeleteTextures(1, &target->tex);
	}
	memset(target, 0, sizeof *target);
}

// GL reads bottom row first; the protocol's screenshots are top row first.
static void flip_rows(uint8_t *rgba, size_t stride, size_t height) {
	uint8_t tmp[256];
	for (size_t top = 0, bottom = height - 1; top < bottom; top++, bottom--) {
		uint8_t *a = rgba + top * stride, *b = rgba + bottom * stride;
		for (size_t off = 0; off < stride; off += sizeof tmp) {
			size_t len = stride - off < sizeof tmp ? stride - off : sizeof tmp;
			memcpy(tmp, a + off, len);
			memcpy(a + off, b + off, len);
			memcpy(b + off, tmp, len);
		}
	}
}

bool renderer_capture(struct renderer *renderer, struct scene *scene, int width, int height,
		uint8_t *rgba) {
	if (width <= 0 || height <= 0) {
		log_error("render: cannot capture a %dx%d frame", width, height);
		return false;
	}
	GLint old_fbo = 0;
	GLint old_viewport[4] = { 0 };
	glGetIntegerv(GL_FRAMEBUFFER_BINDING, &old_fbo);
	glGetIntegerv(GL_VIEWPORT, old_viewport);
	// Errors left over from elsewhere must not be taken for ours; the bound keeps a
	// broken context from looping forever.
	for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; i++) {
	}

	bool ok = false;
	struct render_target *target = &renderer->capture;
	if (target->width != width || target->height != height) {
		render_target_finish(target);
		if (!render_target_init(target, width, height)) {
			goto restore;
		}
	}
	glBindFramebuffer(GL_FRAMEBUFFER, target->fbo);
	if (!renderer_draw(renderer, scene, width, height)) {
		goto restore;
	}
	glPixelStorei(GL_PACK_ALIGNMENT, 4);
	glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
	GLenum err = glGetError();
	if (err != GL_NO_ERROR) {
		log_error("render: reading back a %dx%d frame failed (GL error 0x%04x)",
			width, height, (unsigned)err);
		goto restore;
	}
	flip_rows(rgba, (size_t)width * 4, (size_t)height);
	ok = true;

restore:
	glBindFramebuffer(GL_FRAMEBUFFER, (GLuint)old_fbo);
	glViewport(old_viewport[0], old_viewport[1], old_viewport[2], old_viewport[3]);
	return ok;
}
