/*
 * Text nodes, and the text system every client shares: the shaper on the text
 * worker's thread (text/worker.h, text/shaper.h), the one glyph atlas (text/atlas.h)
 * and its page textures. See text.c and docs/text.md.
 *
 * A text node's source (its UTF-8, font and layout) changes by requests as any pending
 * state does. A commit that changed a source does not apply at once: the sources go
 * to the worker to be shaped, the glyphs the atlas lacks to be rasterised, and the
 * client is held (not read) meanwhile. When the last result is back, the glyphs are in
 * the atlas, and the commit applies whole, text and all, so a frame never shows half of
 * it; the client is then read again. Other clients go on being served and drawn the
 * whole time: the loop thread never shapes or rasterises.
 */
#ifndef TESSERA_TEXT_H
#define TESSERA_TEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "atlas.h"
#include "wire.h"

struct client;
struct renderer;
struct server;
struct tree_node;

/**
 * The server's text system: the shaper, its worker (a thread of its own when
 * @threaded), and an empty atlas of pages within the GPU's maximum texture size.
 * NULL after logging why (no fonts, no thread). The loop must watch
 * text_system_fd and call text_system_collect when it is readable.
 */
struct text_system *text_system_create(struct server *server, bool threaded);

/** Waits for jobs in flight, frees everything. Every client must be gone. NULL is fine. */
void text_system_destroy(struct text_system *text);

/** Readable while results wait for text_system_collect. */
int text_system_fd(const struct text_system *text);

/** Takes the worker's results back: held commits whose last result came apply. */
void text_system_collect(struct text_system *text);

/** Before a frame: uploads what changed in the atlas's pages. */
void text_system_flush(struct text_system *text);

void text_system_stats(const struct text_system *text, struct atlas_stats *stats);

/**
 * The commit request: true when the commit may apply now (no text source changed);
 * false when the client is held until its texts are laid out (the text system then
 * applies it through client_commit_apply), or an error was posted.
 */
bool text_commit_begin(struct client *client);

/** A text node was made (node.c): gives it its text. False after posting an error. */
bool text_node_created(struct client *client, uint32_t id, struct tree_node *node);

/** Applies a laid-out source to @node before its properties (node.c's commit). */
void text_node_commit(struct client *client, struct tree_node *node);

/** @node goes (node.c's destroy): its glyphs and memory go with it. */
void text_node_destroyed(struct client *client, struct tree_node *node);

/** Frees every text of @client at once, for its end: glyph references, jobs. */
void text_client_gone(struct client *client);

void handle_text_create(struct client *client, const union ts_arg *args, void *const *objs);
void handle_text_set_string(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_text_append(struct client *client, const union ts_arg *args, void *const *objs);
void handle_text_set_font(struct client *client, const union ts_arg *args, void *const *objs);
void handle_text_set_color(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_text_set_layout(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_text_measure(struct client *client, const union ts_arg *args, void *const *objs);

#endif
