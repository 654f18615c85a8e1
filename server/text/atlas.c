/*
 * The glyph atlas (atlas.h). Each page is a grid of plots; every plot belongs to one
 * kind (A8 or RGBA8, that of its page) and sits on that kind's list of plots, most
 * recently used first: a plot goes to the front when a glyph is put in it or one of
 * its glyphs is released. A glyph takes a cell of its size plus 1 texel on every
 * side, left zero, so that linear filtering at its edges reads 0 and not a neighbour.
 *
 * Placing a glyph of cell w x h: the plots of its kind are tried from the front of the
 * list, each on the shelf of the smallest height from h to h + max(4, h / 2) that has
 * w texels left at its end, else on a new shelf below the others; a plot whose widest
 * end of shelf and height left are both too small is passed over without a look at its
 * shelves. Then a new page, while the budget allows it. Then any shelf tall enough
 * (wasting height beats evicting). Then the plot nearest the back with no glyph
 * referenced is emptied and takes the glyph.
 *
 * Cost: atlas_find is a look-up in a hash table that doubles past one glyph a bucket;
 * atlas_ref and atlas_unref are O(1). atlas_insert is O(P) quick checks for the P
 * plots of its kind plus O(S) (S <= ATLAS_PLOT / 3 shelves) for each plot that might
 * take it, O(1) in the common case where the front plot takes it; an eviction adds a
 * walk from the back past the referenced plots and O(G) for the G glyphs it forgets,
 * and zeroes at most a plot's texels. Meant for up to a few hundred plots (an 8 MiB
 * budget of 2048 A8 pages is 128).
 */
#include "atlas.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
// A glyph is at least 1 texel tall and has 1 texel of padding above and below it.
#define MAX_SHELVES (ATLAS_PLOT / 3)
#define FIRST_BUCKETS 256
// Pages are indexed by a uint16_t in atlas_glyph.
#define MAX_PAGES ((size_t)UINT16_MAX + 1)
// Keeps a page's bytes (4 a texel at most) within 32 bits and texel coordinates
// within atlas_glyph's uint16_t.
#define MAX_PAGE_SIZE 16384

struct shelf {
	uint16_t y, h;        // rows y to y + h - 1 of the plot
	uint16_t x;           // columns used so far, from the plot's left
};

struct plot {
	uint32_t page;
	uint16_t x, y;        // its top-left texel in the page
	bool color;
	uint64_t refs;        // the sum of its glyphs' refs
	uint64_t used;        // the latest now at which a glyph went in or was released
	struct atlas_glyph *glyphs; // atlas_glyph.plot_next
	uint32_t prev, next;  // kind.head: its kind's plots, most recently used first
	uint16_t top;         // rows taken by shelves, from the plot's top
	uint16_t room;        // the most columns left at the end of any shelf
	uint16_t shelf_count;
	struct shelf shelves[MAX_SHELVES];
};

struct kind {
	uint32_t head, tail;  // plot.prev/next
	uint32_t pages;
};

struct atlas {
	int page_size;
	size_t page_pixels;   // texels in a page
	uint32_t plots_per_page;
	size_t budget;
	// Each page on its own, so that what atlas_page returns stays put.
	struct atlas_page **pages;
	size_t page_count;
	struct plot *plots;   // plots_per_page for each page, in page order
	uint32_t plot_count;
	struct kind kinds[2]; // A8, RGBA8
	struct atlas_glyph **buckets; // atlas_glyph.hash_next
	size_t bucket_mask;   // the bucket count (a power of two) - 1
	struct atlas_stats stats;
};

static bool key_equal(const struct atlas_key *a, const struct atlas_key *b) {
	return a->face == b->face && a->glyph == b->glyph && a->size64 == b->size64 &&
		a->bucket == b->bucket;
}

static size_t key_hash(const struct atlas_key *key) {
	uint64_t h = ((uint64_t)key->face << 32 | key->glyph) * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)key->size64 << 8 | key->bucket) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return (size_t)h;
}

