/*
 * libtessera: connecting, the id namespace, sending requests, reading and dispatching
 * events, and the sticky error. Rectangles live in rect.c, introspection in
 * introspect.c.
 */
#define _GNU_SOURCE
#include "client-protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// Events are read, and mostly handled, even while a request call waits for room on
// the socket, so the in-buffer seldom holds much; it grows on demand up to the 1 MiB
// the server would queue for us, and shrinks back once drained.
#define IN_LIMIT (1u << 20)
// Requests are sent once this much is queued. 64 KiB is one read for the server, stays
// in cache, and is under glibc's mmap threshold: larger buffers (128 KiB up to the
// 4 MiB this once was) are unmapped at every drain and faulted in afresh at every
// refill, and made a client streaming rect_set_position about half as fast.
#define OUT_LIMIT (64u << 10)
#define TRACE_PREFIX "[tessera-client]"

static char connect_error[512];

static void trace(const char *dir, const struct ts_interface *iface, uint16_t opcode,
		const union ts_arg *args) {
	char line[TS_MAX_STRING + 256];
	fprintf(stderr, TRACE_PREFIX " %s %s\n", dir,
		ts_format(line, sizeof line, iface, opcode, args));
}

/* ---- the sticky error ---- */

int display_check(struct ts_display *display) {
	if (display->error != 0) {
		errno = display->error;
		return -1;
	}
	return 0;
}

int display_fail(struct ts_display *display, int err, const char *fmt, ...) {
	if (display->error == 0) {
		display->error = err;
		if (fmt != NULL) {
			va_list ap;
			va_start(ap, fmt);
			if (vasprintf(&display->error_message, fmt, ap) < 0) {
				display->error_message = NULL;
			}
			va_end(ap);
		}
		if (display->debug) {
			fprintf(stderr, TRACE_PREFIX " connection failed: %s\n",
				ts_display_get_error_message(display));
		}
	}
	errno = display->error;
	return -1;
}

/* ---- ids ---- */

uint32_t id_new(struct ts_display *display, enum entry_kind kind) {
	uint32_t id = display->free_head;
	if (id != 0) {
		display->free_head = display->entries[id].next_free;
	} else {
		if (display->highest >= TS_MAX_ID) {
			errno = ENOSPC;
			return 0;
		}
		id = display->highest + 1;
		if (id >= display->entries_cap) {
			uint32_t cap = display->entries_cap ? display->entries_cap * 2 : 64;
			if (cap > TS_MAX_ID + 1) {
				cap = TS_MAX_ID + 1;
			}
			struct entry *entries = realloc(display->entries, cap * sizeof *entries);
			if (entries == NULL) {
				display_fail(display, ENOMEM, NULL);
				return 0;
			}
			display->entries = entries;
			display->entries_cap = cap;
		}
		// The server accepts a new id at most one past the highest it has seen, so
		// fresh ids are only ever taken in order.
		display->highest = id;
	}
	memset(&display->entries[id], 0, sizeof display->entries[id]);
	display->entries[id].kind = kind;
	return id;
}

struct entry *id_lookup(struct ts_display *display, uint32_t id, enum entry_kind kind) {
	if (id == 0 || id > display->highest || display->entries[id].kind != kind) {
		return NULL;
	}
	return &display->entries[id];
}

void id_release(struct ts_display *display, uint32_t id) {
	struct entry *entry = &display->entries[id];
	entry->kind = ENTRY_FREE;
	entry->next_free = display->free_head;
	display->free_head = id;
}

/* ---- event handlers: those of the core events ---- */

int ts__handle_welcome(struct ts_display *display, const union ts_arg *args) {
	if (display->welcomed) {
		return display_fail(display, EPROTO, "the server sent a second welcome");
	}
	if (args[0].u == 0 || args[0].u > TS_PROTOCOL_VERSION) {
		return display_fail(display, EPROTO, "the server chose protocol version %u, "
			"this library speaks 1 to %u", args[0].u, TS_PROTOCOL_VERSION);
	}
	if (args[2].u > INT_MAX || args[3].u > INT_MAX) {
		return display_fail(display, EPROTO, "the server gave an output size of %ux%u",
			args[2].u, args[3].u);
	}
	display->welcomed = true;
	display->version = args[0].u;
	display->client_id = args[1].u;
	display->width = (int)args[2].u;
	display->height = (int)args[3].u;
	return 0;
}

