/*
 * tessera-demo-text: a page of text in many scripts, laid out by the server. Latin with
 * ligatures and kerning, Arabic and Hebrew (right to left, so they start at the right),
 * Devanagari (reordered vowel signs), Chinese and Japanese (from a fallback font), and
 * emoji (colour glyphs), each paragraph wrapped to a column and aligned start, centre
 * or end; a title measured with ts_text_measure and centred by its measured width. It
 * stays until the server goes or the demo is interrupted; --seconds S leaves after S.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tessera/client.h>

#include "common.h"

static const char *prog = "tessera-demo-text";

struct paragraph {
	const char *label;
	const char *text;
	enum ts_align align;
	uint32_t rgba;
};

static const struct paragraph page[] = {
	{ "Latin", "Office affinity: fluffy waffles, fjords and “quotes” — kerning in AV, To, "
		"Wa; ligatures in fi, fl, ffi. Combining marks: e\xcc\x81, n\xcc\x83.",
		TS_ALIGN_START, 0xf0f0f0ff },
	{ "Arabic", "مرحبا بالعالم! النص العربي يبدأ من اليمين، والحروف تتصل ببعضها.",
		TS_ALIGN_START, 0xffd27aff },
	{ "Hebrew", "שלום עולם! עברית נכתבת מימין לשמאל, עם 123 מספרים באמצע.",
		TS_ALIGN_START, 0x9ad0ffff },
	{ "Devanagari", "नमस्ते दुनिया। हिन्दी में मात्राएँ जैसे कि और की सही जगह पर दिखती हैं।",
		TS_ALIGN_CENTER, 0xffa0c8ff },
	{ "CJK", "你好，世界！中文和日本語のテキストは、フォールバックフォントで表示されます。",
		TS_ALIGN_CENTER, 0xb8ffb0ff },
	{ "Emoji", "Colour glyphs: 😀 🎉 🚀 🌍 ❤️ 👍", TS_ALIGN_END, 0xffffffff },
};

static struct ts_text *make_text(struct ts_display *display, const char *utf8, double size,
		unsigned weight, uint32_t rgba, double wrap, enum ts_align align) {
	struct ts_text *text = ts_text_create(display, NULL);
	if (text == NULL || ts_text_set_string(text, utf8, strlen(utf8)) < 0 ||
			ts_text_set_font(text, NULL, size, weight, false) < 0 ||
			ts_text_set_color(text, rgba) < 0 ||
			ts_text_set_layout(text, wrap, align, 0, 0) < 0) {
		return NULL;
	}
	return text;
}

static bool build(struct ts_display *display, int width, int height) {
	struct ts_rect *panel = ts_rect_create(display);
	if (panel == NULL || ts_rect_set_color(panel, 0x20242cff) < 0 ||
			ts_rect_set_position(panel, 0, 0) < 0 ||
			ts_rect_set_size(panel, (uint32_t)width, (uint32_t)height) < 0) {
		return false;
	}
	double margin = width / 16.0, column = width - 2 * margin;
	double size = height / 30.0 < 14 ? 14 : height / 30.0;
	// The title, centred by its measured width.
	struct ts_text *title = make_text(display, "Tessera: text in every script", size * 1.6,
		700, 0xffffffff, 0, TS_ALIGN_START);
	struct ts_text_metrics m;
	if (title == NULL || ts_text_measure(title, &m) < 0) {
		return false;
	}
	double y = margin / 2;
	ts_node_set_position(ts_text_node(title), (width - m.width) / 2, y);
	y += m.height + size;
	ts_text_metrics_finish(&m);
	for (size_t i = 0; i < sizeof page / sizeof page[0]; i++) {
		const struct paragraph *p = &page[i];
		struct ts_text *label = make_text(display, p->label, size * 0.7, 700, 0x8890a0ff, 0,
			TS_ALIGN_START);
		struct ts_text *body = make_text(display, p->text, size, 400, p->rgba, column,
			p->align);
		if (label == NULL || body == NULL || ts_text_measure(body, &m) < 0) {
			return false;
		}
		ts_node_set_position(ts_text_node(label), margin, y);
		y += size;
		ts_node_set_position(ts_text_node(body), margin, y);
		y += m.height + size * 0.6;
		ts_text_metrics_finish(&m);
	}
	return ts_display_commit(display) == 0 && ts_display_roundtrip(display) == 0;
}

static void usage(FILE *out) {
	fprintf(out, "usage: %s [--socket PATH] [--seconds S]\n"
		"Shows a page of text in Latin, Arabic, Hebrew, Devanagari, CJK and emoji.\n", prog);
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	unsigned long seconds = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:t:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			if (!tool_parse_ulong(optarg, 1, 86400, &seconds)) {
				fprintf(stderr, "%s: --seconds wants 1 to 86400\n", prog);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	struct ts_display *display = tool_connect(prog, socket_path, prog);
	if (display == NULL) {
		return 1;
	}
	int width, height;
	ts_display_get_size(display, &width, &height);
	if (!build(display, width, height)) {
		tool_report(prog, display, "the server refused the page");
		ts_display_disconnect(display);
		return 1;
	}
	int rc = tool_wait(display, seconds);
	if (rc < 0 && seconds == 0 && ts_display_get_error(display) == EPIPE) {
		rc = 0; // the server went: that is how this demo ends
	}
	if (rc < 0) {
		tool_report(prog, display, "lost the server");
	}
	ts_display_disconnect(display);
	return rc < 0 ? 1 : 0;
}
