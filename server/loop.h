/*
 * The event loop: fds and timers. Knows nothing of the protocol.
 *
 * Two backends behind one interface, chosen at creation: poll() (the default) over an
 * array of pollfds, and epoll, which keeps the interest set in the kernel so that a
 * round costs what is ready, not what is connected.
 *
 * Sources and timers may be added and removed from inside callbacks; a removed source
 * is never called again and is freed after the current round; a removed timer is
 * freed at once and never called again.
 */
#ifndef TESSERA_LOOP_H
#define TESSERA_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_source;
struct loop_timer;

enum loop_kind {
	LOOP_POLL,
	LOOP_EPOLL,
};

/** "poll" or "epoll". */
const char *loop_kind_name(enum loop_kind kind);
/** Parses "poll" or "epoll". False for anything else. */
bool loop_kind_parse(const char *name, enum loop_kind *kind);

/** Called with the revents of @fd, in poll()'s terms (POLLIN, POLLOUT, POLLHUP, POLLERR). */
typedef void (*loop_fd_func)(void *data, int fd, short revents);
/** Called when a timer's deadline has passed. */
typedef void (*loop_timer_func)(void *data);

/** Returns NULL when memory runs out or epoll_create1 fails (errno says why). */
struct loop *loop_create(enum loop_kind kind);
/** Frees the loop and every source and timer still registered; closes no fds. NULL is fine. */
void loop_destroy(struct loop *loop);
enum loop_kind loop_get_kind(const struct loop *loop);

/**
 * Watches @fd for @events (POLLIN/POLLOUT; 0 parks it, though POLLHUP and POLLERR are
 * still reported, as poll() does). Returns NULL when out of memory (or when epoll
 * refuses the fd). The fd must stay open until the source is removed.
 */
struct loop_source *loop_add_fd(struct loop *loop, int fd, short events,
	loop_fd_func func, void *data);

/** Changes the events watched. */
void loop_source_set_events(struct loop_source *source, short events);
short loop_source_get_events(const struct loop_source *source);

/** Stops watching; the callback will not run again. NULL is fine. */
void loop_source_remove(struct loop_source *source);

/** A timer, disarmed. Returns NULL when out of memory. */
struct loop_timer *loop_add_timer(struct loop *loop, loop_timer_func func, void *data);

/**
 * Arms @timer for @deadline_ns (CLOCK_MONOTONIC, absolute; see loop_now_ns), moving it
 * if it was armed. With @period_ns > 0 it repeats every period after that; periods
 * the loop missed (it was busy) are skipped, not run in a burst. A deadline already
 * past fires in the next dispatch. A timer armed by a timer callback for a time already
 * past fires in the round after, so no callback can keep the loop in one round.
 */
void loop_timer_arm(struct loop_timer *timer, uint64_t deadline_ns, uint64_t period_ns);
void loop_timer_disarm(struct loop_timer *timer);
bool loop_timer_armed(const struct loop_timer *timer);
/** The deadline it is armed for; UINT64_MAX when disarmed. */
uint64_t loop_timer_deadline(const struct loop_timer *timer);
/** Disarms and frees @timer. NULL is fine. */
void loop_timer_remove(struct loop_timer *timer);

/**
 * Waits until a source is ready, the earliest armed timer is due, or @timeout_ns
 * nanoseconds pass (-1: no limit of its own; 0: does not wait), to the kernel timer's
 * precision, not rounded to a millisecond. Then calls the callback of every ready
 * source, then of every timer due. While it waits, the signal mask is @sigmask (NULL:
 * unchanged), as with ppoll() and epoll_pwait(): a signal blocked everywhere else is
 * delivered only here, and ends the wait (EINTR).
 * Returns the number of sources ready plus timers fired (0 after a signal), or -1
 * when the wait fails otherwise.
 */
int loop_dispatch(struct loop *loop, int64_t timeout_ns, const sigset_t *sigmask);

/** Monotonic clock in nanoseconds. */
uint64_t loop_now_ns(void);

#endif