// A larger table when the glyphs outnumber the buckets; on no memory the chains just
// grow longer.
static void hash_grow(struct atlas *atlas) {
	size_t count = (atlas->bucket_mask + 1) * 2;
	struct atlas_glyph **buckets = calloc(count, sizeof *buckets);
	if (!buckets) {
		return;
	}
	for (size_t i = 0; i <= atlas->bucket_mask; i++) {
		struct atlas_glyph *glyph = atlas->buckets[i], *next;
		for (; glyph; glyph = next) {
			next = glyph->hash_next;
			size_t at = key_hash(&glyph->key) & (count - 1);
			glyph->hash_next = buckets[at];
			buckets[at] = glyph;
		}
	}
	free(atlas->buckets);
	atlas->buckets = buckets;
	atlas->bucket_mask = count - 1;
}

static void hash_add(struct atlas *atlas, struct atlas_glyph *glyph) {
	if (atlas->stats.glyphs > atlas->bucket_mask) {
		hash_grow(atlas);
	}
	size_t at = key_hash(&glyph->key) & atlas->bucket_mask;
	glyph->hash_next = atlas->buckets[at];
	atlas->buckets[at] = glyph;
}

static void hash_remove(struct atlas *atlas, struct atlas_glyph *glyph) {
	size_t at = key_hash(&glyph->key) & atlas->bucket_mask;
	struct atlas_glyph **link = &atlas->buckets[at];
	while (*link != glyph) {
		assert(*link);
		link = &(*link)->hash_next;
	}
	*link = glyph->hash_next;
}

static void box_add(struct draw_box *box, int32_t x0, int32_t y0, int32_t x1,
		int32_t y1) {
	if (box->x0 >= box->x1 || box->y0 >= box->y1) {
		*box = (struct draw_box){ x0, y0, x1, y1 };
		return;
	}
	box->x0 = x0 < box->x0 ? x0 : box->x0;
	box->y0 = y0 < box->y0 ? y0 : box->y0;
	box->x1 = x1 > box->x1 ? x1 : box->x1;
	box->y1 = y1 > box->y1 ? y1 : box->y1;
}

static void list_unlink(struct atlas *atlas, uint32_t index) {
	struct plot *plot = &atlas->plots[index];
	struct kind *kind = &atlas->kinds[plot->color];
	if (plot->prev != NONE) {
		atlas->plots[plot->prev].next = plot->next;
	} else {
		kind->head = plot->next;
	}
	if (plot->next != NONE) {
		atlas->plots[plot->next].prev = plot->prev;
	} else {
		kind->tail = plot->prev;
	}
	plot->prev = plot->next = NONE;
}

static void list_push_front(struct atlas *atlas, uint32_t index) {
	struct plot *plot = &atlas->plots[index];
	struct kind *kind = &atlas->kinds[plot->color];
	plot->prev = NONE;
	plot->next = kind->head;
	if (kind->head != NONE) {
		atlas->plots[kind->head].prev = index;
	} else {
		kind->tail = index;
	}
	kind->head = index;
}

static void list_push_back(struct atlas *atlas, uint32_t index) {
	struct plot *plot = &atlas->plots[index];
	struct kind *kind = &atlas->kinds[plot->color];
	plot->next = NONE;
	plot->prev = kind->tail;
	if (kind->tail != NONE) {
		atlas->plots[kind->tail].next = index;
	} else {
		kind->head = index;
	}
	kind->tail = index;
}

static void touch(struct atlas *atlas, uint32_t index, uint64_t now) {
	atlas->plots[index].used = now;
	if (atlas->kinds[atlas->plots[index].color].head != index) {
		list_unlink(atlas, index);
		list_push_front(atlas, index);
	}
}

static size_t page_bytes(const struct atlas *atlas, bool color) {
	return atlas->page_pixels * (color ? 4 : 1);
}

