/*
 * tessera-chaos's client processes. Each one connects on its own, sends random valid
 * traffic through libtessera, and ends as the parent planned (CHAOS_FATES in chaos.h):
 * crashing in one of several ways, flooding without reading, or sending an invalid
 * request and checking that the server refuses it with the right error.
 *
 * What the library would never send (invalid requests, half messages, stray fds) is
 * encoded here with the protocol's own codec (wire.h, through the raw peer of
 * tests/peer) and written straight to the socket. Before writing to the library's
 * socket we always finish a round trip, so the library has nothing queued and the
 * stream is at a message boundary. Which requests take which ids comes from the
 * table; so do the raw rounds and the catalogue's cases (chaos-raw.c).
 *
 * Every count goes to the shared struct chaos_stats at once, so it survives the death
 * that follows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tessera/client.h>

#include "chaos.h"
#include "connection.h"
#include "gen.h"
#include "peer.h"
#include "wire.h"

#define CHILD_ALARM_S 30    // a phase of a client's life taking longer is stuck: SIGALRM ends it
#define MAX_RECTS 4096      // live rectangles per client, at most

struct life {
	const struct chaos_plan *plan;
	struct chaos_stats *stats;
	struct peer_rng rng;
	struct ts_display *display;
	int fd;                         // the display's socket
	struct ts_rect *rects[MAX_RECTS];
	uint32_t nrects, max_rects;
	int width, height;
	bool frame_done;
};

// One per process: each client is a fork of the parent and owns its copy.
static struct life life;

// Where a client is in its life, for the word it leaves when its alarm ends it.
static const char *volatile phase;
static volatile uint64_t life_start_ns, phase_start_ns;
static volatile unsigned long long phase_bytes; // what the flood has sent

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Each phase (hello, a step, the flood, the ending) gets CHILD_ALARM_S of its own: a
// long life of many steps is not a hang, a step that never ends is.
static void enter_phase(const char *name) {
	phase = name;
	phase_start_ns = now_ns();
	phase_bytes = 0;
	alarm(CHILD_ALARM_S);
}

// Appends the decimal @v to @p (async-signal-safe, unlike snprintf).
static char *put_number(char *p, unsigned long long v) {
	char digits[24];
	int n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0) {
		*p++ = digits[--n];
	}
	return p;
}

static char *put_text(char *p, const char *s) {
	while (*s) {
		*p++ = *s++;
	}
	return p;
}

// A client stuck for CHILD_ALARM_S says where before it dies of the alarm, so that a
// hang can be told apart: a server that stopped serving it, or a life that was long.
static void on_alarm(int signo) {
	char line[256], *p = line;
	uint64_t now = now_ns();
	p = put_text(p, "tessera-chaos: client pid ");
	p = put_number(p, (unsigned long long)getpid());
	p = put_text(p, " stuck: ");
	p = put_number(p, (now - life_start_ns) / 1000000u);
	p = put_text(p, " ms into its life, ");
	p = put_number(p, (now - phase_start_ns) / 1000000u);
	p = put_text(p, " ms into its ");
	p = put_text(p, phase);
	if (phase_bytes > 0) {
		p = put_text(p, " (");
		p = put_number(p, phase_bytes);
		p = put_text(p, " bytes sent)");
	}
	*p++ = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)(p - line));
	signal(signo, SIG_DFL);
	raise(signo);
}

static void count_valid(struct life *l, enum ts_request_opcode op, unsigned long long n) {
	chaos_add(&l->stats->valid[op], n);
}

static void sleep_ms(unsigned ms) {
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
		// Interrupted: sleep the rest.
	}
}

static void say(const struct life *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct life *l, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	chaos_vsay(l->plan, fmt, ap);
	va_end(ap);
}

/* ---- the library's connection failing ---- */

// The connection failed in the middle of valid traffic: counts why and ends.
static void __attribute__((noreturn)) lost(struct life *l, const char *what) {
	int err = ts_display_get_error(l->display);
	const char *message = NULL;
	uint32_t code = ts_display_get_protocol_error(l->display, NULL, &message);
	if (err == EPROTO && code == TS_ERR_limit_exceeded) {
		chaos_add(&l->stats->cut_off_limit, 1);
		_exit(CHILD_CUT_OFF);
	}
	if (err == EPROTO && code != 0) {
		chaos_add(&l->stats->valid_refused, 1);
		say(l, "valid traffic refused during %s: %s: %s", what, ts_error_name(code),
			message ? message : "");
		_exit(CHILD_ANOMALY);
	}
	if (err == EPROTO) {
		// The library found an event the protocol does not allow.
		chaos_add(&l->stats->bad_answers, 1);
		say(l, "bad answer during %s: %s", what, ts_display_get_error_message(l->display));
		_exit(CHILD_ANOMALY);
	}
	if (err == EPIPE || err == ECONNRESET) {
		chaos_add(&l->stats->cut_off_hangup, 1);
		_exit(CHILD_CUT_OFF);
	}
	say(l, "%s failed: %s", what, ts_display_get_error_message(l->display));
	_exit(CHILD_BROKEN);
}

static void on_error(void *data, uint32_t object_id, uint32_t code, const char *message) {
	struct life *l = data;
	chaos_add(&l->stats->errors[code < TS_ERR_COUNT_ ? code : TS_ERR_COUNT_], 1);
}

