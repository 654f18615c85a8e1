/*
 * The text scenarios:
 *
 * - text_layout_us: the server's shaping library (shaper.h) laying out a 1,000-character
 *   mixed-script paragraph in this process, beside hb_shape_us: HarfBuzz alone shaping
 *   the same runs with the same fonts (informational: no target).
 * - frame_ms_text_10k: 100 texts of 100 cached glyphs and 100 rects, all moving every
 *   frame, through an unpaced server, beside raw_gl_text_frame_ms_10k: plain GLES 2
 *   drawing as many glyph-sized textured quads and the rects; draw_calls_text_10k.
 * - text_commit_missed_frames: on a paced server, the frames an animating client misses
 *   while another commits a text of 20,000 distinct CJK glyphs; text_commit_ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <epoxy/gl.h>
#include <fontconfig/fontconfig.h>
#include <fribidi.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb.h>
#include <hb-ft.h>

#include <tessera/client.h>

#include "backend.h"
#include "bench.h"
#include "log.h"
#include "shaper.h"
#include "utf8.h"

static int compare_u64(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

// The median of @n timings (sorts them).
static double median_ns(uint64_t *ns, size_t n) {
	qsort(ns, n, sizeof *ns, compare_u64);
	return n % 2 ? (double)ns[n / 2] : ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2;
}

/* ---- layout against plain HarfBuzz ---- */

#define PARAGRAPH_CHARS 1000
#define PARAGRAPH_WRAP 600.0f
#define TEXT_SIZE 16.0f

// Whole pieces in turn, then Latin letters one by one up to exactly 1,000 code points.
static const char *const pieces[] = {
	"The quick brown fox jumps over the lazy dog; naïve café, fifty fjords. ",
	"مرحبا بالعالم، هذا نص عربي للتجربة. ",
	"שלום עולם, זהו טקסט בעברית. ",
	"नमस्ते दुनिया, यह हिन्दी का पाठ है। ",
	"你好世界，这是中文文本。日本語のテキストです。",
	"😀🎉👍🚀 ",
};

static size_t count_codepoints(const char *s) {
	size_t n = 0;
	for (; *s; s++) {
		n += ((unsigned char)*s & 0xc0) != 0x80;
	}
	return n;
}

// The paragraph, NUL-terminated, malloc'd; *@len its bytes.
static char *make_paragraph(size_t *len) {
	size_t cap = PARAGRAPH_CHARS * 4 + 1, used = 0, chars = 0;
	char *s = malloc(cap);
	if (s == NULL) {
		bench_fail("out of memory");
	}
	for (size_t i = 0;; i = (i + 1) % (sizeof pieces / sizeof pieces[0])) {
		size_t n = count_codepoints(pieces[i]);
		if (chars + n > PARAGRAPH_CHARS) {
			break;
		}
		memcpy(s + used, pieces[i], strlen(pieces[i]));
		used += strlen(pieces[i]);
		chars += n;
	}
	for (const char *p = pieces[0]; chars < PARAGRAPH_CHARS; p++) {
		s[used++] = *p; // the Latin piece is ASCII but for ï and é, past its first 20
		chars++;
	}
	s[used] = '\0';
	*len = used;
	return s;
}

// What plain HarfBuzz is given: the paragraph itemised into runs, and a hb_font per face.
struct hb_baseline {
	uint32_t *cps;
	size_t n;
	struct hb_run {
		uint32_t start, end;
		int font;           // index in fonts
		hb_script_t script;
		bool rtl;
	} *runs;
	size_t run_len;
	struct hb_face {
		int fc;             // index in the fontconfig list
		hb_font_t *hb;
	} fonts[16];
	size_t font_len;
	FT_Library ft;
	FcFontSet *set;
	hb_buffer_t *buf;
};

static const char *fc_file(FcFontSet *set, int i) {
	FcChar8 *file;
	return FcPatternGetString(set->fonts[i], FC_FILE, 0, &file) == FcResultMatch
		? (const char *)file : NULL;
}

// The fontconfig list the shaper makes for its default style (fonts.c): sans-serif,
// regular, roman, sorted.
static FcFontSet *default_font_list(void) {
	FcPattern *pat = FcNameParse((const FcChar8 *)"sans-serif");
	if (pat == NULL) {
		bench_fail("fontconfig cannot parse sans-serif");
	}
	FcPatternAddInteger(pat, FC_WEIGHT, FcWeightFromOpenType(400));
	FcPatternAddInteger(pat, FC_SLANT, FC_SLANT_ROMAN);
	FcConfigSubstitute(NULL, pat, FcMatchPattern);
	FcDefaultSubstitute(pat);
	FcResult result;
	FcFontSet *set = FcFontSort(NULL, pat, FcFalse, NULL, &result);
	FcPatternDestroy(pat);
	if (set == NULL || set->nfont == 0) {
		bench_fail("fontconfig finds no font for sans-serif");
	}
	return set;
}