// A page of the kind @color, its plots at the back of the kind's list (empty plots
// are tried after every plot with glyphs). False when the budget or memory says no.
static bool add_page(struct atlas *atlas, bool color) {
	struct kind *kind = &atlas->kinds[color];
	size_t bytes = page_bytes(atlas, color);
	if (kind->pages > 0 && (atlas->stats.bytes > atlas->budget ||
			bytes > atlas->budget - atlas->stats.bytes)) {
		return false;
	}
	if (atlas->page_count == MAX_PAGES) {
		return false;
	}
	uint32_t per_page = atlas->plots_per_page;
	struct plot *plots = realloc(atlas->plots,
		((size_t)atlas->plot_count + per_page) * sizeof *plots);
	if (!plots) {
		return false;
	}
	atlas->plots = plots;
	struct atlas_page **pages = realloc(atlas->pages,
		(atlas->page_count + 1) * sizeof *pages);
	if (!pages) {
		return false;
	}
	atlas->pages = pages;
	struct atlas_page *page = calloc(1, sizeof *page);
	if (!page) {
		return false;
	}
	page->pixels = calloc(bytes, 1);
	if (!page->pixels) {
		goto free_page;
	}
	page->size = atlas->page_size;
	page->color = color;

	uint32_t index = (uint32_t)atlas->page_count;
	uint32_t across = (uint32_t)page->size / ATLAS_PLOT;
	for (uint32_t i = 0; i < per_page; i++) {
		struct plot *plot = &atlas->plots[atlas->plot_count + i];
		*plot = (struct plot){
			.page = index,
			.x = (uint16_t)(i % across * ATLAS_PLOT),
			.y = (uint16_t)(i / across * ATLAS_PLOT),
			.color = color,
		};
		list_push_back(atlas, atlas->plot_count + i);
	}
	atlas->plot_count += per_page;
	atlas->pages[atlas->page_count++] = page;
	kind->pages++;
	atlas->stats.bytes += bytes;
	return true;

free_page:
	free(page);
	return false;
}

// Room for a cell of @w x @h in @plot (see the top of the file); @loose takes any shelf
// tall enough. Sets @x, @y to the cell's top-left texel in the page.
static bool place(struct plot *plot, int w, int h, bool loose, uint16_t *x, uint16_t *y) {
	if (plot->room < w && ATLAS_PLOT - plot->top < h) {
		return false;
	}
	int most = loose ? ATLAS_PLOT : h + (h / 2 > 4 ? h / 2 : 4);
	struct shelf *shelf = NULL;
	if (plot->room >= w) {
		for (uint16_t i = 0; i < plot->shelf_count; i++) {
			struct shelf *s = &plot->shelves[i];
			if (s->h >= h && s->h <= most && ATLAS_PLOT - s->x >= w &&
					(!shelf || s->h < shelf->h)) {
				shelf = s;
				if (s->h == h) {
					break;
				}
			}
		}
	}
	if (!shelf) {
		if (ATLAS_PLOT - plot->top < h) {
			return false;
		}
		assert(plot->shelf_count < MAX_SHELVES);
		shelf = &plot->shelves[plot->shelf_count++];
		*shelf = (struct shelf){ .y = plot->top, .h = (uint16_t)h };
		plot->top = (uint16_t)(plot->top + h);
	}
	*x = (uint16_t)(plot->x + shelf->x);
	*y = (uint16_t)(plot->y + shelf->y);
	shelf->x = (uint16_t)(shelf->x + w);
	plot->room = 0;
	for (uint16_t i = 0; i < plot->shelf_count; i++) {
		int left = ATLAS_PLOT - plot->shelves[i].x;
		if (left > plot->room) {
			plot->room = (uint16_t)left;
		}
	}
	return true;
}

// Forgets every glyph of @plot (none referenced) and zeroes what they covered.
static void evict(struct atlas *atlas, struct plot *plot) {
	assert(plot->refs == 0);
	uint64_t count = 0;
	struct atlas_glyph *glyph = plot->glyphs, *next;
	for (; glyph; glyph = next) {
		assert(glyph->refs == 0);
		next = glyph->plot_next;
		hash_remove(atlas, glyph);
		free(glyph);
		count++;
	}
	plot->glyphs = NULL;

	// Shelves are packed from the plot's top: the rows below them are zero already.
	struct atlas_page *page = atlas->pages[plot->page];
	size_t bpp = page->color ? 4 : 1;
	for (int row = 0; row < plot->top; row++) {
		size_t at = (size_t)(plot->y + row) * (size_t)page->size + plot->x;
		memset(page->pixels + at * bpp, 0, ATLAS_PLOT * bpp);
	}
	if (plot->top > 0) {
		box_add(&page->dirty, plot->x, plot->y, plot->x + ATLAS_PLOT,
			plot->y + plot->top);
	}
	plot->top = 0;
	plot->room = 0;
	plot->shelf_count = 0;

	atlas->stats.evictions++;
	atlas->stats.evicted_glyphs += count;
	atlas->stats.glyphs -= (uint32_t)count;
}

