#include "common.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>

bool tool_parse_ulong(const char *text, unsigned long min, unsigned long max,
		unsigned long *out) {
	// strtoul would take "-1" as ULONG_MAX; only plain digits are numbers here.
	if (text == NULL || text[0] < '0' || text[0] > '9') {
		return false;
	}
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max) {
		return false;
	}
	*out = value;
	return true;
}

struct ts_display *tool_connect(const char *prog, const char *socket_path, const char *name) {
	struct ts_display *display = ts_display_connect(socket_path, name);
	if (display == NULL) {
		fprintf(stderr, "%s: %s\n", prog, ts_connect_error());
	}
	return display;
}

void tool_report(const char *prog, struct ts_display *display, const char *what) {
	fprintf(stderr, "%s: %s: %s\n", prog, what, ts_display_get_error_message(display));
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tool_wait(struct ts_display *display, unsigned long seconds) {
	double end = now_s() + (double)seconds;
	struct pollfd pfd = { .fd = ts_display_get_fd(display), .events = POLLIN };
	for (;;) {
		int timeout = -1;
		if (seconds > 0) {
			double left = end - now_s();
			if (left <= 0) {
				return 0;
			}
			timeout = (int)(left * 1000.0) + 1;
		}
		if (ts_display_flush(display) < 0) {
			return -1;
		}
		int rc = poll(&pfd, 1, timeout);
		if (rc < 0 && errno != EINTR) {
			return -1;
		}
		if (rc > 0 && ts_display_dispatch(display) < 0) {
			return -1;
		}
	}
}
