/*
 * Unit tests of the reaper (server/reaper.h): big blocks handed over are freed (and
 * mappings really unmapped) by the time reaper_stop returns; small blocks, and every
 * block while no reaper runs, are freed at once; the thread never takes SIGINT or
 * SIGTERM from the loop; it starts again after a stop. Under AddressSanitizer a block
 * that was never freed would also fail the run as a leak.
 */
#define _GNU_SOURCE // memfd_create
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reaper.h"

static size_t page(void) {
	return (size_t)sysconf(_SC_PAGESIZE);
}

// Mappings of the test's own memfd, from /proc/self/maps: a mapping is known gone by
// its name, whatever maps that address range again meanwhile.
static int test_maps(void) {
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		n += strstr(line, "memfd:reaper-test") != NULL;
	}
	fclose(f);
	return n;
}

// A shared mapping of @len bytes of a memfd, every page touched.
static void *map_touched(size_t len) {
	int fd = memfd_create("reaper-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(addr != MAP_FAILED);
	memset(addr, 0x5a, len);
	return addr;
}

static void test_inline_without_thread(void **state) {
	(void)state;
	struct reaper_stats before = reaper_stats();
	size_t len = 64 * page() > REAPER_MIN_BYTES ? 64 * page() : REAPER_MIN_BYTES;
	void *addr = map_touched(len);
	assert_int_equal(test_maps(), 1);
	reaper_unmap(addr, len);
	assert_int_equal(test_maps(), 0); // gone on return: no thread to hand it to
	reaper_free(malloc(REAPER_MIN_BYTES * 2), REAPER_MIN_BYTES * 2);
	reaper_free(NULL, REAPER_MIN_BYTES); // like free(NULL)
	struct reaper_stats after = reaper_stats();
	assert_int_equal(after.handed, before.handed);
	assert_int_equal(after.inline_, before.inline_);
	reaper_stop(); // nothing started: returns at once
}

static void test_handed_and_freed(void **state) {
	(void)state;
	assert_true(reaper_start());
	assert_true(reaper_start()); // already running: no second thread
	struct reaper_stats before = reaper_stats();
	enum { MAPS = 5, BLOCKS = 7 };
	size_t len = REAPER_MIN_BYTES + page();
	void *maps[MAPS];
	unsigned long long bytes = 0;
	for (int i = 0; i < MAPS; i++) {
		maps[i] = map_touched(len);
		reaper_unmap(maps[i], len);
		bytes += len;
	}
	for (int i = 0; i < BLOCKS; i++) {
		size_t size = REAPER_MIN_BYTES << (i % 3);
		char *block = malloc(size);
		assert_non_null(block);
		memset(block, i, size);
		reaper_free(block, size);
		bytes += size;
	}
	// Small: freed at once, never counted.
	reaper_free(malloc(64), 64);
	reaper_wake();
	reaper_stop();
	assert_int_equal(test_maps(), 0);
	struct reaper_stats after = reaper_stats();
	assert_int_equal(after.handed - before.handed, MAPS + BLOCKS);
	assert_int_equal(after.bytes - before.bytes, bytes);
}

// More blocks than the queue holds, with no reaper_wake: the reaper is woken as the
// queue fills, and whatever finds it full is freed at once. Either way all are freed.
static void test_flood(void **state) {
	(void)state;
	assert_true(reaper_start());
	struct reaper_stats before = reaper_stats();
	enum { N = 1000 };
	for (int i = 0; i < N; i++) {
		char *block = malloc(REAPER_MIN_BYTES);
		assert_non_null(block);
		block[0] = (char)i;
		reaper_free(block, REAPER_MIN_BYTES);
	}
	reaper_stop();
	struct reaper_stats after = reaper_stats();
	assert_int_equal((after.handed - before.handed) + (after.inline_ - before.inline_), N);
}

// The mask of every thread of this process but the calling one, read from /proc.
static int other_threads_blocking(int signo) {
	int found = 0;
	DIR *dir = opendir("/proc/self/task");
	assert_non_null(dir);
	struct dirent *entry;
	char self[32];
	snprintf(self, sizeof self, "%ld", (long)getpid());
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.' || strcmp(entry->d_name, self) == 0) {
			continue;
		}
		char path[300], line[256];
		snprintf(path, sizeof path, "/proc/self/task/%s/status", entry->d_name);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof line, f) != NULL) {
			unsigned long long mask;
			if (sscanf(line, "SigBlk: %llx", &mask) == 1) {
				assert_true(mask & (1ull << (signo - 1)));
				found++;
			}
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

static void test_signals_stay_with_the_loop(void **state) {
	(void)state;
	assert_int_equal(other_threads_blocking(SIGTERM), 0); // no thread yet
	assert_true(reaper_start());
	assert_int_equal(other_threads_blocking(SIGTERM), 1);
	assert_int_equal(other_threads_blocking(SIGINT), 1);
	reaper_stop();
	assert_int_equal(other_threads_blocking(SIGINT), 0); // joined
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_without_thread),
		cmocka_unit_test(test_handed_and_freed),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_signals_stay_with_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
