/*
 * Layout (shaper.h): decode, split into paragraphs at U+000A, and for each paragraph:
 * FriBiDi's embedding levels, scripts (hb_unicode_script; Common and Inherited take the
 * script before them, or after them at the start), a face per cluster (fonts.c), runs
 * of one level, script and face, each shaped once with HarfBuzz. Every code point then
 * knows the advance of the cluster it starts (0 inside one) and whether a line may
 * break before it; lines are filled greedily in logical order, trailing spaces hanging
 * past the width, a word too long for a line broken between clusters.
 *
 * A line takes its runs' glyphs as shaped for the whole paragraph where it cuts a run
 * at a cluster HarfBuzz marks safe to break at, and shapes the cut piece again, with
 * no context beyond the line, where it is not (an Arabic word split across lines gets
 * its final and initial forms). Its pieces are then put in visual order by rule L2;
 * HarfBuzz has already put each right-to-left run's glyphs left to right.
 *
 * Baselines are on whole pixels: line i's top is round(i * line height) and its
 * baseline round(the primary face's ascent) below it. Glyph x positions stay
 * fractional (the atlas rasterises at quarter pixels). Tabs are shaped as spaces.
 * The work buffers are the shaper's, kept from one layout to the next, so that a
 * layout allocates only its output once they have grown (they never shrink).
 */
#include "shaper.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <fontconfig/fontconfig.h>
#include <fribidi.h>

#include "fonts.h"
#include "log.h"
#include "utf8.h"

#define ELLIPSIS 0x2026u
#define MAX_CODEPOINTS (1u << 28) // past this, a layout is refused as out of memory

enum {
	CP_START = 1,   // a cluster starts here
	CP_BREAK = 2,   // a line may break before this code point
	CP_UNSAFE = 4,  // HarfBuzz: cutting the run before this cluster changes its glyphs
};

// A shaped glyph before layout (positions in pixels).
struct pglyph {
	uint32_t glyph;
	uint32_t cluster;   // code point index in the whole string
	float adv, dx, dy;
	bool unsafe;
};

struct gbuf {
	struct pglyph *v;
	size_t len, cap;
};

struct run {
	uint32_t start, end;   // code points
	uint32_t face;
	hb_script_t script;
	uint8_t level;
	uint32_t first, count; // its glyphs in work.glyphs, left to right
};

// Part of a line: a run's glyphs (or re-shaped ones in scratch, or the ellipsis).
struct piece {
	uint8_t level;
	bool scratch;
	uint32_t face;
	uint32_t first, count;
};

struct shaper {
	struct fonts fonts;
	hb_buffer_t *buf;
	// Per code point of the string being laid out.
	size_t cap;
	uint32_t *cps, *offs;   // offs: n + 1, offs[n] = len
	FriBidiCharType *types;
	FriBidiBracketType *brackets;
	FriBidiLevel *levels;
	hb_script_t *scripts;
	uint32_t *faces;
	float *adv;
	uint8_t *flags;
	struct gbuf glyphs, scratch;
	struct run *runs;
	size_t run_len, run_cap;
	struct piece *pieces;
	size_t piece_len, piece_cap;
};

// fontconfig's caches are process-wide: the last shaper to go frees them.
static atomic_int shapers;

struct shaper *shaper_create(void) {
	struct shaper *s = calloc(1, sizeof *s);
	if (s == NULL) {
		log_error("text: out of memory");
		return NULL;
	}
	atomic_fetch_add(&shapers, 1);
	if (!fonts_init(&s->fonts)) {
		goto err;
	}
	if (fonts_list(&s->fonts, "", 400, false) == NULL) {
		log_error("text: no usable font is installed (fontconfig finds none for sans-serif)");
		goto err;
	}
	s->buf = hb_buffer_create();
	if (!hb_buffer_allocation_successful(s->buf)) {
		log_error("text: out of memory");
		goto err;
	}
	return s;
err:
	shaper_destroy(s);
	return NULL;
}