static void on_frame(void *data, uint32_t time_ms) {
	struct life *l = data;
	l->frame_done = true;
	chaos_add(&l->stats->frames_done, 1);
}

static void on_sync(void *data, uint32_t serial) {
	struct life *l = data;
	chaos_add(&l->stats->syncs_done, 1);
}

static void roundtrip(struct life *l) {
	count_valid(l, TS_REQ_sync, 1);
	if (ts_display_roundtrip(l->display) < 0) {
		lost(l, "a round trip");
	}
}

// Sends what the library has queued; when the socket is full, a round trip waits.
static void flush(struct life *l) {
	if (ts_display_flush(l->display) == 0) {
		return;
	}
	if (errno != EAGAIN) {
		lost(l, "a flush");
	}
	roundtrip(l);
}

/* ---- valid traffic ---- */

// Coordinates mostly on screen, now and then anything an int32 holds.
static int32_t random_coord(struct life *l, int extent) {
	if (peer_rng_chance(&l->rng, 2)) {
		return (int32_t)peer_rng_next(&l->rng);
	}
	return (int32_t)peer_rng_below(&l->rng, (uint32_t)extent * 2) - extent / 2;
}

static void set_random(struct life *l, struct ts_rect *r) {
	struct peer_rng *rng = &l->rng;
	int rc = 0;
	switch (peer_rng_below(rng, 5)) {
	case 0:
		rc = ts_rect_set_position(r, random_coord(l, l->width), random_coord(l, l->height));
		count_valid(l, TS_REQ_node_set_position, 1);
		break;
	case 1: {
		// Small mostly: llvmpipe pays for every pixel. The largest size allowed now
		// and then.
		uint32_t w = peer_rng_below(rng, 200), h = peer_rng_below(rng, 200);
		if (peer_rng_chance(rng, 1)) {
			w = peer_rng_chance(rng, 50) ? TS_MAX_NODE_SIZE :
				peer_rng_below(rng, TS_MAX_NODE_SIZE + 1);
			h = peer_rng_below(rng, 4);
		}
		rc = ts_rect_set_size(r, w, h);
		count_valid(l, TS_REQ_node_set_size, 1);
		break;
	}
	case 2:
		rc = ts_rect_set_color(r, (uint32_t)peer_rng_next(rng));
		count_valid(l, TS_REQ_rect_set_color, 1);
		break;
	case 3:
		// Restacking among its siblings, where v1 had a z.
		if (peer_rng_chance(rng, 50)) {
			rc = ts_node_place_above(ts_rect_node(r), NULL);
			count_valid(l, TS_REQ_node_place_above, 1);
		} else {
			rc = ts_node_place_below(ts_rect_node(r), NULL);
			count_valid(l, TS_REQ_node_place_below, 1);
		}
		break;
	default:
		rc = ts_rect_set_visible(r, peer_rng_chance(rng, 80));
		count_valid(l, TS_REQ_node_set_visible, 1);
		break;
	}
	if (rc < 0) {
		lost(l, "a rect_set request");
	}
}

static void destroy_rect(struct life *l, uint32_t index);

static struct ts_rect *create_rect(struct life *l) {
	if (l->nrects == MAX_RECTS) {
		destroy_rect(l, peer_rng_below(&l->rng, l->nrects)); // make room
	}
	struct ts_rect *r = ts_rect_create(l->display);
	count_valid(l, TS_REQ_rect_create, 1);
	if (r == NULL) {
		lost(l, "rect_create");
	}
	l->rects[l->nrects++] = r;
	for (unsigned n = peer_rng_below(&l->rng, 5); n > 0; n--) {
		set_random(l, r);
	}
	return r;
}

static void destroy_rect(struct life *l, uint32_t index) {
	struct ts_rect *r = l->rects[index];
	l->rects[index] = l->rects[--l->nrects];
	count_valid(l, TS_REQ_destroy, 1);
	if (ts_rect_destroy(r) < 0) {
		lost(l, "destroy");
	}
}

static void commit(struct life *l) {
	count_valid(l, TS_REQ_commit, 1);
	if (ts_display_commit(l->display) < 0) {
		lost(l, "commit");
	}
}

static void frame(struct life *l, bool wait) {
	l->frame_done = false;
	count_valid(l, TS_REQ_frame, 1);
	if (ts_display_frame(l->display, on_frame, l) < 0) {
		lost(l, "frame");
	}
	commit(l);
	while (wait && !l->frame_done) {
		if (ts_display_dispatch(l->display) < 0) {
			lost(l, "waiting for a frame");
		}
	}
}

static void info_query(struct life *l) {
	struct ts_server_info info;
	count_valid(l, TS_REQ_info_query, 1);
	if (ts_display_query_info(l->display, &info) < 0) {
		lost(l, "info_query");
	}
	chaos_add(&l->stats->info_queries, 1);
	if (info.count != info.clients) {
		chaos_add(&l->stats->bad_answers, 1);
		say(l, "info_query: %zu client_info events but info_done says %u clients",
			info.count, info.clients);
	}
	ts_server_info_finish(&info);
}

static void screenshot(struct life *l) {
	struct ts_image image;
	count_valid(l, TS_REQ_screenshot, 1);
	if (ts_display_screenshot(l->display, &image) < 0) {
		lost(l, "screenshot");
	}
	chaos_add(&l->stats->screenshots, 1);
	if (image.width != l->width || image.height != l->height ||
			image.stride < (size_t)image.width * 4 || image.pixels == NULL) {
		chaos_add(&l->stats->bad_answers, 1);
		say(l, "screenshot of %dx%d (stride %zu) from an output of %dx%d",
			image.width, image.height, image.stride, l->width, l->height);
	}
	ts_image_finish(&image);
}