int ts__handle_error(struct ts_display *display, const union ts_arg *args) {
	uint32_t object = args[0].u, code = args[1].u;
	const char *message = args[2].s;
	if (display->error_func != NULL) {
		display->error_func(display->error_data, object, code, message);
	}
	// The error event explains the hang-up that follows it; if the handler already
	// ran into that hang-up, the server's reason replaces ours.
	if (display->error == 0 || display->error == EPIPE) {
		free(display->error_message);
		display->error_message = strdup(message);
		display->error = EPROTO;
		display->protocol_code = code;
		display->protocol_object = object;
	}
	errno = display->error;
	return -1;
}

// The done of callback @id with @data; @presentation: what the presented event before
// it said (NULL: none came).
static int handle_done(struct ts_display *display, uint32_t id, uint32_t data,
		const struct ts_presentation *presentation) {
	struct entry *entry = id_lookup(display, id, ENTRY_CALLBACK);
	bool presented = false;
	if (entry == NULL) {
		entry = id_lookup(display, id, ENTRY_PRESENTED);
		presented = true;
	}
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent done for #%u, "
			"which is not a callback", id);
	}
	if (presented && presentation == NULL) {
		return display_fail(display, EPROTO, "the server sent done for frame callback "
			"#%u without its presented event", id);
	}
	ts_done_func done = entry->callback.func.done;
	ts_presented_func on_presented = entry->callback.func.presented;
	void *user = entry->callback.data;
	// done is the last event about a callback: its id is free before the callback
	// runs, so the callback may ask for the next frame with it.
	id_release(display, id);
	if (presented) {
		struct ts_presentation copy = *presentation;
		if (on_presented != NULL) {
			on_presented(user, &copy);
		}
	} else if (done != NULL) {
		done(user, data);
	}
	return 0;
}

// The presentation the last presented event gave callback @id, or NULL.
static const struct ts_presentation *presentation_of(const struct ts_display *display,
		uint32_t id) {
	return display->presented_callback == id ? &display->presented : NULL;
}

int ts__handle_done(struct ts_display *display, const union ts_arg *args) {
	uint32_t id = args[0].u;
	int ret = handle_done(display, id, args[1].u, presentation_of(display, id));
	if (display->presented_callback == id) {
		display->presented_callback = 0;
	}
	return ret;
}

int ts__handle_presented(struct ts_display *display, const union ts_arg *args) {
	uint32_t id = args[0].u;
	if (id_lookup(display, id, ENTRY_CALLBACK) == NULL &&
			id_lookup(display, id, ENTRY_PRESENTED) == NULL) {
		return display_fail(display, EPROTO, "the server sent presented for #%u, "
			"which is not a callback", id);
	}
	// Kept for the done right behind it (a plain frame callback ignores it).
	display->presented_callback = id;
	display->presented = (struct ts_presentation){
		.time_ns = (uint64_t)args[2].u << 32 | args[3].u,
		.seq = args[1].u,
		.refresh_ns = args[4].u,
	};
	return 0;
}

int ts__handle_delete_ids(struct ts_display *display, const union ts_arg *args) {
	const uint8_t *ids = args[0].a.data;
	for (uint32_t at = 0; at < args[0].a.size; at += 4) {
		uint32_t id = ts_get_u32(ids + at);
		// A node destroyed with a group it was in: its handle lives on, dead, until
		// the application destroys it too.
		struct entry *live = id_lookup(display, id, ENTRY_NODE);
		if (live == NULL) {
			live = id_lookup(display, id, ENTRY_GONE);
		}
		if (live != NULL) {
			live->kind = ENTRY_DEAD;
			continue;
		}
		if (id_lookup(display, id, ENTRY_ZOMBIE) == NULL) {
			return display_fail(display, EPROTO, "the server sent delete_ids for #%u, "
				"which was not destroyed", id);
		}
		id_release(display, id);
	}
	return 0;
}

