/*
 * Unit tests of the glyph atlas (server/text/atlas.h): packing that never overlaps and
 * keeps every glyph inside its page and plot with zero texels around it, pixels copied
 * exactly, look-ups, dirty boxes, the page budget, eviction of the least recently used
 * plot nobody holds and never of a held one, A8 and colour glyphs apart, empty and
 * oversized glyphs, and a long flood of distinct glyphs through a small budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "atlas.h"

#define MIB ((size_t)1 << 20)

// Every glyph's texels follow from its glyph id (its seed), never 0, so that a texel
// of one glyph found in another's box or in a padding ring shows up.
static uint8_t texel(uint32_t seed, int row, int col, int channel) {
	return (uint8_t)(1 + (seed * 131u + (uint32_t)row * 31u + (uint32_t)col * 7u +
		(uint32_t)channel * 59u) % 255u);
}

static int left_of(uint32_t seed) {
	return (int)(seed % 13) - 6;
}

static int top_of(uint32_t seed) {
	return (int)(seed % 17);
}

// Distinct for distinct @n, and varied in every field.
static struct atlas_key key_of(uint32_t n) {
	return (struct atlas_key){
		.face = n % 3, .glyph = n, .size64 = 1024 + n % 5, .bucket = (uint8_t)(n % 4),
	};
}

// A bitmap of @w x @h for the seed @seed; rows are @slack bytes longer than the
// pixels, filled with 0xee, which must never reach a page.
static struct shaper_bitmap make_bitmap(int w, int h, bool color, uint32_t seed,
		int slack) {
	int bpp = color ? 4 : 1;
	struct shaper_bitmap bitmap = {
		.width = w, .height = h, .pitch = w * bpp + slack,
		.left = left_of(seed), .top = top_of(seed), .color = color,
	};
	if (w > 0 && h > 0) {
		bitmap.pixels = malloc((size_t)bitmap.pitch * (size_t)h);
		assert_non_null(bitmap.pixels);
		memset(bitmap.pixels, 0xee, (size_t)bitmap.pitch * (size_t)h);
		for (int r = 0; r < h; r++) {
			for (int c = 0; c < w; c++) {
				for (int k = 0; k < bpp; k++) {
					bitmap.pixels[r * bitmap.pitch + c * bpp + k] = texel(seed, r, c, k);
				}
			}
		}
	}
	return bitmap;
}

static struct atlas_glyph *put(struct atlas *atlas, uint32_t n, int w, int h, bool color,
		uint64_t now) {
	struct atlas_key key = key_of(n);
	struct shaper_bitmap bitmap = make_bitmap(w, h, color, n, (int)(n % 3) * 5);
	struct atlas_glyph *glyph = atlas_insert(atlas, &key, &bitmap, now);
	free(bitmap.pixels);
	return glyph;
}

static uint8_t page_texel(const struct atlas_page *page, int x, int y, int channel) {
	int bpp = page->color ? 4 : 1;
	return page->pixels[((size_t)y * (size_t)page->size + (size_t)x) * (size_t)bpp +
		(size_t)channel];
}

// @glyph as put() made it: its fields, its texels, inside its page and its plot with
// a ring of zero texels around it.
static void check_glyph(const struct atlas *atlas, const struct atlas_glyph *glyph) {
	uint32_t seed = glyph->key.glyph;
	assert_int_equal(glyph->left, left_of(seed));
	assert_int_equal(glyph->top, top_of(seed));
	if (glyph->w == 0 || glyph->h == 0) {
		assert_int_equal(glyph->w, 0);
		assert_int_equal(glyph->h, 0);
		assert_int_equal(glyph->plot, UINT32_MAX);
		return;
	}
	assert_int_not_equal(glyph->plot, UINT32_MAX);
	assert_true(glyph->page < atlas_page_count(atlas));
	const struct atlas_page *page = atlas_page(atlas, glyph->page);
	assert_int_equal(page->color, glyph->color);
	int x0 = glyph->x - 1, y0 = glyph->y - 1, x1 = glyph->x + glyph->w,
		y1 = glyph->y + glyph->h; // the ring: x0 to x1, y0 to y1 inclusive
	assert_true(x0 >= 0 && y0 >= 0 && x1 < page->size && y1 < page->size);
	// The ring inside one plot too.
	assert_int_equal(x0 / ATLAS_PLOT, x1 / ATLAS_PLOT);
	assert_int_equal(y0 / ATLAS_PLOT, y1 / ATLAS_PLOT);
	int bpp = page->color ? 4 : 1;
	for (int y = y0; y <= y1; y++) {
		for (int x = x0; x <= x1; x++) {
			bool ring = x == x0 || x == x1 || y == y0 || y == y1;
			for (int k = 0; k < bpp; k++) {
				uint8_t want = ring ? 0 : texel(seed, y - glyph->y, x - glyph->x, k);
				if (page_texel(page, x, y, k) != want) {
					fail_msg("glyph %u: texel (%d, %d) channel %d is %u, not %u", seed,
						x, y, k, page_texel(page, x, y, k), want);
				}
			}
		}
	}
}

// No two of @glyphs share a texel (a map of owners per page), and each one is whole.
static void check_layout(const struct atlas *atlas, struct atlas_glyph **glyphs,
		size_t count) {
	size_t pages = atlas_page_count(atlas);
	uint32_t **owner = calloc(pages, sizeof *owner);
	assert_non_null(owner);
	for (size_t i = 0; i < count; i++) {
		const struct atlas_glyph *glyph = glyphs[i];
		check_glyph(atlas, glyph);
		if (glyph->w == 0) {
			continue;
		}
		const struct atlas_page *page = atlas_page(atlas, glyph->page);
		if (!owner[glyph->page]) {
			owner[glyph->page] = calloc((size_t)page->size * (size_t)page->size,
				sizeof **owner);
			assert_non_null(owner[glyph->page]);
		}
		uint32_t *map = owner[glyph->page];
		for (int y = glyph->y; y < glyph->y + glyph->h; y++) {
			for (int x = glyph->x; x < glyph->x + glyph->w; x++) {
				uint32_t *at = &map[(size_t)y * (size_t)page->size + (size_t)x];
				if (*at != 0) {
					fail_msg("glyphs %u and %u overlap at (%d, %d) of page %u",
						*at - 1, glyph->key.glyph, x, y, glyph->page);
				}
				*at = glyph->key.glyph + 1;
			}
		}
	}
	for (size_t i = 0; i < pages; i++) {
		free(owner[i]);
	}
	free(owner);
}

static bool box_covers(struct draw_box box, const struct atlas_glyph *glyph) {
	return box.x0 <= glyph->x - 1 && box.y0 <= glyph->y - 1 &&
		box.x1 >= glyph->x + glyph->w + 1 && box.y1 >= glyph->y + glyph->h + 1;
}

static bool box_empty(struct draw_box box) {
	return box.x0 >= box.x1 || box.y0 >= box.y1;
}

static struct atlas_stats stats_of(const struct atlas *atlas) {
	struct atlas_stats stats;
	memset(&stats, 0xa5, sizeof stats);
	atlas_get_stats(atlas, &stats);
	return stats;
}

static uint32_t rng_state;

static uint32_t rng(uint32_t bound) {
	rng_state = rng_state * 1664525u + 1013904223u;
	return (rng_state >> 8) % bound;
}

static void test_packing(void **state) {
	struct atlas *atlas = atlas_create(512, 256 * MIB);
	assert_non_null(atlas);
	enum { COUNT = 4000 };
	struct atlas_glyph **glyphs = calloc(COUNT, sizeof *glyphs);
	assert_non_null(glyphs);
	rng_state = 7;
	for (uint32_t i = 0; i < COUNT; i++) {
		int w, h;
		if (rng(50) == 0) {
			w = 60 + (int)rng(195);
			h = 60 + (int)rng(195);
		} else {
			w = 1 + (int)rng(40);
			h = 1 + (int)rng(40);
		}
		glyphs[i] = put(atlas, i, w, h, rng(8) == 0, i);
		assert_non_null(glyphs[i]);
		assert_int_equal(glyphs[i]->w, w);
		assert_int_equal(glyphs[i]->h, h);
	}
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.glyphs, COUNT);
	assert_int_equal(stats.evictions, 0);
	assert_int_equal(stats.evicted_glyphs, 0);
	assert_int_equal(stats.failures, 0);
	assert_int_equal(stats.referenced, 0);
	assert_true(stats.pages > 4);
	assert_true(stats.color_pages >= 1 && stats.color_pages < stats.pages);
	assert_int_equal(stats.pages, atlas_page_count(atlas));
	size_t bytes = 0;
	for (size_t i = 0; i < atlas_page_count(atlas); i++) {
		const struct atlas_page *page = atlas_page(atlas, i);
		assert_int_equal(page->size, 512);
		bytes += (size_t)512 * 512 * (page->color ? 4 : 1);
	}
	assert_int_equal(stats.bytes, bytes);
	check_layout(atlas, glyphs, COUNT);
	// The shelves are not wasteful: the glyphs (with padding) cover a fair share of
	// the pages they use.
	size_t area = 0;
	for (uint32_t i = 0; i < COUNT; i++) {
		area += (size_t)(glyphs[i]->w + 2) * (size_t)(glyphs[i]->h + 2);
	}
	assert_true(area * 2 > (size_t)stats.pages * 512 * 512);
	free(glyphs);
	atlas_destroy(atlas);
}

static void test_pixels(void **state) {
	struct atlas *atlas = atlas_create(256, 0);
	assert_non_null(atlas);
	struct atlas_key ka = key_of(1), kc = key_of(2);
	// Rows longer than the pixels: their tails (0xee) must not be copied.
	struct shaper_bitmap a8 = make_bitmap(7, 5, false, 1, 9);
	struct shaper_bitmap rgba = make_bitmap(6, 4, true, 2, 8);
	struct atlas_glyph *a = atlas_insert(atlas, &ka, &a8, 1);
	struct atlas_glyph *c = atlas_insert(atlas, &kc, &rgba, 1);
	assert_non_null(a);
	assert_non_null(c);
	// The atlas copied the pixels: the bitmaps may go.
	memset(a8.pixels, 0, (size_t)a8.pitch * (size_t)a8.height);
	memset(rgba.pixels, 0, (size_t)rgba.pitch * (size_t)rgba.height);
	free(a8.pixels);
	free(rgba.pixels);

	assert_false(a->color);
	assert_true(c->color);
	assert_int_equal(a->w, 7);
	assert_int_equal(a->h, 5);
	assert_int_equal(c->w, 6);
	assert_int_equal(c->h, 4);
	assert_int_not_equal(a->page, c->page);
	assert_int_equal(atlas_page_count(atlas), 2);
	check_glyph(atlas, a);
	check_glyph(atlas, c);
	// Premultiplied RGBA copied as is, byte for byte.
	const struct atlas_page *cp = atlas_page(atlas, c->page);
	const uint8_t *first = cp->pixels + ((size_t)c->y * 256 + c->x) * 4;
	for (int k = 0; k < 4; k++) {
		assert_int_equal(first[k], texel(2, 0, 0, k));
	}
	// Nothing outside the two glyphs is anything but zero.
	const struct atlas_glyph *both[] = { a, c };
	for (int g = 0; g < 2; g++) {
		const struct atlas_page *page = atlas_page(atlas, both[g]->page);
		int bpp = page->color ? 4 : 1;
		for (int y = 0; y < 256; y++) {
			for (int x = 0; x < 256; x++) {
				bool inside = x >= both[g]->x && x < both[g]->x + both[g]->w &&
					y >= both[g]->y && y < both[g]->y + both[g]->h;
				for (int k = 0; !inside && k < bpp; k++) {
					assert_int_equal(page_texel(page, x, y, k), 0);
				}
			}
		}
	}
	atlas_destroy(atlas);
}

static void test_find(void **state) {
	struct atlas *atlas = atlas_create(1024, 64 * MIB);
	assert_non_null(atlas);
	struct atlas_key base = { .face = 3, .glyph = 77, .size64 = 16 * 64, .bucket = 1 };
	assert_null(atlas_find(atlas, &base));
	struct shaper_bitmap bitmap = make_bitmap(5, 5, false, 77, 0);
	struct atlas_glyph *glyph = atlas_insert(atlas, &base, &bitmap, 1);
	assert_non_null(glyph);
	assert_ptr_equal(atlas_find(atlas, &base), glyph);
	assert_int_equal(glyph->refs, 0);
	assert_int_equal(glyph->mark, 0);

	struct atlas_key other[4] = { base, base, base, base };
	other[0].bucket = 2;
	other[1].size64 = 16 * 64 + 1;
	other[2].face = 4;
	other[3].glyph = 78;
	struct atlas_glyph *others[4];
	for (int i = 0; i < 4; i++) {
		assert_null(atlas_find(atlas, &other[i]));
	}
	for (int i = 0; i < 4; i++) {
		others[i] = atlas_insert(atlas, &other[i], &bitmap, 2);
		assert_non_null(others[i]);
		assert_ptr_not_equal(others[i], glyph);
	}
	free(bitmap.pixels);
	assert_ptr_equal(atlas_find(atlas, &base), glyph);
	for (int i = 0; i < 4; i++) {
		assert_ptr_equal(atlas_find(atlas, &other[i]), others[i]);
		assert_memory_equal(&others[i]->key, &other[i], sizeof other[i]);
	}

	// Enough glyphs to grow the table many times over, all still found.
	enum { COUNT = 6000 };
	struct atlas_glyph **glyphs = calloc(COUNT, sizeof *glyphs);
	assert_non_null(glyphs);
	for (uint32_t i = 0; i < COUNT; i++) {
		glyphs[i] = put(atlas, 1000 + i, 3, 3, false, 3);
		assert_non_null(glyphs[i]);
	}
	for (uint32_t i = 0; i < COUNT; i++) {
		struct atlas_key key = key_of(1000 + i);
		assert_ptr_equal(atlas_find(atlas, &key), glyphs[i]);
	}
	struct atlas_key unknown = key_of(1000 + COUNT);
	assert_null(atlas_find(atlas, &unknown));
	assert_int_equal(stats_of(atlas).glyphs, COUNT + 5);
	free(glyphs);
	atlas_destroy(atlas);

	// Near misses of every key, looked up as the table grows: some share a chain with
	// the key they nearly match, which a comparison that skips a field would return.
	atlas = atlas_create(1024, 0);
	assert_non_null(atlas);
	bitmap = make_bitmap(1, 1, false, 0, 0);
	for (uint32_t i = 0; i < 20000; i++) {
		struct atlas_key key = { .face = i % 7, .glyph = 2 * i, .size64 = 640 + i % 11,
			.bucket = 0 };
		struct atlas_glyph *got = atlas_insert(atlas, &key, &bitmap, i);
		assert_non_null(got);
		struct atlas_key near[6] = { key, key, key, key, key, key };
		near[0].bucket = 1;
		near[1].bucket = 2;
		near[2].bucket = 3;
		near[3].size64++;
		near[4].face += 7;
		near[5].glyph++;
		for (int k = 0; k < 6; k++) {
			assert_null(atlas_find(atlas, &near[k]));
		}
		assert_ptr_equal(atlas_find(atlas, &key), got);
	}
	free(bitmap.pixels);
	atlas_destroy(atlas);
}

static void test_dirty(void **state) {
	struct atlas *atlas = atlas_create(512, 0);
	assert_non_null(atlas);
	assert_int_equal(atlas_page_count(atlas), 0);
	struct atlas_glyph *a = put(atlas, 1, 10, 12, false, 1);
	assert_non_null(a);
	assert_int_equal(atlas_page_count(atlas), 1);
	assert_true(box_covers(atlas_page(atlas, 0)->dirty, a));
	struct draw_box box = atlas_take_dirty(atlas, 0);
	assert_true(box_covers(box, a));
	assert_true(box.x0 >= 0 && box.y0 >= 0 && box.x1 <= 512 && box.y1 <= 512);
	assert_true(box_empty(atlas_page(atlas, 0)->dirty));
	assert_true(box_empty(atlas_take_dirty(atlas, 0)));

	struct atlas_glyph *b = put(atlas, 2, 30, 8, false, 2);
	struct atlas_glyph *c = put(atlas, 3, 4, 40, false, 3);
	assert_non_null(b);
	assert_non_null(c);
	box = atlas_take_dirty(atlas, 0);
	assert_true(box_covers(box, b));
	assert_true(box_covers(box, c));
	assert_true(box_empty(atlas_take_dirty(atlas, 0)));
	atlas_destroy(atlas);

	// An eviction zeroes the plot and marks what it zeroed.
	atlas = atlas_create(256, 0);
	assert_non_null(atlas);
	struct atlas_glyph *full[4];
	for (uint32_t i = 0; i < 4; i++) {
		full[i] = put(atlas, 10 + i, 126, 126, false, 1);
		assert_non_null(full[i]);
	}
	struct draw_box old[4];
	for (int i = 0; i < 4; i++) {
		old[i] = (struct draw_box){ full[i]->x - 1, full[i]->y - 1,
			full[i]->x + full[i]->w + 1, full[i]->y + full[i]->h + 1 };
	}
	atlas_take_dirty(atlas, 0);
	struct atlas_glyph *d = put(atlas, 20, 5, 5, false, 2);
	assert_non_null(d);
	assert_int_equal(stats_of(atlas).evictions, 1);
	box = atlas_take_dirty(atlas, 0);
	assert_true(box_covers(box, d));
	for (int i = 0; i < 4; i++) {
		assert_true(box.x0 <= old[i].x0 && box.y0 <= old[i].y0 && box.x1 >= old[i].x1 &&
			box.y1 >= old[i].y1);
	}
	const struct atlas_page *page = atlas_page(atlas, 0);
	for (int y = 0; y < 256; y++) {
		for (int x = 0; x < 256; x++) {
			bool inside = x >= d->x && x < d->x + d->w && y >= d->y && y < d->y + d->h;
			if (!inside) {
				assert_int_equal(page_texel(page, x, y, 0), 0);
			}
		}
	}
	check_glyph(atlas, d);
	atlas_destroy(atlas);
}

static void test_budget(void **state) {
	const size_t page = 256 * 256;
	// Two and a half pages of budget: two A8 pages.
	struct atlas *atlas = atlas_create(256, page * 5 / 2);
	assert_non_null(atlas);
	for (uint32_t i = 0; i < 100; i++) {
		assert_non_null(put(atlas, i, 126, 126, false, i));
		struct atlas_stats stats = stats_of(atlas);
		assert_true(stats.pages <= 2);
		assert_true(stats.bytes <= page * 5 / 2);
	}
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.pages, 2);
	assert_int_equal(stats.color_pages, 0);
	assert_int_equal(stats.bytes, 2 * page);
	assert_int_equal(stats.glyphs, 8);
	assert_int_equal(stats.evictions, (100 - 8) / 4);
	assert_int_equal(stats.evicted_glyphs, 100 - 8);
	assert_int_equal(stats.failures, 0);

	// The budget is spent, but the first colour page is always allowed; a second not.
	for (uint32_t i = 0; i < 8; i++) {
		assert_non_null(put(atlas, 200 + i, 126, 126, true, 200 + i));
	}
	stats = stats_of(atlas);
	assert_int_equal(stats.pages, 3);
	assert_int_equal(stats.color_pages, 1);
	assert_int_equal(stats.bytes, 2 * page + 4 * page);
	assert_int_equal(stats.glyphs, 8 + 4);
	assert_int_equal(stats.evictions, (100 - 8) / 4 + 1);
	atlas_destroy(atlas);

	// No budget at all: still one page of each kind.
	atlas = atlas_create(512, 0);
	assert_non_null(atlas);
	for (uint32_t i = 0; i < 200; i++) {
		assert_non_null(put(atlas, i, 60, 60, i % 2 == 0, i));
	}
	stats = stats_of(atlas);
	assert_int_equal(stats.pages, 2);
	assert_int_equal(stats.color_pages, 1);
	assert_int_equal(stats.bytes, 5 * 512 * 512);
	assert_true(stats.evictions > 0);
	atlas_destroy(atlas);
}

// Glyph i of the twelve in three one-plot pages, put in at time i + 1.
static void fill_three(struct atlas *atlas, struct atlas_glyph *glyphs[12]) {
	for (uint32_t i = 0; i < 12; i++) {
		glyphs[i] = put(atlas, i, 126, 126, false, i + 1);
		assert_non_null(glyphs[i]);
	}
	assert_int_equal(atlas_page_count(atlas), 3);
	assert_int_equal(stats_of(atlas).evictions, 0);
	for (int p = 0; p < 3; p++) {
		for (int i = 0; i < 4; i++) {
			assert_int_equal(glyphs[p * 4 + i]->page, glyphs[p * 4]->page);
		}
	}
}

static bool found(struct atlas *atlas, uint32_t n) {
	struct atlas_key key = key_of(n);
	return atlas_find(atlas, &key) != NULL;
}

static void test_lru(void **state) {
	// One plot a page, three pages, four glyphs a plot.
	struct atlas *atlas = atlas_create(256, 3 * 256 * 256);
	assert_non_null(atlas);
	struct atlas_glyph *g[12];
	fill_three(atlas, g);
	uint16_t page1 = g[4]->page, page0 = g[0]->page;
	// The first plot is released last: the second is now the least recently used.
	atlas_ref(atlas, g[1]);
	assert_int_equal(g[1]->refs, 1);
	assert_int_equal(stats_of(atlas).referenced, 1);
	atlas_unref(atlas, g[1], 20);
	assert_int_equal(g[1]->refs, 0);
	assert_int_equal(stats_of(atlas).referenced, 0);

	struct atlas_glyph *x = put(atlas, 100, 126, 126, false, 21);
	assert_non_null(x);
	assert_int_equal(x->page, page1);
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.evictions, 1);
	assert_int_equal(stats.evicted_glyphs, 4);
	assert_int_equal(stats.glyphs, 9);
	for (uint32_t i = 0; i < 12; i++) {
		assert_int_equal(found(atlas, i), i < 4 || i >= 8);
	}
	for (uint32_t i = 0; i < 12; i++) {
		if (i < 4 || i >= 8) {
			check_glyph(atlas, g[i]);
		}
	}
	check_glyph(atlas, x);

	// Held: the third plot is the oldest but goes nowhere; the first goes instead.
	atlas_ref(atlas, g[8]);
	for (uint32_t i = 0; i < 3; i++) {
		assert_non_null(put(atlas, 101 + i, 126, 126, false, 22 + i));
	}
	assert_int_equal(stats_of(atlas).evictions, 1);
	struct atlas_glyph *y = put(atlas, 104, 126, 126, false, 25);
	assert_non_null(y);
	assert_int_equal(y->page, page0);
	stats = stats_of(atlas);
	assert_int_equal(stats.evictions, 2);
	assert_int_equal(stats.evicted_glyphs, 8);
	for (uint32_t i = 0; i < 4; i++) {
		assert_false(found(atlas, i));
	}
	for (uint32_t i = 8; i < 12; i++) {
		assert_true(found(atlas, i));
		check_glyph(atlas, g[i]);
	}
	for (uint32_t i = 100; i < 105; i++) {
		assert_true(found(atlas, i));
	}
	// Fill the first plot again; the third, released at 30, is the newest now, and
	// the second (100-103, last put in at 24) the oldest.
	for (uint32_t i = 0; i < 3; i++) {
		assert_non_null(put(atlas, 105 + i, 126, 126, false, 26 + i));
	}
	assert_int_equal(stats_of(atlas).evictions, 2);
	atlas_unref(atlas, g[8], 30);
	struct atlas_glyph *z = put(atlas, 108, 126, 126, false, 31);
	assert_non_null(z);
	assert_int_equal(z->page, page1);
	assert_int_equal(stats_of(atlas).evictions, 3);
	for (uint32_t i = 8; i < 12; i++) {
		assert_true(found(atlas, i));
	}
	for (uint32_t i = 100; i < 104; i++) {
		assert_false(found(atlas, i));
	}
	for (uint32_t i = 104; i < 109; i++) {
		assert_true(found(atlas, i));
	}
	atlas_destroy(atlas);
}

static void test_referenced_stay(void **state) {
	struct atlas *atlas = atlas_create(256, 2 * 256 * 256);
	assert_non_null(atlas);
	enum { MOST = 5000 };
	struct atlas_glyph **held = calloc(MOST, sizeof *held);
	assert_non_null(held);
	uint32_t count = 0;
	int w = 0, h = 0;
	rng_state = 99;
	for (;;) {
		assert_true(count < MOST);
		w = 8 + (int)rng(33);
		h = 8 + (int)rng(33);
		struct atlas_glyph *glyph = put(atlas, count, w, h, false, count);
		if (!glyph) {
			break;
		}
		atlas_ref(atlas, glyph);
		held[count++] = glyph;
	}
	assert_true(count > 40);
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.failures, 1);
	assert_int_equal(stats.evictions, 0);
	assert_int_equal(stats.glyphs, count);
	assert_int_equal(stats.referenced, count);
	assert_int_equal(stats.pages, 2);
	assert_false(found(atlas, count));
	// Again: still no room, still nothing evicted.
	assert_null(put(atlas, count, w, h, false, MOST));
	assert_int_equal(stats_of(atlas).failures, 2);
	for (uint32_t i = 0; i < count; i++) {
		struct atlas_key key = key_of(i);
		assert_ptr_equal(atlas_find(atlas, &key), held[i]);
	}
	check_layout(atlas, held, count);

	// Release the glyphs of page 1 only: that plot, and no other, makes room.
	bool *released = calloc(count, sizeof *released);
	assert_non_null(released);
	uint32_t on_page1 = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (held[i]->page == 1) {
			atlas_unref(atlas, held[i], MOST + 1);
			released[i] = true;
			on_page1++;
		}
	}
	assert_true(on_page1 > 0 && on_page1 < count);
	assert_int_equal(stats_of(atlas).referenced, count - on_page1);
	struct atlas_glyph *glyph = put(atlas, count, w, h, false, MOST + 2);
	assert_non_null(glyph);
	assert_int_equal(glyph->page, 1);
	stats = stats_of(atlas);
	assert_int_equal(stats.evictions, 1);
	assert_int_equal(stats.evicted_glyphs, on_page1);
	assert_int_equal(stats.failures, 2);
	uint32_t kept = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (!released[i]) {
			assert_int_equal(held[i]->page, 0);
			held[kept++] = held[i];
		} else {
			assert_false(found(atlas, i));
		}
	}
	free(released);
	held[kept++] = glyph;
	assert_int_equal(stats.glyphs, kept);
	check_layout(atlas, held, kept);
	for (uint32_t i = 0; i + 1 < kept; i++) {
		atlas_unref(atlas, held[i], MOST + 3);
	}
	assert_int_equal(stats_of(atlas).referenced, 0);
	free(held);
	atlas_destroy(atlas);
}

static void test_color_apart(void **state) {
	struct atlas *atlas = atlas_create(256, 0);
	assert_non_null(atlas);
	struct atlas_glyph *a8[4], *rgba[4];
	for (uint32_t i = 0; i < 4; i++) {
		a8[i] = put(atlas, i, 126, 126, false, 1);
		rgba[i] = put(atlas, 10 + i, 126, 126, true, 1);
		assert_non_null(a8[i]);
		assert_non_null(rgba[i]);
		assert_false(a8[i]->color);
		assert_true(rgba[i]->color);
		assert_false(atlas_page(atlas, a8[i]->page)->color);
		assert_true(atlas_page(atlas, rgba[i]->page)->color);
	}
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.pages, 2);
	assert_int_equal(stats.color_pages, 1);
	assert_int_equal(stats.evictions, 0);

	// Both pages full. Hold every colour glyph: an A8 glyph evicts only A8 glyphs,
	// and a colour glyph fails rather than take an A8 plot.
	for (int i = 0; i < 4; i++) {
		atlas_ref(atlas, rgba[i]);
	}
	struct atlas_glyph *more = put(atlas, 20, 30, 30, false, 2);
	assert_non_null(more);
	assert_false(more->color);
	assert_int_equal(stats_of(atlas).evictions, 1);
	for (uint32_t i = 0; i < 4; i++) {
		assert_false(found(atlas, i));
		assert_true(found(atlas, 10 + i));
		check_glyph(atlas, rgba[i]);
	}
	assert_null(put(atlas, 21, 30, 30, true, 3));
	stats = stats_of(atlas);
	assert_int_equal(stats.failures, 1);
	assert_int_equal(stats.evictions, 1);
	assert_true(found(atlas, 20));
	// Released, the colour plot goes for a colour glyph, the A8 one stays.
	for (int i = 0; i < 4; i++) {
		atlas_unref(atlas, rgba[i], 4);
	}
	struct atlas_glyph *color = put(atlas, 21, 30, 30, true, 5);
	assert_non_null(color);
	assert_true(color->color);
	assert_int_equal(stats_of(atlas).evictions, 2);
	assert_true(found(atlas, 20));
	check_glyph(atlas, more);
	check_glyph(atlas, color);
	atlas_destroy(atlas);
}

static void test_empty(void **state) {
	struct atlas *atlas = atlas_create(256, 0);
	assert_non_null(atlas);
	struct atlas_glyph *space = put(atlas, 1, 0, 0, false, 1);
	struct atlas_glyph *thin = put(atlas, 2, 7, 0, false, 1);
	struct atlas_glyph *flat = put(atlas, 3, 0, 9, true, 1);
	assert_non_null(space);
	assert_non_null(thin);
	assert_non_null(flat);
	assert_int_equal(atlas_page_count(atlas), 0);
	struct atlas_glyph *all[] = { space, thin, flat };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(all[i]->w, 0);
		assert_int_equal(all[i]->h, 0);
		assert_int_equal(all[i]->plot, UINT32_MAX);
		check_glyph(atlas, all[i]);
		assert_true(found(atlas, (uint32_t)i + 1));
	}
	assert_true(flat->color);
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.glyphs, 3);
	assert_int_equal(stats.pages, 0);
	assert_int_equal(stats.bytes, 0);
	atlas_ref(atlas, space);
	atlas_ref(atlas, space);
	assert_int_equal(space->refs, 2);
	assert_int_equal(stats_of(atlas).referenced, 1);
	atlas_unref(atlas, space, 2);
	atlas_unref(atlas, space, 2);
	assert_int_equal(stats_of(atlas).referenced, 0);

	// Floods of real glyphs, evicting, leave them be.
	for (uint32_t i = 0; i < 50; i++) {
		assert_non_null(put(atlas, 100 + i, 126, 126, i % 2 == 0, 3 + i));
	}
	assert_true(stats_of(atlas).evictions > 0);
	for (int i = 0; i < 3; i++) {
		struct atlas_key key = key_of((uint32_t)i + 1);
		assert_ptr_equal(atlas_find(atlas, &key), all[i]);
	}
	atlas_destroy(atlas);
}

static void test_too_large(void **state) {
	struct atlas *atlas = atlas_create(1024, 64 * MIB);
	assert_non_null(atlas);
	assert_null(put(atlas, 1, 255, 10, false, 1));
	assert_null(put(atlas, 2, 10, 255, false, 1));
	assert_null(put(atlas, 3, 300, 300, true, 1));
	assert_null(put(atlas, 4, 1000, 1, false, 1));
	assert_int_equal(atlas_page_count(atlas), 0);
	for (uint32_t i = 1; i <= 4; i++) {
		assert_false(found(atlas, i));
	}
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.glyphs, 0);
	assert_int_equal(stats.failures, 0);
	// The largest that fits, with its padding, takes a whole plot.
	struct atlas_glyph *big = put(atlas, 5, 254, 254, false, 2);
	struct atlas_glyph *big_color = put(atlas, 6, 254, 254, true, 2);
	assert_non_null(big);
	assert_non_null(big_color);
	check_glyph(atlas, big);
	check_glyph(atlas, big_color);
	assert_int_equal(big->x % ATLAS_PLOT, 1);
	assert_int_equal(big->y % ATLAS_PLOT, 1);
	atlas_destroy(atlas);
}

static void test_flood(void **state) {
	const size_t budget = 2 * 1024 * 1024;
	struct atlas *atlas = atlas_create(1024, budget);
	assert_non_null(atlas);
	// 18 x 18 and its padding: 12 x 12 a plot, 16 plots a page, two pages.
	const uint32_t capacity = (ATLAS_PLOT / 20) * (ATLAS_PLOT / 20) * 16 * 2;
	enum { COUNT = 20000 };
	for (uint32_t i = 0; i < COUNT; i++) {
		struct atlas_glyph *glyph = put(atlas, i, 18, 18, false, i);
		if (!glyph) {
			fail_msg("glyph %u was refused", i);
		}
		if (i % 500 == 0 || i == COUNT - 1) {
			struct atlas_stats stats = stats_of(atlas);
			assert_true(stats.glyphs <= capacity);
			assert_true(stats.pages <= 2);
			assert_int_equal(stats.color_pages, 0);
			assert_true(stats.bytes <= budget);
			assert_int_equal(stats.glyphs + stats.evicted_glyphs, i + 1);
			assert_int_equal(stats.referenced, 0);
			assert_int_equal(stats.failures, 0);
		}
	}
	struct atlas_stats stats = stats_of(atlas);
	assert_int_equal(stats.pages, 2);
	assert_true(stats.evictions >= (COUNT - capacity) / 144);
	assert_true(stats.glyphs > capacity - 144);
	assert_false(found(atlas, 0));
	// Whole plots go, oldest first: every glyph of the last 31 plots' worth is there.
	uint32_t recent = capacity - 144;
	struct atlas_glyph **glyphs = calloc(recent, sizeof *glyphs);
	assert_non_null(glyphs);
	for (uint32_t i = 0; i < recent; i++) {
		struct atlas_key key = key_of(COUNT - 1 - i);
		glyphs[i] = atlas_find(atlas, &key);
		assert_non_null(glyphs[i]);
	}
	check_layout(atlas, glyphs, recent);
	free(glyphs);
	atlas_destroy(atlas);
	atlas_destroy(NULL);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packing),
		cmocka_unit_test(test_pixels),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_dirty),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_referenced_stay),
		cmocka_unit_test(test_color_apart),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