// Stops reading events for a while, asking for some meanwhile: the server queues
// them (or, past its limit, cuts the client off: counted by lost()).
static void stall(struct life *l) {
	chaos_add(&l->stats->stalls, 1);
	unsigned syncs = 1 + peer_rng_below(&l->rng, 2000);
	for (unsigned i = 0; i < syncs; i++) {
		count_valid(l, TS_REQ_sync, 1);
		if (ts_display_sync(l->display, on_sync, l) < 0) {
			lost(l, "sync");
		}
	}
	if (peer_rng_chance(&l->rng, 50)) {
		frame(l, false);
	}
	// Not flush(): its round trip would read.
	if (ts_display_flush(l->display) < 0 && errno != EAGAIN) {
		lost(l, "a flush");
	}
	sleep_ms(20 + peer_rng_below(&l->rng, 800));
	roundtrip(l);
}

enum step {
	STEP_CREATE, STEP_SET, STEP_DESTROY, STEP_COMMIT, STEP_FRAME, STEP_SYNC,
	STEP_ROUNDTRIP, STEP_READ, STEP_INFO, STEP_SCREENSHOT, STEP_BURST, STEP_PURGE,
	STEP_NAP, STEP_STALL, STEP_RAW, STEP_COUNT_
};

// Relative weights, in thousandths: mostly cheap requests, now and then the costly
// ones (screenshots, bursts of thousands of objects, pauses in reading).
static const unsigned step_weights[STEP_COUNT_] = {
	[STEP_CREATE] = 200, [STEP_SET] = 330, [STEP_DESTROY] = 60, [STEP_COMMIT] = 150,
	[STEP_FRAME] = 40, [STEP_SYNC] = 40, [STEP_ROUNDTRIP] = 30, [STEP_READ] = 50,
	[STEP_INFO] = 20, [STEP_SCREENSHOT] = 5, [STEP_BURST] = 4, [STEP_PURGE] = 6,
	[STEP_NAP] = 60, [STEP_STALL] = 2, [STEP_RAW] = 8,
};

static const char *const step_names[STEP_COUNT_] = {
	[STEP_CREATE] = "create step", [STEP_SET] = "set step", [STEP_DESTROY] = "destroy step",
	[STEP_COMMIT] = "commit step", [STEP_FRAME] = "frame step", [STEP_SYNC] = "sync step",
	[STEP_ROUNDTRIP] = "roundtrip step", [STEP_READ] = "read step",
	[STEP_INFO] = "info_query step", [STEP_SCREENSHOT] = "screenshot step",
	[STEP_BURST] = "burst step", [STEP_PURGE] = "purge step", [STEP_NAP] = "nap step",
	[STEP_STALL] = "stall step", [STEP_RAW] = "raw round step",
};

static enum step pick_step(struct life *l) {
	unsigned total = 0;
	for (unsigned i = 0; i < STEP_COUNT_; i++) {
		total += step_weights[i];
	}
	unsigned r = peer_rng_below(&l->rng, total);
	for (unsigned i = 0; i < STEP_COUNT_; i++) {
		if (r < step_weights[i]) {
			return (enum step)i;
		}
		r -= step_weights[i];
	}
	return STEP_COMMIT;
}

static void step(struct life *l) {
	struct peer_rng *rng = &l->rng;
	enum step what = pick_step(l);
	enter_phase(step_names[what]);
	switch (what) {
	case STEP_CREATE:
		if (l->nrects < l->max_rects) {
			create_rect(l);
		}
		break;
	case STEP_SET:
		if (l->nrects > 0) {
			set_random(l, l->rects[peer_rng_below(rng, l->nrects)]);
		}
		break;
	case STEP_DESTROY:
		if (l->nrects > 0) {
			destroy_rect(l, peer_rng_below(rng, l->nrects));
		}
		break;
	case STEP_COMMIT:
		commit(l);
		break;
	case STEP_FRAME:
		frame(l, peer_rng_chance(rng, 50));
		break;
	case STEP_SYNC:
		count_valid(l, TS_REQ_sync, 1);
		if (ts_display_sync(l->display, on_sync, l) < 0) {
			lost(l, "sync");
		}
		break;
	case STEP_ROUNDTRIP:
		roundtrip(l);
		break;
	case STEP_READ:
		flush(l);
		if (ts_display_read_events(l->display) < 0) {
			lost(l, "reading events");
		}
		break;
	case STEP_INFO:
		info_query(l);
		break;
	case STEP_SCREENSHOT:
		screenshot(l);
		break;
	case STEP_BURST:
		for (unsigned n = 100 + peer_rng_below(rng, 1900); n > 0 && l->nrects < MAX_RECTS; n--) {
			create_rect(l);
		}
		commit(l);
		break;
	case STEP_PURGE:
		for (uint32_t n = l->nrects / 2; n > 0; n--) {
			destroy_rect(l, peer_rng_below(rng, l->nrects));
		}
		commit(l);
		break;
	case STEP_NAP:
		flush(l);
		sleep_ms(1 + peer_rng_below(rng, 10));
		break;
	case STEP_STALL:
		stall(l);
		break;
	case STEP_RAW:
		chaos_raw_round(l->plan, l->stats, &l->rng);
		break;
	case STEP_COUNT_:
		break;
	}
}