// The table that dispatches to them, ts__event_handlers, is made from the protocol spec
// (client-protocol.c).

/* ---- reading and dispatching ---- */

// Which events may be handled where. Application callbacks run only inside the calls
// that wait for the server (MODE_ALL). A request call blocked on a full socket still
// reads, and handles what the library deals with alone (MODE_INTERNAL): the stream
// of delete_ids a mass destroy causes must not pile up until the server gives up on
// us. There, a done is put aside, in order, for the next waiting call; an error is
// fatal and handled at once.
enum mode {
	MODE_ALL,         // a waiting call: everything
	MODE_INTERNAL,    // inside a request call: done events are deferred
	MODE_ERRORS,      // hanging up: only the error event that says why; the rest is dropped
};

static int defer_done(struct ts_display *display, const union ts_arg *args) {
	if (display->deferred_len == display->deferred_cap) {
		size_t cap = display->deferred_cap ? display->deferred_cap * 2 : 16;
		struct deferred_done *deferred = realloc(display->deferred, cap * sizeof *deferred);
		if (deferred == NULL) {
			return display_fail(display, ENOMEM, NULL);
		}
		display->deferred = deferred;
		display->deferred_cap = cap;
	}
	uint32_t id = args[0].u;
	const struct ts_presentation *p = presentation_of(display, id);
	display->deferred[display->deferred_len++] = (struct deferred_done){
		.callback = id,
		.data = args[1].u,
		.presentation = p != NULL ? *p : (struct ts_presentation){ 0 },
		.presented = p != NULL,
	};
	if (p != NULL) {
		display->presented_callback = 0;
	}
	return 1;
}

// Handles the oldest deferred done. They all came before anything still buffered.
static int dispatch_deferred(struct ts_display *display) {
	struct deferred_done done = display->deferred[display->deferred_start++];
	if (display->deferred_start == display->deferred_len) {
		display->deferred_start = display->deferred_len = 0;
	}
	union ts_arg args[] = { { .u = done.callback }, { .u = done.data } };
	if (display->debug) {
		trace("<-", &ts_event_interface, TS_EV_done, args);
	}
	display->dispatched++;
	return handle_done(display, done.callback, done.data,
		done.presented ? &done.presentation : NULL) < 0 ? -1 : 1;
}

// Decodes and handles the next event as @mode allows. Returns 1 when an event was
// taken, 0 when more bytes are needed, -1 on failure.
static int dispatch_one(struct ts_display *display, enum mode mode) {
	if (mode == MODE_ALL && display->deferred_len > display->deferred_start) {
		return dispatch_deferred(display);
	}
	struct ts_header hdr;
	union ts_arg args[TS_MAX_ARGS];
	const char *why = "";
	if (ts_connection_pending_input(&display->conn) == 0) {
		return 0;
	}
	int rc = ts_connection_next(&display->conn, &ts_event_interface, &hdr, args, &why);
	if (rc == 0) {
		return 0;
	}
	if (rc < 0) {
		return display_fail(display, EPROTO, "invalid event from the server: %s", why);
	}
	// Handlers run application callbacks, which may dispatch again and so move the
	// in-buffer: take the message out of it before handling it.
	_Alignas(8) uint8_t copy[TS_MAX_MESSAGE];
	const uint8_t *msg = display->conn.in.data + display->conn.in.start;
	memcpy(copy, msg, hdr.size);
	const char *sig = ts_events[hdr.opcode].signature;
	for (unsigned i = 0; sig[i]; i++) {
		if (sig[i] == 's') {
			args[i].s = (const char *)copy + (args[i].s - (const char *)msg);
		} else if (sig[i] == 'a') {
			args[i].a.data = copy + ((const uint8_t *)args[i].a.data - msg);
		}
	}
	ts_connection_consume(&display->conn, hdr.size);

	int ret = 1;
	if (mode == MODE_INTERNAL && hdr.opcode == TS_EV_done) {
		ret = defer_done(display, args);
	} else if (mode != MODE_ERRORS || hdr.opcode == TS_EV_error) {
		if (display->debug) {
			trace("<-", &ts_event_interface, hdr.opcode, args);
		}
		display->dispatched++;
		if (ts__event_handlers[hdr.opcode](display, args) < 0) {
			ret = -1;
		}
	}
	// Handlers only borrow the fds that came with the event.
	for (unsigned i = 0; sig[i]; i++) {
		if (sig[i] == 'h' && args[i].h >= 0) {
			close(args[i].h);
		}
	}
	return ret;
}