// The baseline's font for fontconfig list entry @fc, loaded once: FreeType at 16 px
// (a bitmap face at its smallest strike of at least 16 px, else its biggest), hb-ft
// unhinted, as the shaper loads it (fonts.c).
static int baseline_font(struct hb_baseline *hb, int fc) {
	for (size_t i = 0; i < hb->font_len; i++) {
		if (hb->fonts[i].fc == fc) {
			return (int)i;
		}
	}
	if (hb->font_len == sizeof hb->fonts / sizeof hb->fonts[0]) {
		bench_fail("the paragraph needs more than %zu fonts", hb->font_len);
	}
	int index = 0;
	FcPatternGetInteger(hb->set->fonts[fc], FC_INDEX, 0, &index);
	FT_Face face;
	if (FT_New_Face(hb->ft, fc_file(hb->set, fc), index, &face) != 0) {
		bench_fail("FreeType cannot load %s", fc_file(hb->set, fc));
	}
	bool bitmap = !FT_IS_SCALABLE(face) && face->num_fixed_sizes > 0;
	if (bitmap) {
		int best = 0;
		for (int i = 1; i < face->num_fixed_sizes; i++) {
			float have = face->available_sizes[best].y_ppem / 64.0f;
			float px = face->available_sizes[i].y_ppem / 64.0f;
			if ((have < TEXT_SIZE && px > have) || (px >= TEXT_SIZE && px < have)) {
				best = i;
			}
		}
		FT_Select_Size(face, best);
	} else {
		FT_Set_Char_Size(face, 0, (FT_F26Dot6)(TEXT_SIZE * 64), 0, 0);
	}
	hb_font_t *font = hb_ft_font_create_referenced(face);
	FT_Done_Face(face); // the hb_font holds it
	hb_ft_font_set_load_flags(font, bitmap ? FT_LOAD_COLOR : FT_LOAD_NO_HINTING);
	hb->fonts[hb->font_len] = (struct hb_face){ .fc = fc, .hb = font };
	return (int)hb->font_len++;
}

// The first entry of the list with @file, or with @cp when @file is NULL; -1 for none.
static int fc_find(FcFontSet *set, const char *file, uint32_t cp) {
	for (int i = 0; i < set->nfont; i++) {
		FcCharSet *cs;
		if (file != NULL ? fc_file(set, i) != NULL && strcmp(fc_file(set, i), file) == 0
				: FcPatternGetCharSet(set->fonts[i], FC_CHARSET, 0, &cs) == FcResultMatch
					&& FcCharSetHasChar(cs, cp)) {
			return i;
		}
	}
	return -1;
}

/*
 * Itemises the paragraph as the shaper does (shaper.c): FriBiDi's embedding levels, a
 * script per code point (hb_unicode_script; Common, Inherited and Unknown take the one
 * before, or the first one after at the start), a font per code point, and runs of one
 * level, script and font. The font is the file the layout @layout drew that character's
 * cluster in (the shaper's choice, fallback and emoji rule included), found in the same
 * fontconfig list; code points inside a cluster take the one before theirs, a space
 * the layout dropped (at a line's end) the first font of the list that has it.
 */
static void baseline_init(struct hb_baseline *hb, struct shaper *shaper, const char *utf8,
		size_t len, const struct shaper_layout *layout) {
	*hb = (struct hb_baseline){0};
	if (FT_Init_FreeType(&hb->ft) != 0) {
		bench_fail("FreeType does not start");
	}
	hb->set = default_font_list();
	hb->cps = malloc(len * sizeof *hb->cps);
	uint32_t *offs = malloc((len + 1) * sizeof *offs);
	int *face_at = malloc(len * sizeof *face_at); // shaper face of a cluster's first byte
	FriBidiCharType *types = malloc(len * sizeof *types);
	FriBidiBracketType *brackets = malloc(len * sizeof *brackets);
	FriBidiLevel *levels = malloc(len * sizeof *levels);
	hb_script_t *scripts = malloc(len * sizeof *scripts);
	int *fonts = malloc(len * sizeof *fonts);
	hb->runs = malloc(len * sizeof *hb->runs);
	hb->buf = hb_buffer_create();
	if (hb->cps == NULL || offs == NULL || face_at == NULL || types == NULL || brackets == NULL
			|| levels == NULL || scripts == NULL || fonts == NULL || hb->runs == NULL) {
		bench_fail("out of memory");
	}
	hb->n = utf8_decode((const uint8_t *)utf8, len, hb->cps, offs, len);
	for (size_t i = 0; i < len; i++) {
		face_at[i] = -1;
	}
	for (size_t g = 0; g < layout->glyph_len; g++) {
		face_at[layout->glyphs[g].cluster] = (int)layout->glyphs[g].face;
	}

	int n = (int)hb->n;
	fribidi_get_bidi_types(hb->cps, n, types);
	fribidi_get_bracket_types(hb->cps, n, types, brackets);
	FriBidiParType dir = FRIBIDI_PAR_ON;
	if (fribidi_get_par_embedding_levels_ex(types, brackets, n, &dir, levels) == 0) {
		bench_fail("FriBiDi failed");
	}
	hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
	hb_script_t last = HB_SCRIPT_INVALID;
	for (int i = 0; i < n; i++) {
		hb_script_t sc = hb_unicode_script(uf, hb->cps[i]);
		if (sc == HB_SCRIPT_COMMON || sc == HB_SCRIPT_INHERITED || sc == HB_SCRIPT_UNKNOWN) {
			scripts[i] = last;
			continue;
		}
		for (int j = 0; last == HB_SCRIPT_INVALID && j < i; j++) {
			scripts[j] = sc;
		}
		scripts[i] = last = sc;
	}

	for (int i = 0; i < n; i++) {
		int face = face_at[offs[i]];
		int fc;
		if (face >= 0) {
			fc = fc_find(hb->set, shaper_face_file(shaper, (uint32_t)face), 0);
			if (fc < 0) {
				bench_fail("the shaper's font %s is not in fontconfig's list",
					shaper_face_file(shaper, (uint32_t)face));
			}
		} else if (hb->cps[i] == ' ' || i == 0) {
			fc = fc_find(hb->set, NULL, hb->cps[i]);
			fc = fc < 0 ? 0 : fc;
		} else {
			fonts[i] = fonts[i - 1];
			continue;
		}
		fonts[i] = baseline_font(hb, fc);
	}

	int start = 0;
	for (int i = 1; i <= n; i++) {
		if (i == n || levels[i] != levels[start] || scripts[i] != scripts[start]
				|| fonts[i] != fonts[start]) {
			hb->runs[hb->run_len++] = (struct hb_run){ .start = (uint32_t)start,
				.end = (uint32_t)i, .font = fonts[start], .script = scripts[start],
				.rtl = levels[start] & 1 };
			start = i;
		}
	}
	free(offs);
	free(face_at);
	free(types);
	free(brackets);
	free(levels);
	free(scripts);
	free(fonts);
}

