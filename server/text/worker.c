#define _GNU_SOURCE // eventfd flags, SCHED_IDLE
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct worker {
	void *context;
	int event_fd;
	bool threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct list queue;      // submitted, not yet run; under lock
	struct list finished;   // run, not yet collected; under lock
	bool stopping;          // under lock
	size_t in_flight;       // the loop thread's own count
};

static void signal_done(struct worker *worker) {
	uint64_t one = 1;
	while (write(worker->event_fd, &one, sizeof one) < 0 && errno == EINTR) {
	}
}

static void *worker_main(void *data) {
	struct worker *worker = data;
	// The loop and the GL driver's threads come first: shaping runs on what CPU they
	// leave (on a 2-core Pi or VM, a worker at the same priority takes a core from the
	// renderer and frames are missed).
	struct sched_param idle = { 0 };
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0) {
		log_debug("text worker: no SCHED_IDLE; it runs at the loop's priority");
	}
	pthread_mutex_lock(&worker->lock);
	for (;;) {
		while (list_empty(&worker->queue) && !worker->stopping) {
			pthread_cond_wait(&worker->wake, &worker->lock);
		}
		if (list_empty(&worker->queue)) {
			break; // stopping, and nothing left
		}
		struct worker_job *job = list_entry(worker->queue.next, struct worker_job, link);
		list_remove(&job->link);
		pthread_mutex_unlock(&worker->lock);
		job->run(job, worker->context);
		pthread_mutex_lock(&worker->lock);
		bool was_empty = list_empty(&worker->finished);
		list_append(&worker->finished, &job->link);
		if (was_empty) {
			signal_done(worker);
		}
	}
	pthread_mutex_unlock(&worker->lock);
	return NULL;
}

struct worker *worker_create(void *context, bool threaded) {
	struct worker *worker = calloc(1, sizeof *worker);
	if (worker == NULL) {
		log_error("text worker: out of memory");
		return NULL;
	}
	worker->context = context;
	worker->threaded = threaded;
	list_init(&worker->queue);
	list_init(&worker->finished);
	worker->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (worker->event_fd < 0) {
		log_error("text worker: eventfd: %s", strerror(errno));
		goto err_free;
	}
	pthread_mutex_init(&worker->lock, NULL);
	pthread_cond_init(&worker->wake, NULL);
	if (threaded) {
		// The thread takes no signal: SIGINT and SIGTERM stay with the loop.
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		int rc = pthread_create(&worker->thread, NULL, worker_main, worker);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			log_error("text worker: cannot start a thread: %s", strerror(rc));
			goto err_sync;
		}
	}
	return worker;

err_sync:
	pthread_cond_destroy(&worker->wake);
	pthread_mutex_destroy(&worker->lock);
	close(worker->event_fd);
err_free:
	free(worker);
	return NULL;
}

void worker_destroy(struct worker *worker) {
	if (worker == NULL) {
		return;
	}
	if (worker->threaded) {
		pthread_mutex_lock(&worker->lock);
		worker->stopping = true;
		pthread_cond_signal(&worker->wake);
		pthread_mutex_unlock(&worker->lock);
		pthread_join(worker->thread, NULL);
	}
	worker_collect(worker);
	pthread_cond_destroy(&worker->wake);
	pthread_mutex_destroy(&worker->lock);
	close(worker->event_fd);
	free(worker);
}

int worker_fd(const struct worker *worker) {
	return worker->event_fd;
}

void worker_submit(struct worker *worker, struct worker_job *job) {
	worker->in_flight++;
	if (!worker->threaded) {
		job->run(job, worker->context);
		bool was_empty = list_empty(&worker->finished);
		list_append(&worker->finished, &job->link);
		if (was_empty) {
			signal_done(worker);
		}
		return;
	}
	pthread_mutex_lock(&worker->lock);
	list_append(&worker->queue, &job->link);
	pthread_cond_signal(&worker->wake);
	pthread_mutex_unlock(&worker->lock);
}

void worker_collect(struct worker *worker) {
	uint64_t count;
	while (read(worker->event_fd, &count, sizeof count) < 0 && errno == EINTR) {
	}
	struct list done;
	list_init(&done);
	pthread_mutex_lock(&worker->lock);
	list_splice(&done, &worker->finished);
	pthread_mutex_unlock(&worker->lock);
	while (!list_empty(&done)) {
		struct worker_job *job = list_entry(done.next, struct worker_job, link);
		list_remove(&job->link);
		worker->in_flight--;
		job->done(job);
	}
}

size_t worker_in_flight(const struct worker *worker) {
	return worker->in_flight;
}
