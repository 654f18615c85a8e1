/*
 * libtessera: the client side of the Tessera protocol.
 *
 * A ts_display is one connection to a Tessera server. Requests are buffered and sent in
 * batches (ts_display_flush, or any call that waits for the server). Events are read and
 * dispatched to callbacks by ts_display_dispatch / ts_display_read_events.
 *
 * Errors stick: once the connection has failed (the server sent a protocol error, hung
 * up, or memory ran out) every call returns -1 (or NULL) and ts_display_get_error says
 * why. Nothing in the library is thread-safe; use a display from one thread.
 */
#ifndef TESSERA_CLIENT_H
#define TESSERA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ts_display;
struct ts_node;
struct ts_group;
struct ts_rect;

/** Called for the error event: @object_id is the object concerned (0 for none). */
typedef void (*ts_error_func)(void *data, uint32_t object_id, uint32_t code,
	const char *message);

/** Called once when a sync or frame callback is done; @time_ms is a timestamp in
 *  milliseconds (CLOCK_MONOTONIC, wrapping) for frames, a serial for syncs. */
typedef void (*ts_done_func)(void *data, uint32_t time_ms);

/**
 * Connects to the server at @socket_path, or when it is NULL at $TESSERA_SOCKET, or
 * else at $XDG_RUNTIME_DIR/tessera-0, introduces the client as @name (NULL: the program
 * name) and waits for the server's welcome. Returns NULL with errno set when the socket
 * cannot be reached (ENOENT, ECONNREFUSED, ...) or the server refuses the protocol
 * version (EPROTONOSUPPORT) or the hello (EPROTO); ts_connect_error() then explains it.
 */
struct ts_display *ts_display_connect(const char *socket_path, const char *name);

/** Text explaining the last failed ts_display_connect in this process. */
const char *ts_connect_error(void);

/** Closes the connection and frees the display and every handle made from it. NULL is fine. */
void ts_display_disconnect(struct ts_display *display);

/**
 * The socket, to put into the application's own poll() loop (POLLIN). It is in
 * blocking mode (the library's waiting calls sleep in it); read it only through
 * ts_display_read_events, which never blocks.
 */
int ts_display_get_fd(struct ts_display *display);

/** The output size of the server in pixels, as given in its welcome. */
void ts_display_get_size(struct ts_display *display, int *width, int *height);

/** The id the server gave this client (the one tessera-info shows). */
uint32_t ts_display_get_client_id(struct ts_display *display);

/**
 * Sends buffered requests. Returns 0 when all were sent, -1 with errno EAGAIN when the
 * socket is full (wait for POLLOUT and call again), or -1 on a failed connection.
 */
int ts_display_flush(struct ts_display *display);

/**
 * Flushes, then waits until at least one event has arrived and dispatches every event
 * that has. Returns the number of events dispatched, or -1 on a failed connection.
 */
int ts_display_dispatch(struct ts_display *display);

/**
 * Reads what the socket has without blocking and dispatches it: call it when poll()
 * says the fd is readable. Returns the number of events dispatched (0 is fine), -1 on
 * a failed connection.
 */
int ts_display_read_events(struct ts_display *display);

/** Sends a sync and dispatches events until its answer arrives. Returns 0 or -1. */
int ts_display_roundtrip(struct ts_display *display);

/**
 * Dispatches events until ts_display_stop is called (from a callback) or the connection
 * fails. Returns 0 after a stop, -1 on failure.
 */
int ts_display_run(struct ts_display *display);

/** Makes ts_display_run return after the current dispatch. */
void ts_display_stop(struct ts_display *display);

/**
 * The sticky error: 0 while the connection is fine, otherwise an errno value (EPROTO
 * for a protocol error sent by the server, EPIPE when it hung up).
 */
int ts_display_get_error(struct ts_display *display);

/**
 * For EPROTO: the protocol error code (TS_ERR_* in tessera-protocol.h), the object id
 * it concerns, and the server's text. Any pointer may be NULL. Returns the code, or 0.
 */
uint32_t ts_display_get_protocol_error(struct ts_display *display, uint32_t *object_id,
	const char **message);