// A cell of @w x @h for a glyph of the kind @color: sets @plot_index, @x and @y.
static bool find_room(struct atlas *atlas, bool color, int w, int h,
		uint32_t *plot_index, uint16_t *x, uint16_t *y) {
	struct kind *kind = &atlas->kinds[color];
	for (uint32_t i = kind->head; i != NONE; i = atlas->plots[i].next) {
		if (place(&atlas->plots[i], w, h, false, x, y)) {
			*plot_index = i;
			return true;
		}
	}
	if (add_page(atlas, color)) {
		// The new page's first plot, at the back of the list, is empty: it fits.
		uint32_t first = atlas->plot_count - atlas->plots_per_page;
		bool placed = place(&atlas->plots[first], w, h, false, x, y);
		assert(placed);
		*plot_index = first;
		return placed;
	}
	for (uint32_t i = kind->head; i != NONE; i = atlas->plots[i].next) {
		if (place(&atlas->plots[i], w, h, true, x, y)) {
			*plot_index = i;
			return true;
		}
	}
	for (uint32_t i = kind->tail; i != NONE; i = atlas->plots[i].prev) {
		struct plot *plot = &atlas->plots[i];
		if (plot->refs == 0) {
			evict(atlas, plot);
			bool placed = place(plot, w, h, false, x, y);
			assert(placed);
			*plot_index = i;
			return placed;
		}
	}
	return false;
}

static void copy_pixels(struct atlas_page *page, const struct shaper_bitmap *bitmap,
		int x, int y) {
	size_t bpp = page->color ? 4 : 1, row = (size_t)bitmap->width * bpp;
	assert(bitmap->pixels && bitmap->pitch >= 0 && (size_t)bitmap->pitch >= row);
	for (int r = 0; r < bitmap->height; r++) {
		memcpy(page->pixels + ((size_t)(y + r) * (size_t)page->size + (size_t)x) * bpp,
			bitmap->pixels + (size_t)r * (size_t)bitmap->pitch, row);
	}
}

struct atlas *atlas_create(int page_size, size_t budget) {
	assert(page_size >= ATLAS_PLOT && page_size % ATLAS_PLOT == 0 &&
		page_size <= MAX_PAGE_SIZE);
	struct atlas *atlas = calloc(1, sizeof *atlas);
	if (!atlas) {
		return NULL;
	}
	atlas->buckets = calloc(FIRST_BUCKETS, sizeof *atlas->buckets);
	if (!atlas->buckets) {
		goto free_atlas;
	}
	atlas->bucket_mask = FIRST_BUCKETS - 1;
	atlas->page_size = page_size;
	atlas->page_pixels = (size_t)page_size * (size_t)page_size;
	uint32_t across = (uint32_t)page_size / ATLAS_PLOT;
	atlas->plots_per_page = across * across;
	atlas->budget = budget;
	for (int i = 0; i < 2; i++) {
		atlas->kinds[i].head = atlas->kinds[i].tail = NONE;
	}
	return atlas;

free_atlas:
	free(atlas);
	return NULL;
}

void atlas_destroy(struct atlas *atlas) {
	if (!atlas) {
		return;
	}
	for (size_t i = 0; i <= atlas->bucket_mask; i++) {
		struct atlas_glyph *glyph = atlas->buckets[i], *next;
		for (; glyph; glyph = next) {
			next = glyph->hash_next;
			free(glyph);
		}
	}
	free(atlas->buckets);
	for (size_t i = 0; i < atlas->page_count; i++) {
		free(atlas->pages[i]->pixels);
		free(atlas->pages[i]);
	}
	free(atlas->pages);
	free(atlas->plots);
	free(atlas);
}

struct atlas_glyph *atlas_find(struct atlas *atlas, const struct atlas_key *key) {
	struct atlas_glyph *glyph = atlas->buckets[key_hash(key) & atlas->bucket_mask];
	for (; glyph; glyph = glyph->hash_next) {
		if (key_equal(&glyph->key, key)) {
			return glyph;
		}
	}
	return NULL;
}

