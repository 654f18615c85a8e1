/*
 * Faces and fallback (fonts.h). fontconfig sorts every installed font for a style once
 * (FcFontSort, untrimmed, so that a cluster can find a font that has all of it); a face
 * is loaded the first time a code point needs it and shared by every list that names
 * the same (file, index). Which font has a code point comes from the charset
 * fontconfig keeps for each font, remembered per list.
 *
 * Rasterising: outline glyphs are loaded unhinted, moved right by the subpixel bucket
 * and rendered to 8-bit coverage; colour bitmap glyphs (premultiplied BGRA from
 * FT_LOAD_COLOR) are box-filtered from their strike to the size asked and swapped to
 * R, G, B, A. A colour bitmap lands on whole pixels: the bucket does not move it.
 */
#include "fonts.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include FT_OUTLINE_H
#include <hb-ft.h>

#include "log.h"

#define CACHE_MAX 65536  // code points remembered per list; past that, looked up each time

bool fonts_init(struct fonts *fonts) {
	*fonts = (struct fonts){0};
	if (!FcInit()) {
		log_error("text: fontconfig cannot start (FcInit failed)");
		return false;
	}
	FT_Error err = FT_Init_FreeType(&fonts->ft);
	if (err != 0) {
		log_error("text: FreeType cannot start (error %d)", err);
		return false;
	}
	return true;
}

static void list_destroy(struct font_list *list) {
	if (list == NULL) {
		return;
	}
	free(list->family);
	if (list->set != NULL) {
		FcFontSetDestroy(list->set);
	}
	free(list->faces);
	free(list->cache.keys);
	free(list->cache.values);
	free(list);
}

void fonts_finish(struct fonts *fonts) {
	for (size_t i = 0; i < fonts->list_len; i++) {
		list_destroy(fonts->lists[i]);
	}
	for (size_t i = 0; i < fonts->face_len; i++) {
		struct face *face = fonts->faces[i];
		hb_font_destroy(face->hb); // drops the FT_Face it references
		free(face->file);
		free(face);
	}
	free(fonts->faces);
	if (fonts->ft != NULL) {
		FT_Done_FreeType(fonts->ft);
	}
	*fonts = (struct fonts){0};
}

// The face number of (@file, @index), loading it the first time; -1 when it does not
// load (logged) or memory runs out.
static int32_t face_get(struct fonts *fonts, const char *file, int index) {
	for (size_t i = 0; i < fonts->face_len; i++) {
		if (fonts->faces[i]->index == index && strcmp(fonts->faces[i]->file, file) == 0) {
			return (int32_t)i;
		}
	}
	if (fonts->face_len == fonts->face_cap) {
		size_t cap = fonts->face_cap ? fonts->face_cap * 2 : 8;
		struct face **faces = realloc(fonts->faces, cap * sizeof *faces);
		if (faces == NULL) {
			return -1;
		}
		fonts->faces = faces;
		fonts->face_cap = cap;
	}
	struct face *face = calloc(1, sizeof *face);
	if (face == NULL) {
		return -1;
	}
	face->file = strdup(file);
	if (face->file == NULL) {
		goto err_file;
	}
	face->index = index;
	FT_Error err = FT_New_Face(fonts->ft, file, index, &face->ft);
	if (err != 0) {
		log_error("text: cannot load font %s (index %d): FreeType error %d", file,
			index, err);
		goto err_ft;
	}
	face->bitmap = !FT_IS_SCALABLE(face->ft) && face->ft->num_fixed_sizes > 0;
	face->strike = -1;
	face->hb = hb_ft_font_create_referenced(face->ft);
	FT_Done_Face(face->ft); // the hb_font holds the reference now
	if (face->hb == NULL || face->hb == hb_font_get_empty()) {
		goto err_ft;
	}
	hb_ft_font_set_load_flags(face->hb, face->bitmap ? FT_LOAD_COLOR : FT_LOAD_NO_HINTING);
	fonts->faces[fonts->face_len] = face;
	return (int32_t)fonts->face_len++;

err_ft:
	free(face->file);
err_file:
	free(face);
	return -1;
}

