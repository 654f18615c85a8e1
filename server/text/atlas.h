/*
 * The glyph atlas: one for every client. Glyph bitmaps (from shaper_raster) are packed
 * into pages: square single-channel (A8) pages for coverage, and RGBA8 pages for colour
 * glyphs. Each page is cut into plots of ATLAS_PLOT texels a side, and each plot packs
 * glyphs in shelves (rows of the height of their tallest glyph, 1 texel of padding
 * around every glyph). Pages are made on demand until their bytes reach the budget.
 *
 * Keys: (face, glyph id, pixel size, subpixel bucket). Texts hold references to the
 * glyphs they draw (atlas_ref/atlas_unref); a plot may be evicted only when none of its
 * glyphs is referenced, so no glyph a text holds ever moves or goes: a frame never
 * draws from an evicted slot. When a glyph does not fit anywhere, the least recently
 * used plot with no references (used: the last time one of its glyphs was inserted or
 * released) is emptied, its glyphs forgotten, and the glyph goes there. When every
 * plot of every page is referenced and the budget allows no new page, the insert fails.
 *
 * Pixels: the atlas keeps each page's texels in memory (what the renderer uploads) and
 * the box of what changed since the last atlas_take_dirty. No GL here: the text code
 * makes the page textures and uploads the dirty boxes. Used on the loop thread only.
 */
#ifndef TESSERA_ATLAS_H
#define TESSERA_ATLAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "draw-list.h"   // struct draw_box
#include "shaper.h"      // struct shaper_bitmap

#define ATLAS_PLOT 256

struct atlas_key {
	uint32_t face, glyph;
	uint32_t size64;      // pixel size in 1/64 px
	uint8_t bucket;       // subpixel bucket, 0 to SHAPER_SUBPIXEL_BUCKETS - 1
};

struct atlas_glyph {
	struct atlas_key key;
	uint16_t page;        // index of its page
	uint16_t x, y, w, h;  // its texels in the page (padding not included); w or h 0:
	                      // a glyph with no pixels, which takes no room
	int16_t left, top;    // shaper_bitmap.left, .top
	bool color;           // on an RGBA8 page
	uint32_t refs;        // texts holding it
	uint64_t mark;        // the atlas's user's (text.c: the job that saw it last)
	// The atlas's own: hash chain, plot.
	struct atlas_glyph *hash_next;
	struct atlas_glyph *plot_next;
	uint32_t plot;        // index of its plot among all plots; UINT32_MAX: none
};

struct atlas_page {
	uint8_t *pixels;      // size * size texels, 1 byte (A8) or 4 (RGBA8) each
	int size;             // texels a side
	bool color;
	struct draw_box dirty;// texels changed since atlas_take_dirty; empty: none
};

struct atlas_stats {
	uint32_t pages, color_pages; // every page; of which RGBA8
	uint32_t glyphs;      // in the atlas now
	uint32_t referenced;  // of which at least one text holds
	uint64_t evictions;   // plots emptied to make room, ever
	uint64_t evicted_glyphs;
	uint64_t failures;    // inserts refused: everything referenced, budget reached
	                      // (not glyphs larger than a plot, nor no memory)
	size_t bytes;         // of the pages
};

struct atlas;

/**
 * An empty atlas of @page_size pages (a multiple of ATLAS_PLOT, at most the GPU's
 * maximum texture size) whose pages together stay within @budget bytes (at least one
 * page of each kind is always allowed). NULL when memory cannot be had.
 */
struct atlas *atlas_create(int page_size, size_t budget);

void atlas_destroy(struct atlas *atlas);

/** The glyph of @key, NULL when the atlas does not have it. */
struct atlas_glyph *atlas_find(struct atlas *atlas, const struct atlas_key *key);

/**
 * Puts @bitmap in the atlas as @key (which it must not have), evicting as above when
 * there is no room, at time @now (any increasing count: the loop's round). Copies the
 * pixels (none when bitmap->pixels is NULL: the texels stay zero). Returns the glyph,
 * unreferenced; NULL when it cannot be placed (a glyph
 * larger than a plot, every plot referenced, or no memory). The atlas owns its glyphs:
 * any insert may free a glyph nobody holds, so keep pointers only to those you hold.
 */
struct atlas_glyph *atlas_insert(struct atlas *atlas, const struct atlas_key *key,
	const struct shaper_bitmap *bitmap, uint64_t now);

/**
 * Makes the first page of the kind @color now, if there is none yet: so that its
 * texture is made at start, not in the middle of the first text. False without memory.
 */
bool atlas_reserve_page(struct atlas *atlas, bool color);

/**
 * Where the texels of @box (in @glyph's own texels) are, to be written: the first
 * texel of its top row, rows *@stride bytes apart. Marks the box dirty. For contents
 * other than glyphs (small images share an atlas too): inserted with a bitmap whose
 * pixels are NULL (texels left zero), then written here.
 */
uint8_t *atlas_glyph_texels(struct atlas *atlas, const struct atlas_glyph *glyph,
	struct draw_box box, size_t *stride);

/** A text holds @glyph now / no longer (at time @now). */
void atlas_ref(struct atlas *atlas, struct atlas_glyph *glyph);
void atlas_unref(struct atlas *atlas, struct atlas_glyph *glyph, uint64_t now);

size_t atlas_page_count(const struct atlas *atlas);
const struct atlas_page *atlas_page(const struct atlas *atlas, size_t index);

/** Returns page @index's dirty box and empties it (after the caller uploaded it). */
struct draw_box atlas_take_dirty(struct atlas *atlas, size_t index);

void atlas_get_stats(const struct atlas *atlas, struct atlas_stats *stats);

#endif