/* ---- invalid requests ---- */

// Encodes a request into @buf (TS_MAX_MESSAGE bytes) and returns its size.
static size_t encode(uint8_t *buf, uint16_t opcode, const union ts_arg *args) {
	size_t n = peer_encode(buf, TS_MAX_MESSAGE, opcode, args);
	if (n == 0) {
		abort(); // a bug in this file: every request built here is encodable
	}
	return n;
}

// Writes raw bytes (and fds, with the first byte); false once the server has gone.
static bool send_raw(int fd, const void *data, size_t len, const int *fds, unsigned nfds) {
	return peer_write(fd, data, len, fds, nfds) == PEER_WRITTEN;
}

static void fill_random(struct life *l, uint8_t *p, size_t len) {
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)peer_rng_next(&l->rng);
	}
}

// What the server answered on a raw connection; a bad event is counted and told.
static struct chaos_answer read_answer(struct life *l, int fd, uint32_t sync_id) {
	struct chaos_answer answer = chaos_read_answer(fd, sync_id, l->stats);
	if (answer.bad != NULL) {
		chaos_add(&l->stats->bad_answers, 1);
		say(l, "%s", answer.bad);
	}
	return answer;
}



static const uint32_t invalid_expect[INVALID_COUNT_] = {
#define CHAOS_X_(name, expect) [INVALID_##name] = expect,
	CHAOS_INVALID(CHAOS_X_)
#undef CHAOS_X_
};

static const char *const invalid_names[INVALID_COUNT_] = {
#define CHAOS_X_(name, expect) [INVALID_##name] = #name,
	CHAOS_INVALID(CHAOS_X_)
#undef CHAOS_X_
};

// Counts how the server answered invalid request @kind, and ends the client.
static void __attribute__((noreturn)) judge(struct life *l, enum chaos_invalid kind,
		int code, bool accepted) {
	struct chaos_stats *s = l->stats;
	if (accepted) {
		chaos_add(&s->invalid_accepted, 1);
		say(l, "invalid request %s was accepted: a round trip after it succeeded",
			invalid_names[kind]);
		_exit(CHILD_ANOMALY);
	}
	if (code < 0) {
		chaos_add(&s->refused_silently, 1);
		_exit(CHILD_OK);
	}
	if (code < 32 && (invalid_expect[kind] & (1u << code))) {
		chaos_add(&s->refused_as_expected, 1);
		_exit(CHILD_OK);
	}
	if (code == TS_ERR_limit_exceeded) {
		// A limit struck first: allowed at any time, not a wrong answer.
		chaos_add(&s->cut_off_limit, 1);
		_exit(CHILD_CUT_OFF);
	}
	chaos_add(&s->refused_wrong_code, 1);
	say(l, "invalid request %s answered by error %s", invalid_names[kind], ts_error_name((uint32_t)code));
	_exit(CHILD_ANOMALY);
}

// A rect id the server has freed and told us so (delete_ids came): invalid for use, and
// allowed as a new id.
static uint32_t freed_id(struct life *l) {
	struct ts_rect *r = create_rect(l);
	uint32_t id = ts_rect_get_id(r);
	destroy_rect(l, l->nrects - 1);
	// A node goes at the commit, which frees its id (delete_ids).
	commit(l);
	roundtrip(l);
	return id;
}

static uint32_t live_id(struct life *l) {
	if (l->nrects == 0) {
		create_rect(l);
	}
	return ts_rect_get_id(l->rects[peer_rng_below(&l->rng, l->nrects)]);
}

// A random request whose id fields are all @id, and other fields valid (the
// generator's safe values: tests/peer/gen.h).
static size_t encode_with_id(struct life *l, uint8_t *buf, uint16_t opcode, uint32_t id) {
	union ts_arg args[TS_MAX_ARGS] = { { .u = 0 } };
	char strings[TS_MAX_STRING];
	// Any id will do for the generator (its own are overwritten below): @id may be
	// out of range.
	struct peer_ids ids = { .live = { 1 }, .kinds = { UINT32_MAX }, .nlive = 1 };
	if (!peer_gen_args(&l->rng, &ids, PEER_VALUES_SAFE, opcode, args, strings)) {
		abort(); // the lists below hold only requests it can make with one live id
	}
	const char *sig = ts_requests[opcode].signature;
	for (unsigned k = 0; sig[k]; k++) {
		if (sig[k] == 'n' || sig[k] == 'o') {
			args[k].u = id;
		}
	}
	return encode(buf, opcode, args);
}

// Requests by what their ids are, from the table: uses_id those that name an existing
// object, new_id those that take a new one (those with fds aside: theirs have rules of
// their own), any_id every one but hello without fds.
struct opcodes {
	uint16_t op[TS_REQ_COUNT_];
	uint32_t count;
};
static struct opcodes uses_id, new_id, any_id;

