/*
 * tessera-demo-image: shows a PNG file. libtessera decodes it (ts_image_load_png) into
 * premultiplied RGBA8 in a shared-memory buffer, and one image node shows it centred on
 * the output, scaled down to fit when it is larger (never up). It stays until the
 * server goes or the demo is interrupted; --seconds S leaves after S seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tessera/client.h>
#include <tessera/image.h>

#include "common.h"

static const char *prog = "tessera-demo-image";

static void usage(FILE *out) {
	fprintf(out, "usage: %s [--socket PATH] [--seconds S] FILE.png\n"
		"Shows FILE.png centred on the output, scaled down to fit.\n", prog);
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
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	const char *path = argv[optind];
	struct ts_pixels png;
	int rc = ts_image_load_png(path, &png);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s (%s)\n", prog, path, strerror(-rc), ts_image_error());
		return 1;
	}
	struct ts_display *display = tool_connect(prog, socket_path, prog);
	if (display == NULL) {
		ts_pixels_free(&png);
		return 1;
	}
	struct ts_buffer *buffer = ts_buffer_create_shm(display, png.width, png.height,
		TS_FORMAT_RGBA8);
	struct ts_image_node *image = buffer ? ts_image_node_create(display, NULL) : NULL;
	if (image == NULL) {
		tool_report(prog, display, "cannot make the image");
		ts_pixels_free(&png);
		ts_display_disconnect(display);
		return 1;
	}
	uint8_t *data = ts_buffer_data(buffer);
	for (uint32_t y = 0; y < png.height; y++) {
		memcpy(data + (size_t)y * ts_buffer_get_stride(buffer),
			png.data + (size_t)y * png.stride, (size_t)png.width * 4);
	}
	int width, height;
	ts_display_get_size(display, &width, &height);
	double scale = 1.0;
	if (png.width > (uint32_t)width || png.height > (uint32_t)height) {
		double sx = (double)width / png.width, sy = (double)height / png.height;
		scale = sx < sy ? sx : sy;
	}
	double w = png.width * scale, h = png.height * scale;
	struct ts_node *node = ts_image_node_node(image);
	ts_pixels_free(&png);
	if (ts_image_node_set_buffer(image, buffer) < 0 || ts_node_set_size(node, w, h) < 0 ||
			ts_node_set_position(node, (width - w) / 2, (height - h) / 2) < 0 ||
			ts_display_commit(display) < 0 || ts_display_roundtrip(display) < 0) {
		tool_report(prog, display, "the server refused the image");
		ts_display_disconnect(display);
		return 1;
	}
	rc = tool_wait(display, seconds);
	if (rc < 0 && seconds == 0 && ts_display_get_error(display) == EPIPE) {
		rc = 0; // the server went: that is how this demo ends
	}
	if (rc < 0) {
		tool_report(prog, display, "lost the server");
	}
	ts_display_disconnect(display);
	return rc < 0 ? 1 : 0;
}