// The face number of font @i of @list, loading it on first use; -1 if it is broken.
static int32_t list_face(struct fonts *fonts, struct font_list *list, int i) {
	if (list->faces[i] == FONT_UNLOADED) {
		FcPattern *pat = list->set->fonts[i];
		FcChar8 *file;
		int index = 0;
		if (FcPatternGetString(pat, FC_FILE, 0, &file) != FcResultMatch) {
			list->faces[i] = FONT_BROKEN;
			return -1;
		}
		FcPatternGetInteger(pat, FC_INDEX, 0, &index);
		int32_t face = face_get(fonts, (const char *)file, index);
		list->faces[i] = face >= 0 ? face : FONT_BROKEN;
	}
	return list->faces[i] >= 0 ? list->faces[i] : -1;
}

static bool font_has(const struct font_list *list, int i, uint32_t cp) {
	FcCharSet *cs;
	if (FcPatternGetCharSet(list->set->fonts[i], FC_CHARSET, 0, &cs) != FcResultMatch) {
		return false;
	}
	return FcCharSetHasChar(cs, cp);
}

static bool font_is_color(const struct font_list *list, int i) {
	FcBool color = FcFalse;
	FcPatternGetBool(list->set->fonts[i], FC_COLOR, 0, &color);
	return color;
}

static size_t hash(uint32_t cp) {
	return (size_t)(cp * 2654435761u);
}

static int cache_find(const struct cp_cache *c, uint32_t cp, bool *found) {
	*found = false;
	if (c->cap == 0) {
		return -1;
	}
	for (size_t i = hash(cp) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		if (c->keys[i] == 0) {
			return -1;
		}
		if (c->keys[i] == cp + 1) {
			*found = true;
			return c->values[i];
		}
	}
}

static void cache_put(struct cp_cache *c, uint32_t cp, int value) {
	if (c->len >= CACHE_MAX) {
		return;
	}
	if ((c->len + 1) * 2 > c->cap) {
		// Grow to keep the load under a half; a failure only costs lookups.
		size_t cap = c->cap ? c->cap * 2 : 256;
		uint32_t *keys = calloc(cap, sizeof *keys);
		int16_t *values = malloc(cap * sizeof *values);
		if (keys == NULL || values == NULL) {
			free(keys);
			free(values);
			return;
		}
		for (size_t i = 0; i < c->cap; i++) {
			if (c->keys[i] != 0) {
				size_t j = hash(c->keys[i] - 1) & (cap - 1);
				while (keys[j] != 0) {
					j = (j + 1) & (cap - 1);
				}
				keys[j] = c->keys[i];
				values[j] = c->values[i];
			}
		}
		free(c->keys);
		free(c->values);
		c->keys = keys;
		c->values = values;
		c->cap = cap;
	}
	size_t i = hash(cp) & (c->cap - 1);
	while (c->keys[i] != 0) {
		i = (i + 1) & (c->cap - 1);
	}
	c->keys[i] = cp + 1;
	c->values[i] = (int16_t)value;
	c->len++;
}

// The index in @list of the first font that has @cp and loads; -1 for none.
static int font_for(struct fonts *fonts, struct font_list *list, uint32_t cp) {
	bool found;
	int i = cache_find(&list->cache, cp, &found);
	if (found) {
		return i;
	}
	i = -1;
	for (int k = 0; k < list->set->nfont && k < INT16_MAX; k++) {
		if (font_has(list, k, cp) && list_face(fonts, list, k) >= 0) {
			i = k;
			break;
		}
	}
	cache_put(&list->cache, cp, i);
	return i;
}

// Joiners and variation selectors are default ignorables HarfBuzz handles whether a
// font maps them or not (Noto Color Emoji has no U+FE0F).
static bool needs_coverage(uint32_t cp) {
	return cp != 0x200c && cp != 0x200d && !(cp >= 0xfe00 && cp <= 0xfe0f)
		&& !(cp >= 0xe0100 && cp <= 0xe01ef);
}

static bool font_has_all(struct fonts *fonts, struct font_list *list, int i,
		const uint32_t *cps, size_t n) {
	for (size_t k = 0; k < n; k++) {
		if (needs_coverage(cps[k]) && !font_has(list, i, cps[k])) {
			return false;
		}
	}
	return list_face(fonts, list, i) >= 0;
}

