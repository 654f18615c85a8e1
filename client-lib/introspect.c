#define _GNU_SOURCE
/*
 * Introspection and screenshots: requests answered by events that a waiting call
 * collects. The collecting state lives on the waiting caller's stack; the id entry
 * points at it until the final event arrives. If the connection fails first nothing
 * is dispatched any more, so the entry is never used again.
 */
#include "client-protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int ts__handle_client_info(struct ts_display *display, const union ts_arg *args) {
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
	char *name = strdup(args[7].s);
	if (name == NULL) {
		return display_fail(display, ENOMEM, NULL);
	}
	info->list[info->count++] = (struct ts_client_info){
		.id = args[1].u,
		.pid = args[2].u,
		.objects = args[3].u,
		.bytes = args[4].u,
		.textures = args[5].u,
		.texture_bytes = args[6].u,
		.name = name,
	};
	return 0;
}

int ts__handle_limit(struct ts_display *display, const union ts_arg *args) {
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

int ts__handle_frame_info(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_INFO);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent frame_info for #%u, "
			"which is not an info query", args[0].u);
	}
	struct ts_server_info *info = entry->info->info;
	info->frame.draw_calls = args[1].u;
	info->frame.nodes_drawn = args[2].u;
	info->frame.damaged_pixels = args[3].u;
	info->frame.offscreen_passes = args[4].u;
	info->frame.frame_us = args[5].u;
	info->frame.animations = args[6].u;
	info->frame.animate_ns = args[7].u;
	return 0;
}

int ts__handle_atlas_info(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_INFO);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent atlas_info for #%u, "
			"which is not an info query", args[0].u);
	}
	struct ts_server_info *info = entry->info->info;
	info->atlas.pages = args[1].u;
	info->atlas.glyphs = args[2].u;
	info->atlas.referenced = args[3].u;
	info->atlas.evictions = args[4].u;
	info->atlas.bytes = args[5].u;
	return 0;
}

int ts__handle_info_done(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_INFO);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent info_done for #%u, "
			"which is not an info query", args[0].u);
	}
	struct info_query *query = entry->info;
	query->info->clients = args[1].u;
	query->info->objects = args[2].u;
	query->info->last_cleanup_us = args[3].u;
	query->info->pending = args[4].u;
	query->info->evicted = args[5].u;
	query->info->refused = args[6].u;
	query->info->textures = args[7].u;
	query->info->texture_bytes = args[8].u;
	query->done = true;
	id_release(display, args[0].u);
	return 0;
}

int ts__handle_screenshot_done(struct ts_display *display, const union ts_arg *args) {
	uint32_t id = args[0].u, width = args[1].u, height = args[2].u, stride = args[3].u;
	struct entry *entry = id_lookup(display, id, ENTRY_SCREENSHOT);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent screenshot_done for #%u, "
			"which is not a screenshot", id);
	}
	struct shot_query *query = entry->shot;
	id_release(display, id);
	if (width == 0 && height == 0) {
		query->resized = true; // nothing was written; not an error of the connection
		query->done = true;
		return 0;
	}

	if (width == 0 || height == 0 || width > INT_MAX / 4 || height > INT_MAX ||
			stride < width * 4 || stride > SIZE_MAX / height ||
			(size_t)stride * height > query->size) {
		return display_fail(display, EPROTO, "the server sent a screenshot of %ux%u "
			"with stride %u, which does not fit the %zu bytes given for it",
			width, height, stride, query->size);
	}
	size_t size = (size_t)stride * height;
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, query->fd, 0);
	if (map == MAP_FAILED) {
		return display_fail(display, errno, NULL);
	}
	// A private copy: the caller owns plain malloc'd memory, and the memfd goes away
	// now rather than whenever the image is finished.
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

// Sends info_query (@kind ENTRY_INFO) or screenshot with @fd (the connection owns it
// from here) and a new id of @kind, then waits until *@done.
static int query(struct ts_display *display, enum entry_kind kind,
		void *state, const bool *done, int fd) {
	if (display_check(display) < 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	uint32_t id = id_new(display, kind);
	if (id == 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	if (kind == ENTRY_INFO) {
		display->entries[id].info = state;
	} else {
		display->entries[id].shot = state;
	}
	int rc = kind == ENTRY_INFO ? ts__req_info_query(display, id) :
		ts__req_screenshot(display, id, fd);
	if (rc < 0) {
		return -1;
	}
	return display_wait(display, done);
}

int ts_display_query_info(struct ts_display *display, struct ts_server_info *info) {
	memset(info, 0, sizeof *info);
	struct info_query state = { .info = info };
	if (query(display, ENTRY_INFO, &state, &state.done, -1) < 0) {
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

// The memory the server writes a screenshot into: ours, so that what a screenshot
// costs is the asking client's. Sealed against shrinking, as the server requires: it
// must not fault writing into it. Returns the fd, or -1 with errno set.
static int shot_memory(size_t size) {
	int fd = memfd_create("tessera-screenshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		return -1;
	}
	if (ftruncate(fd, (off_t)size) < 0 ||
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int ts_display_screenshot(struct ts_display *display, struct ts_image *image) {
	memset(image, 0, sizeof *image);
	if (display_check(display) < 0) {
		return -1;
	}
	struct shot_query state = { .image = image, .fd = -1 };
	ts_display_get_size(display, &state.width, &state.height);
	state.size = (size_t)state.width * 4 * (size_t)state.height;
	state.fd = shot_memory(state.size);
	if (state.fd < 0) {
		return display_fail(display, errno, NULL);
	}
	// One copy goes to the server with the request; we read the pixels from the other.
	int sent = fcntl(state.fd, F_DUPFD_CLOEXEC, 0);
	if (sent < 0) {
		int err = errno;
		close(state.fd);
		return display_fail(display, err, NULL);
	}
	int rc = query(display, ENTRY_SCREENSHOT, &state, &state.done, sent);
	close(state.fd);
	if (rc == 0 && state.resized) {
		errno = EAGAIN;
		return -1;
	}
	return rc;
}

void ts_image_finish(struct ts_image *image) {
	if (image == NULL) {
		return;
	}
	free(image->pixels);
	memset(image, 0, sizeof *image);
}