/** Text for the sticky error: the server's message, or strerror. "" when there is none. */
const char *ts_display_get_error_message(struct ts_display *display);

/** Called when the server sends an error event (before the error sticks). */
void ts_display_set_error_handler(struct ts_display *display, ts_error_func func, void *data);

/** Applies every pending change this client has made, atomically. Returns 0 or -1. */
int ts_display_commit(struct ts_display *display);

/**
 * Asks to be told when the next frame that shows this client's latest commit has been
 * presented: @func is called once with the frame's timestamp. Returns 0 or -1.
 */
int ts_display_frame(struct ts_display *display, ts_done_func func, void *data);

/** Asks the server to answer once every request sent before it is handled. */
int ts_display_sync(struct ts_display *display, ts_done_func func, void *data);

/*
 * Server-side animation: the server moves a node's property frame after frame, with no
 * message per frame. An animation is made pending, may be set up (start value, timing,
 * curve) until the commit, and starts at the first frame that shows that commit, in
 * step with every other animation of the commit. Ending, it leaves its end value; when
 * it ends, or is cancelled (the property set and committed, the node destroyed, a newer
 * animation of the same property), the ended handler is called. Destroying it stops it
 * and shows the value set last again. The numbers are the protocol's (PROTOCOL.md).
 */
struct ts_animation;

enum ts_property {
	TS_PROP_POSITION,  // a: x, b: y
	TS_PROP_SIZE,      // a: width, b: height
	TS_PROP_SCALE,     // a: x, b: y
	TS_PROP_ROTATION,  // a: degrees
	TS_PROP_OPACITY,   // a: 0 to 1
	TS_PROP_COLOR,     // rgba (rects)
	TS_PROP_RADIUS,    // a (rects)
};

enum ts_easing {
	TS_EASE_LINEAR,
	TS_EASE,           // CSS ease
	TS_EASE_IN,
	TS_EASE_OUT,
	TS_EASE_IN_OUT,
};

enum ts_steps_jump {
	TS_JUMP_END,
	TS_JUMP_START,
	TS_JUMP_NONE,
	TS_JUMP_BOTH,
};

typedef void (*ts_animation_ended_func)(void *data, struct ts_animation *animation,
	bool cancelled);

/**
 * Animates @prop of @node to (@a, @b) (or @rgba for a colour) over @duration_ms with
 * @easing, from its value when it starts. NULL with errno set on failure.
 */
struct ts_animation *ts_animate(struct ts_node *node, enum ts_property prop, double a,
	double b, uint32_t rgba, uint32_t duration_ms, enum ts_easing easing);
/** Starts from (@a, @b) / @rgba instead. Before the commit only; 0 or -1. */
int ts_animation_set_from(struct ts_animation *animation, double a, double b, uint32_t rgba);
/** A delay before it starts, @repeat iterations (0: for ever), each other one backwards. */
int ts_animation_set_timing(struct ts_animation *animation, uint32_t delay_ms,
	uint32_t repeat, bool autoreverse);
/** The curve cubic-bezier(@x1, @y1, @x2, @y2) (x1 and x2 within 0 to 1). */
int ts_animation_set_curve(struct ts_animation *animation, double x1, double y1, double x2,
	double y2);
/** The curve steps(@count, @jump). */
int ts_animation_set_steps(struct ts_animation *animation, uint32_t count,
	enum ts_steps_jump jump);
/** Called (while dispatching) when it ends or is cancelled. */
void ts_animation_set_ended_handler(struct ts_animation *animation,
	ts_animation_ended_func func, void *data);
/** 1 once it ended, 2 once it was cancelled, 0 while it has not; *@cancelled too. */
int ts_animation_get_state(const struct ts_animation *animation);
/** Stops it (the value set last shows again at the next frame) and frees the handle. */
int ts_animation_destroy(struct ts_animation *animation);

/**
 * The value of @prop on screen now (the presented value, animated or not), from the
 * server: a round trip. 0 or -1.
 */
int ts_node_get_value(struct ts_node *node, enum ts_property prop, double *a, double *b,
	uint32_t *rgba);