// Code points shown as emoji unless asked otherwise (Emoji_Presentation, roughly: the
// pictographic blocks of plane 1). Text fonts such as DejaVu Sans have some of them as
// monochrome symbols; these go to a colour font first.
static bool emoji_presentation(uint32_t cp) {
	return (cp >= 0x1f300 && cp <= 0x1f5ff) || (cp >= 0x1f600 && cp <= 0x1f64f)
		|| (cp >= 0x1f680 && cp <= 0x1f6ff) || (cp >= 0x1f900 && cp <= 0x1f9ff)
		|| (cp >= 0x1fa70 && cp <= 0x1faff) || (cp >= 0x1f1e6 && cp <= 0x1f1ff)
		|| cp == 0x1f004 || cp == 0x1f0cf || cp == 0x1f18e
		|| (cp >= 0x1f191 && cp <= 0x1f19a);
}

#define EMOJI_KEY 0x200000u // added to a code point: its colour font, in the cache

// The first colour font in @list that has all of @cps; -1 for none.
static int color_font_for(struct fonts *fonts, struct font_list *list,
		const uint32_t *cps, size_t n) {
	bool found;
	int i = n == 1 ? cache_find(&list->cache, cps[0] + EMOJI_KEY, &found) : -1;
	if (n == 1 && found) {
		return i;
	}
	i = -1;
	for (int k = 0; k < list->set->nfont && k < INT16_MAX; k++) {
		if (font_is_color(list, k) && font_has_all(fonts, list, k, cps, n)) {
			i = k;
			break;
		}
	}
	if (n == 1) {
		cache_put(&list->cache, cps[0] + EMOJI_KEY, i);
	}
	return i;
}

uint32_t fonts_cluster_face(struct fonts *fonts, struct font_list *list,
		const uint32_t *cps, size_t n) {
	assert(n > 0);
	// U+FE0F asks for emoji presentation, U+FE0E for text.
	bool emoji = emoji_presentation(cps[0]);
	for (size_t k = 1; k < n; k++) {
		emoji = cps[k] == 0xfe0f ? true : cps[k] == 0xfe0e ? false : emoji;
	}
	if (emoji) {
		int i = color_font_for(fonts, list, cps, n);
		if (i >= 0) {
			return (uint32_t)list->faces[i];
		}
	}
	int base = font_for(fonts, list, cps[0]);
	if (base >= 0 && (n == 1 || font_has_all(fonts, list, base, cps + 1, n - 1))) {
		return (uint32_t)list->faces[base];
	}
	int nfont = list->set->nfont < INT16_MAX ? list->set->nfont : INT16_MAX;
	for (int i = 0; i < nfont; i++) {
		if (i != base && font_has_all(fonts, list, i, cps, n)) {
			return (uint32_t)list->faces[i];
		}
	}
	return base >= 0 ? (uint32_t)list->faces[base] : list->primary;
}

static struct font_list *list_create(struct fonts *fonts, const char *family,
		uint16_t weight, bool italic) {
	struct font_list *list = calloc(1, sizeof *list);
	if (list == NULL) {
		return NULL;
	}
	list->family = strdup(family);
	if (list->family == NULL) {
		goto err;
	}
	list->weight = weight;
	list->italic = italic;
	FcPattern *pat = family[0] != '\0' ? FcNameParse((const FcChar8 *)family) : NULL;
	if (pat == NULL) {
		pat = FcNameParse((const FcChar8 *)"sans-serif");
		if (pat == NULL) {
			goto err;
		}
	}
	// The style's weight and slant win over any the pattern names.
	FcPatternDel(pat, FC_WEIGHT);
	FcPatternDel(pat, FC_SLANT);
	int ot = weight < 100 ? 100 : weight > 900 ? 900 : weight;
	FcPatternAddInteger(pat, FC_WEIGHT, FcWeightFromOpenType(ot));
	FcPatternAddInteger(pat, FC_SLANT, italic ? FC_SLANT_ITALIC : FC_SLANT_ROMAN);
	if (!FcConfigSubstitute(NULL, pat, FcMatchPattern)) {
		FcPatternDestroy(pat);
		goto err;
	}
	FcDefaultSubstitute(pat);
	FcResult result;
	list->set = FcFontSort(NULL, pat, FcFalse, NULL, &result);
	FcPatternDestroy(pat);
	if (list->set == NULL || list->set->nfont == 0) {
		log_error("text: fontconfig finds no font for \"%s\"", family);
		goto err;
	}
	list->faces = malloc((size_t)list->set->nfont * sizeof *list->faces);
	if (list->faces == NULL) {
		goto err;
	}
	for (int i = 0; i < list->set->nfont; i++) {
		list->faces[i] = FONT_UNLOADED;
	}
	for (int i = 0; i < list->set->nfont; i++) {
		int32_t face = list_face(fonts, list, i);
		if (face >= 0) {
			list->primary = (uint32_t)face;
			return list;
		}
	}
	log_error("text: no font for \"%s\" loads", family);
err:
	list_destroy(list);
	return NULL;
}