static int dispatch_buffered(struct ts_display *display, enum mode mode) {
	int rc;
	while (display->error == 0 && (rc = dispatch_one(display, mode)) != 0) {
		if (rc < 0) {
			return -1;
		}
	}
	return display_check(display);
}

// The server hung up (end of file, or EPIPE on a write). What it sent before may say
// why (an error event): read the rest, then dispatch it all when callbacks may run
// here (@dispatch), or else only look for that error.
static int hangup(struct ts_display *display, bool dispatch) {
	int rc;
	do {
		rc = ts_connection_read(&display->conn);
		if (dispatch_buffered(display, dispatch ? MODE_ALL : MODE_ERRORS) < 0) {
			return -1;
		}
	} while (rc == TS_IO_OK);
	return display_fail(display, EPIPE, "the server closed the connection");
}

static int dispatch_pending(struct ts_display *display) {
	return dispatch_buffered(display, MODE_ALL);
}

// One read, then handles what came as @dispatch allows: everything, or (inside a
// request call) what needs no application code. Returns 1 when bytes arrived, 0 when
// none did, -1 on failure.
static int read_input_from(struct ts_display *display, bool dispatch, bool wait) {
	int rc = wait ? ts_connection_read_wait(&display->conn) : ts_connection_read(&display->conn);
	switch (rc) {
	case TS_IO_OK:
	case TS_IO_AGAIN:
		break;
	case TS_IO_EOF:
		return hangup(display, dispatch);
	case TS_IO_TOO_MANY_FDS:
		return display_fail(display, EPROTO,
			"the server sent more file descriptors than a connection can hold");
	default:
		return display_fail(display, errno, NULL);
	}
	if (dispatch_buffered(display, dispatch ? MODE_ALL : MODE_INTERNAL) < 0) {
		return -1;
	}
	return rc == TS_IO_OK;
}

static int read_input(struct ts_display *display, bool dispatch) {
	return read_input_from(display, dispatch, false);
}

static int poll_fd(struct ts_display *display, struct pollfd *pfd) {
	int n;
	do {
		n = poll(pfd, 1, -1);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? display_fail(display, errno, NULL) : 0;
}

// Sends the whole out-buffer, waiting in poll() while the socket is full. Meanwhile
// incoming events are read (and handled as far as @dispatch allows), so the server
// never has to queue much for us.
static int flush_blocking(struct ts_display *display, bool dispatch) {
	for (;;) {
		int rc = ts_connection_flush(&display->conn);
		if (rc == TS_IO_OK) {
			return 0;
		}
		if (rc == TS_IO_EOF) {
			return hangup(display, dispatch);
		}
		if (rc != TS_IO_AGAIN) {
			return display_fail(display, errno, NULL);
		}
		struct pollfd pfd = { .fd = display->conn.fd, .events = POLLOUT };
		if (ts_connection_pending_input(&display->conn) < display->conn.in.limit) {
			pfd.events |= POLLIN;
		}
		if (poll_fd(display, &pfd) < 0) {
			return -1;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && (pfd.events & POLLIN)) {
			// Read all there is: each request we write may make an event, and
			// reading less than we write would let the server's queue for us grow.
			int n;
			while ((n = read_input(display, dispatch)) > 0) {
			}
			if (n < 0) {
				return -1;
			}
		}
	}
}

// Sends what callbacks queued, then blocks until the socket has input and dispatches it.
static int wait_once(struct ts_display *display) {
	struct pollfd pfd = { .fd = display->conn.fd, .events = POLLIN };
	int rc = ts_connection_flush(&display->conn);
	if (rc == TS_IO_OK) {
		// Nothing left to send: sleep in the read itself (the socket is blocking, see
		// ts_display_connect), which wakes sooner than poll() and saves a system call.
		return read_input_from(display, true, true) < 0 ? -1 : 0;
	}
	if (rc == TS_IO_AGAIN) {
		pfd.events |= POLLOUT;
	} else if (rc == TS_IO_EOF) {
		return hangup(display, true);
	} else if (rc != TS_IO_OK) {
		return display_fail(display, errno, NULL);
	}
	if (poll_fd(display, &pfd) < 0) {
		return -1;
	}
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
		return read_input(display, true) < 0 ? -1 : 0;
	}
	return 0;
}