/** When and how a frame reached the screen. */
struct ts_presentation {
	uint64_t time_ns;     // when it was presented: CLOCK_MONOTONIC (or the manual clock)
	uint32_t seq;         // the frame's sequence number: +1 a frame presented
	uint32_t refresh_ns;  // the output's refresh interval; 0: no fixed rate
};

typedef void (*ts_presented_func)(void *data, const struct ts_presentation *presentation);

/**
 * ts_display_frame with the whole presentation: @func is called once, when the next
 * frame that shows this client's latest commit has been presented. A client with
 * nothing on screen is answered too, about once a second. Returns 0 or -1.
 */
int ts_display_frame_presented(struct ts_display *display, ts_presented_func func,
	void *data);

/**
 * On a server started with --clock manual: moves its clock on by @ms milliseconds
 * (0: one refresh interval), draws a frame at the new time, and waits for it. Frame
 * callbacks complete at that frame. Returns the frame's sequence number (low 32 bits)
 * or -1; a server with a real clock refuses it (access_denied, which ends the
 * connection).
 */
int64_t ts_display_clock_step(struct ts_display *display, uint32_t ms);

/*
 * The scene: each client's nodes form a tree under the client's own root. A group holds
 * nodes; a rect draws a rectangle, optionally with rounded corners and a border. Every
 * node has a position (where its anchor point lands in its parent's space), a size, an
 * anchor point (a fraction of its size; (0, 0) is its top-left corner), a rotation
 * (degrees, clockwise on screen), a scale, an opacity (multiplied down the tree) and a
 * visibility, and an order among its siblings (the last child is drawn on top).
 *
 * Everything is pending until ts_display_commit, which shows creations, moves,
 * property changes and destructions of one commit in the same frame. Lengths are in
 * pixels and travel in 16.16 fixed point (1/65536 of a pixel, up to +-32768).
 */

/** The layers a client's root sits in: background, normal (where it starts), overlay. */
enum ts_layer {
	TS_LAYER_BACKGROUND = 0,
	TS_LAYER_NORMAL = 1,
	TS_LAYER_OVERLAY = 2,
};

/** Moves the client's whole tree on top of @layer, at the next commit. */
int ts_display_set_layer(struct ts_display *display, enum ts_layer layer);

/** Puts the client's tree on top of the other clients' in its layer, at the next commit. */
int ts_display_raise(struct ts_display *display);

/**
 * Creates a group inside @parent (NULL: the client's root), on top of its siblings: at
 * (0, 0), 0x0, visible, opaque, not clipping. Returns NULL on a failed connection or
 * when memory runs out.
 */
struct ts_group *ts_group_create(struct ts_display *display, struct ts_group *parent);

/**
 * Creates a rect in the client's root (ts_rect_create) or in @parent, on top: 0x0 at
 * (0, 0), opaque white, square corners, no border, visible.
 */
struct ts_rect *ts_rect_create(struct ts_display *display);
struct ts_rect *ts_rect_create_in(struct ts_group *parent);

/** The node a group or rect is, for the ts_node_* calls. NULL for NULL. */
struct ts_node *ts_group_node(struct ts_group *group);
struct ts_node *ts_rect_node(struct ts_rect *rect);

/**
 * Destroys the node, and everything in it when it is a group, at the next commit, and
 * frees the handle at once. Handles of nodes inside a destroyed group stay valid only
 * to be destroyed (freed) in turn: from that commit on, other calls on them, and calls
 * naming them as parent or sibling, fail with EINVAL and send nothing. A node made in
 * such a group before the commit goes with it. NULL is fine.
 */
int ts_node_destroy(struct ts_node *node);
int ts_group_destroy(struct ts_group *group);
int ts_rect_destroy(struct ts_rect *rect);

/** The node's protocol id. */
uint32_t ts_node_get_id(const struct ts_node *node);
uint32_t ts_rect_get_id(const struct ts_rect *rect);

