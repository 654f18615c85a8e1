/*
 * What the fuzz targets share: libFuzzer's entry point, which replay.c calls when the
 * targets are built without libFuzzer, and an fd count for the leak checks.
 */
#ifndef TESSERA_FUZZ_H
#define TESSERA_FUZZ_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>

/** Runs one input. Returns 0; a bug found aborts (or a sanitizer reports it). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FD_RANGE 1024 // fds 0..1023 are counted; the targets never get near the top

/**
 * The number of open fds below FUZZ_FD_RANGE (or the fd limit). One poll() system call:
 * poll reports POLLNVAL for every closed one, where listing /proc/self/fd would take
 * several and slow each input down.
 */
static inline int fuzz_count_fds(void) {
	static struct pollfd fds[FUZZ_FD_RANGE];
	static nfds_t range;
	if (range == 0) {
		// poll() refuses more entries than the fd limit.
		struct rlimit lim;
		range = FUZZ_FD_RANGE;
		if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < range) {
			range = (nfds_t)lim.rlim_cur;
		}
		for (nfds_t i = 0; i < range; i++) {
			fds[i].fd = (int)i;
		}
	}
	if (poll(fds, range, 0) < 0) {
		abort();
	}
	int open_fds = 0;
	for (nfds_t i = 0; i < range; i++) {
		open_fds += !(fds[i].revents & POLLNVAL);
	}
	return open_fds;
}

#endif