// Shapes every run once, the whole paragraph as context (as the shaper shapes its runs);
// returns the glyphs.
static size_t baseline_shape(struct hb_baseline *hb) {
	size_t glyphs = 0;
	for (size_t r = 0; r < hb->run_len; r++) {
		const struct hb_run *run = &hb->runs[r];
		hb_buffer_clear_contents(hb->buf);
		hb_buffer_add_codepoints(hb->buf, hb->cps, (int)hb->n, run->start,
			(int)(run->end - run->start));
		hb_buffer_set_direction(hb->buf, run->rtl ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
		hb_buffer_set_script(hb->buf, run->script);
		hb_buffer_set_language(hb->buf, hb_language_get_default());
		hb_shape(hb->fonts[run->font].hb, hb->buf, NULL, 0);
		glyphs += hb_buffer_get_length(hb->buf);
	}
	return glyphs;
}

static void baseline_finish(struct hb_baseline *hb) {
	hb_buffer_destroy(hb->buf);
	for (size_t i = 0; i < hb->font_len; i++) {
		hb_font_destroy(hb->fonts[i].hb);
	}
	FcFontSetDestroy(hb->set);
	FT_Done_FreeType(hb->ft);
	free(hb->cps);
	free(hb->runs);
}

void run_text_layout(struct bench *b) {
	const uint32_t iterations = b->quick ? 100 : 400, warmup = 20;
	log_set_level(LOG_ERROR);
	size_t len;
	char *paragraph = make_paragraph(&len);
	struct shaper *shaper = shaper_create();
	if (shaper == NULL) {
		bench_fail("the shaper does not start (fontconfig, FreeType, no font?)");
	}
	const struct shaper_style style = { .family = "", .size = TEXT_SIZE, .weight = 400,
		.wrap_width = PARAGRAPH_WRAP };
	struct shaper_layout layout;
	uint64_t *ns = malloc(iterations * sizeof *ns);
	if (ns == NULL) {
		bench_fail("out of memory");
	}
	// The first layouts load the fonts and grow the shaper's buffers: not timed.
	for (uint32_t i = 0; i < warmup + iterations; i++) {
		uint64_t start = bench_now_ns();
		if (!shaper_layout(shaper, (const uint8_t *)paragraph, len, &style, &layout)) {
			bench_fail("shaper_layout failed");
		}
		uint64_t took = bench_now_ns() - start;
		if (i >= warmup) {
			ns[i - warmup] = took;
		}
		if (i + 1 < warmup + iterations) {
			shaper_layout_finish(&layout);
		}
	}
	if (layout.glyph_len < PARAGRAPH_CHARS / 2 || layout.line_len < 10) {
		bench_fail("the paragraph laid out as %zu glyphs on %zu lines", layout.glyph_len,
			layout.line_len);
	}
	double layout_us = median_ns(ns, iterations) / 1e3;

	struct hb_baseline hb;
	baseline_init(&hb, shaper, paragraph, len, &layout);
	size_t glyphs = 0;
	for (uint32_t i = 0; i < warmup + iterations; i++) {
		uint64_t start = bench_now_ns();
		glyphs = baseline_shape(&hb);
		uint64_t took = bench_now_ns() - start;
		if (i >= warmup) {
			ns[i - warmup] = took;
		}
	}
	// The layout leaves out the spaces that end lines and shapes again where a line
	// cuts a run somewhere unsafe: close, not equal.
	if (glyphs < layout.glyph_len * 9 / 10 || glyphs > layout.glyph_len * 11 / 10) {
		bench_fail("plain HarfBuzz shaped %zu glyphs, the layout has %zu: not the same text",
			glyphs, layout.glyph_len);
	}
	double hb_us = median_ns(ns, iterations) / 1e3;
	baseline_finish(&hb);
	shaper_layout_finish(&layout);
	// Last: the last shaper to go frees fontconfig's caches, which the baseline used.
	shaper_destroy(shaper);
	free(ns);
	free(paragraph);
	bench_record(b, "hb_shape_us", hb_us);
	bench_record(b, "text_layout_us", layout_us);
}

/* ---- frames of cached glyphs against plain GL ---- */

#define TEXTS 100
#define TEXT_GLYPHS 100
#define TEXT_RECTS 100
#define TEXT_WRAP 120.0
#define GL_ATLAS 512 // the plain GL glyphs' texture: GL_ALPHA, GL_ATLAS texels square

// Where text @t is in @frame: a 10x10 grid of cells, each text drifting within 32x16
// px, so that every one stays wholly on screen.
static void text_position(uint32_t t, uint32_t frame, int32_t *x, int32_t *y) {
	*x = (int32_t)((t % 10) * 124 + 4 + (frame * 3 + t * 7) % 32);
	*y = (int32_t)((t / 10) * 56 + 4 + (frame * 2 + t * 5) % 16);
}

static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

// Text @t's string: 100 letters, no spaces.
static void text_string(uint32_t t, char s[TEXT_GLYPHS]) {
	for (uint32_t k = 0; k < TEXT_GLYPHS; k++) {
		s[k] = letters[(t + k) % 52];
	}
}

static const char *const glyph_vert_src =
	"#version 100\n"
	"uniform vec2 u_scale;\n"
	"attribute vec2 a_pos;\n"
	"attribute vec2 a_uv;\n"
	"attribute vec4 a_color;\n"
	"varying vec2 v_uv;\n"
	"varying vec4 v_color;\n"
	"void main() {\n"
	"  v_uv = a_uv;\n"
	"  v_color = a_color;\n"
	"  gl_Position = vec4(a_pos * u_scale + vec2(-1.0, 1.0), 0.0, 1.0);\n"
	"}\n";
static const char *const glyph_frag_src =
	"#version 100\n"
	"precision mediump float;\n"
	"uniform sampler2D u_tex;\n"
	"varying vec2 v_uv;\n"
	"varying vec4 v_color;\n"
	"void main() { gl_FragColor = v_color * texture2D(u_tex, v_uv).a; }\n";
static const char *const solid_frag_src =
	"#version 100\n"
	"precision mediump float;\n"
	"varying vec4 v_color;\n"
	"void main() { gl_FragColor = v_color; }\n";

struct text_vertex {
	float x, y, u, v;
	uint8_t rgba[4];
};

// A glyph quad of a text, in the text's pixels, and its texels in the texture.
struct gl_quad {
	float x, y, w, h, u0, v0, u1, v1;
};

struct gl_texts {
	struct gl_quad *quads;   // every text's, TEXT_GLYPHS apart
	uint32_t count[TEXTS];   // quads of each text (glyphs with no pixels have none)
	uint32_t total;
	uint8_t *texels;         // GL_ATLAS x GL_ATLAS coverage
};

/*
 * The server's quads for the texts, made the way it makes them (server/text.c): each
 * string laid out by the shaper in the same style, each distinct glyph (face, id,
 * quarter-pixel bucket) rasterised once and packed, with a texel between, in one
 * coverage texture; a quad is its bitmap's size, at floor(x) + left, baseline - top.
 * False when the shaper does not start or the glyphs do not fit.
 */
static bool text_gl_prepare(struct gl_texts *gt) {
	struct shaper *shaper = shaper_create();
	gt->quads = malloc((size_t)TEXTS * TEXT_GLYPHS * sizeof *gt->quads);
	gt->texels = calloc(GL_ATLAS * GL_ATLAS, 1);
	struct slot {
		uint32_t face, glyph, bucket;
		struct gl_quad q; // at the origin
	} slots[256];
	size_t slot_len = 0;
	int pen_x = 1, pen_y = 1, row = 0;
	if (shaper == NULL || gt->quads == NULL || gt->texels == NULL) {
		return false;
	}
	const struct shaper_style style = { .family = "", .size = TEXT_SIZE, .weight = 400,
		.wrap_width = (float)TEXT_WRAP };
	gt->total = 0;
	for (uint32_t t = 0; t < TEXTS; t++) {
		char s[TEXT_GLYPHS];
		text_string(t, s);
		struct shaper_layout layout;
		if (!shaper_layout(shaper, (const uint8_t *)s, sizeof s, &style, &layout)
				|| layout.glyph_len > TEXT_GLYPHS) {
			return false;
		}
		gt->count[t] = 0;
		for (size_t i = 0; i < layout.glyph_len; i++) {
			const struct shaper_glyph *g = &layout.glyphs[i];
			unsigned bucket = (unsigned)((g->x - floorf(g->x)) * SHAPER_SUBPIXEL_BUCKETS);
			bucket = bucket >= SHAPER_SUBPIXEL_BUCKETS ? SHAPER_SUBPIXEL_BUCKETS - 1 : bucket;
			size_t k = 0;
			while (k < slot_len && (slots[k].face != g->face || slots[k].glyph != g->glyph
					|| slots[k].bucket != bucket)) {
				k++;
			}
			if (k == slot_len) {
				struct shaper_bitmap bm;
				if (slot_len == sizeof slots / sizeof slots[0]
						|| !shaper_raster(shaper, g->face, g->glyph, layout.size, bucket, &bm)
						|| bm.color) {
					return false;
				}
				if (pen_x + bm.width + 1 > GL_ATLAS) {
					pen_x = 1;
					pen_y += row + 1;
					row = 0;
				}
				if (pen_y + bm.height + 1 > GL_ATLAS) {
					return false;
				}
				for (int y = 0; y < bm.height; y++) {
					memcpy(gt->texels + (size_t)(pen_y + y) * GL_ATLAS + pen_x,
						bm.pixels + (size_t)y * (size_t)bm.pitch, (size_t)bm.width);
				}
				slots[slot_len++] = (struct slot){ g->face, g->glyph, bucket, {
					(float)bm.left, (float)-bm.top, (float)bm.width, (float)bm.height,
					(float)pen_x / GL_ATLAS, (float)pen_y / GL_ATLAS,
					(float)(pen_x + bm.width) / GL_ATLAS, (float)(pen_y + bm.height) / GL_ATLAS,
				} };
				pen_x += bm.width + 1;
				row = bm.height > row ? bm.height : row;
				free(bm.pixels);
			}
			struct gl_quad q = slots[k].q;
			if (q.w == 0 || q.h == 0) {
				continue;
			}
			q.x += floorf(g->x);
			q.y += roundf(g->y);
			gt->quads[t * TEXT_GLYPHS + gt->count[t]++] = q;
			gt->total++;
		}
		shaper_layout_finish(&layout);
	}
	shaper_destroy(shaper);
	return true;
}

static GLuint text_program(const char *frag) {
	GLuint program = glCreateProgram();
	const char *const sources[] = { glyph_vert_src, frag };
	const GLenum types[] = { GL_VERTEX_SHADER, GL_FRAGMENT_SHADER };
	for (int i = 0; i < 2; i++) {
		GLuint shader = glCreateShader(types[i]);
		glShaderSource(shader, 1, &sources[i], NULL);
		glCompileShader(shader);
		glAttachShader(program, shader);
		glDeleteShader(shader);
	}
	glBindAttribLocation(program, 0, "a_pos");
	glBindAttribLocation(program, 1, "a_uv");
	glBindAttribLocation(program, 2, "a_color");
	glLinkProgram(program);
	GLint ok = 0;
	glGetProgramiv(program, GL_LINK_STATUS, &ok);
	return ok ? program : 0;
}

static void premultiply(uint32_t c, uint8_t rgba[4]) {
	uint32_t a = c & 0xff;
	rgba[0] = (uint8_t)(((c >> 24) * a + 127) / 255);
	rgba[1] = (uint8_t)(((c >> 16 & 0xff) * a + 127) / 255);
	rgba[2] = (uint8_t)(((c >> 8 & 0xff) * a + 127) / 255);
	rgba[3] = (uint8_t)a;
}

// The four corners of @q at (@x0, @y0) + its place: drawn as two indexed triangles.
static struct text_vertex *quad(struct text_vertex *v, float x0, float y0,
		const struct gl_quad *q, const uint8_t rgba[4]) {
	x0 += q->x;
	y0 += q->y;
	const float c[4][4] = {
		{ x0, y0, q->u0, q->v0 }, { x0 + q->w, y0, q->u1, q->v0 },
		{ x0, y0 + q->h, q->u0, q->v1 }, { x0 + q->w, y0 + q->h, q->u1, q->v1 },
	};
	for (int k = 0; k < 4; k++) {
		v[k] = (struct text_vertex){ c[k][0], c[k][1], c[k][2], c[k][3], { 0 } };
		memcpy(v[k].rgba, rgba, 4);
	}
	return v + 4;
}

// The rects, then every text's glyphs, as they are in @frame.
static void text_gl_fill(struct text_vertex *v, const struct gl_texts *gt, uint32_t frame) {
	const struct gl_quad rect = { 0, 0, BENCH_RECT_SIZE, BENCH_RECT_SIZE, 0, 0, 0, 0 };
	for (uint32_t i = 0; i < TEXT_RECTS; i++) {
		int32_t x, y;
		bench_rect_position(i, frame, &x, &y);
		uint8_t rgba[4];
		premultiply(bench_rect_color(i), rgba);
		v = quad(v, (float)x, (float)y, &rect, rgba);
	}
	for (uint32_t t = 0; t < TEXTS; t++) {
		int32_t x, y;
		text_position(t, frame, &x, &y);
		uint8_t rgba[4];
		premultiply(bench_rect_color(t), rgba);
		for (uint32_t k = 0; k < gt->count[t]; k++) {
			v = quad(v, (float)x, (float)y, &gt->quads[t * TEXT_GLYPHS + k], rgba);
		}
	}
}

static void text_gl_attribs(void) {
	glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof(struct text_vertex),
		(const void *)offsetof(struct text_vertex, x));
	glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, sizeof(struct text_vertex),
		(const void *)offsetof(struct text_vertex, u));
	glVertexAttribPointer(2, 4, GL_UNSIGNED_BYTE, GL_TRUE, sizeof(struct text_vertex),
		(const void *)offsetof(struct text_vertex, rgba));
	glEnableVertexAttribArray(0);
	glEnableVertexAttribArray(1);
	glEnableVertexAttribArray(2);
}

