/*
 * UTF-8 from clients, decoded without trusting a byte of it. Invalid input becomes
 * U+FFFD REPLACEMENT CHARACTER by the "maximal subpart" practice of the Unicode
 * Standard (chapter 3, "U+FFFD Substitution of Maximal Subparts", as WHATWG's decoder
 * does): each maximal subpart of an ill-formed sequence (the longest prefix of a
 * well-formed sequence, or a single byte that starts none) becomes one U+FFFD. So
 * overlong forms (C0 80, E0 80 80), surrogates (ED A0 80), code points past U+10FFFF
 * (F4 90 80 80), stray continuation bytes and truncated sequences each become U+FFFD
 * per byte or per subpart, never a crash and never a read past @len.
 */
#ifndef TESSERA_UTF8_H
#define TESSERA_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xfffdu

/**
 * Decodes the @len bytes at @s. Writes each code point to @out[i] and the byte offset
 * where it starts in @s to @offsets[i] (either may be NULL), at most @cap of them.
 * Returns the number of code points the whole input decodes to (which is never more
 * than @len), even when that is more than @cap.
 */
size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *out, uint32_t *offsets,
	size_t cap);

#endif