void shaper_destroy(struct shaper *s) {
	if (s == NULL) {
		return;
	}
	hb_buffer_destroy(s->buf);
	fonts_finish(&s->fonts);
	free(s->cps);
	free(s->offs);
	free(s->types);
	free(s->brackets);
	free(s->levels);
	free(s->scripts);
	free(s->faces);
	free(s->adv);
	free(s->flags);
	free(s->glyphs.v);
	free(s->scratch.v);
	free(s->runs);
	free(s->pieces);
	free(s);
	if (atomic_fetch_sub(&shapers, 1) == 1) {
		FcFini();
	}
}

size_t shaper_face_count(const struct shaper *s) {
	return s->fonts.face_len;
}

const char *shaper_face_file(const struct shaper *s, uint32_t face) {
	return face < s->fonts.face_len ? s->fonts.faces[face]->file : NULL;
}

bool shaper_raster(struct shaper *s, uint32_t face, uint32_t glyph, float size,
		unsigned bucket, struct shaper_bitmap *out) {
	assert(bucket < SHAPER_SUBPIXEL_BUCKETS);
	*out = (struct shaper_bitmap){0};
	if (face >= s->fonts.face_len) {
		return false;
	}
	size = !(size >= SHAPER_MIN_SIZE) ? SHAPER_MIN_SIZE
		: size > SHAPER_MAX_SIZE ? SHAPER_MAX_SIZE : size;
	return face_raster(s->fonts.faces[face], glyph, size, bucket, out);
}

void shaper_layout_finish(struct shaper_layout *layout) {
	free(layout->glyphs);
	free(layout->lines);
	*layout = (struct shaper_layout){0};
}

// Grows @*v (of @*cap elements of @size bytes) to hold @need; false on no memory.
static bool grow(void *v, size_t *cap, size_t need, size_t size) {
	if (need <= *cap) {
		return true;
	}
	size_t n = *cap ? *cap : 16;
	while (n < need) {
		n *= 2;
	}
	void *p = realloc(*(void **)v, n * size);
	if (p == NULL) {
		return false;
	}
	*(void **)v = p;
	*cap = n;
	return true;
}

static bool work_reserve(struct shaper *s, size_t n) {
	if (n + 1 <= s->cap) {
		return true;
	}
	size_t cap = n + 1;
	// Each array is reallocated on its own; one that fails leaves the others grown,
	// and s->cap the size all of them have.
#define GROW(field) do { \
		void *p = realloc(s->field, cap * sizeof *s->field); \
		if (p == NULL) { \
			return false; \
		} \
		s->field = p; \
	} while (0)
	GROW(cps);
	GROW(offs);
	GROW(types);
	GROW(brackets);
	GROW(levels);
	GROW(scripts);
	GROW(faces);
	GROW(adv);
	GROW(flags);
#undef GROW
	s->cap = cap;
	return true;
}

static bool is_space(uint32_t cp) {
	return cp == 0x20 || cp == 0x09 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a
		&& cp != 0x2007) || cp == 0x205f || cp == 0x3000;
}

// Ideographs, kana, hangul and their punctuation: a line may break around each.
static bool is_cjk(uint32_t cp) {
	return (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0x2e80 && cp <= 0x9fff)
		|| (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0xf900 && cp <= 0xfaff)
		|| (cp >= 0xff00 && cp <= 0xffef) || (cp >= 0x20000 && cp <= 0x3ffff);
}

// Closing punctuation and marks that never start a line (a short kinsoku list).
static bool no_break_before(uint32_t cp) {
	static const uint32_t list[] = { 0x3001, 0x3002, 0x3005, 0x3009, 0x300b, 0x300d,
		0x300f, 0x3011, 0x309d, 0x309e, 0x30fc, 0x30fd, 0x30fe, 0xff01, 0xff09, 0xff0c,
		0xff0e, 0xff1a, 0xff1b, 0xff1f };
	for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
		if (cp == list[i]) {
			return true;
		}
	}
	return false;
}

static bool no_break_after(uint32_t cp) {
	return cp == 0x3008 || cp == 0x300a || cp == 0x300c || cp == 0x300e || cp == 0x3010
		|| cp == 0xff08;
}

