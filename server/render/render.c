/*
 * The GL half of a frame: one upload of the vertex stream render-batch.c wrote, then
 * its commands, each a draw call or a change of target. Also the renderer's programs,
 * buffers and the read-back of frames.
 */
#include "render-internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <epoxy/gl.h>

#include "log.h"
#include "shaders.h"

// Attribute locations are fixed before linking, so no lookups are needed per frame.
// The textured and image programs read a_uv where the rect program has a_edge; the
// image program a_tint where it has a_fill, and a_uv_max, two floats over border and
// shape, where it has a_border (its draw calls point that attribute so).
enum {
	ATTRIB_POS = 0,
	ATTRIB_EDGE = 1,
	ATTRIB_UV = 1,
	ATTRIB_FILL = 2,
	ATTRIB_TINT = 2,
	ATTRIB_BORDER = 3,
	ATTRIB_UV_MAX = 3,
	ATTRIB_SHAPE = 4,
	ATTRIB_COUNT = 5,
};

_Static_assert(sizeof(struct vertex) == 36, "the vertex format is 36 bytes");

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

static GLuint link_program(const char *name, const char *vert_source,
		const char *frag_source) {
	GLuint program = 0;
	GLuint vert = compile_shader(GL_VERTEX_SHADER, vert_source, name);
	if (vert == 0) {
		return 0;
	}
	GLuint frag = compile_shader(GL_FRAGMENT_SHADER, frag_source, name);
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
	glBindAttribLocation(program, ATTRIB_EDGE, "a_edge");
	glBindAttribLocation(program, ATTRIB_UV, "a_uv");
	glBindAttribLocation(program, ATTRIB_FILL, "a_fill");
	glBindAttribLocation(program, ATTRIB_TINT, "a_tint");
	glBindAttribLocation(program, ATTRIB_BORDER, "a_border");
	glBindAttribLocation(program, ATTRIB_UV_MAX, "a_uv_max");
	glBindAttribLocation(program, ATTRIB_SHAPE, "a_shape");
	glLinkProgram(program);
	GLint ok = GL_FALSE;
	glGetProgramiv(program, GL_LINK_STATUS, &ok);
	if (!ok) {
		char info[1024] = "";
		glGetProgramInfoLog(program, sizeof info, NULL, info);
		log_error("render: cannot link the %s program: %s", name, info);
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

static bool find_uniform(GLuint program, const char *name, GLint *location) {
	*location = glGetUniformLocation(program, name);
	if (*location < 0) {
		log_error("render: a program has no %s uniform", name);
		return false;
	}
	return true;
}

// The index buffer of every draw call: quad q is vertices 4q to 4q + 3, as two
// triangles (render-batch.c's write_rect gives the order).
static bool make_indices(GLuint ibo) {
	GLushort *indices = malloc(BATCH_QUADS * QUAD_INDICES * sizeof *indices);
	if (indices == NULL) {
		return false;
	}
	for (unsigned q = 0; q < BATCH_QUADS; q++) {
		const GLushort v = (GLushort)(q * QUAD_VERTS);
		GLushort *i = &indices[q * QUAD_INDICES];
		i[0] = v, i[1] = (GLushort)(v + 1), i[2] = (GLushort)(v + 2);
		i[3] = (GLushort)(v + 2), i[4] = (GLushort)(v + 1), i[5] = (GLushort)(v + 3);
	}
	glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, ibo);
	glBufferData(GL_ELEMENT_ARRAY_BUFFER,
		(GLsizeiptr)(BATCH_QUADS * QUAD_INDICES * sizeof *indices), indices,
		GL_STATIC_DRAW);
	glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, 0);
	free(indices);
	return true;
}

struct renderer *renderer_create(void) {
	struct renderer *r = calloc(1, sizeof *r);
	if (r == NULL) {
		log_error("render: out of memory");
		return NULL;
	}
	log_debug("render: GL_VERSION %s, GL_RENDERER %s",
		(const char *)glGetString(GL_VERSION), (const char *)glGetString(GL_RENDERER));
	glGetIntegerv(GL_MAX_TEXTURE_SIZE, &r->max_texture);

