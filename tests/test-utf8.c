/*
 * Unit tests of the UTF-8 decoder (server/text/utf8.h): every well-formed sequence at
 * the edges of its range decodes; each kind of ill-formed input (overlong forms,
 * surrogates, code points past U+10FFFF, bytes that start nothing, stray continuation
 * bytes, sequences cut short at the end or in the middle) becomes exactly as many
 * U+FFFD as the maximal-subpart practice says; offsets point at each code point's first
 * byte; a small cap still counts everything and writes nothing past it; and random
 * bytes never decode to more code points than bytes, nor to anything but scalar values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define FFFD UTF8_REPLACEMENT

// Decodes @len bytes and checks the code points are @want[0 .. @n).
static void expect(const char *bytes, size_t len, const uint32_t *want, size_t n) {
	uint32_t out[64], offs[64];
	assert_true(n <= 64 && len <= 64);
	size_t got = utf8_decode((const uint8_t *)bytes, len, out, offs, 64);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i], want[i]);
	}
}

#define EXPECT(bytes, ...) do { \
		static const uint32_t want_[] = { __VA_ARGS__ }; \
		expect(bytes, sizeof bytes - 1, want_, sizeof want_ / sizeof want_[0]); \
	} while (0)

static void test_valid(void **state) {
	(void)state;
	EXPECT("a", 'a');
	EXPECT("a\0b", 'a', 0, 'b');
	EXPECT("\xc2\x80", 0x80);
	EXPECT("\xdf\xbf", 0x7ff);
	EXPECT("\xe0\xa0\x80", 0x800);
	EXPECT("\xed\x9f\xbf", 0xd7ff);   // the last before the surrogates
	EXPECT("\xee\x80\x80", 0xe000);   // the first after them
	EXPECT("\xef\xbf\xbf", 0xffff);
	EXPECT("\xf0\x90\x80\x80", 0x10000);
	EXPECT("\xf4\x8f\xbf\xbf", 0x10ffff);
	EXPECT("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 'a', 0xe9, 0x20ac, 0x1f600);
	EXPECT("\xef\xbf\xbd", FFFD); // a real U+FFFD is just a code point
}

static void test_overlong(void **state) {
	(void)state;
	// C0 and C1 start nothing; E0 and F0 need a second byte past the overlong range,
	// so each byte is its own maximal subpart.
	EXPECT("\xc0\x80", FFFD, FFFD);
	EXPECT("\xc1\xbf", FFFD, FFFD);
	EXPECT("\xe0\x80\x80", FFFD, FFFD, FFFD);
	EXPECT("\xe0\x9f\xbf", FFFD, FFFD, FFFD);
	EXPECT("\xf0\x80\x80\x80", FFFD, FFFD, FFFD, FFFD);
	EXPECT("\xf0\x8f\xbf\xbf", FFFD, FFFD, FFFD, FFFD);
	EXPECT("a\xc0\xafz", 'a', FFFD, FFFD, 'z'); // the overlong '/'
}

static void test_surrogates(void **state) {
	(void)state;
	EXPECT("\xed\xa0\x80", FFFD, FFFD, FFFD);
	EXPECT("\xed\xbf\xbf", FFFD, FFFD, FFFD);
	EXPECT("\xed\xa0\xbd\xed\xb8\x80", FFFD, FFFD, FFFD, FFFD, FFFD, FFFD); // CESU-8
}

static void test_beyond_max(void **state) {
	(void)state;
	EXPECT("\xf4\x90\x80\x80", FFFD, FFFD, FFFD, FFFD);
	EXPECT("\xf5\x80\x80\x80", FFFD, FFFD, FFFD, FFFD);
	EXPECT("\xf7\xbf\xbf\xbf", FFFD, FFFD, FFFD, FFFD);
	EXPECT("\xf8\x88\x80\x80\x80", FFFD, FFFD, FFFD, FFFD, FFFD);
	EXPECT("\xfc\x84\x80\x80\x80\x80", FFFD, FFFD, FFFD, FFFD, FFFD, FFFD);
	EXPECT("\xfe", FFFD);
	EXPECT("\xff", FFFD);
	EXPECT("\xfe\xff", FFFD, FFFD);
}

static void test_stray_continuation(void **state) {
	(void)state;
	EXPECT("\x80", FFFD);
	EXPECT("\xbf", FFFD);
	EXPECT("a\x80\xbf" "b", 'a', FFFD, FFFD, 'b');
	EXPECT("\xc3\xa9\xa9", 0xe9, FFFD);
	EXPECT("\xf0\x9f\x98\x80\x80", 0x1f600, FFFD);
}

static void test_truncated(void **state) {
	(void)state;
	// At the end: one U+FFFD for the whole prefix.
	EXPECT("\xc3", FFFD);
	EXPECT("\xe2\x82", FFFD);
	EXPECT("\xf0\x90\x80", FFFD);
	EXPECT("a\xf0\x9f\x98", 'a', FFFD);
	// In the middle: the prefix is one U+FFFD and the byte that broke it starts over.
	EXPECT("\xe1\x80\x41", FFFD, 'A');
	EXPECT("\xf0\x90\x80\x41", FFFD, 'A');
	EXPECT("\xe2\x28\xa1", FFFD, '(', FFFD);
	EXPECT("\xc3\xc3\xa9", FFFD, 0xe9);
	EXPECT("\xe2\x82\xf0\x9f\x98\x80", FFFD, 0x1f600);
	// The example of the Unicode Standard's "U+FFFD Substitution of Maximal Subparts".
	EXPECT("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
		'a', FFFD, FFFD, FFFD, 'b', FFFD, 'c', FFFD, FFFD, 'd');
}

static void test_never_reads_past_len(void **state) {
	(void)state;
	// The byte after @len would complete the sequence: it must not be seen.
	const uint8_t euro[] = { 0xe2, 0x82, 0xac };
	uint32_t out[4];
	assert_int_equal(utf8_decode(euro, 2, out, NULL, 4), 1);
	assert_int_equal(out[0], FFFD);
	assert_int_equal(utf8_decode(euro, 3, out, NULL, 4), 1);
	assert_int_equal(out[0], 0x20ac);
	assert_int_equal(utf8_decode(euro, 0, out, NULL, 4), 0);
	assert_int_equal(utf8_decode(NULL, 0, NULL, NULL, 0), 0);
}

static void test_offsets(void **state) {
	(void)state;
	const char *s = "a\xe1\x80" "A\xe2\x82\xac\xff\xf0\x9f\x98\x80";
	uint32_t out[16], offs[16];
	size_t n = utf8_decode((const uint8_t *)s, strlen(s), out, offs, 16);
	assert_int_equal(n, 6);
	static const uint32_t want_cp[] = { 'a', FFFD, 'A', 0x20ac, FFFD, 0x1f600 };
	static const uint32_t want_off[] = { 0, 1, 3, 4, 7, 8 };
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i], want_cp[i]);
		assert_int_equal(offs[i], want_off[i]);
	}
	// Offsets alone.
	memset(offs, 0xab, sizeof offs);
	assert_int_equal(utf8_decode((const uint8_t *)s, strlen(s), NULL, offs, 16), 6);
	assert_int_equal(offs[5], 8);
}

static void test_cap(void **state) {
	(void)state;
	const char *s = "ab\xc3\xa9" "d";
	uint32_t out[4], offs[4];
	memset(out, 0x5a, sizeof out);
	memset(offs, 0x5a, sizeof offs);
	assert_int_equal(utf8_decode((const uint8_t *)s, strlen(s), out, offs, 2), 4);
	assert_int_equal(out[0], 'a');
	assert_int_equal(out[1], 'b');
	assert_int_equal(offs[1], 1);
	assert_int_equal(out[2], 0x5a5a5a5a); // untouched past the cap
	assert_int_equal(offs[2], 0x5a5a5a5a);
	assert_int_equal(utf8_decode((const uint8_t *)s, strlen(s), NULL, NULL, 0), 4);
	assert_int_equal(utf8_decode((const uint8_t *)"\xff\xff\xff", 3, out, NULL, 1), 3);
	assert_int_equal(out[0], FFFD);
	assert_int_equal(out[1], 'b');
}

static size_t encode(uint32_t cp, uint8_t *p) {
	if (cp < 0x80) {
		p[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (uint8_t)(0xc0 | cp >> 6);
		p[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (uint8_t)(0xe0 | cp >> 12);
		p[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (uint8_t)(0xf0 | cp >> 18);
	p[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

static void test_round_trip(void **state) {
	(void)state;
	srand(1);
	uint8_t buf[4 * 256];
	uint32_t cps[256], out[256], offs[256];
	for (int iter = 0; iter < 200; iter++) {
		size_t len = 0;
		for (int i = 0; i < 256; i++) {
			uint32_t cp;
			do {
				cp = (uint32_t)rand() % 0x110000;
			} while (cp >= 0xd800 && cp <= 0xdfff);
			cps[i] = cp;
			len += encode(cp, buf + len);
		}
		assert_int_equal(utf8_decode(buf, len, out, offs, 256), 256);
		size_t at = 0;
		for (int i = 0; i < 256; i++) {
			assert_int_equal(out[i], cps[i]);
			assert_int_equal(offs[i], at);
			at += encode(cps[i], buf + at);
		}
	}
}

static void test_random_bytes(void **state) {
	(void)state;
	srand(2);
	uint8_t buf[64];
	uint32_t out[64], offs[64];
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)rand() % sizeof buf;
		for (size_t i = 0; i < len; i++) {
			// Mostly bytes of the interesting high half.
			buf[i] = (uint8_t)(rand() % 4 ? 0x80 + rand() % 128 : rand() % 256);
		}
		size_t n = utf8_decode(buf, len, out, offs, 64);
		assert_true(n <= len);
		for (size_t i = 0; i < n; i++) {
			assert_true(out[i] <= 0x10ffff);
			assert_false(out[i] >= 0xd800 && out[i] <= 0xdfff);
			assert_true(offs[i] < len);
			if (i > 0) {
				assert_true(offs[i] > offs[i - 1]);
				assert_true(offs[i] - offs[i - 1] <= 4);
			}
		}
		assert_true(n == 0 || offs[0] == 0);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_surrogates),
		cmocka_unit_test(test_beyond_max),
		cmocka_unit_test(test_stray_continuation),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_never_reads_past_len),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
