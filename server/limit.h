/*
 * The server's limits: one table, like the protocol's. Each limit has a name (the
 * `--limit NAME=VALUE` option, tessera-info's "limits" key and the text of the
 * limit_exceeded error all use it), a default that suits a Raspberry Pi, the range a
 * user may set, and what it bounds. Later resources (textures, text, group depth) add
 * a line here and a check where they are allocated; nothing else changes.
 */
#ifndef TESSERA_LIMIT_H
#define TESSERA_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* X(NAME, DEFAULT, MIN, MAX, DESCRIPTION) */
#define SERVER_LIMITS(X) \
	X(clients, 256, 1, 65535, \
		"clients that said hello, at once; past it a new one is refused") \
	X(pending_clients, 128, 1, 65535, \
		"connections yet to say hello; past it the oldest of them is dropped") \
	X(objects, 65536, 1, 1u << 24, \
		"objects per client: nodes, and frame callbacks not yet answered") \
	X(nodes, 65536, 1, 1u << 24, \
		"nodes (groups, rects and images) per client") \
	X(depth, 64, 1, 4096, \
		"how deep nodes may nest: a child of a client's root is at depth 1") \
	X(client_bytes, 16u << 20, 64u << 10, 1u << 31, \
		"bytes of server memory per client: objects and pending state") \
	X(texture_bytes, 64u << 20, 0, 1u << 31, \
		"bytes of GPU memory per client: the textures of its image buffers") \
	X(shm_bytes, 256u << 20, 0, 1u << 31, \
		"bytes of shared memory per client the server maps (its shm pools)") \
	X(text_bytes, 64u << 10, 0, 1u << 20, \
		"bytes of UTF-8 per text node") \
	X(glyph_bytes, 8u << 20, 0, 1u << 30, \
		"bytes of glyph atlas per client: the glyphs its texts hold, each text counted") \
	X(atlas_bytes, 16u << 20, 1u << 20, 1u << 30, \
		"bytes of the glyph atlas every client shares: its pages, least recently used " \
		"glyphs evicted past it") \
	X(out_bytes, 1u << 20, 4096, 1u << 30, \
		"bytes of events queued for a client that is not reading them") \
	X(fds, 28, 1, 28, \
		"file descriptors a client may have in flight (sent, not yet claimed)") \
	X(requests, 1024, 1, 1u << 20, \
		"requests handled per client per loop round, before the others get a turn") \
	X(hello_timeout_ms, 5000, 1, 3600000, \
		"milliseconds a new connection may take to complete its hello")

struct server_limits {
#define LIMIT_X_(name, def, min, max, text) uint32_t name;
	SERVER_LIMITS(LIMIT_X_)
#undef LIMIT_X_
};

/** Every limit at its default. */
void limits_init(struct server_limits *limits);

/**
 * Sets one limit from "NAME=VALUE" (the --limit option). VALUE is a decimal number,
 * optionally with a K, M or G suffix (powers of 1024). Returns false with a message
 * for the user in @err when the name is unknown or the value out of range.
 */
bool limits_parse(struct server_limits *limits, const char *text, char *err, size_t err_size);

/** The number of limits, and the name and value of the @i-th (in table order). */
size_t limits_count(void);
const char *limits_name(size_t i);
uint32_t limits_value(const struct server_limits *limits, size_t i);

/** Writes a help text: one line per limit with its default and range. */
void limits_print_help(FILE *file);

#endif