	r->rect_program = link_program("rect", shader_rect_vert, shader_rect_frag);
	if (r->rect_program == 0) {
		goto free_renderer;
	}
	r->solid_program = link_program("solid", shader_rect_vert, shader_solid_frag);
	if (r->solid_program == 0) {
		goto delete_rect;
	}
	r->tex_program = link_program("texture", shader_texture_vert, shader_texture_frag);
	if (r->tex_program == 0) {
		goto delete_solid;
	}
	r->image_program = link_program("image", shader_image_vert, shader_image_frag);
	if (r->image_program == 0) {
		goto delete_tex;
	}
	r->glyph_program = link_program("glyph", shader_image_vert, shader_glyph_frag);
	if (r->glyph_program == 0) {
		goto delete_image;
	}
	if (!find_uniform(r->rect_program, "u_proj", &r->rect_proj)
			|| !find_uniform(r->solid_program, "u_proj", &r->solid_proj)
			|| !find_uniform(r->tex_program, "u_proj", &r->tex_proj)
			|| !find_uniform(r->tex_program, "u_texel", &r->tex_texel)
			|| !find_uniform(r->tex_program, "u_opacity", &r->tex_opacity)
			|| !find_uniform(r->tex_program, "u_tex", &r->tex_sampler)
			|| !find_uniform(r->image_program, "u_proj", &r->image_proj)
			|| !find_uniform(r->image_program, "u_tex", &r->image_sampler)
			|| !find_uniform(r->glyph_program, "u_proj", &r->glyph_proj)
			|| !find_uniform(r->glyph_program, "u_tex", &r->glyph_sampler)) {
		goto delete_glyph;
	}
	// GLES 3 has the row length in core, under the same enum. TESSERA_UPLOAD_STAGING=1
	// turns it off: the tests' way to the staging path, and a way round a driver whose
	// row length is broken.
	const char *staging = getenv("TESSERA_UPLOAD_STAGING");
	r->unpack_subimage = (staging == NULL || strcmp(staging, "1") != 0)
		&& (epoxy_has_gl_extension("GL_EXT_unpack_subimage")
			|| (!epoxy_is_desktop_gl() && epoxy_gl_version() >= 30));
	log_debug("render: client rows uploaded %s", r->unpack_subimage
		? "straight (GL_UNPACK_ROW_LENGTH)" : "through a staging copy");
	glGenBuffers(1, &r->vbo);
	glGenBuffers(1, &r->ibo);
	if (r->vbo == 0 || r->ibo == 0) {
		log_error("render: cannot create the vertex and index buffers");
		goto delete_buffers;
	}
	if (!make_indices(r->ibo)) {
		log_error("render: out of memory");
		goto delete_buffers;
	}
	return r;

delete_buffers:
	glDeleteBuffers(1, &r->ibo);
	glDeleteBuffers(1, &r->vbo);
delete_glyph:
	glDeleteProgram(r->glyph_program);
delete_image:
	glDeleteProgram(r->image_program);
delete_tex:
	glDeleteProgram(r->tex_program);
delete_solid:
	glDeleteProgram(r->solid_program);
delete_rect:
	glDeleteProgram(r->rect_program);
free_renderer:
	free(r);
	return NULL;
}

void renderer_destroy(struct renderer *renderer) {
	if (renderer == NULL) {
		return;
	}
	render_target_finish(&renderer->canvas);
	layer_pool_finish(&renderer->layers);
	glDeleteBuffers(1, &renderer->ibo);
	glDeleteBuffers(1, &renderer->vbo);
	glDeleteProgram(renderer->glyph_program);
	glDeleteProgram(renderer->image_program);
	glDeleteProgram(renderer->tex_program);
	glDeleteProgram(renderer->solid_program);
	glDeleteProgram(renderer->rect_program);
	free(renderer->verts);
	free(renderer->cmds);
	free(renderer->staging);
	free(renderer->sizes);
	free(renderer);
}