// Whether a line may break before @cps[@i], @ps < @i, the paragraph starting at @ps.
static bool may_break(const uint32_t *cps, size_t ps, size_t i) {
	uint32_t a = cps[i - 1], b = cps[i];
	if (is_space(b)) {
		return false;
	}
	if (is_space(a) || a == 0x200b) {
		return true;
	}
	// After a hyphen in a word ("well-known"), not after a leading one ("-5").
	if ((a == '-' || a == 0x2010) && b != '-' && b != 0x2010 && i - 1 > ps
			&& !is_space(cps[i - 2])) {
		return true;
	}
	return (is_cjk(a) || is_cjk(b)) && !no_break_before(b) && !no_break_after(a);
}

// Whether @cp attaches to the code point before it (for choosing a face).
static bool attaches(uint32_t cp, uint32_t prev) {
	if (prev == 0x200d || cp == 0x200d || cp == 0x200c || (cp >= 0xfe00 && cp <= 0xfe0f)
			|| (cp >= 0x1f3fb && cp <= 0x1f3ff) || (cp >= 0xe0020 && cp <= 0xe007f)
			|| (cp >= 0xe0100 && cp <= 0xe01ef)) {
		return true;
	}
	hb_unicode_general_category_t gc =
		hb_unicode_general_category(hb_unicode_funcs_get_default(), cp);
	return gc == HB_UNICODE_GENERAL_CATEGORY_NON_SPACING_MARK
		|| gc == HB_UNICODE_GENERAL_CATEGORY_SPACING_MARK
		|| gc == HB_UNICODE_GENERAL_CATEGORY_ENCLOSING_MARK;
}

