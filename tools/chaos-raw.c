/*
 * tessera-chaos: the socket without libtessera. Clients write what the library would
 * never send (invalid requests, half messages, stray fds) with the raw peer of
 * tests/peer, and read the server's answer to it here, counting its errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chaos.h"
#include "gen.h"
#include "malformed.h"
#include "peer.h"
#include "wire.h"

#define ANSWER_TIMEOUT_MS 20000 // the server says nothing for this long: give up
#define ANSWER_MS ANSWER_TIMEOUT_MS

struct chaos_answer chaos_read_answer(int fd, uint32_t sync_id, struct chaos_stats *stats) {
	struct chaos_answer answer = { .error = -1 };
	// A struct peer is too big for the stack of a client that may be deep in a step.
	static struct peer p;
	peer_init(&p, fd);
	for (;;) {
		struct peer_event ev;
		// Silence for ANSWER_TIMEOUT_MS ends the wait, as bytes that keep coming do not.
		enum peer_status rc = peer_next(&p, ANSWER_TIMEOUT_MS, &ev);
		if (rc == PEER_BAD) {
			answer.bad = p.bad;
			return answer;
		}
		if (rc != PEER_EVENT) {
			answer.hung_up = rc == PEER_HANGUP;
			return answer;
		}
		if (ev.hdr.opcode == TS_EV_error) {
			uint32_t code = ev.args[1].u;
			chaos_add(&stats->errors[code < TS_ERR_COUNT_ ? code : TS_ERR_COUNT_], 1);
			answer.error = (int)code;
			// The hang-up that follows, if it comes at once.
			answer.hung_up = peer_drain(&p, 2000) == PEER_HANGUP;
			return answer;
		}
		if (ev.hdr.opcode == TS_EV_done && ev.args[0].u == sync_id && sync_id != 0) {
			answer.synced = true;
			return answer;
		}
	}
}

void chaos_vsay(const struct chaos_plan *plan, const char *fmt, va_list ap) {
	char text[768];
	vsnprintf(text, sizeof text, fmt, ap);
	// One write, so that lines of concurrent clients do not interleave.
	char line[1024];
	int n = snprintf(line, sizeof line, "tessera-chaos: client %u (%s, seed %llu): %s\n",
		plan->serial, chaos_fate_name(plan->fate), (unsigned long long)plan->seed, text);
	if (n > 0) {
		(void)!write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	}
}

static void chaos_say(const struct chaos_plan *plan, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void chaos_say(const struct chaos_plan *plan, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	chaos_vsay(plan, fmt, ap);
	va_end(ap);
}

// Encodes a request into @buf (TS_MAX_MESSAGE bytes) and returns its size.
static size_t encode(uint8_t *buf, uint16_t opcode, const union ts_arg *args) {
	size_t n = peer_encode(buf, TS_MAX_MESSAGE, opcode, args);
	if (n == 0) {
		abort(); // a bug in this file: every request built here is encodable
	}
	return n;
}

static bool send_raw(int fd, const void *data, size_t len, const int *fds, unsigned nfds) {
	return peer_write(fd, data, len, fds, nfds) == PEER_WRITTEN;
}

// What the server answered; a bad event is counted and told.
static struct chaos_answer read_answer(const struct chaos_plan *plan,
		struct chaos_stats *stats, int fd) {
	struct chaos_answer answer = chaos_read_answer(fd, 0, stats);
	if (answer.bad != NULL) {
		chaos_add(&stats->bad_answers, 1);
		chaos_say(plan, "%s", answer.bad);
	}
	return answer;
}

// A case of the malformed-input catalogue (tests/peer/malformed.h) on the new
// connection @fd: the server must answer with an error the case allows, and hang up.
void chaos_catalogue_case(const struct chaos_plan *plan, struct chaos_stats *stats,
		struct peer_rng *rng, int fd) {
	size_t count;
	struct peer_case *cases = peer_malformed(&count);
	if (cases == NULL) {
		chaos_say(plan, "cannot build the catalogue of malformed inputs: out of memory");
		_exit(CHILD_BROKEN);
	}
	const struct peer_case *c = &cases[peer_rng_below(rng, (uint32_t)count)];
	chaos_add(&stats->invalid[INVALID_catalogue], 1);
	// Refused at connect (the clients limit), the server may hang up before we have
	// written it all; what it said is read all the same.
	peer_case_send(fd, c);
	struct chaos_answer answer = read_answer(plan, stats, fd);
	struct chaos_stats *s = stats;
	if (answer.error >= 0 && peer_case_allows(c, (uint32_t)answer.error) &&
			(answer.hung_up || !c->fatal)) {
		chaos_add(&s->refused_as_expected, 1);
		_exit(CHILD_OK);
	}
	if (answer.error == TS_ERR_limit_exceeded) {
		chaos_add(&s->cut_off_limit, 1); // a limit struck first: allowed at any time
		_exit(CHILD_CUT_OFF);
	}
	if (answer.error < 0 && answer.hung_up) {
		chaos_add(&s->refused_silently, 1);
		_exit(CHILD_OK);
	}
	if (answer.error < 0) {
		chaos_add(&s->invalid_accepted, 1);
		chaos_say(plan, "malformed input %s was neither refused nor ended the connection", c->name);
		_exit(CHILD_ANOMALY);
	}
	chaos_add(&s->refused_wrong_code, 1);
	chaos_say(plan, "malformed input %s answered by error %s%s", c->name,
		ts_error_name((uint32_t)answer.error), answer.hung_up ? "" : " without a hang-up");
	_exit(CHILD_ANOMALY);
}

// Memory as the server wants it for every fd a request takes: screenshot pixels, and
// a pool of the generator's (PEER_POOL_BYTES).
static int good_pixels(const struct chaos_plan *plan) {
	size_t need = (size_t)plan->width * 4 * (size_t)plan->height;
	need = need > PEER_POOL_BYTES ? need : PEER_POOL_BYTES;
	int fd = memfd_create("tessera-chaos-pixels", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)need) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		chaos_say(plan, "cannot make screenshot memory: %s", strerror(errno));
		_exit(CHILD_BROKEN);
	}
	return fd;
}

// A round of requests made from the protocol table by the generator (tests/peer/gen.h),
// on a raw connection of this client's own: a request added to the table is soaked
// here with no change to this file. A round trip after them must be answered without
// an error.
void chaos_raw_round(const struct chaos_plan *plan, struct chaos_stats *stats,
		struct peer_rng *rng) {
	static struct peer p; // too big for the stack of a step
	int fd = peer_connect(plan->socket, PEER_BLOCKING);
	if (fd < 0) {
		_exit(CHILD_NO_CONNECT);
	}
	peer_init(&p, fd);
	char name[64];
	snprintf(name, sizeof name, "chaos-%u-table", plan->serial);
	chaos_add(&stats->valid[TS_REQ_hello], 1);
	struct peer_event ev;
	enum peer_status rc = peer_hello(&p, name, ANSWER_MS, &ev);
	if (rc != PEER_EVENT || ev.hdr.opcode != TS_EV_welcome) {
		// Refused: the clients limit (an error event), or a hang-up.
		if (rc == PEER_BAD) {
			chaos_add(&stats->bad_answers, 1);
			chaos_say(plan, "raw round: %s", p.bad);
			_exit(CHILD_ANOMALY);
		}
		chaos_add(&stats->refused_at_connect, 1);
		peer_close(&p);
		return;
	}
	struct peer_ids ids = { 0 };
	for (unsigned n = 1 + peer_rng_below(rng, 40); n > 0; n--) {
		union ts_arg args[TS_MAX_ARGS];
		char strings[TS_MAX_STRING];
		uint8_t msg[TS_MAX_MESSAGE];
		uint16_t op = peer_gen_pick(rng, &ids, PEER_VALUES_SAFE, args, strings);
		size_t size = encode(msg, op, args);
		int fds[TS_MAX_FDS_PER_MESSAGE];
		unsigned nfds = ts_request_interface.meta[op].nfds;
		for (unsigned i = 0; i < nfds; i++) {
			fds[i] = good_pixels(plan);
		}
		bool sent = send_raw(p.fd, msg, size, fds, nfds);
		for (unsigned i = 0; i < nfds; i++) {
			close(fds[i]);
		}
		if (!sent) {
			break; // the server hung up: the round trip below says why
		}
		chaos_add(&stats->valid[op], 1);
	}
	uint32_t sync_id = ids.highest + 1;
	uint8_t msg[TS_MAX_MESSAGE];
	send_raw(p.fd, msg, encode(msg, TS_REQ_sync, (union ts_arg[]){ { .u = sync_id } }), NULL, 0);
	chaos_add(&stats->valid[TS_REQ_sync], 1);
	rc = peer_wait(&p, TS_EV_done, sync_id, ANSWER_MS, &ev);
	if (rc == PEER_EVENT && ev.hdr.opcode == TS_EV_error) {
		if (p.code == TS_ERR_limit_exceeded) {
			chaos_add(&stats->cut_off_limit, 1);
		} else {
			chaos_add(&stats->valid_refused, 1);
			chaos_say(plan, "raw round: valid request refused: %s (%s)", ts_error_name(p.code),
				p.message);
			_exit(CHILD_ANOMALY);
		}
	} else if (rc == PEER_BAD) {
		chaos_add(&stats->bad_answers, 1);
		chaos_say(plan, "raw round: %s", p.bad);
		_exit(CHILD_ANOMALY);
	} else if (rc == PEER_HANGUP) {
		chaos_add(&stats->cut_off_hangup, 1);
	} else if (rc == PEER_TIMEOUT) {
		chaos_say(plan, "raw round: no answer to a round trip within %d ms", ANSWER_MS);
		_exit(CHILD_ANOMALY);
	} else {
		chaos_add(&stats->syncs_done, 1);
		chaos_add(&stats->raw_rounds, 1);
	}
	peer_close(&p);
}