// The target commands draw into: a framebuffer whose pixel (0, 0), bottom left, shows
// screen pixel (x, y + height - 1) (GL's rows run bottom up, the screen's top down).
struct target {
	GLuint fbo;
	struct render_target *pooled; // a layer's, given back when it ends
	int x, y, width, height;
};

struct exec {
	struct renderer *renderer;
	struct render_stats *stats;
	struct target stack[LAYER_DEPTH_MAX + 1];
	size_t depth;
	struct render_target *popped; // the layer that ended, until it is composited
	GLuint program;      // in use
	GLuint texture;      // bound to GL_TEXTURE_2D of unit 0
	uint32_t base;       // the first quad the attribute pointers start at
	bool image_layout;   // and they are laid out for the image program (else the others)
	bool stencil_test;   // GL_STENCIL_TEST is on
	bool ok;
};

static void bind_target(struct exec *x, const struct target *t) {
	struct renderer *r = x->renderer;
	glBindFramebuffer(GL_FRAMEBUFFER, t->fbo);
	glViewport(0, 0, t->width, t->height);
	// Screen (t->x, t->y) to clip (-1, 1), y down.
	const float sx = 2.0f / (float)t->width, sy = -2.0f / (float)t->height;
	const float proj[4] = { sx, sy, -1.0f - sx * (float)t->x, 1.0f - sy * (float)t->y };
	glUseProgram(r->tex_program);
	glUniform4fv(r->tex_proj, 1, proj);
	glUseProgram(r->image_program);
	glUniform4fv(r->image_proj, 1, proj);
	glUseProgram(r->glyph_program);
	glUniform4fv(r->glyph_proj, 1, proj);
	glUseProgram(r->solid_program);
	glUniform4fv(r->solid_proj, 1, proj);
	glUseProgram(r->rect_program);
	glUniform4fv(r->rect_proj, 1, proj);
	x->program = r->rect_program;
}

static void use_program(struct exec *x, GLuint program) {
	if (x->program != program) {
		glUseProgram(program);
		x->program = program;
	}
}

// Textures are bound per draw call: the texture calls between frames (render-texture.c)
// and the targets leave GL_TEXTURE_2D unbound, and so does the end of a frame.
static void bind_texture(struct exec *x, GLuint texture) {
	if (x->texture != texture) {
		glBindTexture(GL_TEXTURE_2D, texture);
		x->texture = texture;
	}
}

static void scissor(const struct exec *x, struct draw_box box) {
	const struct target *t = &x->stack[x->depth];
	glScissor(box.x0 - t->x, t->y + t->height - box.y1, box.x1 - box.x0, box.y1 - box.y0);
}

static void stencil_test(struct exec *x, uint8_t value) {
	if (value == 0) {
		if (x->stencil_test) {
			glDisable(GL_STENCIL_TEST);
			x->stencil_test = false;
		}
		return;
	}
	if (!x->stencil_test) {
		glEnable(GL_STENCIL_TEST);
		x->stencil_test = true;
	}
	glStencilFunc(GL_EQUAL, value, 0xff);
	glStencilOp(GL_KEEP, GL_KEEP, GL_KEEP);
}

// Points the attributes at the stream from quad @first on (16-bit indices start at 0),
// for the image program's layout of the vertex when @image.
static void set_base(struct exec *x, uint32_t first, bool image) {
	if (x->base == first && x->image_layout == image) {
		return;
	}
	x->base = first;
	x->image_layout = image;
	const GLsizei stride = sizeof(struct vertex);
	const uintptr_t at = (uintptr_t)first * QUAD_VERTS * (uintptr_t)stride;
	glVertexAttribPointer(ATTRIB_POS, 2, GL_FLOAT, GL_FALSE, stride,
		(const void *)(at + offsetof(struct vertex, x)));
	glVertexAttribPointer(ATTRIB_EDGE, 4, GL_FLOAT, GL_FALSE, stride,
		(const void *)(at + offsetof(struct vertex, edge)));
	glVertexAttribPointer(ATTRIB_FILL, 4, GL_UNSIGNED_BYTE, GL_TRUE, stride,
		(const void *)(at + offsetof(struct vertex, fill)));
	if (image) {
		glVertexAttribPointer(ATTRIB_UV_MAX, 2, GL_FLOAT, GL_FALSE, stride,
			(const void *)(at + offsetof(struct vertex, uv_max)));
	} else {
		glVertexAttribPointer(ATTRIB_BORDER, 4, GL_UNSIGNED_BYTE, GL_TRUE, stride,
			(const void *)(at + offsetof(struct vertex, border)));
	}
	glVertexAttribPointer(ATTRIB_SHAPE, 2, GL_UNSIGNED_SHORT, GL_FALSE, stride,
		(const void *)(at + offsetof(struct vertex, shape)));
}