// Child process: @frames frames of the rects and glyph quads, two draw calls; writes
// ms per frame to @out.
static int text_gl_child(uint32_t frames, int out) {
	log_set_level(LOG_ERROR);
	// llvmpipe allocates its vertex and bin buffers per draw: in a process this small,
	// glibc would map (or grow the heap for) and give back megabytes every frame, and
	// the page faults would double the frame. A long-running process with a busy heap
	// (the server) keeps that memory; so does this one.
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	struct backend *backend = backend_headless_create(BENCH_WIDTH, BENCH_HEIGHT);
	if (backend == NULL || !backend->impl->begin_frame(backend)) {
		return 2;
	}
	struct gl_texts gt;
	if (!text_gl_prepare(&gt)) {
		return 3;
	}
	GLuint solid = text_program(solid_frag_src), glyph = text_program(glyph_frag_src);
	if (solid == 0 || glyph == 0) {
		return 2;
	}
	GLuint tex;
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_ALPHA, GL_ATLAS, GL_ATLAS, 0, GL_ALPHA, GL_UNSIGNED_BYTE,
		gt.texels);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
	// Four vertices a quad, built and uploaded every frame; the indices never change.
	const size_t quads = TEXT_RECTS + gt.total, count = quads * 4;
	struct text_vertex *verts = malloc(count * sizeof *verts);
	uint16_t *indices = malloc(quads * 6 * sizeof *indices);
	if (verts == NULL || indices == NULL || count > 65536) {
		return 2;
	}
	for (size_t i = 0; i < quads; i++) {
		const uint16_t order[6] = { 0, 1, 2, 2, 1, 3 };
		for (int k = 0; k < 6; k++) {
			indices[i * 6 + (size_t)k] = (uint16_t)(i * 4 + order[k]);
		}
	}
	GLuint vbo, ibo;
	glGenBuffers(1, &vbo);
	glGenBuffers(1, &ibo);
	glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, ibo);
	glBufferData(GL_ELEMENT_ARRAY_BUFFER, (GLsizeiptr)(quads * 6 * sizeof *indices), indices,
		GL_STATIC_DRAW);
	GLuint programs[2] = { solid, glyph };
	for (int i = 0; i < 2; i++) {
		glUseProgram(programs[i]);
		glUniform2f(glGetUniformLocation(programs[i], "u_scale"), 2.0f / BENCH_WIDTH,
			-2.0f / BENCH_HEIGHT);
	}
	glUniform1i(glGetUniformLocation(glyph, "u_tex"), 0);
	glEnable(GL_BLEND);
	glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 0; f < warmup + frames; f++) {
		if (f == warmup) {
			start = bench_now_ns();
		}
		text_gl_fill(verts, &gt, f);
		glClearColor(0.125f, 0.157f, 0.2f, 1.0f);
		glClear(GL_COLOR_BUFFER_BIT);
		glBindBuffer(GL_ARRAY_BUFFER, vbo);
		glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(count * sizeof *verts), verts,
			GL_STREAM_DRAW);
		text_gl_attribs();
		glUseProgram(solid);
		glDrawElements(GL_TRIANGLES, TEXT_RECTS * 6, GL_UNSIGNED_SHORT, NULL);
		glUseProgram(glyph);
		glDrawElements(GL_TRIANGLES, (GLsizei)gt.total * 6, GL_UNSIGNED_SHORT,
			(const void *)(TEXT_RECTS * 6 * sizeof *indices));
		glFinish();
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	if (glGetError() != GL_NO_ERROR) {
		return 2;
	}
	double sent[2] = { ms, gt.total };
	ssize_t put = write(out, sent, sizeof sent);
	free(verts);
	free(indices);
	free(gt.quads);
	free(gt.texels);
	glDeleteBuffers(1, &vbo);
	glDeleteBuffers(1, &ibo);
	glDeleteTextures(1, &tex);
	glDeleteProgram(solid);
	glDeleteProgram(glyph);
	backend_destroy(backend);
	return put == (ssize_t)sizeof sent ? 0 : 2;
}

