/*
 * The text stage: a bounded queue of jobs and one thread that runs them, off the loop
 * thread (a SEDA stage: the loop hands work over and takes results back through an
 * eventfd it polls, so it never waits for a job). Jobs shape and rasterise text
 * (shaper.h); the shaper belongs to the worker thread alone. Results come back to
 * the loop thread, which alone touches clients, the atlas and GL.
 *
 * A job is the submitter's memory: the worker thread reads its input and writes its
 * output, and the loop thread gets it back through worker_collect, which calls its
 * done function. A job whose submitter went meanwhile is still run and handed back:
 * the submitter marks it cancelled (a field only the loop thread reads) and done
 * frees it. No job is ever dropped, so memory always comes back.
 *
 * Without a thread (worker_create(..., false): unit tests and the fuzz targets, which
 * must be deterministic) a job runs inside worker_submit, and is handed back at the
 * next worker_collect as usual.
 */
#ifndef TESSERA_WORKER_H
#define TESSERA_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "list.h"

struct worker_job {
	struct list link;                               // the worker's own
	// On the worker thread: does the work with the worker's context.
	void (*run)(struct worker_job *job, void *context);
	// On the loop thread, in worker_collect: takes the result.
	void (*done)(struct worker_job *job);
};

struct worker;

/**
 * A worker that runs jobs with @context (handed to every job's run). With @threaded, on
 * a thread of its own (which blocks every signal), else inside worker_submit. NULL
 * when the thread or the eventfd cannot be had (logged).
 */
struct worker *worker_create(void *context, bool threaded);

/** Runs every queued job, hands them all back (done), stops the thread. NULL is fine. */
void worker_destroy(struct worker *worker);

/** Readable (POLLIN) while finished jobs wait for worker_collect. */
int worker_fd(const struct worker *worker);

/** Queues @job (FIFO). */
void worker_submit(struct worker *worker, struct worker_job *job);

/** Hands back every finished job, in the order submitted, through its done. */
void worker_collect(struct worker *worker);

/** Jobs submitted and not yet handed back. */
size_t worker_in_flight(const struct worker *worker);

#endif