static void sort_requests(void) {
	for (uint16_t op = 0; op < TS_REQ_COUNT_; op++) {
		const char *sig = ts_requests[op].signature;
		// clock_step is refused (access_denied) by a server with a real clock, which
		// is what chaos runs against: never a valid request there.
		if (op == TS_REQ_hello || op == TS_REQ_clock_step || strchr(sig, 'h') != NULL) {
			continue;
		}
		// Animations may be set up only until their commit, which chaos does not track.
		if (op == TS_REQ_animation_set_from || op == TS_REQ_animation_set_timing ||
				op == TS_REQ_animation_set_curve || op == TS_REQ_animation_set_steps) {
			continue;
		}
		any_id.op[any_id.count++] = op;
		if (strchr(sig, 'o') != NULL) {
			uses_id.op[uses_id.count++] = op;
		} else if (strchr(sig, 'n') != NULL) {
			new_id.op[new_id.count++] = op;
		}
	}
}
#define PICK(l, list) ((list).op[peer_rng_below(&(l)->rng, (list).count)])

// An fd the server must refuse to write a screenshot into: not a memfd, a memfd not
// sealed against shrinking, one smaller than the output, or one sealed against writing.
static int bad_pixels(struct life *l) {
	size_t need = (size_t)l->width * 4 * (size_t)l->height;
	unsigned how = peer_rng_below(&l->rng, 4);
	int fd = how == 0 ? open("/dev/null", O_RDWR | O_CLOEXEC)
		: memfd_create("tessera-chaos-pixels", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		say(l, "cannot make screenshot memory: %s", strerror(errno));
		_exit(CHILD_BROKEN);
	}
	if (how == 0) {
		return fd;
	}
	off_t size = (off_t)(how == 2 ? peer_rng_below(&l->rng, (uint32_t)need) : need);
	int seals = (how == 1 ? 0 : F_SEAL_SHRINK) | (how == 3 ? F_SEAL_WRITE : 0);
	if (ftruncate(fd, size) < 0 || (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		say(l, "cannot make screenshot memory: %s", strerror(errno));
		_exit(CHILD_BROKEN);
	}
	return fd;
}

// Builds invalid request @kind for a welcomed connection into @buf, with fds to send
// in @fds. Returns its size.
static size_t build_invalid(struct life *l, enum chaos_invalid kind, uint8_t *buf,
		int *fds, unsigned *nfds) {
	struct peer_rng *rng = &l->rng;
	size_t size = 0;
	*nfds = 0;
	switch (kind) {
	case INVALID_bad_header: {
		uint32_t word[2] = { 12, TS_REQ_commit };
		switch (peer_rng_below(rng, 5)) {
		case 0: word[0] = peer_rng_below(rng, TS_HEADER_SIZE); break;
		case 1: word[0] = TS_MAX_MESSAGE + 1 + peer_rng_below(rng, UINT32_MAX - TS_MAX_MESSAGE); break;
		case 2: word[0] = 9 + 4 * peer_rng_below(rng, 1000) + peer_rng_below(rng, 3); break;
		case 3: word[1] |= (1 + peer_rng_below(rng, 255)) << 24; break; // flags
		default: word[1] |= (TS_MAX_FDS_PER_MESSAGE + 1 + peer_rng_below(rng, 200)) << 16; break;
		}
		memcpy(buf, word, sizeof word);
		size = sizeof word + 4 * peer_rng_below(rng, 16);
		fill_random(l, buf + sizeof word, size - sizeof word);
		break;
	}
	case INVALID_garbage:
		size = 1 + peer_rng_below(rng, 2048);
		fill_random(l, buf, size);
		break;
	case INVALID_bad_opcode: {
		size = TS_HEADER_SIZE + 4 * peer_rng_below(rng, 8);
		uint32_t opcode = TS_REQ_COUNT_ + peer_rng_below(rng, 0x10000 - TS_REQ_COUNT_);
		ts_put_u32(buf, (uint32_t)size);
		ts_put_u32(buf + 4, opcode);
		fill_random(l, buf + TS_HEADER_SIZE, size - TS_HEADER_SIZE);
		break;
	}
	case INVALID_bad_size: {
		// A known request without fds or strings, a size other than its own, every
		// word a live id.
		uint16_t opcode;
		do {
			opcode = (uint16_t)peer_rng_below(rng, TS_REQ_COUNT_);
		} while (!ts_request_interface.meta[opcode].plain);
		uint32_t right = ts_request_interface.meta[opcode].size;
		do {
			size = TS_HEADER_SIZE + 4 * peer_rng_below(rng, peer_rng_chance(rng, 80) ? 8 : 1022);
		} while (size == right);
		uint32_t id = live_id(l);
		ts_put_u32(buf, (uint32_t)size);
		ts_put_u32(buf + 4, opcode);
		for (size_t off = TS_HEADER_SIZE; off < size; off += 4) {
			ts_put_u32(buf + off, id);
		}
		break;
	}
	case INVALID_id_out_of_range: {
		uint32_t bad = peer_rng_chance(rng, 50) ? 0
			: TS_MAX_ID + 1 + peer_rng_below(rng, UINT32_MAX - TS_MAX_ID);
		uint16_t opcode = peer_rng_chance(rng, 50) ? PICK(l, uses_id) : PICK(l, new_id);
		size = encode_with_id(l, buf, opcode, bad);
		break;
	}
	case INVALID_id_destroyed:
		size = encode_with_id(l, buf, PICK(l, uses_id), freed_id(l));
		break;
	case INVALID_id_in_use:
		size = encode_with_id(l, buf, PICK(l, new_id), live_id(l));
		break;
	case INVALID_wrong_type: {
		// A frame callback takes a freed id; then a rect request (or destroy) names it.
		uint32_t id = freed_id(l);
		size = encode(buf, TS_REQ_frame, (union ts_arg[]){ { .u = id } });
		count_valid(l, TS_REQ_frame, 1);
		size += encode_with_id(l, buf + size, PICK(l, uses_id), id);
		break;
	}
	case INVALID_bad_value: {
		uint32_t id = live_id(l);
		if (peer_rng_chance(rng, 50)) {
			// A size in 16.16 past the largest, or negative (the sign bit set).
			uint32_t past = (uint32_t)TS_MAX_NODE_SIZE << 16;
			uint32_t big = past + 1 + peer_rng_below(rng, UINT32_MAX - past);
			bool wide = peer_rng_chance(rng, 50);
			size = encode(buf, TS_REQ_node_set_size, (union ts_arg[]){
				{ .u = id }, { .u = wide ? big : 65536 }, { .u = wide ? 65536 : big } });
		} else {
			size = encode(buf, TS_REQ_node_set_visible, (union ts_arg[]){
				{ .u = id }, { .u = 2 + peer_rng_below(rng, UINT32_MAX - 2) } });
		}
		break;
	}
	case INVALID_bad_pixels: {
		// A screenshot into memory it may not write: not a memfd, not sealed against
		// shrinking, smaller than the output, or sealed against writing.
		size = encode(buf, TS_REQ_screenshot, (union ts_arg[]){ { .u = freed_id(l) } });
		fds[0] = bad_pixels(l);
		*nfds = 1;
		break;
	}
	case INVALID_fds_unexpected:
	case INVALID_fds_missing:
	case INVALID_fds_stray: {
		// A request that takes no fds, saying it carries some (and sending them or
		// not), or sending some and saying nothing of them. Or a screenshot without
		// its fd.
		uint32_t count = 1 + peer_rng_below(rng, TS_MAX_FDS_PER_MESSAGE);
		if (kind == INVALID_fds_missing && peer_rng_chance(rng, 30)) {
			size = encode(buf, TS_REQ_screenshot, (union ts_arg[]){ { .u = freed_id(l) } });
			break;
		}
		size = peer_rng_chance(rng, 50) ? encode(buf, TS_REQ_commit, NULL)
			: encode_with_id(l, buf, TS_REQ_rect_set_color, live_id(l));
		if (kind != INVALID_fds_stray) {
			ts_put_u32(buf + 4, ts_get_u32(buf + 4) | count << 16); // nfds
		}
		if (kind != INVALID_fds_missing) {
			*nfds = peer_open_fds(fds, count);
			if (*nfds != count) {
				say(l, "cannot open file descriptors to send: %s", strerror(errno));
				_exit(CHILD_BROKEN);
			}
		}
		break;
	}
	case INVALID_fds_too_many: {
		// More than a connection queues, with an honest commit.
		unsigned count = TS_CONNECTION_MAX_FDS + 1 + peer_rng_below(rng, 36);
		size = encode(buf, TS_REQ_commit, NULL);
		*nfds = peer_open_fds(fds, count);
		if (*nfds != count) {
			say(l, "cannot open file descriptors to send: %s", strerror(errno));
			_exit(CHILD_BROKEN);
		}
		break;
	}
	case INVALID_hello_twice:
		size = encode(buf, TS_REQ_hello, (union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "again" } });
		break;
	default:
		abort(); // the raw kinds are built by raw_invalid
	}
	return size;
}

