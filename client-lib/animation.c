/*
 * libtessera: animation handles and the presented value of a node's property.
 */
#include <errno.h>
#include <stdlib.h>

#include "client-private.h"
#include "client-protocol.h"

struct ts_animation {
	struct ts_display *display;
	uint32_t id;
	int state;                  // 0 running or pending, 1 ended, 2 cancelled
	ts_animation_ended_func func;
	void *data;
};

#define FX(v) ts_fixed_from_double(v)

struct ts_animation *ts_animate(struct ts_node *node, enum ts_property prop, double a,
		double b, uint32_t rgba, uint32_t duration_ms, enum ts_easing easing) {
	struct ts_display *display = node->display;
	if (display->entries[node->id].kind != ENTRY_NODE) {
		errno = EINVAL;
		return NULL;
	}
	struct ts_animation *anim = calloc(1, sizeof *anim);
	if (anim == NULL) {
		return NULL;
	}
	uint32_t id = id_new(display, ENTRY_ANIMATION);
	if (id == 0) {
		free(anim);
		return NULL;
	}
	*anim = (struct ts_animation){ .display = display, .id = id };
	display->entries[id].animation = anim;
	if (ts__req_animate(display, id, node->id, (uint32_t)prop, FX(a), FX(b), rgba,
			duration_ms, (uint32_t)easing) < 0) {
		// The request never left: the id was not used on the wire.
		id_release(display, id);
		free(anim);
		return NULL;
	}
	return anim;
}

static bool live(const struct ts_animation *anim) {
	if (anim == NULL || anim->display->entries[anim->id].kind != ENTRY_ANIMATION) {
		errno = EINVAL;
		return false;
	}
	return true;
}

int ts_animation_set_from(struct ts_animation *anim, double a, double b, uint32_t rgba) {
	return live(anim) ? ts__req_animation_set_from(anim->display, anim->id, FX(a), FX(b),
		rgba) : -1;
}

int ts_animation_set_timing(struct ts_animation *anim, uint32_t delay_ms, uint32_t repeat,
		bool autoreverse) {
	return live(anim) ? ts__req_animation_set_timing(anim->display, anim->id, delay_ms,
		repeat, autoreverse ? 1u : 0u) : -1;
}

int ts_animation_set_curve(struct ts_animation *anim, double x1, double y1, double x2,
		double y2) {
	return live(anim) ? ts__req_animation_set_curve(anim->display, anim->id, FX(x1), FX(y1),
		FX(x2), FX(y2)) : -1;
}

int ts_animation_set_steps(struct ts_animation *anim, uint32_t count,
		enum ts_steps_jump jump) {
	return live(anim) ? ts__req_animation_set_steps(anim->display, anim->id, count,
		(uint32_t)jump) : -1;
}

void ts_animation_set_ended_handler(struct ts_animation *anim, ts_animation_ended_func func,
		void *data) {
	anim->func = func;
	anim->data = data;
}

int ts_animation_get_state(const struct ts_animation *anim) {
	return anim->state;
}

int ts_animation_destroy(struct ts_animation *anim) {
	if (anim == NULL) {
		return 0;
	}
	struct ts_display *display = anim->display;
	int rc = 0;
	if (id_lookup(display, anim->id, ENTRY_ANIMATION) != NULL) {
		display->entries[anim->id].kind = ENTRY_ZOMBIE; // until delete_ids
		display->entries[anim->id].node = NULL;
		rc = ts__req_destroy(display, anim->id);
	}
	free(anim);
	return rc;
}

int ts__handle_animation_ended(struct ts_display *display, const union ts_arg *args) {
	uint32_t id = args[0].u;
	struct entry *entry = id_lookup(display, id, ENTRY_ANIMATION);
	if (entry == NULL) {
		if (id_lookup(display, id, ENTRY_ZOMBIE) != NULL) {
			return 0; // destroyed by us while the event was on its way
		}
		return display_fail(display, EPROTO, "the server sent animation_ended for #%u, "
			"which is not an animation", id);
	}
	struct ts_animation *anim = entry->animation;
	anim->state = args[1].u ? 2 : 1;
	if (anim->func != NULL) {
		anim->func(anim->data, anim, args[1].u != 0);
	}
	return 0;
}

int ts_node_get_value(struct ts_node *node, enum ts_property prop, double *a, double *b,
		uint32_t *rgba) {
	struct ts_display *display = node->display;
	if (display->entries[node->id].kind != ENTRY_NODE) {
		errno = EINVAL;
		return -1;
	}
	struct value_query query = { 0 };
	uint32_t id = id_new(display, ENTRY_VALUE);
	if (id == 0) {
		return -1;
	}
	display->entries[id].value = &query;
	if (ts__req_node_get_value(display, id, node->id, (uint32_t)prop) < 0) {
		id_release(display, id);
		return -1;
	}
	if (display_wait(display, &query.done) < 0) {
		return -1;
	}
	if (a != NULL) {
		*a = query.a;
	}
	if (b != NULL) {
		*b = query.b;
	}
	if (rgba != NULL) {
		*rgba = query.rgba;
	}
	return 0;
}

int ts__handle_node_value(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_VALUE);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent node_value for #%u, "
			"which is not a query", args[0].u);
	}
	struct value_query *query = entry->value;
	id_release(display, args[0].u);
	query->a = (float)ts_fixed_to_double(args[1].f);
	query->b = (float)ts_fixed_to_double(args[2].f);
	query->rgba = args[3].u;
	query->done = true;
	return 0;
}

void animation_handles_free(struct ts_display *display) {
	for (uint32_t id = 1; id <= display->highest; id++) {
		struct entry *entry = &display->entries[id];
		if (entry->kind == ENTRY_ANIMATION) {
			free(entry->animation);
			entry->kind = ENTRY_FREE;
		}
	}
}