/** Pending state, applied at the next ts_display_commit. Each returns 0 or -1. */
int ts_node_set_position(struct ts_node *node, double x, double y);
/** Width and height are 0 to 16384 (else the server ends the connection). */
int ts_node_set_size(struct ts_node *node, double width, double height);
int ts_node_set_anchor(struct ts_node *node, double x, double y);
int ts_node_set_rotation(struct ts_node *node, double degrees);
int ts_node_set_scale(struct ts_node *node, double x, double y);
/** 0 (invisible) to 1. */
int ts_node_set_opacity(struct ts_node *node, double opacity);
int ts_node_set_visible(struct ts_node *node, bool visible);
/** Moves the node on top of @parent's children (NULL: the client's root). A group
 *  cannot go inside itself (the server ends the connection). */
int ts_node_set_parent(struct ts_node *node, struct ts_group *parent);
/** Right above (below) @sibling, a child of the same group; NULL: on top (at the bottom). */
int ts_node_place_above(struct ts_node *node, struct ts_node *sibling);
int ts_node_place_below(struct ts_node *node, struct ts_node *sibling);

/** Cuts the group's children to its bounds (its size, through its transform). */
int ts_group_set_clip(struct ts_group *group, bool clip);
/** True group opacity: the children are drawn together, then faded as one (an offscreen
 *  pass, which costs more); by default each child is faded on its own. */
int ts_group_set_isolate(struct ts_group *group, bool isolate);

/** @rgba is 0xRRGGBBAA, not premultiplied. */
int ts_rect_set_color(struct ts_rect *rect, uint32_t rgba);
int ts_rect_set_radius(struct ts_rect *rect, double radius);
/** A border @width pixels wide inside the rect's edge; 0 for none. */
int ts_rect_set_border(struct ts_rect *rect, double width, uint32_t rgba);
/** Whole-pixel shorthands of the ts_node_* calls. */
int ts_rect_set_position(struct ts_rect *rect, int32_t x, int32_t y);
int ts_rect_set_size(struct ts_rect *rect, uint32_t width, uint32_t height);
int ts_rect_set_visible(struct ts_rect *rect, bool visible);

/* ---- Images ---- */

/** Pixel formats of image buffers. */
enum ts_format {
	TS_FORMAT_RGBA8 = 0,   // premultiplied alpha; bytes R, G, B, A
	TS_FORMAT_XRGB8 = 1,   // uint32 0xXXRRGGBB, little endian (bytes B, G, R, X); opaque
	TS_FORMAT_RGB565 = 2,  // uint16 little endian, R in the top 5 bits; opaque
};

struct ts_shm_pool;
struct ts_buffer;
struct ts_image_node;

/**
 * A pool of @size bytes of shared memory: a memfd sealed against shrinking, mapped
 * here for writing (ts_shm_pool_data). Several buffers may lie in one pool, so a
 * hundred icons cost one fd, and the server keeps none.
 */
struct ts_shm_pool *ts_shm_pool_create(struct ts_display *display, size_t size);

/**
 * A pool of your own memfd @fd (a copy is sent; @fd stays yours). The server accepts
 * only a memfd sealed with F_SEAL_SHRINK of at least @size bytes, and otherwise ends
 * the connection (invalid_value). ts_shm_pool_data is NULL for such a pool.
 */
struct ts_shm_pool *ts_shm_pool_create_fd(struct ts_display *display, int fd, uint32_t size);

/** The pool's memory here, or NULL. */
void *ts_shm_pool_data(struct ts_shm_pool *pool);

/**
 * Destroys the pool and unmaps its memory here. Buffers made from it go on (the server
 * keeps its mapping until they are destroyed), but their ts_buffer_data is no longer
 * valid: destroy a pool after the buffers you still write into. NULL is fine.
 */
int ts_shm_pool_destroy(struct ts_shm_pool *pool);

/**
 * A @width x @height buffer of @format at @offset in @pool, rows @stride bytes apart
 * (offset and stride multiples of the format's pixel size). Each side is at most the
 * GPU's maximum texture size (2048 on a Raspberry Pi 3). Its pixels reach the server
 * whole at the next commit; after that, only what ts_buffer_damage names.
 */
