/*
 * misbehave-reconnect-loop: a client that comes and goes in a tight loop. Each time
 * round it connects (libtessera: a proper hello), creates 3 rects, commits, and then
 *   close  flushes and disconnects
 *   kill   (in a forked child) flushes and SIGKILLs itself
 * --count times (default 1000). Each is well-behaved on its own; the server must end
 * up with nothing of any of them, and no fd more than before.
 *
 * Prints "failed N WHY" and exits 1 if round N could not do its part.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tessera/client.h>

#include "misbehave.h"

enum mode { MODE_CLOSE, MODE_KILL };
static const char *const modes[] = { "close", "kill", NULL };

#define RECTS 3

// One visit: connect, show RECTS rects, send it all. Returns the display, or NULL
// after printing why not.
static struct ts_display *visit(const char *socket, unsigned long round) {
	struct ts_display *d = ts_display_connect(socket, "misbehave-reconnect-loop");
	if (d == NULL) {
		printf("failed %lu connect: %s\n", round, ts_connect_error());
		return NULL;
	}
	for (int i = 0; i < RECTS; i++) {
		struct ts_rect *r = ts_rect_create(d);
		if (r == NULL || ts_rect_set_size(r, 5, 5) < 0 ||
				ts_rect_set_position(r, (int)(round % 300), 10 * i) < 0 ||
				ts_rect_set_color(r, 0x40c040ffu) < 0) {
			break;
		}
	}
	if (ts_display_commit(d) < 0 || ts_display_flush(d) < 0) {
		printf("failed %lu commit: %s\n", round, ts_display_get_error_message(d));
		ts_display_disconnect(d);
		return NULL;
	}
	return d;
}

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Connects, shows 3 rects and goes (close: disconnects; kill: dies), --count\n"
		"times (default 1000).\n", modes, 1000, &opt);
	mb_say("ready");
	for (unsigned long round = 0; round < opt.count; round++) {
		if (opt.mode == MODE_CLOSE) {
			struct ts_display *d = visit(opt.socket, round);
			if (d == NULL) {
				return 1;
			}
			ts_display_disconnect(d);
			continue;
		}
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			mb_die("fork");
		}
		if (pid == 0) {
			if (visit(opt.socket, round) == NULL) {
				fflush(stdout);
				_exit(1);
			}
			raise(SIGKILL);
			_exit(1);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid) {
			mb_die("waitpid");
		}
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
			return 1; // the child said why
		}
	}
	return 0;
}