static void draw_quads(struct exec *x, uint32_t first, uint32_t count, bool image) {
	while (count > 0) {
		uint32_t n = count < BATCH_QUADS ? count : BATCH_QUADS;
		set_base(x, first, image);
		glDrawElements(GL_TRIANGLES, (GLsizei)(n * QUAD_INDICES), GL_UNSIGNED_SHORT, NULL);
		x->stats->draw_calls++;
		first += n;
		count -= n;
	}
}

static void clear_to(uint32_t premultiplied, GLbitfield extra) {
	glClearColor((float)(premultiplied >> 24) / 255.0f,
		(float)(premultiplied >> 16 & 0xff) / 255.0f,
		(float)(premultiplied >> 8 & 0xff) / 255.0f,
		(float)(premultiplied & 0xff) / 255.0f);
	glClear(GL_COLOR_BUFFER_BIT | extra);
}

static void draw_texture(struct exec *x, GLuint tex, int width, int height, float opacity,
		uint32_t quad) {
	struct renderer *r = x->renderer;
	use_program(x, r->tex_program);
	bind_texture(x, tex);
	glUniform2f(r->tex_texel, 1.0f / (float)width, 1.0f / (float)height);
	glUniform1f(r->tex_opacity, opacity);
	draw_quads(x, quad, 1, false);
}

static bool layer_begin(struct exec *x, const struct cmd *cmd) {
	struct renderer *r = x->renderer;
	const int w = cmd->box.x1 - cmd->box.x0, h = cmd->box.y1 - cmd->box.y0;
	struct render_target *t = layer_pool_acquire(&r->layers, w, h, r->max_texture,
		r->frame);
	// Making a target rebinds GL_TEXTURE_2D: forget what was bound.
	x->texture = 0;
	if (t == NULL) {
		x->ok = false;
		return false;
	}
	x->stats->offscreen_passes++;
	x->stack[++x->depth] = (struct target){
		.fbo = t->fbo, .pooled = t, .x = cmd->box.x0, .y = cmd->box.y0,
		.width = w, .height = h,
	};
	bind_target(x, &x->stack[x->depth]);
	scissor(x, cmd->box);
	clear_to(0, GL_STENCIL_BUFFER_BIT);
	return true;
}

static void layer_end(struct exec *x) {
	x->popped = x->stack[x->depth--].pooled;
	bind_target(x, &x->stack[x->depth]);
}

static void composite(struct exec *x, const struct cmd *cmd) {
	struct render_target *layer = x->popped;
	if (layer == NULL) {
		return; // a layer that got no buffer
	}
	x->popped = NULL;
	scissor(x, cmd->box);
	stencil_test(x, cmd->stencil);
	draw_texture(x, layer->tex, layer->width, layer->height, cmd->opacity, cmd->first);
	layer_pool_release(&x->renderer->layers, layer);
}

// The index of the CMD_LAYER_END matching the CMD_LAYER_BEGIN at @i.
static size_t skip_layer(const struct renderer *r, size_t i) {
	size_t open = 0;
	for (; i < r->cmd_len; i++) {
		if (r->cmds[i].kind == CMD_LAYER_BEGIN) {
			open++;
		} else if (r->cmds[i].kind == CMD_LAYER_END && --open == 0) {
			return i;
		}
	}
	return r->cmd_len;
}