struct ts_buffer *ts_buffer_create(struct ts_shm_pool *pool, uint32_t offset, uint32_t width,
	uint32_t height, uint32_t stride, enum ts_format format);

/**
 * A small buffer whose pixels travel in the request itself: no shared memory, no fd.
 * @pixels is @height rows of @width pixels of @format, @stride bytes apart; the whole
 * image must fit in one message (width * height * bytes per pixel at most
 * TS_INLINE_BUFFER_BYTES, 4068: 31 x 32 RGBA8, 45 x 45 RGB565). Its pixels never change:
 * ts_buffer_damage on it does nothing. NULL (errno EINVAL) when it is too big.
 */
#define TS_INLINE_BUFFER_BYTES 4068
struct ts_buffer *ts_buffer_create_inline(struct ts_display *display, uint32_t width,
	uint32_t height, enum ts_format format, const void *pixels, size_t stride);

/** A buffer in a pool of its own (destroyed with it), rows tight. */
struct ts_buffer *ts_buffer_create_shm(struct ts_display *display, uint32_t width,
	uint32_t height, enum ts_format format);

/** The buffer's first pixel in the pool's memory here (NULL for a pool made from an fd). */
void *ts_buffer_data(struct ts_buffer *buffer);
uint32_t ts_buffer_get_stride(const struct ts_buffer *buffer);
uint32_t ts_buffer_get_id(const struct ts_buffer *buffer);

/** The pixels of (x, y, width, height) changed: they are uploaded at the next commit. */
int ts_buffer_damage(struct ts_buffer *buffer, int32_t x, int32_t y, int32_t width,
	int32_t height);
/** The same for @count boxes of four int32 (x, y, width, height) each. */
int ts_buffer_damage_boxes(struct ts_buffer *buffer, const int32_t *boxes, size_t count);

/**
 * Destroys the buffer. Image nodes showing it keep showing its last pixels until they
 * are given another buffer or destroyed. NULL is fine.
 */
int ts_buffer_destroy(struct ts_buffer *buffer);

/**
 * An image node in @parent (NULL: the client's root), on top. It shows its buffer's
 * source rectangle (the whole buffer by default) stretched over its size; while its
 * size is 0 x 0 (the default) it is drawn at the source's size, a texel to a pixel.
 */
struct ts_image_node *ts_image_node_create(struct ts_display *display, struct ts_group *parent);
struct ts_node *ts_image_node_node(struct ts_image_node *image);
int ts_image_node_destroy(struct ts_image_node *image);
/** What it shows, from the next commit; NULL: nothing. */
int ts_image_node_set_buffer(struct ts_image_node *image, struct ts_buffer *buffer);
/** The rectangle of the buffer it shows, in pixels; width or height 0: the whole buffer. */
int ts_image_node_set_source(struct ts_image_node *image, double x, double y, double width,
	double height);

/*
 * Text nodes: the server shapes (HarfBuzz), orders (FriBiDi), finds fonts (fontconfig,
 * falling back for characters the font lacks) and draws glyphs from one atlas shared by
 * every client. Invalid UTF-8 is shown as U+FFFD. A text's size is its layout's: what
 * ts_text_measure reports, and what anchors are fractions of.
 */
struct ts_text;

enum ts_align {
	TS_ALIGN_START = 0,   // the paragraph's start: left, or right for right-to-left
	TS_ALIGN_CENTER = 1,
	TS_ALIGN_END = 2,
};

/** A text in the client's root (@parent NULL) or in @parent, empty, white, 16 px sans. */
struct ts_text *ts_text_create(struct ts_display *display, struct ts_group *parent);
struct ts_node *ts_text_node(struct ts_text *text);
int ts_text_destroy(struct ts_text *text);
/** Its UTF-8 (@len bytes, at most the server's text_bytes limit), from the next commit. */
int ts_text_set_string(struct ts_text *text, const char *utf8, size_t len);
/**
 * Its font: a fontconfig pattern (NULL or "": the default, sans-serif), a pixel size
 * (1 to 200), a weight (100 to 900; 400 regular, 700 bold), italic or not.
 */
