/*
 * The input format of the fuzz-server target, shared by the target and gen-corpus.
 *
 *   byte 0     bits 0-1: clients, 1 + (byte & 3); bits 2-5: low limits (FUZZ_LOW_*)
 *   then operations, each an op byte: bits 0-2 the kind (enum fuzz_op), bits 3-4 the
 *   client (modulo the number of clients), bits 5-7 an argument:
 *     send: a 16-bit little-endian length L, then L bytes (cut to what is left) that
 *           go to the client's socket
 *     send with fds: a byte that says what fds (enum fuzz_fd, modulo 8), then as send,
 *           with 1 + arg % 3 such fds attached by SCM_RIGHTS (nothing is sent when L
 *           is 0)
 *     round: one loop round (server_iterate)
 *     hang up: close the client's end
 *     read: read what the server sent the client, checking every event
 *     shut down: the client's writing side (the server reads EOF; the socket stays)
 */
#ifndef TESSERA_FUZZ_SERVER_H
#define TESSERA_FUZZ_SERVER_H

#define FUZZ_WIDTH 40               // the output: small, as every screenshot is painted
#define FUZZ_HEIGHT 30
#define FUZZ_SCREENSHOT_BYTES (FUZZ_WIDTH * 4 * FUZZ_HEIGHT)

/* Byte 0: limits lowered so that short inputs reach them. */
#define FUZZ_LOW_OBJECTS 4u         // objects 8, fds 3
#define FUZZ_LOW_REQUESTS 8u        // requests 2 a round
#define FUZZ_LOW_OUT_BYTES 16u      // out_bytes 4096
#define FUZZ_LOW_CLIENT_BYTES 32u   // client_bytes 64 KiB

enum fuzz_op {
	FUZZ_OP_SEND = 0,
	FUZZ_OP_SEND_FDS = 1,
	FUZZ_OP_ROUND = 2,
	FUZZ_OP_HANG_UP = 3,
	FUZZ_OP_READ = 4,
	FUZZ_OP_SEND_2 = 5,         // the common ones take two kinds each
	FUZZ_OP_ROUND_2 = 6,
	FUZZ_OP_SHUT_WR = 7,
};

/* What fds a send with fds attaches: the memory of a screenshot request as a client
   makes it, and each way it can be wrong. 6 and 7 are as FUZZ_FD_SCREENSHOT. */
enum fuzz_fd {
	FUZZ_FD_DEV_NULL = 0,
	FUZZ_FD_SCREENSHOT = 1,     // a memfd of the screenshot's size, sealed against shrinking
	FUZZ_FD_UNSEALED = 2,       // the same, not sealed
	FUZZ_FD_TOO_SMALL = 3,      // sealed, one byte short
	FUZZ_FD_READ_ONLY = 4,      // sealed against writing too: cannot be mapped for writing
	FUZZ_FD_LARGER = 5,         // sealed, twice the size
};

#endif