int display_wait(struct ts_display *display, const bool *done) {
	if (display_check(display) < 0 || flush_blocking(display, true) < 0 ||
			dispatch_pending(display) < 0) {
		return -1;
	}
	while (!*done) {
		if (wait_once(display) < 0) {
			return -1;
		}
	}
	return 0;
}

// The out-buffer is full: sends it all, then reads the events that came meanwhile.
// Each request may make an event (a mass destroy makes delete_ids), and the
// socket often takes a whole buffer without blocking, in which case flush_blocking
// reads nothing: reading here too, once a buffer, keeps what the server has to queue
// for us small whatever the application's pace.
static int make_room(struct ts_display *display) {
	if (flush_blocking(display, false) < 0) {
		return -1;
	}
	int n;
	while ((n = read_input(display, false)) > 0) {
	}
	return n < 0 ? -1 : 0;
}

int display_queue(struct ts_display *display, uint16_t opcode, const union ts_arg *args) {
	if (display_check(display) < 0) {
		return -1;
	}
	// Requests without strings have their size in the table's meta.
	size_t size = ts_request_interface.meta[opcode].size;
	if (size == 0) {
		size = ts_encoded_size(&ts_request_interface, opcode, args);
	}
	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	const struct ts_byte_queue *out = &display->conn.out;
	// Fds queue apart from the bytes, at most TS_CONNECTION_MAX_FDS: past it, send what
	// is queued first (a client making many pools in a row).
	unsigned nfds = ts_request_interface.meta[opcode].nfds;
	if ((out->end - out->start + size > out->limit ||
			display->conn.nfds_out + nfds > TS_CONNECTION_MAX_FDS) && make_room(display) < 0) {
		return -1;
	}
	if (ts_connection_queue(&display->conn, &ts_request_interface, opcode, args) < 0) {
		return display_fail(display, ENOMEM, NULL);
	}
	if (display->debug) {
		trace("->", &ts_request_interface, opcode, args);
	}
	return 0;
}

/* ---- connecting ---- */

static void set_connect_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_connect_error(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(connect_error, sizeof connect_error, fmt, ap);
	va_end(ap);
}

const char *ts_connect_error(void) {
	return connect_error;
}