static void run_commands(struct exec *x, uint32_t background) {
	struct renderer *r = x->renderer;
	for (size_t i = 0; i < r->cmd_len; i++) {
		const struct cmd *cmd = &r->cmds[i];
		switch (cmd->kind) {
		case CMD_BOX:
			scissor(x, cmd->box);
			clear_to(background, GL_STENCIL_BUFFER_BIT);
			break;
		case CMD_RECTS:
			use_program(x, cmd->shaped ? r->rect_program : r->solid_program);
			scissor(x, cmd->box);
			stencil_test(x, cmd->stencil);
			draw_quads(x, cmd->first, cmd->count, false);
			break;
		case CMD_GLYPHS:
		case CMD_IMAGES:
			use_program(x, cmd->kind == CMD_GLYPHS ? r->glyph_program : r->image_program);
			bind_texture(x, cmd->texture);
			scissor(x, cmd->box);
			stencil_test(x, cmd->stencil);
			draw_quads(x, cmd->first, cmd->count, true);
			break;
		case CMD_STENCIL:
			use_program(x, r->solid_program); // colour writes are off anyway
			scissor(x, cmd->box);
			stencil_test(x, 0);
			glEnable(GL_STENCIL_TEST);
			glClear(GL_STENCIL_BUFFER_BIT);
			glStencilFunc(GL_ALWAYS, 0, 0xff);
			glStencilOp(GL_KEEP, GL_KEEP, GL_INCR);
			glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_FALSE);
			draw_quads(x, cmd->first, cmd->count, false);
			glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
			glDisable(GL_STENCIL_TEST);
			break;
		case CMD_LAYER_BEGIN:
			if (!layer_begin(x, cmd)) {
				// No buffer for it: the frame goes without this layer (its
				// composite finds nothing popped).
				i = skip_layer(r, i);
			}
			break;
		case CMD_LAYER_END:
			layer_end(x);
			break;
		case CMD_COMPOSITE:
			composite(x, cmd);
			break;
		}
	}
}

static double now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

// Whoever drew last (a backend, a test) may have left any state; set all we rely on.
static void reset_state(void) {
	glDisable(GL_DEPTH_TEST);
	glDisable(GL_CULL_FACE);
	glDisable(GL_DITHER);
	glDisable(GL_STENCIL_TEST);
	glEnable(GL_SCISSOR_TEST);
	glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
	glStencilMask(0xff);
	glEnable(GL_BLEND);
	glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
	glActiveTexture(GL_TEXTURE0);
	glBindTexture(GL_TEXTURE_2D, 0);
	for (GLuint a = 0; a < ATTRIB_COUNT; a++) {
		glEnableVertexAttribArray(a);
	}
}

static void restore_state(GLuint fbo, int width, int height) {
	for (GLuint a = 0; a < ATTRIB_COUNT; a++) {
		glDisableVertexAttribArray(a);
	}
	glBindTexture(GL_TEXTURE_2D, 0);
	glBindBuffer(GL_ARRAY_BUFFER, 0);
	glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, 0);
	glDisable(GL_SCISSOR_TEST);
	glDisable(GL_STENCIL_TEST);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glViewport(0, 0, width, height);
}