struct font_list *fonts_list(struct fonts *fonts, const char *family, uint16_t weight,
		bool italic) {
	if (family == NULL) {
		family = "";
	}
	for (size_t i = 0; i < fonts->list_len; i++) {
		struct font_list *list = fonts->lists[i];
		if (list->weight == weight && list->italic == italic
				&& strcmp(list->family, family) == 0) {
			memmove(&fonts->lists[1], &fonts->lists[0], i * sizeof list);
			fonts->lists[0] = list;
			return list;
		}
	}
	struct font_list *list = list_create(fonts, family, weight, italic);
	if (list == NULL) {
		return NULL;
	}
	if (fonts->list_len == FONT_LISTS) {
		list_destroy(fonts->lists[--fonts->list_len]); // its faces stay loaded
	}
	memmove(&fonts->lists[1], &fonts->lists[0], fonts->list_len * sizeof list);
	fonts->lists[0] = list;
	fonts->list_len++;
	return list;
}

// The strike of a bitmap face to scale from for @size: the smallest at least as big,
// else the biggest.
static int best_strike(const FT_Face ft, float size) {
	int best = 0;
	for (int i = 1; i < ft->num_fixed_sizes; i++) {
		float have = ft->available_sizes[best].y_ppem / 64.0f;
		float px = ft->available_sizes[i].y_ppem / 64.0f;
		if ((have < size && px > have) || (px >= size && px < have)) {
			best = i;
		}
	}
	return best;
}

static float strike_px(const struct face *face) {
	float px = face->ft->available_sizes[face->strike].y_ppem / 64.0f;
	return px > 0 ? px : 1;
}

float face_use_size(struct face *face, float size) {
	if (face->bitmap) {
		int strike = best_strike(face->ft, size);
		if (strike != face->strike) {
			if (FT_Select_Size(face->ft, strike) != 0) {
				return 0; // glyphs with no advance, rather than wrong ones
			}
			face->strike = strike;
			hb_ft_font_changed(face->hb);
		}
		return size / strike_px(face) / 64.0f;
	}
	if (size != face->size) {
		FT_Set_Char_Size(face->ft, 0, (FT_F26Dot6)lroundf(size * 64), 0, 0);
		face->size = size;
		hb_ft_font_changed(face->hb);
	}
	return 1 / 64.0f;
}

void face_metrics(struct face *face, float size, float *ascent, float *descent,
		float *height) {
	FT_Face ft = face->ft;
	if (ft->units_per_EM > 0) {
		float k = size / ft->units_per_EM;
		*ascent = ft->ascender * k;
		*descent = -ft->descender * k;
		*height = ft->height * k;
	} else {
		float k = face_use_size(face, size);
		*ascent = ft->size->metrics.ascender * k;
		*descent = -ft->size->metrics.descender * k;
		*height = ft->size->metrics.height * k;
	}
	if (*height < *ascent + *descent) {
		*height = *ascent + *descent;
	}
}

static bool copy_gray(const FT_Bitmap *bm, struct shaper_bitmap *out) {
	out->width = (int)bm->width;
	out->height = (int)bm->rows;
	out->pitch = out->width;
	if (out->width == 0 || out->height == 0) {
		return true;
	}
	out->pixels = malloc((size_t)out->width * (size_t)out->height);
	if (out->pixels == NULL) {
		return false;
	}
	int pitch = bm->pitch < 0 ? -bm->pitch : bm->pitch;
	for (int y = 0; y < out->height; y++) {
		const uint8_t *src = bm->buffer + (size_t)y * (size_t)pitch;
		uint8_t *dst = out->pixels + (size_t)y * (size_t)out->pitch;
		if (bm->pixel_mode == FT_PIXEL_MODE_MONO) {
			for (int x = 0; x < out->width; x++) {
				dst[x] = (src[x >> 3] & (0x80 >> (x & 7))) ? 255 : 0;
			}
		} else {
			memcpy(dst, src, (size_t)out->width);
		}
	}
	return true;
}