// The path to connect to, or NULL (connect_error set) when there is none.
static const char *socket_path_for(const char *socket_path, char *buf, size_t cap) {
	if (socket_path != NULL) {
		return socket_path;
	}
	const char *env = getenv("TESSERA_SOCKET");
	if (env != NULL && env[0] != '\0') {
		return env;
	}
	const char *dir = getenv("XDG_RUNTIME_DIR");
	if (dir == NULL || dir[0] == '\0') {
		set_connect_error("cannot connect: no socket path given, and neither "
			"TESSERA_SOCKET nor XDG_RUNTIME_DIR is set");
		errno = ENOENT;
		return NULL;
	}
	int n = snprintf(buf, cap, "%s/tessera-0", dir);
	if (n < 0 || (size_t)n >= cap) {
		set_connect_error("cannot connect: $XDG_RUNTIME_DIR is too long");
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

static int connect_socket(const char *path) {
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

// Cuts @name to what a protocol string holds, at a UTF-8 character boundary.
static const char *hello_name(const char *name, char *buf, size_t cap) {
	size_t len = strlen(name);
	if (len < TS_MAX_STRING) {
		return name;
	}
	len = cap - 1;
	while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80) {
		len--;
	}
	memcpy(buf, name, len);
	buf[len] = '\0';
	return buf;
}

struct ts_display *ts_display_connect(const char *socket_path, const char *name) {
	char path_buf[PATH_MAX];
	char name_buf[TS_MAX_STRING];
	connect_error[0] = '\0';
	const char *path = socket_path_for(socket_path, path_buf, sizeof path_buf);
	if (path == NULL) {
		return NULL;
	}
	int fd = connect_socket(path);
	if (fd < 0) {
		set_connect_error("cannot connect to %s: %s", path, strerror(errno));
		return NULL;
	}
	struct ts_display *display = calloc(1, sizeof *display);
	if (display == NULL) {
		close(fd);
		set_connect_error("cannot connect to %s: %s", path, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	ts_connection_init(&display->conn, fd, IN_LIMIT, OUT_LIMIT);
	// Every non-blocking call passes MSG_DONTWAIT; a blocking socket lets the waiting
	// calls sleep in recvmsg instead of poll() (see wait_once).
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0) {
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	}
	const char *debug = getenv("TESSERA_DEBUG");
	display->debug = debug != NULL && debug[0] != '\0' && strcmp(debug, "0") != 0;

	const char *hello = hello_name(name ? name : program_invocation_short_name,
		name_buf, sizeof name_buf);
	if (ts__req_hello(display, TS_PROTOCOL_VERSION, hello) < 0 ||
			display_wait(display, &display->welcomed) < 0) {
		int err = errno;
		if (display->error == EPROTO && display->protocol_code != 0) {
			set_connect_error("server refused: %s", ts_display_get_error_message(display));
			err = display->protocol_code == TS_ERR_bad_version ? EPROTONOSUPPORT : EPROTO;
		} else if (display->error == EPIPE) {
			set_connect_error("cannot connect to %s: the server closed the connection "
				"before its welcome", path);
		} else {
			set_connect_error("cannot connect to %s: %s", path,
				display->error ? ts_display_get_error_message(display) : strerror(err));
		}
		ts_display_disconnect(display);
		errno = err;
		return NULL;
	}
	return display;
}

void ts_display_disconnect(struct ts_display *display) {
	if (display == NULL) {
		return;
	}
	if (display->error == 0) {
		// Best effort, without blocking: requests still queued (a last destroy) are
		// worth sending, but leaving must not wait for a slow server.
		ts_connection_flush(&display->conn);
	}
	for (uint32_t id = 1; id <= display->highest; id++) {
		enum entry_kind kind = display->entries[id].kind;
		if (kind == ENTRY_NODE || kind == ENTRY_DEAD || kind == ENTRY_GONE) {
			free(display->entries[id].node);
		}
	}
	image_handles_free(display);
	animation_handles_free(display);
	free(display->entries);
	free(display->doomed);
	free(display->deferred);
	free(display->error_message);
	ts_connection_finish(&display->conn);
	free(display);
}

/* ---- the public calls ---- */

int ts_display_get_fd(struct ts_display *display) {
	return display->conn.fd;
}

void ts_display_get_size(struct ts_display *display, int *width, int *height) {
	if (width != NULL) {
		*width = display->width;
	}
	if (height != NULL) {
		*height = display->height;
	}
}

uint32_t ts_display_get_client_id(struct ts_display *display) {
	return display->client_id;
}

int ts_display_flush(struct ts_display *display) {
	if (display_check(display) < 0) {
		return -1;
	}
	switch (ts_connection_flush(&display->conn)) {
	case TS_IO_OK:
		return 0;
	case TS_IO_AGAIN:
		errno = EAGAIN;
		return -1;
	case TS_IO_EOF:
		return hangup(display, false);
	default:
		return display_fail(display, errno, NULL);
	}
}

int ts_display_dispatch(struct ts_display *display) {
	uint64_t before = display->dispatched;
	if (display_check(display) < 0 || flush_blocking(display, true) < 0 ||
			dispatch_pending(display) < 0) {
		return -1;
	}
	while (display->dispatched == before) {
		if (wait_once(display) < 0) {
			return -1;
		}
	}
	uint64_t count = display->dispatched - before;
	return count > INT_MAX ? INT_MAX : (int)count;
}

int ts_display_read_events(struct ts_display *display) {
	uint64_t before = display->dispatched;
	if (display_check(display) < 0 || dispatch_pending(display) < 0) {
		return -1;
	}
	int rc;
	while ((rc = read_input(display, true)) > 0) {
		// Keep reading while bytes come: one read takes at most 64 KiB.
	}
	if (rc < 0) {
		return -1;
	}
	uint64_t count = display->dispatched - before;
	return count > INT_MAX ? INT_MAX : (int)count;
}

static void roundtrip_done(void *data, uint32_t serial) {
	*(bool *)data = true;
}

int ts_display_roundtrip(struct ts_display *display) {
	bool done = false;
	if (ts_display_sync(display, roundtrip_done, &done) < 0) {
		return -1;
	}
	return display_wait(display, &done);
}

int ts_display_run(struct ts_display *display) {
	int ret = 0;
	while (!display->stop) {
		if (ts_display_dispatch(display) < 0) {
			ret = -1;
			break;
		}
	}
	display->stop = false;
	return ret;
}

void ts_display_stop(struct ts_display *display) {
	display->stop = true;
}

int ts_display_get_error(struct ts_display *display) {
	return display->error;
}

uint32_t ts_display_get_protocol_error(struct ts_display *display, uint32_t *object_id,
		const char **message) {
	bool proto = display->error == EPROTO;
	if (object_id != NULL) {
		*object_id = proto ? display->protocol_object : 0;
	}
	if (message != NULL) {
		*message = proto ? ts_display_get_error_message(display) : NULL;
	}
	return proto ? display->protocol_code : 0;
}

const char *ts_display_get_error_message(struct ts_display *display) {
	if (display->error == 0) {
		return "";
	}
	return display->error_message ? display->error_message : strerror(display->error);
}

void ts_display_set_error_handler(struct ts_display *display, ts_error_func func,
		void *data) {
	display->error_func = func;
	display->error_data = data;
}

int ts_display_commit(struct ts_display *display) {
	if (ts__req_commit(display) < 0) {
		return -1;
	}
	// The groups destroyed since take the nodes inside them now.
	node_commit_doomed(display);
	return 0;
}

// Sends @request (sync or frame) with a new callback id that calls @func.
static int send_callback(struct ts_display *display,
		int (*request)(struct ts_display *display, uint32_t callback), ts_done_func func,
		void *data) {
	if (display_check(display) < 0) {
		return -1;
	}
	uint32_t id = id_new(display, ENTRY_CALLBACK);
	if (id == 0) {
		return -1;
	}
	display->entries[id].callback.func.done = func;
	display->entries[id].callback.data = data;
	return request(display, id);
}

int ts_display_frame_presented(struct ts_display *display, ts_presented_func func,
		void *data) {
	if (display_check(display) < 0) {
		return -1;
	}
	uint32_t id = id_new(display, ENTRY_PRESENTED);
	if (id == 0) {
		return -1;
	}
	display->entries[id].callback.func.presented = func;
	display->entries[id].callback.data = data;
	return ts__req_frame(display, id);
}

struct step_wait {
	bool done;
	uint32_t seq;
};

static void step_done(void *data, uint32_t seq) {
	struct step_wait *w = data;
	w->done = true;
	w->seq = seq;
}

int64_t ts_display_clock_step(struct ts_display *display, uint32_t ms) {
	if (display_check(display) < 0) {
		return -1;
	}
	uint32_t id = id_new(display, ENTRY_CALLBACK);
	if (id == 0) {
		return -1;
	}
	struct step_wait wait = { 0 };
	display->entries[id].callback.func.done = step_done;
	display->entries[id].callback.data = &wait;
	if (ts__req_clock_step(display, id, ms) < 0 || display_wait(display, &wait.done) < 0) {
		return -1;
	}
	return wait.seq;
}

int ts_display_frame(struct ts_display *display, ts_done_func func, void *data) {
	return send_callback(display, ts__req_frame, func, data);
}

int ts_display_sync(struct ts_display *display, ts_done_func func, void *data) {
	return send_callback(display, ts__req_sync, func, data);
}
