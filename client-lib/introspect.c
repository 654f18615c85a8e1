/*
 * Introspection and screenshots: requests answered by events that a waiting call
 * collects. The collecting state lives on the waiting caller's stack; the id entry
 * points at it until the final event arrives. If the connection fails first nothing
 * is dispatched any more, so the entry is never used again.
 */
#include "client-private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

int introspect_handle_client_info(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_INFO);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent client_info for #%u, "
			"which is not an info query", args[0].u);
	}
	struct info_query *query = entry->info;
	struct ts_server_info *info = query->info;
	if (info->count == query->cap) {
		size_t cap = query->cap ? query->cap * 2 : 8;
		struct ts_client_info *list = realloc(info->list, cap * sizeof *list);
		if (list == NULL) {
			return display_fail(display, ENOMEM, NULL);
		}
		info->list = list;
		query->cap = cap;
	}
	char *name = strdup(args[5].s);
	if (name == NULL) {
		return display_fail(display, ENOMEM, NULL);
	}
	info->list[info->count++] = (struct ts_client_info){
		.id = args[1].u,
		.pid = args[2].u,
		.objects = args[3].u,
		.bytes = args[4].u,
		.name = name,
	};
	return 0;
}

int introspect_handle_limit(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_INFO);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent limit for #%u, "
			"which is not an info query", args[0].u);
	}
	struct info_query *query = entry->info;
	struct ts_server_info *info = query->info;
	if (info->limit_count == query->limit_cap) {
		size_t cap = query->limit_cap ? query->limit_cap * 2 : 8;
		struct ts_limit *limits = realloc(info->limits, cap * sizeof *limits);
		if (limits == NULL) {
			return display_fail(display, ENOMEM, NULL);
		}
		info->limits = limits;
		query->limit_cap = cap;
	}
	char *name = strdup(args[1].s);
	if (name == NULL) {
		return display_fail(display, ENOMEM, NULL);
	}
	info->limits[info->limit_count++] = (struct ts_limit){ .name = name, .value = args[2].u };
	return 0;
}

int introspect_handle_info_done(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_INFO);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent info_done for #%u, "
			"which is not an info query", args[0].u);
	}
	struct info_query *query = entry->info;
	query->info->clients = args[1].u;
	query->info->objects = args[2].u;
	query->info->last_cleanup_us = args[3].u;
	query->done = true;
	id_release(display, args[0].u);
	return 0;
}

int introspect_handle_screenshot_done(struct ts_display *display, const union ts_arg *args) {
	uint32_t id = args[0].u, width = args[1].u, height = args[2].u, stride = args[3].u;
	int fd = args[4].h; // closed by the dispatcher after we return
	struct entry *entry = id_lookup(display, id, ENTRY_SCREENSHOT);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent screenshot_done for #%u, "
			"which is not a screenshot", id);
	}
	struct shot_query *query = entry->shot;
	id_release(display, id);

	if (width == 0 || height == 0 || width > INT_MAX / 4 || height > INT_MAX ||
			stride < width * 4 || stride > SIZE_MAX / height) {
		return display_fail(display, EPROTO, "the server sent a screenshot of %ux%u "
			"with stride %u", width, height, stride);
	}
	size_t size = (size_t)stride * height;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
			(unsigned long long)st.st_size < size) {
		return display_fail(display, EPROTO, "the screenshot's shared memory is smaller "
			"than its %zu bytes of pixels", size);
	}
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		return display_fail(display, errno, NULL);
	}
	// A private copy: the caller owns plain malloc'd memory, and the server's memfd
	// goes away now rather than whenever the image is finished.
	uint8_t *pixels = malloc(size);
	if (pixels == NULL) {
		munmap(map, size);
		return display_fail(display, ENOMEM, NULL);
	}
	memcpy(pixels, map, size);
	munmap(map, size);
	*query->image = (struct ts_image){
		.width = (int)width,
		.height = (int)height,
		.stride = stride,
		.pixels = pixels,
	};
	query->done = true;
	return 0;
}

// Sends @opcode with a new id of @kind, then waits until *@done.
static int query(struct ts_display *display, uint16_t opcode, enum entry_kind kind,
		void *state, const bool *done) {
	if (display_check(display) < 0) {
		return -1;
	}
	uint32_t id = id_new(display, kind);
	if (id == 0) {
		return -1;
	}
	if (kind == ENTRY_INFO) {
		display->entries[id].info = state;
	} else {
		display->entries[id].shot = state;
	}
	union ts_arg arg = { .u = id };
	if (display_queue(display, opcode, &arg) < 0) {
		return -1;
	}
	return display_wait(display, done);
}

int ts_display_query_info(struct ts_display *display, struct ts_server_info *info) {
	memset(info, 0, sizeof *info);
	struct info_query state = { .info = info };
	if (query(display, TS_REQ_info_query, ENTRY_INFO, &state, &state.done) < 0) {
		int err = errno;
		ts_server_info_finish(info);
		errno = err;
		return -1;
	}
	return 0;
}

void ts_server_info_finish(struct ts_server_info *info) {
	if (info == NULL) {
		return;
	}
	for (size_t i = 0; i < info->count; i++) {
		free(info->list[i].name);
	}
	free(info->list);
	for (size_t i = 0; i < info->limit_count; i++) {
		free(info->limits[i].name);
	}
	free(info->limits);
	memset(info, 0, sizeof *info);
}

int ts_display_screenshot(struct ts_display *display, struct ts_image *image) {
	memset(image, 0, sizeof *image);
	struct shot_query state = { .image = image };
	return query(display, TS_REQ_screenshot, ENTRY_SCREENSHOT, &state, &state.done);
}

void ts_image_finish(struct ts_image *image) {
	if (image == NULL) {
		return;
	}
	free(image->pixels);
	memset(image, 0, sizeof *image);
}