// Box-filters a premultiplied BGRA strike bitmap by @scale into RGBA.
static bool scale_bgra(const FT_Bitmap *bm, float scale, struct shaper_bitmap *out) {
	int sw = (int)bm->width, sh = (int)bm->rows;
	if (sw == 0 || sh == 0) {
		return true;
	}
	int w = (int)lroundf(sw * scale), h = (int)lroundf(sh * scale);
	w = w < 1 ? 1 : w;
	h = h < 1 ? 1 : h;
	out->width = w;
	out->height = h;
	out->pitch = w * 4;
	out->color = true;
	out->pixels = malloc((size_t)out->pitch * (size_t)h);
	if (out->pixels == NULL) {
		return false;
	}
	int pitch = bm->pitch < 0 ? -bm->pitch : bm->pitch;
	for (int y = 0; y < h; y++) {
		int y0 = (int)((int64_t)y * sh / h), y1 = (int)((int64_t)(y + 1) * sh / h);
		y1 = y1 > y0 ? y1 : y0 + 1;
		for (int x = 0; x < w; x++) {
			int x0 = (int)((int64_t)x * sw / w), x1 = (int)((int64_t)(x + 1) * sw / w);
			x1 = x1 > x0 ? x1 : x0 + 1;
			uint32_t sum[4] = {0};
			for (int sy = y0; sy < y1; sy++) {
				const uint8_t *p = bm->buffer + (size_t)sy * (size_t)pitch + (size_t)x0 * 4;
				for (int sx = x0; sx < x1; sx++, p += 4) {
					sum[0] += p[0];
					sum[1] += p[1];
					sum[2] += p[2];
					sum[3] += p[3];
				}
			}
			uint32_t n = (uint32_t)((y1 - y0) * (x1 - x0));
			uint8_t *d = out->pixels + (size_t)y * (size_t)out->pitch + (size_t)x * 4;
			d[0] = (uint8_t)((sum[2] + n / 2) / n); // B, G, R, A -> R, G, B, A
			d[1] = (uint8_t)((sum[1] + n / 2) / n);
			d[2] = (uint8_t)((sum[0] + n / 2) / n);
			d[3] = (uint8_t)((sum[3] + n / 2) / n);
		}
	}
	return true;
}

bool face_raster(struct face *face, uint32_t glyph, float size, unsigned bucket,
		struct shaper_bitmap *out) {
	*out = (struct shaper_bitmap){0};
	if (glyph >= (uint32_t)face->ft->num_glyphs) {
		return false;
	}
	face_use_size(face, size);
	FT_GlyphSlot slot = face->ft->glyph;
	if (face->bitmap) {
		if (FT_Load_Glyph(face->ft, glyph, FT_LOAD_COLOR) != 0) {
			return false;
		}
		float scale = size / strike_px(face);
		out->left = (int)lroundf(slot->bitmap_left * scale);
		out->top = (int)lroundf(slot->bitmap_top * scale);
		if (slot->bitmap.pixel_mode == FT_PIXEL_MODE_BGRA) {
			return scale_bgra(&slot->bitmap, scale, out);
		}
		return copy_gray(&slot->bitmap, out); // a grey strike, unscaled
	}
	if (FT_Load_Glyph(face->ft, glyph, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) != 0) {
		return false;
	}
	if (slot->format == FT_GLYPH_FORMAT_OUTLINE) {
		FT_Outline_Translate(&slot->outline,
			(FT_Pos)(bucket * 64 / SHAPER_SUBPIXEL_BUCKETS), 0);
	}
	if (slot->format != FT_GLYPH_FORMAT_BITMAP
			&& FT_Render_Glyph(slot, FT_RENDER_MODE_NORMAL) != 0) {
		return false;
	}
	out->left = slot->bitmap_left;
	out->top = slot->bitmap_top;
	if (slot->bitmap.pixel_mode != FT_PIXEL_MODE_GRAY
			&& slot->bitmap.pixel_mode != FT_PIXEL_MODE_MONO) {
		return false;
	}
	return copy_gray(&slot->bitmap, out);
}