static void reap_or_fail(pid_t pid, const char *what) {
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bench_fail("%s failed (status %d)", what, status);
	}
}

// ms per frame; *@quads: the glyph quads it drew each frame.
static double text_gl_frame_ms(uint32_t frames, uint32_t *quads) {
	int fds[2];
	if (pipe(fds) < 0) {
		bench_fail("pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		_exit(text_gl_child(frames, fds[1]));
	}
	close(fds[1]);
	double got[2] = { 0, 0 };
	ssize_t n = read(fds[0], got, sizeof got);
	close(fds[0]);
	reap_or_fail(pid, "the plain GL text baseline");
	if (n != (ssize_t)sizeof got) {
		bench_fail("the plain GL text baseline drew nothing");
	}
	*quads = (uint32_t)got[1];
	return got[0];
}

// The same through the server: 100 rects, then 100 texts of 100 letters (no spaces,
// wrapped at 120 px: a few lines each), every one moved every frame. *@draw_calls: the
// last frame's.
static double text_frame_ms(struct bench *b, uint32_t frames, uint32_t *draw_calls) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *display = bench_connect_or_fail(&server, "bench-text-frames");
	struct ts_rect *rects[TEXT_RECTS];
	for (uint32_t i = 0; i < TEXT_RECTS; i++) {
		int32_t x, y;
		bench_rect_position(i, 0, &x, &y);
		rects[i] = ts_rect_create(display);
		if (rects[i] == NULL || ts_rect_set_size(rects[i], BENCH_RECT_SIZE, BENCH_RECT_SIZE) < 0
				|| ts_rect_set_position(rects[i], x, y) < 0
				|| ts_rect_set_color(rects[i], bench_rect_color(i)) < 0) {
			bench_check(display, -1, "rect setup");
		}
	}
	struct ts_text *texts[TEXTS];
	for (uint32_t t = 0; t < TEXTS; t++) {
		char s[TEXT_GLYPHS];
		text_string(t, s);
		int32_t x, y;
		text_position(t, 0, &x, &y);
		texts[t] = ts_text_create(display, NULL);
		if (texts[t] == NULL || ts_text_set_string(texts[t], s, sizeof s) < 0
				|| ts_text_set_font(texts[t], "", TEXT_SIZE, 400, false) < 0
				|| ts_text_set_layout(texts[t], TEXT_WRAP, TS_ALIGN_START, 0, 0) < 0
				|| ts_text_set_color(texts[t], bench_rect_color(t)) < 0
				|| ts_node_set_position(ts_text_node(texts[t]), x, y) < 0) {
			bench_check(display, -1, "text setup");
		}
	}
	bench_commit_and_wait_frame(display);
	struct ts_text_metrics metrics;
	bench_check(display, ts_text_measure(texts[0], &metrics), "text_measure");
	if (metrics.lines < 2 || metrics.height > 56 * 4) {
		bench_fail("a text of %d letters wrapped at %g px has %u lines, %g px high",
			TEXT_GLYPHS, TEXT_WRAP, metrics.lines, metrics.height);
	}
	ts_text_metrics_finish(&metrics);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 1; f <= warmup + frames; f++) {
		if (f == warmup + 1) {
			start = bench_now_ns();
		}
		for (uint32_t i = 0; i < TEXT_RECTS; i++) {
			int32_t x, y;
			bench_rect_position(i, f, &x, &y);
			if (ts_rect_set_position(rects[i], x, y) < 0) {
				bench_check(display, -1, "set_position");
			}
		}
		for (uint32_t t = 0; t < TEXTS; t++) {
			int32_t x, y;
			text_position(t, f, &x, &y);
			if (ts_node_set_position(ts_text_node(texts[t]), x, y) < 0) {
				bench_check(display, -1, "node_set_position");
			}
		}
		bench_commit_and_wait_frame(display);
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	struct ts_server_info info;
	bench_check(display, ts_display_query_info(display, &info), "info_query");
	*draw_calls = info.frame.draw_calls;
	// Every glyph drawn: the 52 letters, at up to four quarter-pixel offsets, held.
	if (info.atlas.referenced < 52 || info.frame.nodes_drawn < TEXTS + TEXT_RECTS) {
		bench_fail("the frame drew %u nodes, and the atlas holds %u glyphs",
			info.frame.nodes_drawn, info.atlas.referenced);
	}
	ts_server_info_finish(&info);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	return ms;
}

