/*
 * The event loop: one poll() over registered fds. Knows nothing of the protocol.
 * Sources may be added and removed from inside callbacks; a removed source is never
 * called again and is freed after the current round.
 */
#ifndef TESSERA_LOOP_H
#define TESSERA_LOOP_H

#include <signal.h>
#include <stdint.h>

struct loop;
struct loop_source;

/** Called with the poll() revents of @fd (POLLIN, POLLOUT, POLLHUP, POLLERR...). */
typedef void (*loop_fd_func)(void *data, int fd, short revents);

/** Returns NULL when memory runs out. */
struct loop *loop_create(void);
/** Frees the loop and every source still registered; closes no fds. NULL is fine. */
void loop_destroy(struct loop *loop);

/** Watches @fd for @events (POLLIN/POLLOUT; 0 parks it). Returns NULL when out of memory. */
struct loop_source *loop_add_fd(struct loop *loop, int fd, short events,
	loop_fd_func func, void *data);

/** Changes the events watched. */
void loop_source_set_events(struct loop_source *source, short events);
short loop_source_get_events(const struct loop_source *source);

/** Stops watching; the callback will not run again. NULL is fine. */
void loop_source_remove(struct loop_source *source);

/**
 * Waits up to @timeout_ns nanoseconds (-1: forever; ppoll's precision, so a frame
 * deadline is met to the timer's slack, not rounded to a millisecond) and calls the callback of every ready source.
 * While it waits, the signal mask is @sigmask (NULL: unchanged), as with ppoll(): a
 * signal blocked everywhere else is delivered only here, and ends the wait (EINTR).
 * Returns the number of sources that were ready (0 after a signal), or -1 when poll()
 * fails otherwise.
 */
int loop_dispatch(struct loop *loop, int64_t timeout_ns, const sigset_t *sigmask);

/** Monotonic clock in nanoseconds. */
uint64_t loop_now_ns(void);

#endif
