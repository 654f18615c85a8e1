/*
 * The Tessera protocol: the one description of every message.
 *
 * Each X() line is one message: X(OPCODE, NAME, SIGNATURE, FIELDS).
 *   SIGNATURE has one character per field, in wire order:
 *     u  uint32            i  int32
 *     n  new object id     o  existing object id (uint32, 0 is invalid)
 *     s  string: uint32 byte length including the final NUL, the bytes, padded
 *        with zeros to a multiple of 4; the length is at most TS_MAX_STRING
 *     h  a file descriptor: carried out of band with SCM_RIGHTS, takes no bytes
 *   FIELDS names the fields, space separated, for tracing and for other languages.
 *
 * The lines are plain enough for a script in another language to parse:
 *   X\(\s*(\d+),\s*(\w+),\s*"(\w*)",\s*"([\w ]*)"\)
 * PROTOCOL.md describes the semantics of every message.
 */
#ifndef TESSERA_PROTOCOL_H
#define TESSERA_PROTOCOL_H

#define TS_PROTOCOL_VERSION 1

/* Requests: client to server. */
#define TS_REQUESTS(X) \
	X(0, hello, "us", "version name") \
	X(1, sync, "n", "callback") \
	X(2, destroy, "o", "id") \
	X(3, commit, "", "") \
	X(4, frame, "n", "callback") \
	X(5, rect_create, "n", "id") \
	X(6, rect_set_position, "oii", "id x y") \
	X(7, rect_set_size, "ouu", "id width height") \
	X(8, rect_set_color, "ou", "id rgba") \
	X(9, rect_set_z, "oi", "id z") \
	X(10, rect_set_visible, "ou", "id visible") \
	X(11, info_query, "n", "callback") \
	X(12, screenshot, "nh", "callback pixels")

/* Events: server to client. */
#define TS_EVENTS(X) \
	X(0, welcome, "uuuu", "version client_id width height") \
	X(1, error, "uus", "id code message") \
	X(2, done, "ou", "callback data") \
	X(3, delete_id, "u", "id") \
	X(4, client_info, "ouuuus", "callback client_id pid objects bytes name") \
	X(5, info_done, "ouuuuuu", "callback clients objects last_cleanup_us pending evicted refused") \
	X(6, screenshot_done, "ouuu", "callback width height stride") \
	X(7, limit, "osu", "callback name value")

/* Error codes carried by the error event. */
#define TS_ERRORS(X) \
	X(0, none) \
	X(1, invalid_message) \
	X(2, unknown_opcode) \
	X(3, invalid_id) \
	X(4, id_in_use) \
	X(5, wrong_type) \
	X(6, invalid_value) \
	X(7, bad_version) \
	X(8, not_ready) \
	X(9, bad_fds) \
	X(10, no_memory) \
	X(11, limit_exceeded) \
	X(12, internal) \
	X(13, access_denied)

enum ts_request_opcode {
#define TS_X_(op, name, sig, fields) TS_REQ_##name = op,
	TS_REQUESTS(TS_X_)
#undef TS_X_
	TS_REQ_COUNT_
};

enum ts_event_opcode {
#define TS_X_(op, name, sig, fields) TS_EV_##name = op,
	TS_EVENTS(TS_X_)
#undef TS_X_
	TS_EV_COUNT_
};

enum ts_error_code {
#define TS_X_(code, name) TS_ERR_##name = code,
	TS_ERRORS(TS_X_)
#undef TS_X_
	TS_ERR_COUNT_
};

/* Framing limits. */
#define TS_HEADER_SIZE 8u
#define TS_MAX_MESSAGE 4096u     // bytes, header included
#define TS_MAX_STRING 1024u      // bytes, final NUL included
#define TS_MAX_FDS_PER_MESSAGE 4u
#define TS_MAX_ARGS 8u
#define TS_MAX_ID 0x00ffffffu    // client ids are 1..TS_MAX_ID

#endif
