/*
 * tessera-clock: moves the clock of a server started with --clock manual.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <tessera/client.h>

#include "common.h"

static const char *prog = "tessera-clock";

static void usage(FILE *out) {
	fprintf(out,
		"usage: %s [--socket PATH] step [MS]\n"
		"Moves the clock of a server started with --clock manual on by MS milliseconds\n"
		"(default: one refresh interval) and waits for the frame drawn at the new time;\n"
		"prints that frame's sequence number.\n"
		"  -s, --socket PATH  the server's socket (default: $TESSERA_SOCKET,\n"
		"                     else $XDG_RUNTIME_DIR/tessera-0)\n"
		"  -h, --help         show this help\n", prog);
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
	if (optind >= argc || strcmp(argv[optind], "step") != 0 || argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	unsigned long ms = 0;
	// A day at most: a step is a test's tick, not a way to overflow anything.
	if (argc - optind == 2 && !tool_parse_ulong(argv[optind + 1], 0, 86400000ul, &ms)) {
		fprintf(stderr, "%s: bad step '%s': expected milliseconds, 0 to 86400000\n", prog,
			argv[optind + 1]);
		return 2;
	}
	struct ts_display *display = tool_connect(prog, socket_path, prog);
	if (display == NULL) {
		return 1;
	}
	int64_t seq = ts_display_clock_step(display, (uint32_t)ms);
	if (seq < 0) {
		tool_report(prog, display, "step");
		ts_display_disconnect(display);
		return 1;
	}
	printf("%lld\n", (long long)seq);
	ts_display_disconnect(display);
	return 0;
}
