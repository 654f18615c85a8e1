#include "common.h"

#include <errno.h>
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