// Sends invalid request @kind on the library's connection after a round trip, then
// checks with another round trip that the server refused it.
static void __attribute__((noreturn)) invalid_on_display(struct life *l, enum chaos_invalid kind) {
	uint8_t buf[3 * TS_MAX_MESSAGE];
	int fds[80];
	unsigned nfds;
	if (kind == INVALID_truncated) {
		// Part of a request, then hang up: nothing to wait for.
		size_t size = encode_with_id(l, buf, PICK(l, uses_id), live_id(l));
		roundtrip(l);
		chaos_add(&l->stats->invalid[kind], 1);
		send_raw(l->fd, buf, 1 + peer_rng_below(&l->rng, (uint32_t)size - 1), NULL, 0);
		_exit(CHILD_OK);
	}
	size_t size = build_invalid(l, kind, buf, fds, &nfds);
	roundtrip(l);
	chaos_add(&l->stats->invalid[kind], 1);
	// If the server hung up before taking it all, its reason may be waiting to be read:
	// the round trip below reads it (as does read_answer).
	send_raw(l->fd, buf, size, fds, nfds);
	for (unsigned i = 0; i < nfds; i++) {
		close(fds[i]);
	}
	if (kind == INVALID_garbage) {
		// Random bytes may well end inside a message the server waits to complete:
		// hang up our side, then read what it made of them. Any answer will do.
		shutdown(l->fd, SHUT_WR);
		struct chaos_answer answer = read_answer(l, l->fd, 0);
		chaos_add(answer.error >= 0 ? &l->stats->refused_as_expected
			: &l->stats->refused_silently, 1);
		_exit(CHILD_OK);
	}
	count_valid(l, TS_REQ_sync, 1);
	if (ts_display_roundtrip(l->display) == 0) {
		judge(l, kind, -1, true);
	}
	int err = ts_display_get_error(l->display);
	uint32_t code = ts_display_get_protocol_error(l->display, NULL, NULL);
	judge(l, kind, err == EPROTO && code != 0 ? (int)code : -1, false);
}