// The plain GL baseline is drawn right before, so both see the same machine.
void run_text_frames(struct bench *b) {
	uint32_t frames = b->quick ? 30 : 100, calls, quads;
	bench_record(b, "raw_gl_text_frame_ms_10k", text_gl_frame_ms(frames, &quads));
	if (quads != TEXTS * TEXT_GLYPHS) {
		bench_fail("the texts are %u glyph quads, not %u", quads, TEXTS * TEXT_GLYPHS);
	}
	bench_record(b, "frame_ms_text_10k", text_frame_ms(b, frames, &calls));
	bench_record(b, "draw_calls_text_10k", calls);
}

/* ---- a commit of 20,000 new glyphs beside an animation ---- */

#define CJK_GLYPHS 20000
#define CJK_FIRST 0x4e00u
#define FRAME_NS (1e9 / 60) // BENCH_PACED

struct commit_times {
	uint64_t commit, applied; // before ts_display_commit, after the round trip returned
};

// Client B, in a process of its own: one text of 20,000 distinct CJK characters, sent,
// then, on 'g' from @go, committed; writes its times to @out and waits for @go's end.
static void committer(struct bench_server *server, int go, int out) {
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct ts_display *display = bench_connect_or_fail(server, "bench-text-committer");
	char *s = malloc(CJK_GLYPHS * 3);
	if (s == NULL) {
		bench_fail("out of memory");
	}
	for (uint32_t i = 0; i < CJK_GLYPHS; i++) {
		uint32_t cp = CJK_FIRST + i;
		s[i * 3] = (char)(0xe0 | cp >> 12);
		s[i * 3 + 1] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[i * 3 + 2] = (char)(0x80 | (cp & 0x3f));
	}
	// A server in use has drawn text before: a line of Latin first, drawn and left, so
	// that what is measured is the commit, not the GL driver's first glyph draw
	// (llvmpipe compiles its shader variant for the coverage texture then).
	struct ts_text *warm = ts_text_create(display, NULL);
	if (warm == NULL || ts_text_set_string(warm, "Warm-up: text drawn before.", 27) < 0
			|| ts_node_set_position(ts_text_node(warm), 10, 690) < 0) {
		bench_check(display, -1, "warm-up text");
	}
	bench_commit_and_wait_frame(display);
	struct ts_text *text = ts_text_create(display, NULL);
	if (text == NULL || ts_text_set_string(text, s, CJK_GLYPHS * 3) < 0
			|| ts_text_set_font(text, "", TEXT_SIZE, 400, false) < 0
			|| ts_text_set_layout(text, 1200, TS_ALIGN_START, 0, 0) < 0) {
		bench_check(display, -1, "text setup");
	}
	free(s);
	// The string is at the server before the clock starts: what is timed is the commit.
	bench_check(display, ts_display_roundtrip(display), "round trip");
	char c = 'r';
	if (write(out, &c, 1) != 1 || read(go, &c, 1) != 1) {
		_exit(1);
	}
	struct commit_times times;
	times.commit = bench_now_ns();
	bench_check(display, ts_display_commit(display), "commit");
	bench_check(display, ts_display_roundtrip(display), "round trip");
	times.applied = bench_now_ns();
	if (write(out, &times, sizeof times) != (ssize_t)sizeof times) {
		_exit(1);
	}
	while (read(go, &c, 1) != 0) { // held (connected, the text on screen) until killed
	}
	_exit(0);
}