struct atlas_glyph *atlas_insert(struct atlas *atlas, const struct atlas_key *key,
		const struct shaper_bitmap *bitmap, uint64_t now) {
	assert(bitmap->width >= 0 && bitmap->height >= 0);
	assert(!atlas_find(atlas, key));
	bool empty = bitmap->width == 0 || bitmap->height == 0;
	if (!empty && (bitmap->width > ATLAS_PLOT - 2 || bitmap->height > ATLAS_PLOT - 2)) {
		return NULL;
	}
	if (bitmap->left < INT16_MIN || bitmap->left > INT16_MAX ||
			bitmap->top < INT16_MIN || bitmap->top > INT16_MAX) {
		return NULL;
	}
	struct atlas_glyph *glyph = calloc(1, sizeof *glyph);
	if (!glyph) {
		return NULL;
	}
	glyph->key = *key;
	glyph->left = (int16_t)bitmap->left;
	glyph->top = (int16_t)bitmap->top;
	glyph->color = bitmap->color;
	glyph->plot = NONE;

	if (!empty) {
		uint32_t index;
		uint16_t x, y;
		if (!find_room(atlas, bitmap->color, bitmap->width + 2, bitmap->height + 2,
				&index, &x, &y)) {
			free(glyph);
			atlas->stats.failures++;
			return NULL;
		}
		struct plot *plot = &atlas->plots[index];
		struct atlas_page *page = atlas->pages[plot->page];
		glyph->page = (uint16_t)plot->page;
		glyph->x = (uint16_t)(x + 1);
		glyph->y = (uint16_t)(y + 1);
		glyph->w = (uint16_t)bitmap->width;
		glyph->h = (uint16_t)bitmap->height;
		glyph->plot = index;
		glyph->plot_next = plot->glyphs;
		plot->glyphs = glyph;
		if (bitmap->pixels != NULL) {
			copy_pixels(page, bitmap, glyph->x, glyph->y);
		}
		box_add(&page->dirty, x, y, x + bitmap->width + 2, y + bitmap->height + 2);
		touch(atlas, index, now);
	}
	hash_add(atlas, glyph);
	atlas->stats.glyphs++;
	return glyph;
}

bool atlas_reserve_page(struct atlas *atlas, bool color) {
	return atlas->kinds[color].pages > 0 || add_page(atlas, color);
}

uint8_t *atlas_glyph_texels(struct atlas *atlas, const struct atlas_glyph *glyph,
		struct draw_box box, size_t *stride) {
	assert(glyph->plot != NONE && box.x0 >= 0 && box.y0 >= 0 && box.x1 <= glyph->w &&
		box.y1 <= glyph->h);
	struct atlas_page *page = atlas->pages[glyph->page];
	size_t bpp = page->color ? 4 : 1;
	box_add(&page->dirty, glyph->x + box.x0, glyph->y + box.y0, glyph->x + box.x1,
		glyph->y + box.y1);
	*stride = (size_t)page->size * bpp;
	return page->pixels + ((size_t)(glyph->y + box.y0) * (size_t)page->size +
		(size_t)(glyph->x + box.x0)) * bpp;
}

void atlas_ref(struct atlas *atlas, struct atlas_glyph *glyph) {
	assert(glyph->refs < UINT32_MAX);
	if (glyph->refs++ == 0) {
		atlas->stats.referenced++;
	}
	if (glyph->plot != NONE) {
		atlas->plots[glyph->plot].refs++;
	}
}

void atlas_unref(struct atlas *atlas, struct atlas_glyph *glyph, uint64_t now) {
	assert(glyph->refs > 0);
	if (--glyph->refs == 0) {
		atlas->stats.referenced--;
	}
	if (glyph->plot != NONE) {
		assert(atlas->plots[glyph->plot].refs > 0);
		atlas->plots[glyph->plot].refs--;
		touch(atlas, glyph->plot, now);
	}
}

size_t atlas_page_count(const struct atlas *atlas) {
	return atlas->page_count;
}

const struct atlas_page *atlas_page(const struct atlas *atlas, size_t index) {
	assert(index < atlas->page_count);
	return atlas->pages[index];
}

struct draw_box atlas_take_dirty(struct atlas *atlas, size_t index) {
	assert(index < atlas->page_count);
	struct draw_box box = atlas->pages[index]->dirty;
	atlas->pages[index]->dirty = (struct draw_box){ 0 };
	return box;
}

void atlas_get_stats(const struct atlas *atlas, struct atlas_stats *stats) {
	*stats = atlas->stats;
	stats->pages = (uint32_t)atlas->page_count;
	stats->color_pages = atlas->kinds[1].pages;
}
