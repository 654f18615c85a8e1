/*
 * tessera-shot: saves what a running server shows as an 8-bit RGBA PNG.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tessera/client.h>

#include "common.h"

static const char *prog = "tessera-shot";

static void usage(FILE *out) {
	fprintf(out,
		"usage: %s [--socket PATH] FILE.png\n"
		"Saves the screen of a Tessera server as a PNG (FILE '-' is standard output).\n"
		"  -s, --socket PATH  the server's socket (default: $TESSERA_SOCKET,\n"
		"                     else $XDG_RUNTIME_DIR/tessera-0)\n"
		"  -h, --help         show this help\n", prog);
}

// Writes @image to @file ("-": stdout). Returns false after printing why.
static bool write_png(const struct ts_image *image, const char *file) {
	// libpng's simplified API counts the row stride in components, which for 8-bit
	// RGBA are bytes.
	if (image->stride > INT32_MAX) {
		fprintf(stderr, "%s: the screenshot's stride of %zu bytes is too large\n",
			prog, image->stride);
		return false;
	}
	png_image png = {
		.version = PNG_IMAGE_VERSION,
		.width = (png_uint_32)image->width,
		.height = (png_uint_32)image->height,
		.format = PNG_FORMAT_RGBA,
	};
	int ok;
	if (strcmp(file, "-") == 0) {
		ok = png_image_write_to_stdio(&png, stdout, 0, image->pixels,
			(png_int_32)image->stride, NULL);
		ok = ok && fflush(stdout) == 0;
	} else {
		// On failure libpng removes the partly written file itself.
		ok = png_image_write_to_file(&png, file, 0, image->pixels,
			(png_int_32)image->stride, NULL);
	}
	if (!ok) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog,
			strcmp(file, "-") == 0 ? "standard output" : file,
			png.message[0] ? png.message : "write error");
		png_image_free(&png);
		return false;
	}
	return true;
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:h", options, NULL)) != -1) {
		switch (opt) {
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
	if (argc - optind != 1) {
		fprintf(stderr, "%s: expected exactly one output file\n", prog);
		usage(stderr);
		return 2;
	}
	const char *file = argv[optind];

	struct ts_display *display = tool_connect(prog, socket_path, prog);
	if (display == NULL) {
		return 1;
	}
	struct ts_image image;
	if (ts_display_screenshot(display, &image) < 0) {
		tool_report(prog, display, "cannot take a screenshot");
		ts_display_disconnect(display);
		return 1;
	}
	ts_display_disconnect(display);

	bool ok = write_png(&image, file);
	ts_image_finish(&image);
	return ok ? 0 : 1;
}
