/*
 * tessera-info: lists the clients of a running server, as a table or as one JSON
 * object (for scripts and the end-to-end tests).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tessera/client.h>

#include "common.h"

static const char *prog = "tessera-info";

static void usage(FILE *out) {
	fprintf(out,
		"usage: %s [--socket PATH] [--json]\n"
		"Lists the clients connected to a Tessera server.\n"
		"  -s, --socket PATH  the server's socket (default: $TESSERA_SOCKET,\n"
		"                     else $XDG_RUNTIME_DIR/tessera-0)\n"
		"  -j, --json         print one JSON object instead of a table\n"
		"  -h, --help         show this help\n", prog);
}

// Length of the valid UTF-8 sequence at @s (1 to 4), or 0 when it is not one.
static size_t utf8_sequence(const unsigned char *s) {
	unsigned char c = s[0];
	size_t len;
	unsigned min;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, min = 0x800, cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0;
	}
	return len;
}

// Prints @s as a JSON string. Client names are whatever clients sent: quotes,
// backslashes and control characters are escaped, and bytes that are not UTF-8
// become U+FFFD so the output stays valid JSON.
static void print_json_string(const char *s) {
	const unsigned char *p = (const unsigned char *)s;
	putchar('"');
	while (*p) {
		if (*p == '"' || *p == '\\') {
			printf("\\%c", *p++);
		} else if (*p < 0x20) {
			printf("\\u%04x", *p++);
		} else if (*p < 0x80) {
			putchar(*p++);
		} else {
			size_t len = utf8_sequence(p);
			if (len == 0) {
				fputs("\\ufffd", stdout);
				p++;
			} else {
				fwrite(p, 1, len, stdout);
				p += len;
			}
		}
	}
	putchar('"');
}

static void print_json(const struct ts_server_info *info) {
	printf("{\"totals\": {\"clients\": %u, \"objects\": %u, \"pending_clients\": %u, "
		"\"textures\": %u, \"texture_bytes\": %u}, "
		"\"connections\": {\"evicted\": %u, \"refused\": %u}, \"last_cleanup_us\": %u, "
		"\"clients\": [", info->clients, info->objects, info->pending, info->textures,
		info->texture_bytes, info->evicted, info->refused, info->last_cleanup_us);
	for (size_t i = 0; i < info->count; i++) {
		const struct ts_client_info *c = &info->list[i];
		printf("%s{\"id\": %u, \"pid\": %u, \"name\": ", i ? ", " : "", c->id, c->pid);
		print_json_string(c->name);
		printf(", \"objects\": %u, \"bytes\": %u, \"textures\": %u, \"texture_bytes\": %u}",
			c->objects, c->bytes, c->textures, c->texture_bytes);
	}
	printf("], \"limits\": {");
	for (size_t i = 0; i < info->limit_count; i++) {
		printf("%s", i ? ", " : "");
		print_json_string(info->limits[i].name);
		printf(": %u", info->limits[i].value);
	}
	printf("}, \"atlas\": {\"pages\": %u, \"glyphs\": %u, \"referenced\": %u, "
		"\"evictions\": %u, \"bytes\": %u}", info->atlas.pages, info->atlas.glyphs,
		info->atlas.referenced, info->atlas.evictions, info->atlas.bytes);
	printf(", \"frame\": {\"draw_calls\": %u, \"nodes_drawn\": %u, \"damaged_pixels\": %u, "
		"\"offscreen_passes\": %u, \"frame_ms\": %.3f, \"animations\": %u, "
		"\"animate_us\": %.3f}}\n", info->frame.draw_calls,
		info->frame.nodes_drawn, info->frame.damaged_pixels, info->frame.offscreen_passes,
		info->frame.frame_us / 1000.0, info->frame.animations,
		info->frame.animate_ns / 1000.0);
}

// Names go to a terminal: control characters must not reach it.
static void print_name(const char *s) {
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
	}
}

static void print_table(const struct ts_server_info *info) {
	printf("%8s %8s %8s %10s %8s %10s  %s\n", "ID", "PID", "OBJECTS", "BYTES", "TEXTURES",
		"TEX_BYTES", "NAME");
	for (size_t i = 0; i < info->count; i++) {
		const struct ts_client_info *c = &info->list[i];
		printf("%8u %8u %8u %10u %8u %10u  ", c->id, c->pid, c->objects, c->bytes,
			c->textures, c->texture_bytes);
		print_name(c->name);
		putchar('\n');
	}
	printf("total: %u client%s, %u object%s, %u texture%s (%u bytes); last cleanup took "
		"%u us\n", info->clients, info->clients == 1 ? "" : "s",
		info->objects, info->objects == 1 ? "" : "s", info->textures,
		info->textures == 1 ? "" : "s", info->texture_bytes, info->last_cleanup_us);
	printf("glyph atlas: %u page%s (%u bytes), %u glyphs (%u held by texts), %u "
		"evictions\n", info->atlas.pages, info->atlas.pages == 1 ? "" : "s", info->atlas.bytes,
		info->atlas.glyphs, info->atlas.referenced, info->atlas.evictions);
	printf("connections without a hello: %u now; %u dropped for newer ones, %u refused "
		"since start\n", info->pending, info->evicted, info->refused);
	printf("limits:");
	for (size_t i = 0; i < info->limit_count; i++) {
		printf(" ");
		print_name(info->limits[i].name);
		printf("=%u", info->limits[i].value);
	}
	printf("\n");
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	bool json = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:jh", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			json = true;
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
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr);
		return 2;
	}

	struct ts_display *display = tool_connect(prog, socket_path, prog);
	if (display == NULL) {
		return 1;
	}
	struct ts_server_info info;
	if (ts_display_query_info(display, &info) < 0) {
		tool_report(prog, display, "cannot query the server");
		ts_display_disconnect(display);
		return 1;
	}
	ts_display_disconnect(display);

	if (json) {
		print_json(&info);
	} else {
		print_table(&info);
	}
	ts_server_info_finish(&info);
	return fflush(stdout) == 0 ? 0 : 1;
}