// Draws @list into @fbo; for the screen, through the canvas when @fbo is the window's.
static bool draw_frame(struct renderer *r, const struct draw_list *list, int width,
		int height, struct render_stats *stats, GLuint fbo) {
	const double start = now_ms();
	memset(stats, 0, sizeof *stats);
	const bool canvas = fbo == 0;
	// Pixels outside the damage must be the last frame's: only when it went here.
	bool full = list->full || !r->last_valid || r->last_canvas != canvas
		|| r->last_width != width || r->last_height != height
		|| (!canvas && r->last_fbo != fbo);
	r->last_valid = false;
	bool ok = false;
	GLuint main_fbo = fbo;
	if (canvas) {
		if (r->canvas.width != width || r->canvas.height != height) {
			render_target_finish(&r->canvas);
			if (!render_target_init(&r->canvas, width, height)) {
				glBindFramebuffer(GL_FRAMEBUFFER, fbo);
				goto done;
			}
			full = true;
		}
		main_fbo = r->canvas.fbo;
	}
	if (!batch_build(r, list, width, height, full, stats)
			|| (canvas && !batch_reserve(r, 1))) {
		log_error("render: no memory for a frame of %zu items", list->len);
		goto done;
	}
	const uint32_t copy_quad = (uint32_t)r->quads;
	if (canvas) {
		batch_texture_quad(&r->verts[r->quads * QUAD_VERTS],
			(struct draw_box){ 0, 0, width, height });
		r->quads++;
	}

	reset_state();
	glBindBuffer(GL_ARRAY_BUFFER, r->vbo);
	glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, r->ibo);
	// A fresh glBufferData each frame lets the driver hand us new storage instead of
	// waiting for the GPU to finish reading last frame's (orphaning).
	glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(r->quads * QUAD_VERTS * sizeof *r->verts),
		r->verts, GL_STREAM_DRAW);
	struct exec x = { .renderer = r, .stats = stats, .base = UINT32_MAX, .ok = true };
	x.stack[0] = (struct target){ .fbo = main_fbo, .width = width, .height = height };
	bind_target(&x, &x.stack[0]);
	glUseProgram(r->image_program);
	glUniform1i(r->image_sampler, 0);
	glUseProgram(r->glyph_program);
	glUniform1i(r->glyph_sampler, 0);
	glUseProgram(r->tex_program);
	glUniform1i(r->tex_sampler, 0);
	x.program = r->tex_program;
	run_commands(&x, render_premultiply(list->background));
	if (canvas) {
		// The window's back buffer is undefined after a swap: the whole canvas goes.
		glBindFramebuffer(GL_FRAMEBUFFER, fbo);
		glDisable(GL_SCISSOR_TEST);
		stencil_test(&x, 0);
		glDisable(GL_BLEND);
		draw_texture(&x, r->canvas.tex, width, height, 1.0f, copy_quad);
	}
	restore_state(fbo, width, height);
	ok = x.ok;
	r->frame++;
	layer_pool_trim(&r->layers, r->frame);

done:
	r->last_valid = ok;
	r->last_canvas = canvas;
	r->last_fbo = fbo;
	r->last_width = width;
	r->last_height = height;
	stats->frame_ms = now_ms() - start;
	return ok;
}

bool renderer_draw_list(struct renderer *renderer, const struct draw_list *list,
		int width, int height, struct render_stats *stats) {
	struct render_stats ignored;
	if (stats == NULL) {
		stats = &ignored;
	}
	if (width <= 0 || height <= 0) {
		// A minimised window has a 0x0 framebuffer: nothing to draw into.
		memset(stats, 0, sizeof *stats);
		return true;
	}
	GLint fbo = 0;
	glGetIntegerv(GL_FRAMEBUFFER_BINDING, &fbo);
	return draw_frame(renderer, list, width, height, stats, (GLuint)fbo);
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

// Reads @fbo's @width x @height pixels into @rgba, top row first.
static bool read_pixels(GLuint fbo, int width, int height, uint8_t *rgba) {
	GLint old_fbo = 0;
	glGetIntegerv(GL_FRAMEBUFFER_BINDING, &old_fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glPixelStorei(GL_PACK_ALIGNMENT, 4);
	glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
	GLenum err = glGetError();
	glBindFramebuffer(GL_FRAMEBUFFER, (GLuint)old_fbo);
	if (err != GL_NO_ERROR) {
		log_error("render: reading back a %dx%d frame failed (GL error 0x%04x)",
			width, height, (unsigned)err);
		return false;
	}
	flip_rows(rgba, (size_t)width * 4, (size_t)height);
	return true;
}

// Errors left over from elsewhere must not be taken for ours; the bound keeps a broken
// context from looping forever.
void render_drain_errors(void) {
	for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; i++) {
	}
}

bool renderer_read_frame(struct renderer *renderer, int width, int height, uint8_t *rgba) {
	if (!renderer->last_valid || width != renderer->last_width
			|| height != renderer->last_height) {
		log_error("render: no %dx%d frame to read back", width, height);
		return false;
	}
	render_drain_errors();
	return read_pixels(renderer->last_canvas ? renderer->canvas.fbo : renderer->last_fbo,
		width, height, rgba);
}