// The invalid requests that need a fresh connection: before or at hello, or ids
// ahead of what the client has used, which only a client counting its own ids knows.
static void __attribute__((noreturn)) raw_invalid(struct life *l, enum chaos_invalid kind) {
	struct peer_rng *rng = &l->rng;
	int fd = peer_connect(l->plan->socket, PEER_BLOCKING);
	if (fd < 0) {
		_exit(CHILD_NO_CONNECT);
	}
	if (kind == INVALID_catalogue) {
		chaos_catalogue_case(l->plan, l->stats, &l->rng, fd);
	}
	uint8_t buf[2 * TS_MAX_MESSAGE];
	size_t size = 0;
	uint32_t highest = 0; // the highest id this connection has used
	if (kind != INVALID_before_hello && kind != INVALID_bad_version && kind != INVALID_bad_string) {
		char name[64];
		snprintf(name, sizeof name, "chaos-%u-raw", l->plan->serial);
		size = encode(buf, TS_REQ_hello, (union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = name } });
		count_valid(l, TS_REQ_hello, 1);
	}
	switch (kind) {
	case INVALID_before_hello:
		size += encode_with_id(l, buf + size, PICK(l, any_id), 1);
		break;
	case INVALID_bad_version:
		size += encode(buf + size, TS_REQ_hello, (union ts_arg[]){ { .u = 0 }, { .s = "v0" } });
		break;
	case INVALID_bad_string: {
		// hello(1, s) with s broken in one of the ways a string can be.
		uint8_t *m = buf + size;
		uint32_t len = 4 + peer_rng_below(rng, 60);
		uint32_t room = (len + 3) & ~3u;
		memset(m, 0, 16 + room);
		memset(m + 16, 'x', len - 1);
		uint32_t claimed = len;
		switch (peer_rng_below(rng, 5)) {
		case 0: claimed = 0; break;                                 // empty, no NUL
		case 1: claimed = TS_MAX_STRING + 1 + peer_rng_below(rng, 1000); break;
		case 2: claimed = room + 4 + peer_rng_below(rng, 100); break; // past the end
		case 3: m[16 + len - 1] = 'x'; break;                        // no final NUL
		default: m[16 + peer_rng_below(rng, len - 1)] = '\0'; break; // a NUL inside
		}
		ts_put_u32(m, 16 + room);
		ts_put_u32(m + 4, TS_REQ_hello);
		ts_put_u32(m + 8, 1);
		ts_put_u32(m + 12, claimed);
		size += 16 + room;
		break;
	}
	case INVALID_id_ahead: {
		unsigned created = peer_rng_below(rng, 10);
		for (unsigned i = 0; i < created; i++) {
			size += encode(buf + size, TS_REQ_rect_create,
				(union ts_arg[]){ { .u = ++highest }, { .u = 0 } });
		}
		count_valid(l, TS_REQ_rect_create, created);
		uint32_t ahead = highest + 2 + peer_rng_below(rng, 1000);
		size += encode_with_id(l, buf + size, PICK(l, new_id), ahead);
		break;
	}
	default:
		abort(); // the others go on the library's connection
	}
	chaos_add(&l->stats->invalid[kind], 1);
	// Then a sync with an honest id: answered only if the server let the request pass.
	uint32_t sync_id = highest + 1;
	size += encode(buf + size, TS_REQ_sync, (union ts_arg[]){ { .u = sync_id } });
	count_valid(l, TS_REQ_sync, 1);
	// Refused at connect (the clients limit), the server may hang up before we have
	// written it all; what it said is read all the same.
	send_raw(fd, buf, size, NULL, 0);
	struct chaos_answer answer = read_answer(l, fd, sync_id);
	judge(l, kind, answer.error, answer.synced);
}

/* ---- ways to die ---- */

static void no_core_dumps(void) {
	struct rlimit limit = { 0, 0 };
	setrlimit(RLIMIT_CORE, &limit);
	// A core_pattern that pipes to a program ignores RLIMIT_CORE; this it does not.
	prctl(PR_SET_DUMPABLE, 0);
}

static int *volatile null_pointer;

// As in tessera-crash: the sanitizers must not turn the fault into an orderly exit.
__attribute__((no_sanitize("undefined", "address")))
static void segfault(void) {
	signal(SIGSEGV, SIG_DFL);
	*null_pointer = 1;
	raise(SIGSEGV); // not reached
}

// A request with a live id or a fresh one, encoded whole into @buf.
static size_t any_request(struct life *l, uint8_t *buf) {
	if (l->nrects > 0 && peer_rng_chance(&l->rng, 70)) {
		return encode_with_id(l, buf, PICK(l, uses_id), live_id(l));
	}
	return encode(buf, TS_REQ_hello, (union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "half a hello" } });
}

