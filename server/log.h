/* Server logging to stderr: errors always, information by default, debug with -v. */
#ifndef TESSERA_LOG_H
#define TESSERA_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_INFO = 1,
	LOG_DEBUG = 2,
};

void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
void log_printf(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

#endif
