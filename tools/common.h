/* Helpers shared by the tools and the demos: parsing numbers, connecting. */
#ifndef TESSERA_TOOLS_COMMON_H
#define TESSERA_TOOLS_COMMON_H

#include <stdbool.h>

#include <tessera/client.h>

/**
 * Parses @text as a whole decimal number from @min to @max into *@out. Returns false
 * (and leaves *@out alone) for anything else: empty, trailing junk, out of range.
 */
bool tool_parse_ulong(const char *text, unsigned long min, unsigned long max,
	unsigned long *out);

/**
 * Connects to @socket_path (NULL: the library's default) as @name. On failure prints
 * "@prog: <why>" to stderr and returns NULL.
 */
struct ts_display *tool_connect(const char *prog, const char *socket_path, const char *name);

/** Prints "@prog: @what: <the display's error>" to stderr. */
void tool_report(const char *prog, struct ts_display *display, const char *what);

/**
 * Dispatches @display's events until @seconds have passed (0: until the connection
 * ends). Returns 0 when the time is up, -1 when the connection failed or ended.
 */
int tool_wait(struct ts_display *display, unsigned long seconds);

#endif