// Floods requests that each make an event, and never reads: the server must queue the
// events up to its limit and then cut us off.
static void __attribute__((noreturn)) flood(struct life *l) {
	uint32_t id = freed_id(l);
	uint8_t chunk[4080];
	size_t size = 0;
	unsigned syncs = 0, queries = 0;
	while (size + 24 <= sizeof chunk) {
		size += encode(chunk + size, TS_REQ_sync, (union ts_arg[]){ { .u = id } });
		size += encode(chunk + size, TS_REQ_info_query, (union ts_arg[]){ { .u = id } });
		syncs++;
		queries++;
	}
	chaos_add(&l->stats->stalls, 1);
	enter_phase("flood");
	while (send_raw(l->fd, chunk, size, NULL, 0)) {
		phase_bytes += size;
		count_valid(l, TS_REQ_sync, syncs);
		count_valid(l, TS_REQ_info_query, queries);
		chaos_add(&l->stats->flood_bytes, size);
	}
	// Cut off. What we never read may end with an error event saying why.
	struct chaos_answer answer = read_answer(l, l->fd, 0);
	if (answer.error == TS_ERR_limit_exceeded) {
		chaos_add(&l->stats->cut_off_limit, 1);
	} else if (answer.error >= 0) {
		chaos_add(&l->stats->valid_refused, 1);
		say(l, "flood of valid requests answered by error %s",
			ts_error_name((uint32_t)answer.error));
		_exit(CHILD_ANOMALY);
	} else {
		chaos_add(&l->stats->cut_off_hangup, 1);
	}
	_exit(CHILD_CUT_OFF);
}

static void __attribute__((noreturn)) die(struct life *l) {
	struct peer_rng *rng = &l->rng;
	uint8_t buf[TS_MAX_MESSAGE];
	switch (l->plan->fate) {
	case FATE_segv:
		if (peer_rng_chance(rng, 50)) {
			flush(l);
		}
		segfault();
		break;
	case FATE_abort:
		abort();
	case FATE_kill:
		if (peer_rng_chance(rng, 50)) {
			flush(l);
		}
		kill(getpid(), SIGKILL);
		break;
	case FATE_midmsg: {
		size_t size = any_request(l, buf);
		roundtrip(l);
		send_raw(l->fd, buf, 1 + peer_rng_below(rng, (uint32_t)size - 1), NULL, 0);
		kill(getpid(), SIGKILL);
		break;
	}
	case FATE_exit:
		// With requests still queued in the library, or not.
		if (peer_rng_chance(rng, 50)) {
			flush(l);
		}
		_exit(CHILD_OK);
	case FATE_disconnect:
		if (peer_rng_chance(rng, 50)) {
			// A tidy client: takes its rects away first.
			while (l->nrects > 0) {
				destroy_rect(l, l->nrects - 1);
			}
			commit(l);
			roundtrip(l);
		}
		ts_display_disconnect(l->display);
		_exit(CHILD_OK);
	case FATE_fds: {
		// Fds with part of a message, or with whole ones that do not claim them.
		int fds[TS_MAX_FDS_PER_MESSAGE];
		unsigned count = peer_open_fds(fds, 1 + peer_rng_below(rng, TS_MAX_FDS_PER_MESSAGE));
		size_t size = any_request(l, buf);
		roundtrip(l);
		if (peer_rng_chance(rng, 70)) {
			size = 1 + peer_rng_below(rng, (uint32_t)size - 1);
		}
		chaos_add(&l->stats->fds_in_flight, count);
		send_raw(l->fd, buf, size, fds, count);
		kill(getpid(), SIGKILL);
		break;
	}
	case FATE_stall:
		flood(l);
	case FATE_invalid:
	case FATE_outside:
	case FATE_COUNT_:
		break;
	}
	abort(); // not reached: the cases above all end the process
}

void chaos_client_run(const struct chaos_plan *plan, struct chaos_stats *stats) {
	// The parent blocks SIGCHLD and may have more: a client starts from a clean slate.
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	life_start_ns = now_ns();
	signal(SIGALRM, on_alarm);
	enter_phase("hello");
	no_core_dumps();

	sort_requests();
	struct life *l = &life;
	l->plan = plan;
	l->stats = stats;
	l->rng.state = plan->seed;
	l->width = plan->width;
	l->height = plan->height;
	l->max_rects = 1 + peer_rng_below(&l->rng, peer_rng_chance(&l->rng, 80) ? 64 : MAX_RECTS);

	enum chaos_invalid kind = (enum chaos_invalid)peer_rng_below(&l->rng, INVALID_COUNT_);
	if (plan->fate == FATE_invalid && (kind == INVALID_before_hello ||
			kind == INVALID_catalogue ||
			kind == INVALID_bad_version || kind == INVALID_bad_string ||
			kind == INVALID_id_ahead)) {
		raw_invalid(l, kind);
	}

	char name[64];
	snprintf(name, sizeof name, "chaos-%u", plan->serial);
	count_valid(l, TS_REQ_hello, 1);
	l->display = ts_display_connect(plan->socket, name);
	if (l->display == NULL) {
		if (errno == EPROTO || errno == EPIPE) {
			// Refused at connect: an error event (the clients limit), or a hang-up.
			chaos_add(&stats->refused_at_connect, 1);
			_exit(CHILD_CUT_OFF);
		}
		_exit(CHILD_NO_CONNECT);
	}
	ts_display_set_error_handler(l->display, on_error, l);
	l->fd = ts_display_get_fd(l->display);

	// Many short lives, some long ones, and a few that end right after hello.
	unsigned steps = peer_rng_chance(&l->rng, 5) ? 0 : 1 + peer_rng_below(&l->rng,
		peer_rng_chance(&l->rng, 80) ? 100 : 1000);
	for (unsigned i = 0; i < steps || plan->fate == FATE_outside; i++) {
		step(l);
	}
	enter_phase("ending");
	if (plan->fate == FATE_invalid) {
		invalid_on_display(l, kind);
	}
	die(l);
}
