/*
 * The shaper's fonts (internal to shaper.c and fonts.c): the faces it has loaded, each
 * a FreeType face with its HarfBuzz font, and the fallback lists fontconfig sorted for
 * each style asked for, with a cache from code point to the font that has it.
 *
 * Hinting: none. Outline faces shape and rasterise with FT_LOAD_NO_HINTING, so the
 * advances HarfBuzz gives are the unhinted, fractional ones the bitmaps are drawn for
 * at any subpixel offset. Bitmap faces (colour emoji: no outlines, fixed strikes)
 * shape at their strike and have their positions and bitmaps scaled to the size asked.
 */
#ifndef TESSERA_FONTS_H
#define TESSERA_FONTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb.h>

#include "shaper.h"

struct face {
	char *file;
	int index;         // in the file (FT_New_Face's face_index)
	FT_Face ft;
	hb_font_t *hb;     // hb_ft_font_create_referenced(ft)
	bool bitmap;       // no outlines, fixed strikes only (Noto Color Emoji)
	float size;        // outline faces: the pixel size set last; 0: none yet
	int strike;        // bitmap faces: the strike selected; -1: none yet
};

// Code point -> index of the font in a list that has it: open addressing.
struct cp_cache {
	uint32_t *keys;    // code point + 1; 0: empty
	int16_t *values;   // font index, -1: no font has it
	size_t cap, len;   // cap: a power of two, or 0
};

struct font_list {
	char *family;
	uint16_t weight;
	bool italic;
	FcFontSet *set;    // FcFontSort's, best first
	int32_t *faces;    // per font of set: the face number, or FONT_UNLOADED/FONT_BROKEN
	uint32_t primary;  // the face of the first font that loads: metrics, .notdef
	struct cp_cache cache;
};

#define FONT_UNLOADED (-1)
#define FONT_BROKEN (-2)
#define FONT_LISTS 16   // font lists kept, the least recently used dropped first

struct fonts {
	FT_Library ft;
	struct face **faces;   // by face number
	size_t face_len, face_cap;
	struct font_list *lists[FONT_LISTS]; // most recently used first
	size_t list_len;
};

/** Starts FreeType and fontconfig. False (logged) when either fails. */
bool fonts_init(struct fonts *fonts);

/** Frees every face and list. */
void fonts_finish(struct fonts *fonts);

/**
 * The fallback list for a style (family "" or NULL: sans-serif), made by FcFontSort
 * the first time and cached. NULL when no font loads or memory runs out.
 */
struct font_list *fonts_list(struct fonts *fonts, const char *family, uint16_t weight,
	bool italic);

/**
 * The face for the cluster @cps[0 .. @n) (a base and what attaches to it): the face
 * for the base when it also has the rest, else the first font in @list that has them
 * all (a colour font first for a cluster shown as emoji: a base that is by default,
 * as U+1F600 is, unless U+FE0E follows it, or any base U+FE0F follows),
 * else the base's, else the list's primary face. Never fails: at worst a face that
 * shows .notdef.
 */
uint32_t fonts_cluster_face(struct fonts *fonts, struct font_list *list,
	const uint32_t *cps, size_t n);

/**
 * Sets @face up for @size pixels (size for outline faces, the nearest strike for
 * bitmap faces; hb_ft_font_changed after each change) and returns the factor from
 * HarfBuzz's positions in it to pixels.
 */
float face_use_size(struct face *face, float size);

/** @face's ascent, descent (positive, below the baseline) and line height at @size. */
void face_metrics(struct face *face, float size, float *ascent, float *descent,
	float *height);

/** shaper_raster for one face. */
bool face_raster(struct face *face, uint32_t glyph, float size, unsigned bucket,
	struct shaper_bitmap *out);

#endif