int ts_text_set_font(struct ts_text *text, const char *family, double size, unsigned weight,
	bool italic);
/** Straight 0xRRGGBBAA. */
int ts_text_set_color(struct ts_text *text, uint32_t rgba);
/**
 * Lines wrap at @wrap_width pixels (0: only at '\n') and align in it (or in the widest
 * line); baselines are @line_height apart (0: the font's); with @max_lines (0: no limit)
 * a longer text ends its last line with an ellipsis.
 */
int ts_text_set_layout(struct ts_text *text, double wrap_width, enum ts_align align,
	double line_height, uint32_t max_lines);

/** One laid-out line, in the text's pixels. */
struct ts_line_extent {
	double x, y, width, height;
};

struct ts_text_metrics {
	double width, height;   // the layout's box
	double baseline;        // the first line's, from the top
	uint32_t lines;
	size_t extent_count;    // lines listed in extents (the first 250 at most)
	struct ts_line_extent *extents;
};

/**
 * Lays out the text as its set_* calls left it (committed or not) and waits for the
 * answer: a round trip, never a frame. Free with ts_text_metrics_finish. 0 or -1.
 */
int ts_text_measure(struct ts_text *text, struct ts_text_metrics *metrics);
void ts_text_metrics_finish(struct ts_text_metrics *metrics);

/** One connected client, as the server reports it. */
struct ts_client_info {
	uint32_t id;
	uint32_t pid;      // from SO_PEERCRED
	uint32_t objects;  // objects the client owns
	uint32_t bytes;    // server memory the client holds (what the client_bytes limit counts)
	uint32_t textures; // its image buffers' textures (live, or still shown after a destroy)
	uint32_t texture_bytes; // GPU memory they take (what the texture_bytes limit counts)
	char *name;        // from its hello
};

/** One of the server's limits (see PROTOCOL.md), as configured. */
struct ts_limit {
	char *name;
	uint32_t value;
};

/** The server's introspection answer; the querying client is left out. */
struct ts_server_info {
	uint32_t clients, objects;
	uint32_t last_cleanup_us; // time the last client destruction took, in the server
	uint32_t pending;         // connections yet to say hello (not in list)
	uint32_t evicted;         // since start: pending connections dropped for newer ones
	uint32_t refused;         // since start: connections refused (a limit, a user)
	uint32_t textures, texture_bytes; // every client's, this one's included
	size_t count;             // entries in list
	struct ts_client_info *list;
	size_t limit_count;       // entries in limits
	struct ts_limit *limits;
	// The glyph atlas every client shares.
	struct {
		uint32_t pages, glyphs;
		uint32_t referenced;  // glyphs some text holds
		uint32_t evictions;   // plots emptied for room, since start
		uint32_t bytes;       // of its pages
	} atlas;
	// What the last frame drawn cost the server.
	struct {
		uint32_t draw_calls, nodes_drawn, damaged_pixels, offscreen_passes;
		uint32_t frame_us;    // CPU time drawing it took, in microseconds
		uint32_t animations;  // animations it moved
		uint32_t animate_ns;  // CPU time moving them took (beyond drawing), in ns
	} frame;
};

/** Asks the server for its clients and waits for the answer. Returns 0 or -1. */
int ts_display_query_info(struct ts_display *display, struct ts_server_info *info);

/** Frees what ts_display_query_info filled in. */
void ts_server_info_finish(struct ts_server_info *info);

/** A screenshot: RGBA8, straight alpha as composed, top row first. */
struct ts_image {
	int width, height;
	size_t stride;     // bytes per row
	uint8_t *pixels;   // malloc'd; the caller frees it with ts_image_finish
};

/**
 * Asks the server for the composed frame and waits for it. Returns 0, or -1: with
 * errno EAGAIN (and the connection fine) when the output changed size meanwhile, so
 * that nothing was read (ask again); else the connection's error.
 */
int ts_display_screenshot(struct ts_display *display, struct ts_image *image);

/** Frees the pixels of @image. */
void ts_image_finish(struct ts_image *image);

#ifdef __cplusplus
}
#endif

#endif