struct animation {
	uint64_t *t;      // the time each frame callback arrived
	size_t len, cap;
	bool done;
};

static void animation_done(void *data, uint32_t time_ms) {
	struct animation *a = data;
	if (a->len == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->t = realloc(a->t, a->cap * sizeof *a->t);
		if (a->t == NULL) {
			bench_fail("out of memory");
		}
	}
	a->t[a->len++] = bench_now_ns();
	a->done = true;
}

// Reads what @fd has (non-blocking); returns the bytes read, 0 on nothing yet.
static size_t read_ready(int fd, void *buf, size_t len, const char *who) {
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) <= 0) {
		return 0;
	}
	ssize_t n = read(fd, buf, len);
	if (n <= 0) {
		bench_fail("%s ended (see above)", who);
	}
	return (size_t)n;
}

void run_text_commit(struct bench *b) {
	const size_t warmup = 30, after = 6;
	struct bench_server server;
	// 20,000 glyphs of ~18x18 texels are ~6.5 MB: past the default share of a client.
	bench_server_start_limit2(b, &server, BENCH_PACED, "glyph_bytes=64M", "atlas_bytes=64M");
	int go[2], back[2];
	if (pipe(go) < 0 || pipe(back) < 0) {
		bench_fail("pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(go[1]);
		close(back[0]);
		committer(&server, go[0], back[1]);
	}
	close(go[0]);
	close(back[1]);

	// Client A: a rect moved every frame, one commit and frame callback a frame.
	struct ts_display *display = bench_connect_or_fail(&server, "bench-text-animation");
	struct ts_rect *rect = ts_rect_create(display);
	if (rect == NULL || ts_rect_set_size(rect, 64, 64) < 0
			|| ts_rect_set_color(rect, 0x4c9be8ff) < 0) {
		bench_check(display, -1, "rect setup");
	}
	struct animation anim = {0};
	bool ready = false, sent = false, applied = false;
	struct commit_times times = {0};
	size_t got = 0, applied_at = 0;
	uint64_t deadline = bench_now_ns() + 30 * 1000000000ull;
	for (uint32_t f = 0; !applied || anim.len < applied_at + after; f++) {
		if (bench_now_ns() > deadline) {
			bench_server_explain(&server);
			bench_fail("the text commit did not apply within 30 s");
		}
		bench_check(display, ts_rect_set_position(rect, (int32_t)(f * 4 % 1200), 300),
			"set_position");
		anim.done = false;
		bench_check(display, ts_display_frame(display, animation_done, &anim), "frame");
		bench_check(display, ts_display_commit(display), "commit");
		while (!anim.done) {
			bench_check(display, ts_display_dispatch(display), "dispatch");
		}
		char c;
		if (!ready && read_ready(back[0], &c, 1, "the committing client") == 1) {
			ready = true;
		}
		if (ready && !sent && anim.len >= warmup) {
			if (write(go[1], "g", 1) != 1) {
				bench_fail("cannot start the committing client");
			}
			sent = true;
		} else if (sent && !applied) {
			got += read_ready(back[0], (char *)&times + got, sizeof times - got,
				"the committing client");
			if (got == sizeof times) {
				applied = true;
				applied_at = anim.len;
			}
		}
	}

	// B's text is applied: every one of its glyphs is in the atlas, held.
	struct ts_server_info info;
	bench_check(display, ts_display_query_info(display, &info), "info_query");
	if (info.atlas.referenced < CJK_GLYPHS * 95 / 100) {
		bench_fail("the atlas holds %u glyphs after a commit of %u distinct ones",
			info.atlas.referenced, CJK_GLYPHS);
	}
	ts_server_info_finish(&info);

	// The longest wait between two frame callbacks over the commit and a few frames after.
	uint64_t from = times.commit, to = times.applied + (uint64_t)(3 * FRAME_NS);
	uint64_t worst = 0;
	for (size_t i = 1; i < anim.len; i++) {
		if (anim.t[i] >= from && anim.t[i - 1] <= to && anim.t[i] - anim.t[i - 1] > worst) {
			worst = anim.t[i] - anim.t[i - 1];
		}
	}
	if (worst == 0 || anim.t[anim.len - 1] < to) {
		bench_fail("the animation has no frames after the text commit");
	}
	double missed = round((double)worst / FRAME_NS - 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(go[1]);
	close(back[0]);
	free(anim.t);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	bench_record(b, "text_commit_missed_frames", missed < 0 ? 0 : missed);
	bench_record(b, "text_commit_ms", (double)(times.applied - times.commit) / 1e6);
	bench_record(b, "text_commit_worst_gap_ms", (double)worst / 1e6);
}