// Shapes @text[@item .. @item + @n) (the rest of @text is context) in @face into @dst;
// clusters are indices into @text plus @base. False on no memory.
static bool shape(struct shaper *s, const uint32_t *text, size_t text_len, size_t item,
		size_t n, uint32_t base, uint32_t face, hb_script_t script, bool rtl, float size,
		struct gbuf *dst) {
	struct face *f = s->fonts.faces[face];
	float k = face_use_size(f, size);
	hb_buffer_clear_contents(s->buf);
	hb_buffer_add_codepoints(s->buf, text, (int)text_len, (unsigned)item, (int)n);
	hb_buffer_set_direction(s->buf, rtl ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
	hb_buffer_set_script(s->buf, script);
	hb_buffer_set_language(s->buf, hb_language_get_default());
	hb_shape(f->hb, s->buf, NULL, 0);
	if (!hb_buffer_allocation_successful(s->buf)) {
		return false;
	}
	unsigned len;
	hb_glyph_info_t *info = hb_buffer_get_glyph_infos(s->buf, &len);
	hb_glyph_position_t *pos = hb_buffer_get_glyph_positions(s->buf, &len);
	if (!grow(&dst->v, &dst->cap, dst->len + len, sizeof *dst->v)) {
		return false;
	}
	for (unsigned i = 0; i < len; i++) {
		dst->v[dst->len++] = (struct pglyph){
			.glyph = info[i].codepoint,
			.cluster = info[i].cluster + base,
			.adv = pos[i].x_advance * k,
			.dx = pos[i].x_offset * k,
			.dy = pos[i].y_offset * k,
			.unsafe = hb_glyph_info_get_glyph_flags(&info[i]) & HB_GLYPH_FLAG_UNSAFE_TO_BREAK,
		};
	}
	return true;
}

static bool add_run(struct shaper *s, uint32_t start, uint32_t end) {
	if (!grow(&s->runs, &s->run_cap, s->run_len + 1, sizeof *s->runs)) {
		return false;
	}
	s->runs[s->run_len++] = (struct run){
		.start = start, .end = end, .face = s->faces[start],
		.script = s->scripts[start], .level = s->levels[start],
	};
	return true;
}

// Levels, scripts, faces, runs, their glyphs and the code points' flags and advances
// for the paragraph [@ps, @pe). Sets @*rtl to its base direction.
static bool itemise(struct shaper *s, struct font_list *list, uint32_t ps, uint32_t pe,
		float size, bool *rtl) {
	uint32_t *cps = s->cps + ps;
	int n = (int)(pe - ps);
	fribidi_get_bidi_types(cps, n, s->types + ps);
	fribidi_get_bracket_types(cps, n, s->types + ps, s->brackets + ps);
	FriBidiParType dir = FRIBIDI_PAR_ON;
	if (fribidi_get_par_embedding_levels_ex(s->types + ps, s->brackets + ps, n, &dir,
			s->levels + ps) == 0) {
		return false;
	}
	*rtl = FRIBIDI_IS_RTL(dir);

	hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
	hb_script_t last = HB_SCRIPT_INVALID;
	for (uint32_t i = ps; i < pe; i++) {
		if (s->cps[i] == '\t') {
			s->cps[i] = ' '; // after bidi, which treats tab as a segment separator
		}
		hb_script_t sc = hb_unicode_script(uf, s->cps[i]);
		if (sc == HB_SCRIPT_COMMON || sc == HB_SCRIPT_INHERITED || sc == HB_SCRIPT_UNKNOWN) {
			s->scripts[i] = last;
			continue;
		}
		if (last == HB_SCRIPT_INVALID) {
			for (uint32_t j = ps; j < i; j++) { // the Common ones before the first
				s->scripts[j] = sc;
			}
		}
		s->scripts[i] = last = sc;
	}
	if (last == HB_SCRIPT_INVALID) {
		for (uint32_t j = ps; j < pe; j++) {
			s->scripts[j] = HB_SCRIPT_COMMON;
		}
	}

	for (uint32_t i = ps; i < pe;) {
		uint32_t j = i + 1;
		while (j < pe && attaches(s->cps[j], s->cps[j - 1])) {
			j++;
		}
		uint32_t face = fonts_cluster_face(&s->fonts, list, s->cps + i, j - i);
		for (uint32_t k = i; k < j; k++) {
			s->faces[k] = face;
		}
		i = j;
	}

	s->run_len = 0;
	s->glyphs.len = 0;
	uint32_t start = ps;
	for (uint32_t i = ps + 1; i <= pe; i++) {
		if (i == pe || s->levels[i] != s->levels[start] || s->scripts[i] != s->scripts[start]
				|| s->faces[i] != s->faces[start]) {
			if (!add_run(s, start, i)) {
				return false;
			}
			start = i;
		}
	}

	memset(s->flags + ps, 0, pe - ps);
	memset(s->adv + ps, 0, (pe - ps) * sizeof *s->adv);
	for (size_t r = 0; r < s->run_len; r++) {
		struct run *run = &s->runs[r];
		run->first = (uint32_t)s->glyphs.len;
		if (!shape(s, cps, (size_t)n, run->start - ps, run->end - run->start, ps, run->face,
				run->script, run->level & 1, size, &s->glyphs)) {
			return false;
		}
		run->count = (uint32_t)(s->glyphs.len - run->first);
		s->flags[run->start] |= CP_START;
		for (uint32_t g = run->first; g < run->first + run->count; g++) {
			const struct pglyph *pg = &s->glyphs.v[g];
			s->adv[pg->cluster] += pg->adv;
			s->flags[pg->cluster] |= CP_START | (pg->unsafe ? CP_UNSAFE : 0);
		}
	}
	for (uint32_t i = ps + 1; i < pe; i++) {
		if ((s->flags[i] & CP_START) && may_break(s->cps, ps, i)) {
			s->flags[i] |= CP_BREAK;
		}
	}
	return true;
}

static uint32_t next_cluster(const struct shaper *s, uint32_t i, uint32_t pe) {
	for (i++; i < pe && !(s->flags[i] & CP_START); i++) {
	}
	return i;
}

// The end of the line that starts at @ls: greedy fill to @wrap (0: none).
static uint32_t fill_line(const struct shaper *s, uint32_t ls, uint32_t pe, float wrap) {
	if (wrap <= 0) {
		return pe;
	}
	float w = 0;
	uint32_t last_break = ls;
	for (uint32_t i = ls; i < pe;) {
		uint32_t j = next_cluster(s, i, pe);
		if (i > ls && (s->flags[i] & CP_BREAK)) {
			last_break = i;
		}
		float cw = 0;
		for (uint32_t k = i; k < j; k++) {
			cw += s->adv[k];
		}
		// Spaces hang: only a visible cluster can overflow the line.
		if (i > ls && !is_space(s->cps[i]) && w + cw > wrap + 1e-3f) {
			return last_break > ls ? last_break : i;
		}
		w += cw;
		i = j;
	}
	return pe;
}

// The end of [@ls, @le) less its trailing spaces.
static uint32_t trim(const struct shaper *s, uint32_t ls, uint32_t le) {
	while (le > ls && is_space(s->cps[le - 1]) && (s->flags[le - 1] & CP_START)) {
		le--;
	}
	return le;
}

static float span_width(const struct shaper *s, uint32_t a, uint32_t b) {
	float w = 0;
	for (uint32_t i = a; i < b; i++) {
		w += s->adv[i];
	}
	return w;
}

// The furthest cluster boundary @c in [@ls, @lt] with width(trim(ls, c)) <= @room.
static uint32_t fit_cut(const struct shaper *s, uint32_t ls, uint32_t lt, float room) {
	float w = 0, visible = 0;
	uint32_t best = ls;
	for (uint32_t i = ls; i <= lt;) {
		if (visible > room + 1e-3f) {
			break;
		}
		best = i;
		if (i == lt) {
			break;
		}
		uint32_t j = next_cluster(s, i, lt);
		w += span_width(s, i, j);
		if (!is_space(s->cps[i])) {
			visible = w;
		}
		i = j;
	}
	return best;
}

static bool add_piece(struct shaper *s, struct piece p) {
	if (p.count == 0) {
		return true;
	}
	if (!grow(&s->pieces, &s->piece_cap, s->piece_len + 1, sizeof *s->pieces)) {
		return false;
	}
	s->pieces[s->piece_len++] = p;
	return true;
}

// The index of the first of @run's glyphs whose cluster is at or past @c in logical
// order (left to right, clusters rise; right to left, they fall).
static uint32_t glyph_at(const struct shaper *s, const struct run *run, uint32_t c) {
	uint32_t lo = 0, hi = run->count;
	bool rtl = run->level & 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t cl = s->glyphs.v[run->first + mid].cluster;
		if (rtl ? cl >= c : cl < c) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return run->first + lo;
}

// The piece of @run in [@a, @b): its glyphs as shaped, or shaped again if the cut is
// not safe.
static bool run_piece(struct shaper *s, const struct run *run, uint32_t a, uint32_t b,
		float size) {
	struct piece p = { .level = run->level, .face = run->face };
	bool cut_a = a > run->start, cut_b = b < run->end;
	if ((cut_a && (s->flags[a] & CP_UNSAFE)) || (cut_b && (s->flags[b] & CP_UNSAFE))) {
		p.scratch = true;
		p.first = (uint32_t)s->scratch.len;
		if (!shape(s, s->cps + a, b - a, 0, b - a, a, run->face, run->script,
				run->level & 1, size, &s->scratch)) {
			return false;
		}
		p.count = (uint32_t)(s->scratch.len - p.first);
		return add_piece(s, p);
	}
	if (!cut_a && !cut_b) {
		p.first = run->first;
		p.count = run->count;
	} else if (run->level & 1) {
		p.first = glyph_at(s, run, b);
		p.count = glyph_at(s, run, a) - p.first;
	} else {
		p.first = glyph_at(s, run, a);
		p.count = glyph_at(s, run, b) - p.first;
	}
	return add_piece(s, p);
}

// Rule L2 on the line's pieces: from the highest level down to the lowest odd one,
// reverse every maximal sequence of pieces at that level or higher.
static void reorder(struct piece *p, size_t n) {
	uint8_t hi = 0, lo = UINT8_MAX;
	for (size_t i = 0; i < n; i++) {
		hi = p[i].level > hi ? p[i].level : hi;
		lo = p[i].level < lo ? p[i].level : lo;
	}
	for (int k = hi; k >= (lo | 1); k--) {
		for (size_t i = 0; i < n;) {
			if (p[i].level < k) {
				i++;
				continue;
			}
			size_t j = i;
			while (j < n && p[j].level >= k) {
				j++;
			}
			for (size_t a = i, b = j - 1; a < b; a++, b--) {
				struct piece t = p[a];
				p[a] = p[b];
				p[b] = t;
			}
			i = j;
		}
	}
}

// The face a line's ellipsis is shaped in: that of the line's last cluster when it has
// U+2026, else the first in @list that does.
static uint32_t ellipsis_face(struct shaper *s, struct font_list *list, uint32_t ls,
		uint32_t lt) {
	static const uint32_t ell = ELLIPSIS;
	if (lt > ls && FT_Get_Char_Index(s->fonts.faces[s->faces[lt - 1]]->ft, ELLIPSIS) != 0) {
		return s->faces[lt - 1];
	}
	return fonts_cluster_face(&s->fonts, list, &ell, 1);
}

// Shapes U+2026 in @face onto s->scratch, its cluster code point @at; adds its
// advance to @*width.
static bool shape_ellipsis(struct shaper *s, uint32_t face, bool rtl, float size,
		uint32_t at, float *width) {
	static const uint32_t ell = ELLIPSIS;
	size_t mark = s->scratch.len;
	if (!shape(s, &ell, 1, 0, 1, at, face, HB_SCRIPT_COMMON, rtl, size, &s->scratch)) {
		return false;
	}
	for (size_t g = mark; g < s->scratch.len; g++) {
		*width += s->scratch.v[g].adv;
	}
	return true;
}

#define NO_ELLIPSIS UINT32_MAX

// Appends the line [@ls, @lt) to @out, ended by an ellipsis in face @ellipsis unless
// that is NO_ELLIPSIS. @*run: the first run that may still be on a line, moved on.
static bool emit_line(struct shaper *s, struct shaper_layout *out, size_t *line_cap,
		size_t *glyph_cap, size_t *run, uint32_t ls, uint32_t lt, bool rtl,
		uint32_t ellipsis, float size) {
	s->piece_len = 0;
	s->scratch.len = 0;
	size_t r = *run;
	while (r < s->run_len && s->runs[r].end <= ls) {
		r++;
	}
	*run = r;
	for (; r < s->run_len && s->runs[r].start < lt; r++) {
		const struct run *rn = &s->runs[r];
		uint32_t a = rn->start > ls ? rn->start : ls;
		uint32_t b = rn->end < lt ? rn->end : lt;
		if (!run_piece(s, rn, a, b, size)) {
			return false;
		}
	}
	if (ellipsis != NO_ELLIPSIS) {
		struct piece p = { .level = rtl ? 1 : 0, .scratch = true, .face = ellipsis,
			.first = (uint32_t)s->scratch.len };
		float w = 0;
		if (!shape_ellipsis(s, ellipsis, rtl, size, lt, &w)) {
			return false;
		}
		p.count = (uint32_t)(s->scratch.len - p.first);
		if (!add_piece(s, p)) {
			return false;
		}
	}
	reorder(s->pieces, s->piece_len);

	size_t count = 0;
	for (size_t i = 0; i < s->piece_len; i++) {
		count += s->pieces[i].count;
	}
	if (!grow(&out->lines, line_cap, out->line_len + 1, sizeof *out->lines)
			|| !grow(&out->glyphs, glyph_cap, out->glyph_len + count, sizeof *out->glyphs)) {
		return false;
	}
	struct shaper_line *line = &out->lines[out->line_len++];
	*line = (struct shaper_line){ .first = (uint32_t)out->glyph_len,
		.count = (uint32_t)count, .rtl = rtl };
	float pen = 0;
	for (size_t i = 0; i < s->piece_len; i++) {
		const struct piece *p = &s->pieces[i];
		const struct pglyph *src = (p->scratch ? s->scratch.v : s->glyphs.v) + p->first;
		for (uint32_t g = 0; g < p->count; g++) {
			out->glyphs[out->glyph_len++] = (struct shaper_glyph){
				.face = p->face, .glyph = src[g].glyph,
				.x = pen + src[g].dx, .y = -src[g].dy,
				.cluster = s->offs[src[g].cluster],
			};
			pen += src[g].adv;
		}
	}
	line->width = pen;
	return true;
}

bool shaper_layout(struct shaper *s, const uint8_t *utf8, size_t len,
		const struct shaper_style *style, struct shaper_layout *out) {
	*out = (struct shaper_layout){0};
	size_t line_cap = 0, glyph_cap = 0;
	float size = style->size;
	size = !(size >= SHAPER_MIN_SIZE) ? SHAPER_MIN_SIZE
		: size > SHAPER_MAX_SIZE ? SHAPER_MAX_SIZE : size;
	float wrap = style->wrap_width > 0 && isfinite(style->wrap_width) ? style->wrap_width : 0;
	out->size = size;

	// A code point takes at least a byte.
	if (len > MAX_CODEPOINTS || !work_reserve(s, len)) {
		goto err;
	}
	uint32_t n = (uint32_t)utf8_decode(utf8, len, s->cps, s->offs, len);
	s->offs[n] = (uint32_t)len;
	if (n == 0) {
		return true; // no lines
	}
	struct font_list *list = fonts_list(&s->fonts, style->family, style->weight,
		style->italic);
	if (list == NULL) {
		list = fonts_list(&s->fonts, "", 400, false);
		if (list == NULL) {
			goto err;
		}
	}
	float ascent, descent, height;
	face_metrics(s->fonts.faces[list->primary], size, &ascent, &descent, &height);
	float line_height = style->line_height > 0 && isfinite(style->line_height)
		? style->line_height : roundf(height);
	line_height = line_height < 1 ? 1 : line_height;

	uint32_t max_lines = style->max_lines;
	for (uint32_t ps = 0; ps <= n && !out->truncated;) {
		uint32_t pe = ps;
		while (pe < n && s->cps[pe] != '\n') {
			pe++;
		}
		bool rtl = false;
		s->run_len = 0;
		if (pe > ps && !itemise(s, list, ps, pe, size, &rtl)) {
			goto err;
		}
		uint32_t ls = ps;
		size_t run = 0;
		do {
			uint32_t le = fill_line(s, ls, pe, wrap);
			uint32_t lt = trim(s, ls, le);
			bool last = max_lines > 0 && out->line_len + 1 == max_lines
				&& (le < pe || pe < n);
			uint32_t ellipsis = NO_ELLIPSIS;
			if (last) {
				out->truncated = true;
				ellipsis = ellipsis_face(s, list, ls, lt);
				if (wrap > 0 && lt > ls) {
					// Measured here, shaped again by emit_line.
					float ew = 0;
					if (!shape_ellipsis(s, ellipsis, rtl, size, lt, &ew)) {
						goto err;
					}
					lt = trim(s, ls, fit_cut(s, ls, lt, wrap - ew));
				}
			}
			if (pe > ps || last) {
				if (!emit_line(s, out, &line_cap, &glyph_cap, &run, ls, lt, rtl,
						ellipsis, size)) {
					goto err;
				}
			} else {
				if (!grow(&out->lines, &line_cap, out->line_len + 1, sizeof *out->lines)) {
					goto err;
				}
				out->lines[out->line_len++] = (struct shaper_line){
					.first = (uint32_t)out->glyph_len };
			}
			ls = le;
		} while (ls < pe && !out->truncated);
		ps = pe + 1;
	}

	float width = 0;
	for (size_t i = 0; i < out->line_len; i++) {
		width = out->lines[i].width > width ? out->lines[i].width : width;
	}
	out->width = wrap > 0 ? wrap : width;
	float asc = roundf(ascent);
	for (size_t i = 0; i < out->line_len; i++) {
		struct shaper_line *line = &out->lines[i];
		float free_space = out->width - line->width;
		bool right = style->align == SHAPER_ALIGN_END ? !line->rtl
			: style->align == SHAPER_ALIGN_CENTER ? false : line->rtl;
		line->x = style->align == SHAPER_ALIGN_CENTER ? free_space / 2
			: right ? free_space : 0;
		line->top = roundf((float)i * line_height);
		line->height = line_height;
		line->baseline = line->top + asc;
		for (uint32_t g = line->first; g < line->first + line->count; g++) {
			out->glyphs[g].x += line->x;
			out->glyphs[g].y += line->baseline;
		}
	}
	out->baseline = out->line_len > 0 ? out->lines[0].baseline : 0;
	out->height = out->line_len > 0
		? out->lines[out->line_len - 1].top + line_height : 0;
	return true;
err:
	shaper_layout_finish(out);
	return false;
}
