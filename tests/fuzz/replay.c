/*
 * Runs a fuzz target's LLVMFuzzerTestOneInput over files, for builds without libFuzzer:
 * `meson test` replays the corpus this way as a regression check.
 *
 * usage: fuzz-TARGET FILE|DIR...   (the files of a DIR run in name order; no recursion)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned ran;

// Reads @path whole and runs it. Returns false when it cannot be read.
static bool run_file(const char *path) {
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		return false;
	}
	uint8_t *data = NULL;
	size_t size = 0, cap = 0;
	for (;;) {
		if (size == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *grown = realloc(data, cap);
			if (grown == NULL) {
				fprintf(stderr, "out of memory reading %s\n", path);
				free(data);
				fclose(f);
				return false;
			}
			data = grown;
		}
		size_t n = fread(data + size, 1, cap - size, f);
		if (n == 0) {
			break;
		}
		size += n;
	}
	bool ok = !ferror(f);
	fclose(f);
	if (!ok) {
		fprintf(stderr, "cannot read %s\n", path);
	} else {
		// An exact copy, so that AddressSanitizer catches a read past the end.
		uint8_t *exact = malloc(size ? size : 1);
		if (exact == NULL) {
			ok = false;
		} else {
			memcpy(exact, data, size);
			LLVMFuzzerTestOneInput(exact, size);
			free(exact);
			ran++;
		}
	}
	free(data);
	return ok;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool run_dir(const char *dir) {
	struct dirent **entries;
	int n = scandir(dir, &entries, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "cannot list %s: %s\n", dir, strerror(errno));
		return false;
	}
	bool ok = true;
	for (int i = 0; i < n; i++) {
		char *path = NULL;
		struct stat st;
		if (entries[i]->d_name[0] != '.' &&
				asprintf(&path, "%s/%s", dir, entries[i]->d_name) >= 0 &&
				stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			ok = run_file(path) && ok;
		}
		free(path);
		free(entries[i]);
	}
	free(entries);
	return ok;
}

int main(int argc, char *argv[]) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	bool ok = true;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "cannot find %s: %s\n", argv[i], strerror(errno));
			ok = false;
		} else if (S_ISDIR(st.st_mode)) {
			ok = run_dir(argv[i]) && ok;
		} else {
			ok = run_file(argv[i]) && ok;
		}
	}
	printf("%u inputs ran\n", ran);
	// An empty corpus would make the test pass without checking anything.
	return ok && ran > 0 ? 0 : 1;
}
