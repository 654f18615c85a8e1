/*
 * tessera-crash: a client that fills the screen with objects and then dies badly, in
 * one of several ways, without cleaning anything up. The server must free all of it
 * and nothing else. Used by the end-to-end tests and the cleanup benchmark, in the
 * spirit of wleird's misbehaving Wayland clients.
 *
 * It prints "ready" on stdout once the server holds every object, so a test knows
 * when to look, then waits --linger-ms and dies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <tessera/client.h>

#include "common.h"
#include "wire.h"

#define CRASH_COLOR 0xff2020ffu // opaque, saturated: easy to find in a screenshot

static const char *prog = "tessera-crash";

enum mode {
	MODE_SEGV,
	MODE_ABORT,
	MODE_KILL,
	MODE_MIDMSG,
	MODE_EXIT,
};

static const char *const mode_names[] = {
	[MODE_SEGV] = "segv",
	[MODE_ABORT] = "abort",
	[MODE_KILL] = "kill",
	[MODE_MIDMSG] = "midmsg",
	[MODE_EXIT] = "exit",
};

static void usage(FILE *out) {
	fprintf(out,
		"usage: %s --mode MODE [--objects N] [--tree] [--images N] [--texts N]\n"
		"       [--animations N] [--linger-ms MS] [--socket PATH]\n"
		"Creates N (default 100) red rectangles over the whole screen (with --tree, in\n"
		"groups of ten, each group inside the one before, 16 deep, then again from the\n"
		"top), and with --images N, N image buffers of 64 x 64 in one shared-memory pool,\n"
		"each shown by an image node, and with --texts N, N text nodes holding glyphs of\n"
		"the shared atlas, and with --animations N, N small rects turning for ever by\n"
		"server-side animations; prints \"ready\" once the server has them, waits\n"
		"MS milliseconds (default 0) and dies:\n"
		"  segv    a write through a null pointer (SIGSEGV)\n"
		"  abort   abort() (SIGABRT)\n"
		"  kill    SIGKILL to itself\n"
		"  midmsg  writes half a request to the socket, then SIGKILL\n"
		"  exit    _exit(0) without destroying or disconnecting anything\n", prog);
}

static bool parse_mode(const char *text, enum mode *mode) {
	for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++) {
		if (strcmp(text, mode_names[i]) == 0) {
			*mode = (enum mode)i;
			return true;
		}
	}
	return false;
}

// Lays @count rectangles out as a grid over @width x @height, one per cell, a pixel
// apart where the cells allow it, and sets *@first to the first one (the midmsg mode
// names it). The handles are never destroyed: that is the point.
#define TREE_GROUP 10
#define TREE_DEPTH 16

// With @tree, the group rect @i goes into: a new one for every TREE_GROUP rects, each
// inside the one before, TREE_DEPTH deep, then a new chain from the root. NULL: the root.
static struct ts_group *group_for(struct ts_display *display, unsigned long i, bool tree,
		struct ts_group **last, bool *failed) {
	if (!tree) {
		return NULL;
	}
	if (i % TREE_GROUP == 0) {
		struct ts_group *parent = (i / TREE_GROUP) % TREE_DEPTH == 0 ? NULL : *last;
		*last = ts_group_create(display, parent);
		*failed = *last == NULL;
	}
	return *last;
}

static bool fill_screen(struct ts_display *display, unsigned long count, bool tree,
		int width, int height, struct ts_rect **first) {
	if (count == 0) {
		return true;
	}
	// Roughly square cells: cols / rows follows the screen's aspect ratio.
	unsigned long cols = (unsigned long)ceil(sqrt((double)count * width / height));
	if (cols == 0) {
		cols = 1;
	}
	if (cols > count) {
		cols = count;
	}
	unsigned long rows = (count + cols - 1) / cols;
	double cell_w = (double)width / cols, cell_h = (double)height / rows;
	// Cells of 3 px or more keep a 1 px gap; smaller ones overlap at 2x2.
	uint32_t rect_w = cell_w >= 3 ? (uint32_t)cell_w - 1 : 2;
	uint32_t rect_h = cell_h >= 3 ? (uint32_t)cell_h - 1 : 2;
	struct ts_group *last = NULL;
	bool failed = false;
	for (unsigned long i = 0; i < count; i++) {
		struct ts_group *group = group_for(display, i, tree, &last, &failed);
		struct ts_rect *rect = failed ? NULL
			: group != NULL ? ts_rect_create_in(group) : ts_rect_create(display);
		if (rect == NULL) {
			return false;
		}
		*first = *first ? *first : rect;
		int32_t x = (int32_t)((i % cols) * cell_w);
		int32_t y = (int32_t)((i / cols) * cell_h);
		if (ts_rect_set_position(rect, x, y) < 0 ||
				ts_rect_set_size(rect, rect_w, rect_h) < 0 ||
				ts_rect_set_color(rect, CRASH_COLOR) < 0) {
			return false;
		}
	}
	return true;
}

static void no_core_dumps(void) {
	struct rlimit limit = { 0, 0 };
	setrlimit(RLIMIT_CORE, &limit);
}

// Sends the first half of a well-formed request straight to the socket, bypassing
// the library, so the server holds a partial message when we die.
static void write_half_message(struct ts_display *display, struct ts_rect *rect) {
	// With no rectangle the id is 1 anyway: the server never sees the whole message.
	union ts_arg args[] = {
		{ .u = rect != NULL ? ts_rect_get_id(rect) : 1 },
		{ .i = 7 },
		{ .i = 9 },
	};
	uint8_t buf[TS_MAX_MESSAGE];
	size_t size = ts_encode(buf, sizeof buf, &ts_request_interface,
		TS_REQ_node_set_position, args);
	if (size == 0 || write(ts_display_get_fd(display), buf, size / 2) < 0) {
		perror("tessera-crash: write");
	}
}

static int *volatile null_pointer;

// Under the sanitizers the store must stay a plain store: UBSan would report it and,
// with halt_on_error, exit or abort before the fault happens.
__attribute__((no_sanitize("undefined", "address")))
static void segfault(void) {
	no_core_dumps();
	// A sanitizer's SIGSEGV handler would turn the crash into an orderly exit.
	signal(SIGSEGV, SIG_DFL);
	*null_pointer = 1;
	raise(SIGSEGV); // not reached
}

// @count image buffers of IMAGE_SIDE x IMAGE_SIDE pixels in one pool, filled with the
// crash colour, each shown by an image node, tiled over the screen. The pool's memory
// stays mapped here (it goes with the process).
#define IMAGE_SIDE 64
static bool show_images(struct ts_display *display, unsigned long count, int width) {
	if (count == 0) {
		return true;
	}
	size_t one = (size_t)IMAGE_SIDE * IMAGE_SIDE * 4;
	struct ts_shm_pool *pool = ts_shm_pool_create(display, one * count);
	if (pool == NULL) {
		return false;
	}
	uint8_t *data = ts_shm_pool_data(pool);
	for (size_t i = 0; i < one * count; i += 4) {
		data[i] = (uint8_t)(CRASH_COLOR >> 24);
		data[i + 1] = (uint8_t)(CRASH_COLOR >> 16);
		data[i + 2] = (uint8_t)(CRASH_COLOR >> 8);
		data[i + 3] = (uint8_t)CRASH_COLOR;
	}
	int across = width / IMAGE_SIDE > 0 ? width / IMAGE_SIDE : 1;
	for (unsigned long i = 0; i < count; i++) {
		struct ts_buffer *buffer = ts_buffer_create(pool, (uint32_t)(i * one), IMAGE_SIDE,
			IMAGE_SIDE, IMAGE_SIDE * 4, TS_FORMAT_RGBA8);
		struct ts_image_node *image = ts_image_node_create(display, NULL);
		if (buffer == NULL || image == NULL || ts_image_node_set_buffer(image, buffer) < 0 ||
				ts_node_set_position(ts_image_node_node(image),
					(double)(i % (unsigned long)across) * IMAGE_SIDE,
					(double)(i / (unsigned long)across) * IMAGE_SIDE) < 0) {
			return false;
		}
	}
	return true;
}

// @count text nodes in the crash colour, each with a few distinct CJK characters as well
// as Latin, so that the client dies holding glyphs of the shared atlas, some only its own.
static bool show_texts(struct ts_display *display, unsigned long count, int width,
		int height) {
	for (unsigned long i = 0; i < count; i++) {
		char utf8[128];
		int len = snprintf(utf8, sizeof utf8, "crash %lu ", i);
		for (unsigned k = 0; k < 4 && len + 3 < (int)sizeof utf8; k++) {
			uint32_t cp = 0x4e00 + (uint32_t)((i * 4 + k) % 0x5000);
			utf8[len++] = (char)(0xe0 | cp >> 12);
			utf8[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			utf8[len++] = (char)(0x80 | (cp & 0x3f));
		}
		struct ts_text *text = ts_text_create(display, NULL);
		if (text == NULL || ts_text_set_string(text, utf8, (size_t)len) < 0 ||
				ts_text_set_color(text, CRASH_COLOR) < 0 ||
				ts_node_set_position(ts_text_node(text), (double)(i * 37 % (unsigned long)width),
					(double)(i * 23 % (unsigned long)height)) < 0) {
			return false;
		}
	}
	return true;
}

// @count 8 x 8 rects in the crash colour, each turning for ever (a server-side
// animation), so that the client dies with that many animations running.
static bool show_animations(struct ts_display *display, unsigned long count, int width,
		int height) {
	for (unsigned long i = 0; i < count; i++) {
		struct ts_rect *r = ts_rect_create(display);
		if (r == NULL || ts_rect_set_size(r, 8, 8) < 0 ||
				ts_rect_set_color(r, CRASH_COLOR) < 0 ||
				ts_rect_set_position(r, (int32_t)(i * 13 % (unsigned long)width),
					(int32_t)(i * 7 % (unsigned long)height)) < 0) {
			return false;
		}
		struct ts_animation *a = ts_animate(ts_rect_node(r), TS_PROP_ROTATION, 360, 0, 0,
			1000, TS_EASE_LINEAR);
		if (a == NULL || ts_animation_set_timing(a, 0, 0, false) < 0) {
			return false;
		}
	}
	return true;
}

static void die(enum mode mode, struct ts_display *display, struct ts_rect *first) {
	switch (mode) {
	case MODE_SEGV:
		segfault();
		break;
	case MODE_ABORT:
		no_core_dumps();
		abort();
	case MODE_KILL:
		kill(getpid(), SIGKILL);
		break;
	case MODE_MIDMSG:
		write_half_message(display, first);
		kill(getpid(), SIGKILL);
		break;
	case MODE_EXIT:
		// _exit: no atexit handlers, no stdio flush, no leak checker; just gone.
		_exit(0);
	}
	_exit(3); // not reached
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "objects", required_argument, NULL, 'n' },
		{ "linger-ms", required_argument, NULL, 'l' },
		{ "tree", no_argument, NULL, 't' },
		{ "images", required_argument, NULL, 'i' },
		{ "texts", required_argument, NULL, 'x' },
		{ "animations", required_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	bool have_mode = false;
	enum mode mode = MODE_KILL;
	unsigned long objects = 100, linger_ms = 0, images = 0, texts = 0, animations = 0;
	bool tree = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "m:n:l:ti:x:a:s:h", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (!parse_mode(optarg, &mode)) {
				fprintf(stderr, "%s: unknown mode '%s'\n", prog, optarg);
				usage(stderr);
				return 2;
			}
			have_mode = true;
			break;
		case 'n':
			if (!tool_parse_ulong(optarg, 0, TS_MAX_ID, &objects)) {
				fprintf(stderr, "%s: --objects wants a number from 0 to %u\n",
					prog, TS_MAX_ID);
				return 2;
			}
			break;
		case 'l':
			if (!tool_parse_ulong(optarg, 0, 86400000, &linger_ms)) {
				fprintf(stderr, "%s: --linger-ms wants a number of milliseconds\n", prog);
				return 2;
			}
			break;
		case 't':
			tree = true;
			break;
		case 'i':
			if (!tool_parse_ulong(optarg, 0, 4096, &images)) {
				fprintf(stderr, "%s: --images wants a number from 0 to 4096\n", prog);
				return 2;
			}
			break;
		case 'x':
			if (!tool_parse_ulong(optarg, 0, 4096, &texts)) {
				fprintf(stderr, "%s: --texts wants a number from 0 to 4096\n", prog);
				return 2;
			}
			break;
		case 'a':
			if (!tool_parse_ulong(optarg, 0, 30000, &animations)) {
				fprintf(stderr, "%s: --animations wants a number from 0 to 30000\n", prog);
				return 2;
			}
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_mode || optind != argc) {
		fprintf(stderr, "%s: %s\n", prog,
			have_mode ? "unexpected argument" : "--mode is required");
		usage(stderr);
		return 2;
	}

	struct ts_display *display = tool_connect(prog, socket_path, prog);
	if (display == NULL) {
		return 1;
	}
	int width, height;
	ts_display_get_size(display, &width, &height);
	if (width <= 0 || height <= 0) {
		width = height = 1;
	}
	struct ts_rect *first = NULL;
	if (!fill_screen(display, objects, tree, width, height, &first) ||
			!show_images(display, images, width) ||
			!show_texts(display, texts, width, height) ||
			!show_animations(display, animations, width, height) ||
			ts_display_commit(display) < 0 ||
			ts_display_roundtrip(display) < 0) {
		tool_report(prog, display, "cannot create the objects");
		ts_display_disconnect(display);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	struct timespec linger = {
		.tv_sec = (time_t)(linger_ms / 1000),
		.tv_nsec = (long)(linger_ms % 1000) * 1000000,
	};
	while (nanosleep(&linger, &linger) < 0 && errno == EINTR) {
		// Interrupted: sleep the rest.
	}
	die(mode, display, first);
	return 3;
}
