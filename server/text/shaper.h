/*
 * Text shaping and rasterising: fontconfig finds fonts, HarfBuzz shapes, FriBiDi
 * orders, FreeType draws. A shaper owns every FreeType and HarfBuzz object it makes,
 * and is used by one thread at a time (the text worker's, worker.c): nothing here
 * touches GL, the scene or a client.
 *
 * Faces: a face is a font file (and index in it) at no particular size; the shaper
 * numbers its faces from 0 in the order it loads them, and a number stays valid for the
 * shaper's life, so glyph keys (face, glyph id, size, subpixel bucket) name the same
 * glyph for as long as the shaper lives.
 *
 * Layout: the string is split into paragraphs at U+000A; each paragraph gets its base
 * direction from its first strong character (FriBiDi's P2/P3), embedding levels, and is
 * cut into runs of one level, one script (Common and Inherited characters join their
 * neighbours) and one face: the style's font where it has the character, else the first
 * font fontconfig's fallback list for the pattern has it in (a whole cluster, base and
 * marks, stays in one face). Each run is shaped with HarfBuzz in its direction and
 * script. Lines break at break opportunities (after spaces, around CJK ideographs, a
 * word longer than the wrap width breaks between clusters), then each line's runs are
 * put in visual order (rule L2). Alignment: start is the paragraph's start side (left
 * for left-to-right, right for right-to-left), centre, end. With max_lines, a text cut
 * short ends its last line with U+2026 HORIZONTAL ELLIPSIS, within the wrap width.
 *
 * Details: the empty string has no lines; otherwise every paragraph has at least one
 * line, so "a\n" has two and "\n" two empty ones. A line's trailing spaces are not on
 * it (no glyphs, no width) and never push it past the wrap width; tabs are shaped as
 * spaces. Line i's box is top round(i * line height), height the line height, and its
 * baseline round(ascent) below the top, the ascent of the style's first font: baselines
 * are on whole pixels, glyph x positions are not. Nothing is hinted (the same
 * FT_LOAD_NO_HINTING outlines shape and rasterise), nothing is synthesised: a family
 * with no bold or italic face shows its regular one.
 */
#ifndef TESSERA_SHAPER_H
#define TESSERA_SHAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHAPER_SUBPIXEL_BUCKETS 4   // glyph positions are rasterised at x + k/4 px
#define SHAPER_MIN_SIZE 1.0f
#define SHAPER_MAX_SIZE 200.0f      // pixels: a glyph must fit an atlas plot (256 px)

enum shaper_align {
	SHAPER_ALIGN_START = 0,
	SHAPER_ALIGN_CENTER = 1,
	SHAPER_ALIGN_END = 2,
};

/** How a text is to be laid out (PROTOCOL.md, text_set_*). */
struct shaper_style {
	const char *family;   // a fontconfig pattern, "" or NULL: "sans-serif"
	float size;           // pixel size, SHAPER_MIN_SIZE to SHAPER_MAX_SIZE
	uint16_t weight;      // 100 (thin) to 900 (black); 400 regular, 700 bold
	bool italic;
	float wrap_width;     // pixels; 0: lines break only at U+000A
	uint8_t align;        // enum shaper_align
	float line_height;    // pixels from one baseline to the next; 0: the font's
	uint32_t max_lines;   // 0: no limit
};

/** One positioned glyph. */
struct shaper_glyph {
	uint32_t face;        // the shaper's face number
	uint32_t glyph;       // glyph id in that face
	float x, y;           // its origin on the baseline, pixels from the layout's top-left
	uint32_t cluster;     // byte offset in the string of the character(s) it shows
};

/** One line, in the layout's pixels (y down from the layout's top). */
struct shaper_line {
	float x, width;       // where the line's advance box starts (ink may overhang a
	                      // little, a mark's say), and its advance width
	float top, height;    // the line box
	float baseline;       // y of its baseline
	uint32_t first, count;// its glyphs: glyphs[first .. first + count), left to right
	bool rtl;             // its paragraph's base direction
};

struct shaper_layout {
	struct shaper_glyph *glyphs;
	size_t glyph_len;
	struct shaper_line *lines;
	size_t line_len;
	float width, height;  // the box every line fits in (width: the wrap width when
	                      // set, else the widest line; height: the lines' boxes)
	float baseline;       // the first line's baseline, from the top (0 with no lines)
	float size;           // the style's pixel size (the glyphs' key)
	bool truncated;       // max_lines cut the text (an ellipsis ends the last line),
	                      // which had more lines or paragraphs, even empty ones
};

/** A rasterised glyph: coverage (A8) or premultiplied colour (RGBA8). */
struct shaper_bitmap {
	uint8_t *pixels;      // malloc'd; NULL for a glyph with no pixels (a space)
	int width, height, pitch;  // texels; bytes per row
	int left, top;        // from the pen position (whole pixels, bucket applied) to the
	                      // bitmap's top-left: x + left, baseline - top
	bool color;           // RGBA8 premultiplied (colour emoji) rather than A8
};

struct shaper;

/**
 * A shaper with its own FreeType library and the fontconfig configuration. Returns NULL
 * (logged) when FreeType or fontconfig cannot start, or no font is installed at all.
 */
struct shaper *shaper_create(void);

/**
 * Frees every face and font; NULL is fine. The last shaper to go also frees
 * fontconfig's caches (FcFini): nothing else in the process may be using fontconfig.
 */
void shaper_destroy(struct shaper *shaper);

/**
 * Lays out the @len bytes of UTF-8 at @utf8 (invalid bytes become U+FFFD, utf8.h) in
 * @style into @out, which it fills (free it with shaper_layout_finish). Returns false
 * only when memory cannot be had (then @out is empty).
 */
bool shaper_layout(struct shaper *shaper, const uint8_t *utf8, size_t len,
	const struct shaper_style *style, struct shaper_layout *out);

void shaper_layout_finish(struct shaper_layout *layout);

/**
 * Rasterises glyph @glyph of face @face at pixel size @size, its origin moved right by
 * @bucket / SHAPER_SUBPIXEL_BUCKETS of a pixel, into @out (pixels malloc'd; free them).
 * Colour glyphs (a bitmap strike such as Noto Color Emoji's) are scaled to @size and
 * land on whole pixels whatever the bucket. @bucket < SHAPER_SUBPIXEL_BUCKETS (a bug
 * otherwise: asserted). Returns false for an unknown face or glyph, or no memory.
 */
bool shaper_raster(struct shaper *shaper, uint32_t face, uint32_t glyph, float size,
	unsigned bucket, struct shaper_bitmap *out);

/** Faces loaded so far, and the file of one (for tessera-info and tests). */
size_t shaper_face_count(const struct shaper *shaper);
const char *shaper_face_file(const struct shaper *shaper, uint32_t face);

#endif
