#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum log_level max_level = LOG_INFO;

void log_set_level(enum log_level level) {
	max_level = level;
}

bool log_enabled(enum log_level level) {
	return level <= max_level;
}

void log_printf(enum log_level level, const char *fmt, ...) {
	if (level > max_level) {
		return;
	}
	static const char *const tags[] = { "error", "info", "debug" };
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "[tessera %5lld.%03ld] %s: ", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		tags[level]);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
