/*
 * tessera: parses the command line and wires the loop, the backend, the renderer and
 * the server together.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "leakcheck.h"
#include "limit.h"
#include "log.h"
#include "loop.h"
#include "reaper.h"
#include "render.h"
#include "server.h"
#include "text.h"

static void usage(FILE *out) {
	fprintf(out,
		"usage: tessera [--headless] [--size WxH] [--socket PATH] [--fullscreen]\n"
		"               [--refresh HZ] [--loop poll|epoll] [--clock manual]\n"
		"               [--limit NAME=VALUE]... [--allow-uid UID]... [-v]\n"
		"\n"
		"  --headless     render offscreen with EGL (no display needed)\n"
		"  --size WxH     output size in pixels (default 1280x720)\n"
		"  --socket PATH  listen on PATH (default $TESSERA_SOCKET, else\n"
		"                 $XDG_RUNTIME_DIR/tessera-0)\n"
		"  --fullscreen   window backend: take the whole primary monitor\n"
		"  --refresh HZ   draw at most HZ frames a second (default 60); 0 draws as\n"
		"                 soon as something changed (for benchmarks)\n"
		"  --loop poll|epoll\n"
		"                 the event loop's backend (default poll, or $TESSERA_LOOP)\n"
		"  --clock manual with --headless: time stands still but for clock_step\n"
		"                 requests (tessera-clock), so tests of animation and frame\n"
		"                 pacing are exact\n"
		"  --limit NAME=VALUE\n"
		"                 set one of the limits below (VALUE may end in K, M or G)\n"
		"  --allow-uid UID\n"
		"                 let clients of user UID connect too (by default only our\n"
		"                 own user may; the socket is then made world-connectable)\n"
		"  -v, --verbose  log debug messages and trace every protocol message\n"
		"  -h, --help     show this help\n"
		"\n"
		"limits (NAME, default, meaning; protocol/PROTOCOL.md says which are fatal):\n");
	limits_print_help(out);
}

static bool parse_size(const char *text, int *width, int *height) {
	char *end;
	long w = strtol(text, &end, 10);
	if (end == text || (*end != 'x' && *end != 'X')) {
		return false;
	}
	const char *rest = end + 1;
	long h = strtol(rest, &end, 10);
	if (end == rest || *end != '\0' || w < 1 || h < 1 || w > 16384 || h > 16384) {
		return false;
	}
	*width = (int)w;
	*height = (int)h;
	return true;
}

int main(int argc, char *argv[]) {
	bool headless = false, fullscreen = false, verbose = false;
	int width = 1280, height = 720;
	enum loop_kind loop_kind = LOOP_POLL;
	const char *loop_env = getenv("TESSERA_LOOP");
	if (loop_env != NULL && loop_env[0] != '\0' && !loop_kind_parse(loop_env, &loop_kind)) {
		fprintf(stderr, "tessera: bad TESSERA_LOOP '%s': expected poll or epoll\n", loop_env);
		return 2;
	}
	struct server_options opts = {
		.refresh_mhz = 60000,
	};
	limits_init(&opts.limits);
	static const struct option long_options[] = {
		{ "headless", no_argument, NULL, 'H' },
		{ "size", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "fullscreen", no_argument, NULL, 'f' },
		{ "refresh", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'l' },
		{ "loop", required_argument, NULL, 'L' },
		{ "clock", required_argument, NULL, 'c' },
		{ "allow-uid", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
		switch (c) {
		case 'H':
			headless = true;
			break;
		case 's':
			if (!parse_size(optarg, &width, &height)) {
				fprintf(stderr, "tessera: bad --size '%s': expected WxH, e.g. 800x480\n", optarg);
				return 2;
			}
			break;
		case 'S':
			opts.socket_path = optarg;
			break;
		case 'f':
			fullscreen = true;
			break;
		case 'r': {
			char *end;
			double hz = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(hz == 0 || (hz >= 1 && hz <= 1000))) {
				fprintf(stderr, "tessera: bad --refresh '%s': expected 0, or 1 to 1000 Hz\n",
					optarg);
				return 2;
			}
			opts.refresh_mhz = (int)(hz * 1000 + 0.5);
			break;
		}
		case 'L':
			if (!loop_kind_parse(optarg, &loop_kind)) {
				fprintf(stderr, "tessera: bad --loop '%s': expected poll or epoll\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (strcmp(optarg, "manual") != 0 && strcmp(optarg, "monotonic") != 0) {
				fprintf(stderr, "tessera: bad --clock '%s': expected manual or monotonic\n",
					optarg);
				return 2;
			}
			opts.manual_clock = strcmp(optarg, "manual") == 0;
			break;
		case 'l': {
			char err[200];
			if (!limits_parse(&opts.limits, optarg, err, sizeof err)) {
				fprintf(stderr, "tessera: bad --limit: %s\n", err);
				return 2;
			}
			break;
		}
		case 'u': {
			char *end;
			unsigned long uid = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '\0' || optarg[0] == '-' || uid >= UINT32_MAX) {
				fprintf(stderr, "tessera: bad --allow-uid '%s': expected a user id\n", optarg);
				return 2;
			}
			if (opts.allow_uid_count == SERVER_MAX_ALLOW_UIDS) {
				fprintf(stderr, "tessera: at most %d --allow-uid\n", SERVER_MAX_ALLOW_UIDS);
				return 2;
			}
			opts.allow_uids[opts.allow_uid_count++] = (uid_t)uid;
			break;
		}
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tessera: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (opts.manual_clock && !headless) {
		fprintf(stderr, "tessera: --clock manual needs --headless (a display keeps its own time)\n");
		return 2;
	}
	const char *debug = getenv("TESSERA_DEBUG");
	opts.trace = verbose || (debug != NULL && debug[0] != '\0' && strcmp(debug, "0") != 0);
	log_set_level(verbose ? LOG_DEBUG : LOG_INFO);

	int status = EXIT_FAILURE;
	if (!reaper_start()) {
		log_info("no reaper thread: a big client's memory is freed on the loop");
	}
	struct loop *loop = loop_create(loop_kind);
	if (loop == NULL) {
		log_error("cannot create the %s loop: %s", loop_kind_name(loop_kind), strerror(errno));
		reaper_stop();
		return status;
	}
	struct server server;
	if (!server_init(&server, loop, &opts)) {
		goto out_loop;
	}
	struct backend *backend = headless ? backend_headless_create(width, height)
		: backend_window_create(width, height, fullscreen);
	if (backend == NULL) {
		log_error("no output: %s", headless ? "headless rendering is unavailable"
			: "cannot open a window (no display? try --headless)");
		goto out_server;
	}
	server.backend = backend;
	if (!backend->impl->begin_frame(backend)) {
		log_error("%s backend: cannot make the GL context current", backend->impl->name);
		goto out_backend;
	}
	server.renderer = renderer_create();
	if (server.renderer == NULL) {
		goto out_backend;
	}
	// Shaping and rasterising on a thread of their own; without fonts the server
	// still runs, and refuses text nodes.
	server.text = text_system_create(&server, true);
	if (server.text == NULL) {
		log_error("no text: text nodes will be refused");
	}
	log_info("%s output %dx%d, %s loop", backend->impl->name, backend->width,
		backend->height, loop_kind_name(loop_kind));
	if (server_run(&server)) {
		status = EXIT_SUCCESS;
	}

	// Clients go first: they hold scene nodes, textures and glyphs, and must see EOF
	// before the output goes.
	server_finish(&server);
	text_system_destroy(server.text);
	renderer_destroy(server.renderer);
	reaper_stop();
	leak_check_now(); // before the driver is unloaded: see leakcheck.h
	backend_destroy(backend);
	loop_destroy(loop);
	return status;
out_backend:
	server_finish(&server);
	reaper_stop();
	leak_check_now(); // before the driver is unloaded: see leakcheck.h
	backend_destroy(backend);
	loop_destroy(loop);
	return status;
out_server:
	server_finish(&server);
out_loop:
	loop_destroy(loop);
	reaper_stop();
	return status;
}
