/*
 * A UTF-8 decoder for untrusted bytes (utf8.h). It follows the table of well-formed
 * byte sequences (Unicode Standard, table 3-7): the first byte says how many
 * continuation bytes follow and the range the second one must lie in (narrower after
 * E0, ED, F0 and F4, which is what rules out overlong forms, surrogates and code points
 * past U+10FFFF); every later continuation byte is 80..BF. A sequence that goes wrong
 * becomes one U+FFFD for the bytes taken so far (its maximal subpart), and decoding
 * resumes at the byte that did not fit.
 */
#include "utf8.h"

// The range the second byte of a sequence that starts with @lead must be in, and how
// many continuation bytes follow @lead; 0 for a byte that starts no sequence.
static unsigned sequence(uint8_t lead, uint8_t *lo, uint8_t *hi) {
	*lo = 0x80;
	*hi = 0xbf;
	if (lead >= 0xc2 && lead <= 0xdf) {
		return 1;
	}
	if (lead >= 0xe0 && lead <= 0xef) {
		if (lead == 0xe0) {
			*lo = 0xa0; // below: overlong
		} else if (lead == 0xed) {
			*hi = 0x9f; // above: surrogates
		}
		return 2;
	}
	if (lead >= 0xf0 && lead <= 0xf4) {
		if (lead == 0xf0) {
			*lo = 0x90; // below: overlong
		} else if (lead == 0xf4) {
			*hi = 0x8f; // above: past U+10FFFF
		}
		return 3;
	}
	return 0; // 80..BF (stray continuation), C0, C1 (overlong), F5..FF
}

size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *out, uint32_t *offsets,
		size_t cap) {
	size_t count = 0, i = 0;
	while (i < len) {
		size_t start = i;
		uint8_t b = s[i++];
		uint32_t cp;
		if (b < 0x80) {
			cp = b;
		} else {
			uint8_t lo, hi;
			unsigned need = sequence(b, &lo, &hi);
			cp = b & (0x3f >> need);
			unsigned got = 0;
			while (got < need && i < len && s[i] >= lo && s[i] <= hi) {
				cp = cp << 6 | (s[i] & 0x3f);
				i++;
				got++;
				lo = 0x80;
				hi = 0xbf;
			}
			if (need == 0 || got < need) {
				cp = UTF8_REPLACEMENT; // s[i] (if any) starts the next attempt
			}
		}
		if (count < cap) {
			if (out != NULL) {
				out[count] = cp;
			}
			if (offsets != NULL) {
				offsets[count] = (uint32_t)start;
			}
		}
		count++;
	}
	return count;
}
