/*
 * Unit tests of the shaper (server/text/shaper.h) with the fonts the project's package
 * lists install: DejaVu Sans (the sans-serif default), Lohit Devanagari, WenQuanYi
 * Micro Hei and Noto Color Emoji. They check relations rather than metrics: lines fit
 * the wrap width and break at spaces, alignment puts lines where it says, bidi puts
 * runs in visual order, shaping gives ligatures, contextual forms, reordered vowel
 * signs and marks in their base's cluster, fallback finds the font that has a
 * character, and the rasteriser gives coverage, colour and subpixel-shifted bitmaps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fontconfig/fontconfig.h>

#include "shaper.h"

#define EPS 0.01f

static struct shaper *sh;

static int setup(void **state) {
	(void)state;
	sh = shaper_create();
	return sh != NULL ? 0 : -1;
}

static int teardown(void **state) {
	(void)state;
	shaper_destroy(sh);
	return 0;
}

static struct shaper_style style(void) {
	return (struct shaper_style){ .size = 16, .weight = 400 };
}

static void lay(const char *text, const struct shaper_style *st, struct shaper_layout *l) {
	assert_true(shaper_layout(sh, (const uint8_t *)text, strlen(text), st, l));
}

static const char *file_of(const struct shaper_layout *l, size_t glyph) {
	const char *file = shaper_face_file(sh, l->glyphs[glyph].face);
	assert_non_null(file);
	return file;
}

// The glyph (and face) one character alone shapes to.
static uint32_t glyph_of(const char *ch, uint32_t *face) {
	struct shaper_style st = style();
	struct shaper_layout l;
	lay(ch, &st, &l);
	assert_int_equal(l.glyph_len, 1);
	uint32_t g = l.glyphs[0].glyph;
	if (face != NULL) {
		*face = l.glyphs[0].face;
	}
	shaper_layout_finish(&l);
	return g;
}

// The space glyph (a line's trailing spaces are not on it: take one between letters).
static uint32_t space_glyph(void) {
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("a b", &st, &l);
	assert_int_equal(l.glyph_len, 3);
	uint32_t g = l.glyphs[1].glyph;
	shaper_layout_finish(&l);
	return g;
}

static float width_of(const char *text) {
	struct shaper_style st = style();
	struct shaper_layout l;
	lay(text, &st, &l);
	assert_int_equal(l.line_len, 1);
	float w = l.lines[0].width;
	shaper_layout_finish(&l);
	return w;
}

// Every line's glyphs run left to right from its x, and fit in the layout's box.
static void check_lines(const struct shaper_layout *l) {
	for (size_t i = 0; i < l->line_len; i++) {
		const struct shaper_line *ln = &l->lines[i];
		assert_true(ln->first + ln->count <= l->glyph_len);
		assert_true(ln->top + ln->height <= l->height + EPS);
		assert_true(ln->baseline > ln->top && ln->baseline <= ln->top + ln->height);
		assert_float_equal(ln->baseline, roundf(ln->baseline), 0);
		for (uint32_t g = ln->first; g < ln->first + ln->count; g++) {
			assert_true(l->glyphs[g].x >= ln->x - 2); // marks may sit a little left
			assert_true(l->glyphs[g].x <= ln->x + ln->width + EPS);
		}
	}
}

static const char fox[] = "the quick brown fox jumps over the lazy dog";

static void test_wrap(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	lay(fox, &st, &l);
	assert_int_equal(l.line_len, 1);
	float full = l.lines[0].width;
	assert_true(full > 80);
	assert_int_equal(l.glyph_len, strlen(fox));
	shaper_layout_finish(&l);

	st.wrap_width = 80;
	lay(fox, &st, &l);
	assert_true(l.line_len > 2);
	assert_float_equal(l.width, 80, EPS);
	check_lines(&l);
	size_t letters = 0;
	for (size_t i = 0; i < l.line_len; i++) {
		const struct shaper_line *ln = &l.lines[i];
		assert_true(ln->count > 0);
		assert_true(ln->width <= 80 + EPS);
		uint32_t first = l.glyphs[ln->first].cluster;
		uint32_t last = l.glyphs[ln->first + ln->count - 1].cluster;
		if (i > 0) {
			assert_int_equal(fox[first - 1], ' '); // broke after a space
		}
		assert_true(fox[first] != ' ');
		assert_true(fox[last] != ' '); // trailing spaces are not on the line
		for (uint32_t g = ln->first; g < ln->first + ln->count; g++) {
			letters += fox[l.glyphs[g].cluster] != ' ';
		}
	}
	assert_int_equal(letters, strlen(fox) - 8); // every letter once, 8 spaces
	shaper_layout_finish(&l);
}

static void test_wrap_greedy(void **state) {
	(void)state;
	// Three words fit a line exactly (plus a little): lines hold 3, 3, 2.
	struct shaper_style st = style();
	st.wrap_width = width_of("abc abc abc") + 0.5f;
	assert_true(st.wrap_width < width_of("abc abc abc abc"));
	struct shaper_layout l;
	lay("abc abc abc abc abc abc abc abc", &st, &l);
	assert_int_equal(l.line_len, 3);
	assert_int_equal(l.lines[0].count, 11); // "abc abc abc": the spaces between count
	assert_int_equal(l.lines[1].count, 11);
	assert_int_equal(l.lines[2].count, 7);
	assert_int_equal(l.glyphs[l.lines[1].first].cluster, 12);
	shaper_layout_finish(&l);
}

static void test_long_word(void **state) {
	(void)state;
	const char *abc = "abcdefghijklmnopqrstuvwxyz";
	struct shaper_style st = style();
	st.wrap_width = 50;
	struct shaper_layout l;
	lay(abc, &st, &l);
	assert_true(l.line_len >= 4);
	assert_int_equal(l.glyph_len, 26);
	for (size_t i = 0; i < l.line_len; i++) {
		assert_true(l.lines[i].count > 0);
		assert_true(l.lines[i].width <= 50 + EPS);
	}
	for (size_t g = 0; g < l.glyph_len; g++) {
		assert_int_equal(l.glyphs[g].cluster, g); // in order, across the lines
	}
	shaper_layout_finish(&l);

	// Narrower than one letter: one cluster a line, never none.
	st.wrap_width = 1;
	lay("abc", &st, &l);
	assert_int_equal(l.line_len, 3);
	shaper_layout_finish(&l);
}

static void test_align(void **state) {
	(void)state;
	struct shaper_style st = style();
	st.wrap_width = 200;
	struct shaper_layout l;
	for (uint8_t align = SHAPER_ALIGN_START; align <= SHAPER_ALIGN_END; align++) {
		st.align = align;
		lay("ab\nabcdef", &st, &l);
		assert_int_equal(l.line_len, 2);
		check_lines(&l);
		for (size_t i = 0; i < 2; i++) {
			const struct shaper_line *ln = &l.lines[i];
			float want = align == SHAPER_ALIGN_START ? 0
				: align == SHAPER_ALIGN_CENTER ? (200 - ln->width) / 2 : 200 - ln->width;
			assert_float_equal(ln->x, want, EPS);
			assert_float_equal(l.glyphs[ln->first].x, ln->x, 0.5f);
			assert_false(ln->rtl);
		}
		shaper_layout_finish(&l);
	}
	// No wrap width: the box is the widest line's.
	st.wrap_width = 0;
	st.align = SHAPER_ALIGN_END;
	lay("ab\nabcdef", &st, &l);
	assert_float_equal(l.width, l.lines[1].width, EPS);
	assert_float_equal(l.lines[1].x, 0, EPS);
	assert_float_equal(l.lines[0].x + l.lines[0].width, l.width, EPS);
	shaper_layout_finish(&l);
}

static void test_rtl_start_is_right(void **state) {
	(void)state;
	const char *texts[] = {
		"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",                 // שלום
		"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",         // مرحبا
	};
	for (size_t t = 0; t < 2; t++) {
		struct shaper_style st = style();
		st.wrap_width = 200;
		struct shaper_layout l;
		lay(texts[t], &st, &l);
		assert_int_equal(l.line_len, 1);
		assert_true(l.lines[0].rtl);
		assert_true(l.lines[0].width > 10);
		assert_float_equal(l.lines[0].x + l.lines[0].width, 200, EPS);
		// The first character is the rightmost glyph.
		assert_int_equal(l.glyphs[l.lines[0].count - 1].cluster, 0);
		shaper_layout_finish(&l);
		st.align = SHAPER_ALIGN_END;
		lay(texts[t], &st, &l);
		assert_float_equal(l.lines[0].x, 0, EPS);
		shaper_layout_finish(&l);
	}
}

static void test_mixed_visual_order(void **state) {
	(void)state;
	// "abc אבג def": a b c space, the Hebrew right to left, space d e f.
	const char *text = "abc \xd7\x90\xd7\x91\xd7\x92 def";
	static const uint32_t want[] = { 0, 1, 2, 3, 8, 6, 4, 10, 11, 12, 13 };
	struct shaper_style st = style();
	struct shaper_layout l;
	lay(text, &st, &l);
	assert_int_equal(l.line_len, 1);
	assert_false(l.lines[0].rtl);
	assert_int_equal(l.glyph_len, 11);
	for (size_t g = 0; g < 11; g++) {
		assert_int_equal(l.glyphs[g].cluster, want[g]);
		if (g > 0) {
			assert_true(l.glyphs[g].x > l.glyphs[g - 1].x);
		}
	}
	shaper_layout_finish(&l);

	// The same in a right-to-left paragraph: the Hebrew first, at the right.
	lay("\xd7\x90\xd7\x91 ab", &st, &l);
	assert_true(l.lines[0].rtl);
	assert_int_equal(l.glyphs[0].cluster, 5); // 'a', leftmost
	assert_int_equal(l.glyphs[l.glyph_len - 1].cluster, 0);
	shaper_layout_finish(&l);
}

static void test_arabic_forms(void **state) {
	(void)state;
	uint32_t isolated = glyph_of("\xd8\xa8", NULL); // ب
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("\xd8\xa8\xd8\xa8\xd8\xa8", &st, &l); // ببب: final, medial, initial
	assert_int_equal(l.glyph_len, 3);
	assert_true(l.lines[0].rtl);
	for (size_t g = 0; g < 3; g++) {
		assert_true(l.glyphs[g].glyph != isolated);
		assert_int_equal(l.glyphs[g].cluster, 4 - 2 * g);
	}
	assert_true(l.glyphs[0].glyph != l.glyphs[1].glyph);
	assert_true(l.glyphs[1].glyph != l.glyphs[2].glyph);
	assert_true(l.glyphs[0].glyph != l.glyphs[2].glyph);
	shaper_layout_finish(&l);
}

static void test_arabic_broken_word(void **state) {
	(void)state;
	// A word cut across lines is shaped again on each: its pieces end and start in
	// final and initial forms, not in the medial ones of the whole word.
	const char *word = "\xd8\xa8\xd8\xa8\xd8\xa8\xd8\xa8\xd8\xa8\xd8\xa8"; // بببببب
	struct shaper_style st = style();
	struct shaper_layout whole;
	lay(word, &st, &whole);
	assert_int_equal(whole.glyph_len, 6);
	st.wrap_width = whole.lines[0].width / 2 + 1;
	struct shaper_layout l;
	lay(word, &st, &l);
	assert_true(l.line_len >= 2);
	for (size_t i = 0; i < l.line_len; i++) {
		assert_true(l.lines[i].rtl);
		assert_true(l.lines[i].count > 0);
	}
	// The last glyph (rightmost) of line 1 starts the piece: an initial form, which
	// is the whole word's first glyph too, not its medial one.
	const struct shaper_line *second = &l.lines[1];
	assert_int_equal(l.glyphs[second->first + second->count - 1].glyph,
		whole.glyphs[whole.glyph_len - 1].glyph);
	shaper_layout_finish(&l);
	shaper_layout_finish(&whole);
}

static void test_ligature(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("fi", &st, &l); // DejaVu Sans has the fi ligature
	assert_int_equal(l.glyph_len, 1);
	assert_int_equal(l.glyphs[0].cluster, 0);
	shaper_layout_finish(&l);
	lay("f i", &st, &l);
	assert_int_equal(l.glyph_len, 3);
	shaper_layout_finish(&l);
}

static void test_combining_marks(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("e\xcc\x81", &st, &l); // e + U+0301: one cluster (composed or not)
	assert_true(l.glyph_len >= 1);
	for (size_t g = 0; g < l.glyph_len; g++) {
		assert_int_equal(l.glyphs[g].cluster, 0);
	}
	shaper_layout_finish(&l);
	lay("q\xcc\x81", &st, &l); // no precomposed form: base and mark glyphs
	assert_int_equal(l.glyph_len, 2);
	assert_int_equal(l.glyphs[1].cluster, 0);
	assert_int_equal(l.glyphs[0].face, l.glyphs[1].face);
	assert_true(l.glyphs[0].glyph != l.glyphs[1].glyph);
	shaper_layout_finish(&l);
	// Lines never break between a base and its mark.
	st.wrap_width = 1;
	lay("q\xcc\x81q\xcc\x81q\xcc\x81", &st, &l);
	assert_int_equal(l.line_len, 3);
	for (size_t i = 0; i < l.line_len; i++) {
		assert_int_equal(l.lines[i].count, 2);
		assert_int_equal(l.glyphs[l.lines[i].first].cluster, 3 * i);
		assert_int_equal(l.glyphs[l.lines[i].first + 1].cluster, 3 * i);
	}
	shaper_layout_finish(&l);
}

static void test_devanagari_reordering(void **state) {
	(void)state;
	uint32_t face;
	uint32_t ka = glyph_of("\xe0\xa4\x95", &face); // क
	assert_non_null(strstr(shaper_face_file(sh, face), "Lohit"));
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("\xe0\xa4\x95\xe0\xa4\xbf", &st, &l); // कि: the vowel sign i goes left of ka
	assert_int_equal(l.glyph_len, 2);
	assert_int_equal(l.glyphs[1].glyph, ka);
	assert_true(l.glyphs[0].glyph != ka);
	assert_true(l.glyphs[0].x < l.glyphs[1].x);
	assert_int_equal(l.glyphs[0].face, face);
	assert_int_equal(l.glyphs[0].cluster, 0);
	assert_int_equal(l.glyphs[1].cluster, 0);
	shaper_layout_finish(&l);
}

static void test_cjk_fallback(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("A\xe6\xbc\xa2" "B", &st, &l); // A漢B
	assert_int_equal(l.glyph_len, 3);
	assert_non_null(strstr(file_of(&l, 0), "DejaVuSans"));
	assert_non_null(strstr(file_of(&l, 1), "wqy"));
	assert_non_null(strstr(file_of(&l, 2), "DejaVuSans"));
	assert_int_equal(l.glyphs[0].face, l.glyphs[2].face);
	assert_int_equal(l.glyphs[1].cluster, 1);
	assert_int_equal(l.glyphs[2].cluster, 4);
	shaper_layout_finish(&l);

	// Lines break between ideographs without spaces.
	const char *han = "\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97";
	float one = width_of("\xe6\xbc\xa2");
	st.wrap_width = one * 2.5f;
	lay(han, &st, &l);
	assert_int_equal(l.line_len, 3);
	for (size_t i = 0; i < l.line_len; i++) {
		assert_int_equal(l.lines[i].count, 2);
	}
	shaper_layout_finish(&l);
}

static void test_emoji(void **state) {
	(void)state;
	struct shaper_style st = style();
	st.size = 32;
	struct shaper_layout l;
	lay("a\xf0\x9f\x98\x80", &st, &l); // a😀
	assert_int_equal(l.glyph_len, 2);
	assert_non_null(strstr(file_of(&l, 1), "NotoColorEmoji"));
	float adv = l.lines[0].width - l.glyphs[1].x;
	assert_true(adv > 32 * 0.6f && adv < 32 * 1.6f); // scaled from the 109 px strike
	struct shaper_bitmap b;
	assert_true(shaper_raster(sh, l.glyphs[1].face, l.glyphs[1].glyph, 32, 0, &b));
	assert_true(b.color);
	assert_non_null(b.pixels);
	assert_true(b.width >= 24 && b.width <= 48);
	assert_true(b.height >= 24 && b.height <= 48);
	assert_int_equal(b.pitch, b.width * 4);
	assert_true(b.top > 16 && b.top <= 40);
	unsigned opaque = 0, yellow = 0;
	for (int y = 0; y < b.height; y++) {
		for (int x = 0; x < b.width; x++) {
			const uint8_t *p = b.pixels + y * b.pitch + x * 4;
			assert_true(p[0] <= p[3] && p[1] <= p[3] && p[2] <= p[3]); // premultiplied
			opaque += p[3] == 255;
			yellow += p[3] == 255 && p[0] > 180 && p[1] > 120 && p[2] < 100; // R, G, B
		}
	}
	assert_true(opaque > (unsigned)(b.width * b.height) / 4);
	assert_true(yellow > opaque / 4); // the face is yellow: bytes are R, G, B, A
	free(b.pixels);
	shaper_layout_finish(&l);

	// A ZWJ sequence stays one cluster in one face; U+FE0F asks for the colour one.
	lay("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", &st, &l);
	for (size_t g = 0; g < l.glyph_len; g++) {
		assert_non_null(strstr(file_of(&l, g), "NotoColorEmoji"));
		assert_int_equal(l.glyphs[g].cluster, 0);
	}
	shaper_layout_finish(&l);
	lay("\xe2\x9d\xa4\xef\xb8\x8f", &st, &l); // ❤️
	assert_non_null(strstr(file_of(&l, 0), "NotoColorEmoji"));
	shaper_layout_finish(&l);
}

static uint32_t coverage(const struct shaper_bitmap *b, unsigned *max, double *centre) {
	uint32_t sum = 0;
	double moment = 0;
	*max = 0;
	for (int y = 0; y < b->height; y++) {
		for (int x = 0; x < b->width; x++) {
			uint8_t c = b->pixels[y * b->pitch + x];
			sum += c;
			moment += (double)c * (b->left + x + 0.5);
			*max = c > *max ? c : *max;
		}
	}
	*centre = sum > 0 ? moment / sum : 0;
	return sum;
}

static void test_raster_a8(void **state) {
	(void)state;
	uint32_t face;
	uint32_t a = glyph_of("A", &face);
	struct shaper_bitmap b;
	assert_true(shaper_raster(sh, face, a, 32, 0, &b));
	assert_false(b.color);
	assert_non_null(b.pixels);
	assert_true(b.width > 10 && b.width < 40);
	assert_true(b.height > 15 && b.height < 40);
	assert_true(b.pitch >= b.width);
	assert_true(b.top > 15 && b.top <= 32); // a capital stands on the baseline
	unsigned max;
	double centre;
	assert_true(coverage(&b, &max, &centre) > 0);
	assert_true(max > 200);
	free(b.pixels);

	// Twice the size: about four times the ink.
	struct shaper_bitmap big;
	assert_true(shaper_raster(sh, face, a, 64, 0, &big));
	unsigned max_big;
	double centre_big;
	uint32_t ink = coverage(&big, &max_big, &centre_big);
	assert_true(shaper_raster(sh, face, a, 32, 0, &b));
	uint32_t ink_small = coverage(&b, &max, &centre);
	assert_true(ink > ink_small * 3 && ink < ink_small * 5);
	free(big.pixels);
	free(b.pixels);

	// A space has no pixels.
	assert_true(shaper_raster(sh, face, space_glyph(), 32, 0, &b));
	assert_null(b.pixels);
	assert_int_equal(b.width * b.height, 0);
}

static void test_raster_subpixel(void **state) {
	(void)state;
	uint32_t face;
	uint32_t l = glyph_of("l", &face);
	struct shaper_bitmap b0, b2;
	assert_true(shaper_raster(sh, face, l, 20, 0, &b0));
	assert_true(shaper_raster(sh, face, l, 20, 2, &b2));
	unsigned max;
	double c0, c2;
	uint32_t ink0 = coverage(&b0, &max, &c0), ink2 = coverage(&b2, &max, &c2);
	// Half a pixel to the right, the same ink.
	assert_true(c2 - c0 > 0.35 && c2 - c0 < 0.65);
	assert_true(abs((int)ink0 - (int)ink2) < (int)ink0 / 20);
	bool differ = b0.width != b2.width || b0.left != b2.left
		|| memcmp(b0.pixels, b2.pixels, (size_t)(b0.pitch * b0.height)) != 0;
	assert_true(differ);
	free(b0.pixels);
	free(b2.pixels);
}

static void test_raster_unknown(void **state) {
	(void)state;
	struct shaper_bitmap b;
	assert_false(shaper_raster(sh, (uint32_t)shaper_face_count(sh), 1, 16, 0, &b));
	assert_null(b.pixels);
	assert_false(shaper_raster(sh, 0, 0xffffff, 16, 0, &b));
	assert_null(b.pixels);
	assert_null(shaper_face_file(sh, (uint32_t)shaper_face_count(sh)));
}

static void test_invalid_utf8(void **state) {
	(void)state;
	uint32_t fffd = glyph_of("\xef\xbf\xbd", NULL);
	assert_true(fffd != 0);
	struct shaper_style st = style();
	struct shaper_layout l;
	const char bad[] = "a\xff\xc0\x80" "b\xf0\x9f";
	assert_true(shaper_layout(sh, (const uint8_t *)bad, sizeof bad - 1, &st, &l));
	static const uint32_t clusters[] = { 0, 1, 2, 3, 4, 5 };
	assert_int_equal(l.glyph_len, 6);
	for (size_t g = 0; g < 6; g++) {
		assert_int_equal(l.glyphs[g].cluster, clusters[g]);
		bool replaced = g != 0 && g != 4;
		assert_true(replaced ? l.glyphs[g].glyph == fffd : l.glyphs[g].glyph != fffd);
	}
	shaper_layout_finish(&l);
	// Random bytes: never a crash, glyph clusters inside the string.
	srand(3);
	uint8_t buf[300];
	for (int iter = 0; iter < 200; iter++) {
		size_t len = (size_t)rand() % sizeof buf;
		for (size_t i = 0; i < len; i++) {
			buf[i] = (uint8_t)rand();
		}
		st.wrap_width = (float)(rand() % 200);
		st.max_lines = (uint32_t)(rand() % 4);
		assert_true(shaper_layout(sh, buf, len, &st, &l));
		for (size_t g = 0; g < l.glyph_len; g++) {
			assert_true(l.glyphs[g].cluster <= len);
		}
		assert_true(st.max_lines == 0 || l.line_len <= st.max_lines);
		shaper_layout_finish(&l);
	}
}

static void test_empty(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	assert_true(shaper_layout(sh, NULL, 0, &st, &l));
	assert_int_equal(l.line_len, 0);
	assert_int_equal(l.glyph_len, 0);
	assert_float_equal(l.width, 0, 0);
	assert_float_equal(l.height, 0, 0);
	assert_float_equal(l.baseline, 0, 0);
	assert_false(l.truncated);
	shaper_layout_finish(&l);
	lay("", &st, &l);
	assert_int_equal(l.line_len, 0);
	shaper_layout_finish(&l);
}

static void test_paragraphs(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("one\ntwo\n\nthree\n", &st, &l);
	assert_int_equal(l.line_len, 5);
	static const uint32_t counts[] = { 3, 3, 0, 5, 0 };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(l.lines[i].count, counts[i]);
	}
	assert_int_equal(l.glyphs[l.lines[1].first].cluster, 4);
	assert_int_equal(l.glyphs[l.lines[3].first].cluster, 9);
	check_lines(&l);
	shaper_layout_finish(&l);
	// Each paragraph has its own direction.
	lay("abc\n\xd7\x90\xd7\x91", &st, &l);
	assert_int_equal(l.line_len, 2);
	assert_false(l.lines[0].rtl);
	assert_true(l.lines[1].rtl);
	shaper_layout_finish(&l);
	// A tab is shaped as a space.
	lay("a\tb", &st, &l);
	assert_int_equal(l.glyph_len, 3);
	assert_int_equal(l.glyphs[1].glyph, space_glyph());
	shaper_layout_finish(&l);
}

static void test_line_height(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	lay("a\nb\nc", &st, &l);
	assert_int_equal(l.line_len, 3);
	float lh = l.lines[1].baseline - l.lines[0].baseline;
	assert_true(lh >= 16 && lh <= 16 * 1.5f);
	assert_float_equal(lh, roundf(lh), 0);
	assert_float_equal(l.lines[2].baseline - l.lines[1].baseline, lh, 0);
	assert_float_equal(l.baseline, l.lines[0].baseline, 0);
	assert_float_equal(l.lines[0].top, 0, 0);
	assert_float_equal(l.height, 3 * lh, EPS);
	check_lines(&l);
	float first = l.baseline;
	shaper_layout_finish(&l);

	st.line_height = 30;
	lay("a\nb\nc", &st, &l);
	assert_float_equal(l.lines[1].baseline - l.lines[0].baseline, 30, 0);
	assert_float_equal(l.lines[2].top, 60, 0);
	assert_float_equal(l.lines[2].height, 30, 0);
	assert_float_equal(l.height, 90, EPS);
	assert_float_equal(l.baseline, first, 0); // the first baseline is the ascent's
	check_lines(&l);
	shaper_layout_finish(&l);

	// A bigger size, a lower first baseline and taller lines.
	st = style();
	st.size = 32;
	lay("a\nb", &st, &l);
	assert_true(l.baseline > first * 1.8f);
	assert_true(l.lines[1].baseline - l.lines[0].baseline > lh * 1.8f);
	shaper_layout_finish(&l);
}

static void test_max_lines(void **state) {
	(void)state;
	uint32_t ellipsis = glyph_of("\xe2\x80\xa6", NULL);
	struct shaper_style st = style();
	st.wrap_width = 100;
	struct shaper_layout l;
	lay(fox, &st, &l);
	size_t all = l.line_len;
	assert_true(all > 2);
	assert_false(l.truncated);
	shaper_layout_finish(&l);

	st.max_lines = 2;
	lay(fox, &st, &l);
	assert_int_equal(l.line_len, 2);
	assert_true(l.truncated);
	const struct shaper_line *last = &l.lines[1];
	assert_true(last->count >= 2);
	assert_int_equal(l.glyphs[last->first + last->count - 1].glyph, ellipsis);
	assert_true(last->width <= 100 + EPS);
	assert_float_equal(l.height, 2 * l.lines[0].height, EPS);
	check_lines(&l);
	shaper_layout_finish(&l);

	// Enough lines: nothing cut.
	st.max_lines = (uint32_t)all;
	lay(fox, &st, &l);
	assert_int_equal(l.line_len, all);
	assert_false(l.truncated);
	shaper_layout_finish(&l);

	// A narrow box: the ellipsis still fits with what is left of the line.
	st.max_lines = 1;
	st.wrap_width = 30;
	lay("abcdefghij", &st, &l);
	assert_int_equal(l.line_len, 1);
	assert_true(l.truncated);
	assert_true(l.lines[0].width <= 30 + EPS);
	assert_int_equal(l.glyphs[l.lines[0].count - 1].glyph, ellipsis);
	shaper_layout_finish(&l);

	// No wrap width: paragraphs past the limit cut, the ellipsis appended.
	st.wrap_width = 0;
	st.max_lines = 2;
	lay("one\ntwo\nthree", &st, &l);
	assert_int_equal(l.line_len, 2);
	assert_true(l.truncated);
	assert_int_equal(l.lines[1].count, 4);
	assert_int_equal(l.glyphs[l.lines[1].first + 3].glyph, ellipsis);
	shaper_layout_finish(&l);

	// Right to left: the ellipsis ends the line on the left.
	st.wrap_width = 60;
	st.max_lines = 1;
	lay("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d "
		"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", &st, &l);
	assert_int_equal(l.line_len, 1);
	assert_true(l.truncated);
	assert_true(l.lines[0].rtl);
	assert_int_equal(l.glyphs[0].glyph, ellipsis);
	assert_true(l.lines[0].width <= 60 + EPS);
	shaper_layout_finish(&l);
}

static void test_fonts(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	st.family = "NoSuchFamilyAnywhere";
	lay("A", &st, &l);
	assert_int_equal(l.glyph_len, 1);
	assert_true(l.glyphs[0].glyph != 0); // a real glyph, not .notdef
	assert_int_equal(access(file_of(&l, 0), R_OK), 0);
	shaper_layout_finish(&l);

	st.family = "DejaVu Serif";
	lay("A", &st, &l);
	assert_non_null(strstr(file_of(&l, 0), "DejaVuSerif"));
	shaper_layout_finish(&l);

	st.family = NULL;
	st.weight = 700;
	lay("A", &st, &l);
	assert_non_null(strstr(file_of(&l, 0), "DejaVuSans-Bold"));
	shaper_layout_finish(&l);

	// Italic: the file fontconfig itself matches for an italic sans-serif (DejaVu Sans
	// Oblique where fonts-dejavu-extra is installed; fonts-dejavu-core alone has no
	// slanted sans, and fontconfig then gives another font or the upright one).
	st.weight = 400;
	st.italic = true;
	lay("A", &st, &l);
	FcPattern *want = FcNameParse((const FcChar8 *)"sans-serif:slant=100:weight=80");
	assert_non_null(want);
	FcConfigSubstitute(NULL, want, FcMatchPattern);
	FcDefaultSubstitute(want);
	FcResult result;
	FcPattern *match = FcFontMatch(NULL, want, &result);
	assert_non_null(match);
	FcChar8 *file = NULL;
	assert_int_equal(FcPatternGetString(match, FC_FILE, 0, &file), FcResultMatch);
	assert_string_equal(file_of(&l, 0), (const char *)file);
	FcPatternDestroy(match);
	FcPatternDestroy(want);
	shaper_layout_finish(&l);

	// Face numbers stay: the same text gets the same faces again.
	st = style();
	lay("A\xe6\xbc\xa2", &st, &l);
	uint32_t a = l.glyphs[0].face, han = l.glyphs[1].face;
	shaper_layout_finish(&l);
	size_t faces = shaper_face_count(sh);
	lay("A\xe6\xbc\xa2", &st, &l);
	assert_int_equal(l.glyphs[0].face, a);
	assert_int_equal(l.glyphs[1].face, han);
	assert_int_equal(shaper_face_count(sh), faces);
	shaper_layout_finish(&l);
	for (uint32_t f = 0; f < faces; f++) {
		assert_non_null(shaper_face_file(sh, f));
	}
}

static void test_size_clamped(void **state) {
	(void)state;
	struct shaper_style st = style();
	struct shaper_layout l;
	st.size = 0;
	lay("a", &st, &l);
	assert_float_equal(l.size, SHAPER_MIN_SIZE, 0);
	shaper_layout_finish(&l);
	st.size = 1e6f;
	lay("a", &st, &l);
	assert_float_equal(l.size, SHAPER_MAX_SIZE, 0);
	shaper_layout_finish(&l);
}

static void test_long_text(void **state) {
	(void)state;
	// 64 KiB of mixed scripts, wrapped: every character shows, every line fits.
	const char *parts[] = { "Hello ", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d ",
		"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 ", "\xe4\xbd\xa0\xe5\xa5\xbd",
		"\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87 ",
		"world, ", "\xf0\x9f\x98\x80 " };
	size_t cap = 65536, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (int k = 0;; k++) {
		const char *p = parts[k % 7];
		size_t n = strlen(p);
		if (len + n > cap) {
			break;
		}
		memcpy(text + len, p, n);
		len += n;
	}
	struct shaper_style st = style();
	st.wrap_width = 300;
	struct shaper_layout l;
	assert_true(shaper_layout(sh, (const uint8_t *)text, len, &st, &l));
	assert_true(l.line_len > 100);
	assert_true(l.glyph_len > len / 4);
	for (size_t i = 0; i < l.line_len; i++) {
		assert_true(l.lines[i].width <= 300 + EPS);
	}
	shaper_layout_finish(&l);
	free(text);
}

static void test_create_destroy(void **state) {
	(void)state;
	shaper_destroy(NULL);
	for (int i = 0; i < 3; i++) {
		struct shaper *s = shaper_create();
		assert_non_null(s);
		struct shaper_style st = style();
		struct shaper_layout l;
		assert_true(shaper_layout(s, (const uint8_t *)"A\xe6\xbc\xa2", 4, &st, &l));
		assert_int_equal(l.glyph_len, 2);
		assert_int_equal(shaper_face_count(s), 2); // faces are the shaper's own
		shaper_layout_finish(&l);
		shaper_destroy(s);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrap_greedy),
		cmocka_unit_test(test_long_word),
		cmocka_unit_test(test_align),
		cmocka_unit_test(test_rtl_start_is_right),
		cmocka_unit_test(test_mixed_visual_order),
		cmocka_unit_test(test_arabic_forms),
		cmocka_unit_test(test_arabic_broken_word),
		cmocka_unit_test(test_ligature),
		cmocka_unit_test(test_combining_marks),
		cmocka_unit_test(test_devanagari_reordering),
		cmocka_unit_test(test_cjk_fallback),
		cmocka_unit_test(test_emoji),
		cmocka_unit_test(test_raster_a8),
		cmocka_unit_test(test_raster_subpixel),
		cmocka_unit_test(test_raster_unknown),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_paragraphs),
		cmocka_unit_test(test_line_height),
		cmocka_unit_test(test_max_lines),
		cmocka_unit_test(test_fonts),
		cmocka_unit_test(test_size_clamped),
		cmocka_unit_test(test_long_text),
		cmocka_unit_test(test_create_destroy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
