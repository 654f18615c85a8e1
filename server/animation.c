#include "animation.h"

#include <math.h>
#include <stdlib.h>

#include "client.h"
#include "easing.h"
#include "log.h"
#include "object.h"
#include "server.h"
#include "tree.h"

#define MAX_MS 86400000u // a day: durations and delays

enum animation_state {
	ANIMATION_NEW,      // made since the last commit: may still be set up
	ANIMATION_WAITING,  // committed: starts at the next frame
	ANIMATION_RUNNING,
	ANIMATION_STOPPED,  // ended, cancelled, or its node went before it started
};

struct animation {
	struct client *client;
	struct list link;                 // client.animations
	struct list new_link;             // client.animations_new while ANIMATION_NEW
	struct object_listener listener;  // on its node, while it has one
	struct tree_node *node;           // NULL once the node is gone
	uint32_t id;
	uint32_t index;                   // in server.animations while waiting or running
	uint8_t property;                 // enum tree_prop
	uint8_t state;                    // enum animation_state
	bool has_from, autoreverse;
	struct easing easing;
	float from[2], to[2], model[2];
	uint32_t from_rgba, to_rgba, model_rgba;
	uint32_t duration_ms, delay_ms, repeat; // repeat: iterations, 0 for ever
	uint64_t start_ns;
};

/** The slot of an animation object. */
struct animation_slot {
	struct animation *animation;
};

static float fixed(int32_t v) {
	return (float)v / 65536.0f;
}

static int32_t to_fixed(float v) {
	double f = (double)v * 65536.0;
	if (!(f > INT32_MIN)) {
		return f != f ? 0 : INT32_MIN; // NaN: 0
	}
	return f >= INT32_MAX ? INT32_MAX : (int32_t)lrint(f);
}

static uint32_t field_of(enum tree_prop prop) {
	static const uint32_t fields[TREE_PROP_COUNT_] = {
		[TREE_PROP_POSITION] = PENDING_POSITION, [TREE_PROP_SIZE] = PENDING_SIZE,
		[TREE_PROP_SCALE] = PENDING_SCALE, [TREE_PROP_ROTATION] = PENDING_ROTATION,
		[TREE_PROP_OPACITY] = PENDING_OPACITY, [TREE_PROP_COLOR] = PENDING_COLOR,
		[TREE_PROP_RADIUS] = PENDING_RADIUS,
	};
	return fields[prop];
}

static bool active(const struct animation *a) {
	return a->state == ANIMATION_WAITING || a->state == ANIMATION_RUNNING;
}

// Takes @a out of the server's running set and tells its client why (@cancelled), or
// nothing for a client on its way out.
static void stop(struct animation *a, bool tell, bool cancelled) {
	struct server *server = a->client->server;
	if (active(a)) {
		struct animation *last = server->animations[--server->animation_len];
		server->animations[a->index] = last;
		last->index = a->index;
	}
	a->state = ANIMATION_STOPPED;
	if (tell && !a->client->dying && !a->client->gone) {
		client_send(a->client, TS_EV_animation_ended,
			(union ts_arg[]){ { .u = a->id }, { .u = cancelled ? 1u : 0u } });
	}
}

static void node_gone(struct object_listener *listener) {
	struct animation *a = (struct animation *)((char *)listener -
		offsetof(struct animation, listener));
	a->node = NULL;
	if (active(a)) {
		stop(a, true, true);
	}
}

// What the property's values may be; false after posting invalid_value.
static bool check_value(struct client *client, uint32_t id, enum tree_prop prop,
		const float v[2]) {
	const char *why = NULL;
	switch (prop) {
	case TREE_PROP_SIZE:
	case TREE_PROP_RADIUS:
		if (!(v[0] >= 0 && v[0] <= TS_MAX_NODE_SIZE &&
				(prop == TREE_PROP_RADIUS || (v[1] >= 0 && v[1] <= TS_MAX_NODE_SIZE)))) {
			why = "sizes and radii must be within 0 to 16384";
		}
		break;
	case TREE_PROP_OPACITY:
		if (!(v[0] >= 0 && v[0] <= 1)) {
			why = "opacity must be within 0 to 1";
		}
		break;
	default:
		break;
	}
	if (why != NULL) {
		client_post_error(client, id, TS_ERR_invalid_value, "animation %u: %s", id, why);
		return false;
	}
	return true;
}

void handle_animate(struct client *client, const union ts_arg *args, void *const *objs) {
	uint32_t id = args[0].u, node_id = args[1].u, prop = args[2].u;
	struct tree_node *node = objs[1];
	float to[2] = { fixed(args[3].f), fixed(args[4].f) };
	uint32_t duration = args[6].u, easing = args[7].u;
	const char *why = NULL;
	if (prop >= TREE_PROP_COUNT_) {
		why = "no such property (0 position, 1 size, 2 scale, 3 rotation, 4 opacity, "
			"5 color, 6 radius)";
	} else if ((prop == TREE_PROP_COLOR || prop == TREE_PROP_RADIUS) &&
			node->kind != TREE_RECT) {
		why = "only rects have a colour and a radius to animate";
	} else if (prop == TREE_PROP_SIZE && node->kind == TREE_TEXT) {
		why = "a text's size is its layout's";
	} else if (duration > MAX_MS) {
		why = "a duration is at most a day (86400000 ms)";
	} else if (easing >= EASING_KIND_COUNT_ || easing == EASING_CUBIC_BEZIER ||
			easing == EASING_STEPS) {
		why = "easing must be 0 linear, 1 ease, 2 ease-in, 3 ease-out or 4 ease-in-out "
			"(cubic-bezier and steps: animation_set_curve, animation_set_steps)";
	}
	if (why != NULL) {
		client_post_error(client, id, TS_ERR_invalid_value, "animate: %s", why);
		return;
	}
	if (!check_value(client, id, (enum tree_prop)prop, to) ||
			!client_charge(client, sizeof(struct animation))) {
		return;
	}
	struct animation *a = calloc(1, sizeof *a);
	if (a == NULL) {
		client_post_error(client, id, TS_ERR_no_memory, "out of memory for an animation");
		return;
	}
	struct animation_slot *slot = object_insert(client, id, OBJECT_ANIMATION);
	if (slot == NULL) {
		free(a);
		return;
	}
	slot->animation = a;
	*a = (struct animation){ .client = client, .node = node, .id = id,
		.property = (uint8_t)prop, .state = ANIMATION_NEW,
		.easing = easing_of((enum easing_kind)easing),
		.to = { to[0], to[1] }, .to_rgba = args[5].u, .duration_ms = duration,
		.repeat = 1 };
	a->listener.destroyed = node_gone;
	object_listen(client, node_id, &a->listener);
	list_append(&client->animations, &a->link);
	list_append(&client->animations_new, &a->new_link);
	client->animation_count++;
}

// The animation of a setter, if it may still be set up; NULL after posting an error.
static struct animation *settable(struct client *client, uint32_t id, void *slot) {
	struct animation *a = ((struct animation_slot *)slot)->animation;
	if (a->state != ANIMATION_NEW) {
		client_post_error(client, id, TS_ERR_invalid_value, "animation %u was committed: "
			"set it up before the commit that starts it", id);
		return NULL;
	}
	return a;
}

void handle_animation_set_from(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct animation *a = settable(client, args[0].u, objs[0]);
	float from[2] = { fixed(args[1].f), fixed(args[2].f) };
	if (a != NULL && check_value(client, args[0].u, (enum tree_prop)a->property, from)) {
		a->has_from = true;
		a->from[0] = from[0];
		a->from[1] = from[1];
		a->from_rgba = args[3].u;
	}
}

void handle_animation_set_timing(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct animation *a = settable(client, args[0].u, objs[0]);
	if (a == NULL) {
		return;
	}
	if (args[1].u > MAX_MS || args[3].u > 1) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value, "animation %u: the "
			"delay is at most a day (86400000 ms), autoreverse 0 or 1", args[0].u);
		return;
	}
	a->delay_ms = args[1].u;
	a->repeat = args[2].u;
	a->autoreverse = args[3].u != 0;
}

static void set_easing(struct client *client, uint32_t id, struct animation *a,
		const struct easing *e) {
	const char *why;
	if (!easing_check(e, &why)) {
		client_post_error(client, id, TS_ERR_invalid_value, "animation %u: %s", id, why);
		return;
	}
	a->easing = *e;
}

void handle_animation_set_curve(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct animation *a = settable(client, args[0].u, objs[0]);
	if (a != NULL) {
		struct easing e = easing_of(EASING_CUBIC_BEZIER);
		e.x1 = fixed(args[1].f);
		e.y1 = fixed(args[2].f);
		e.x2 = fixed(args[3].f);
		e.y2 = fixed(args[4].f);
		set_easing(client, args[0].u, a, &e);
	}
}

void handle_animation_set_steps(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct animation *a = settable(client, args[0].u, objs[0]);
	if (a != NULL) {
		struct easing e = easing_of(EASING_STEPS);
		e.steps = args[1].u > 0xffff ? 0 : (uint16_t)args[1].u; // 0 is refused
		e.jump = args[2].u > 0xff ? EASING_JUMP_COUNT_ : (uint8_t)args[2].u;
		set_easing(client, args[0].u, a, &e);
	}
}

void handle_node_get_value(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t cb = args[0].u, prop = args[2].u;
	if (!object_check_new_id(client, cb)) {
		return;
	}
	if (prop >= TREE_PROP_COUNT_) {
		client_post_error(client, args[1].u, TS_ERR_invalid_value,
			"node_get_value: no property %u", prop);
		return;
	}
	float v[2];
	uint32_t rgba;
	tree_node_get(&client->root, objs[1], (enum tree_prop)prop, v, &rgba);
	client_send(client, TS_EV_node_value, (union ts_arg[]){ { .u = cb },
		{ .f = to_fixed(v[0]) }, { .f = to_fixed(v[1]) }, { .u = rgba } });
}

void animation_commit(struct client *client) {
	struct server *server = client->server;
	while (!list_empty(&client->animations_new)) {
		struct animation *a = list_entry(client->animations_new.next, struct animation,
			new_link);
		list_remove(&a->new_link);
		if (a->node == NULL) {
			stop(a, true, true); // its node went before the commit
			continue;
		}
		// A newer animation of the same property takes over.
		if (a->node->flags & TREE_ANIMATED) {
			struct list *pos, *tmp;
			list_for_each_safe(pos, tmp, &client->animations) {
				struct animation *b = list_entry(pos, struct animation, link);
				if (b != a && active(b) && b->node == a->node && b->property == a->property) {
					stop(b, true, true);
				}
			}
		}
		if (server->animation_len == server->animation_cap) {
			uint32_t cap = server->animation_cap ? server->animation_cap * 2 : 64;
			struct animation **grown = realloc(server->animations, cap * sizeof *grown);
			if (grown == NULL) {
				client_post_error(client, a->id, TS_ERR_no_memory,
					"out of memory for a running animation");
				return;
			}
			server->animations = grown;
			server->animation_cap = cap;
		}
		a->index = server->animation_len;
		server->animations[server->animation_len++] = a;
		a->state = ANIMATION_WAITING;
		a->node->flags |= TREE_ANIMATED;
	}
}

void animation_node_commit(struct client *client, struct tree_node *node, uint32_t fields,
		struct tree_props *props) {
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &client->animations) {
		struct animation *a = list_entry(pos, struct animation, link);
		if (a->node != node || !active(a)) {
			continue;
		}
		if (fields & field_of((enum tree_prop)a->property)) {
			stop(a, true, true); // the value set is shown
			continue;
		}
		float v[2];
		uint32_t rgba;
		tree_node_get(&client->root, node, (enum tree_prop)a->property, v, &rgba);
		switch ((enum tree_prop)a->property) {
		case TREE_PROP_POSITION: props->x = v[0]; props->y = v[1]; break;
		case TREE_PROP_SIZE: props->width = v[0]; props->height = v[1]; break;
		case TREE_PROP_SCALE: props->scale_x = v[0]; props->scale_y = v[1]; break;
		case TREE_PROP_ROTATION: props->rotation = v[0]; break;
		case TREE_PROP_OPACITY: props->opacity = v[0]; break;
		case TREE_PROP_COLOR: props->rgba = rgba; break;
		case TREE_PROP_RADIUS: props->radius = v[0]; break;
		case TREE_PROP_COUNT_: break;
		}
	}
}

static uint32_t mix_rgba(uint32_t a, uint32_t b, float t) {
	uint32_t out = 0;
	for (int shift = 24; shift >= 0; shift -= 8) {
		float x = (float)(a >> shift & 0xff), y = (float)(b >> shift & 0xff);
		float v = x + (y - x) * t;
		long c = lrintf(v);
		c = c < 0 ? 0 : c > 255 ? 255 : c;
		out |= (uint32_t)c << shift;
	}
	return out;
}

// Where @a is at @t: false while its delay runs (the model value shows), *@done once
// its last iteration is over (the value is then the end value).
static bool progress(const struct animation *a, uint64_t t, float *p, bool *done) {
	uint64_t delay = (uint64_t)a->delay_ms * 1000000u;
	uint64_t local = t > a->start_ns ? t - a->start_ns : 0;
	if (local < delay) {
		return false;
	}
	local -= delay;
	uint64_t duration = (uint64_t)a->duration_ms * 1000000u;
	uint64_t iteration = duration > 0 ? local / duration : UINT64_MAX;
	*done = a->repeat != 0 && iteration >= a->repeat;
	if (*done || duration == 0) {
		uint32_t last = a->repeat > 0 ? a->repeat - 1 : 0;
		*done = true;
		*p = a->autoreverse && (last & 1) ? 0.0f : 1.0f;
		return true;
	}
	float frac = (float)((double)(local % duration) / (double)duration);
	*p = a->autoreverse && (iteration & 1) ? 1.0f - frac : frac;
	return true;
}

// More animations than this in a frame: the whole output is redrawn rather than each
// node's old box damaged (the damage list holds 32 boxes; so many moving nodes cover
// more than that, or half the output, all but always).
#define ANIMATIONS_FULL_DAMAGE 256

void animation_tick(struct server *server, uint64_t t) {
	if (server->animation_len > ANIMATIONS_FULL_DAMAGE) {
		tree_damage_all(&server->tree);
	}
	// Backwards: stopping one moves the last into its place, which was already done.
	for (uint32_t i = server->animation_len; i-- > 0;) {
		struct animation *a = server->animations[i];
		struct client *client = a->client;
		if (a->state == ANIMATION_WAITING) {
			a->state = ANIMATION_RUNNING;
			a->start_ns = t;
			tree_node_get(&client->root, a->node, (enum tree_prop)a->property, a->model,
				&a->model_rgba);
			if (!a->has_from) {
				a->from[0] = a->model[0];
				a->from[1] = a->model[1];
				a->from_rgba = a->model_rgba;
			}
		}
		float p;
		bool done = false;
		if (!progress(a, t, &p, &done)) {
			continue;
		}
		float e = easing_apply(&a->easing, p);
		float v[2] = { a->from[0] + (a->to[0] - a->from[0]) * e,
			a->from[1] + (a->to[1] - a->from[1]) * e };
		if (p == 1.0f && e == 1.0f) { // exactly the end value, whatever rounding says
			v[0] = a->to[0];
			v[1] = a->to[1];
		} else if (p == 0.0f && e == 0.0f) {
			v[0] = a->from[0];
			v[1] = a->from[1];
		}
		uint32_t rgba = mix_rgba(a->from_rgba, a->to_rgba, e);
		if (a->property == TREE_PROP_OPACITY) {
			v[0] = v[0] < 0 ? 0 : v[0] > 1 ? 1 : v[0]; // an overshooting curve
		} else if (a->property == TREE_PROP_SIZE || a->property == TREE_PROP_RADIUS) {
			v[0] = v[0] < 0 ? 0 : v[0];
			v[1] = v[1] < 0 ? 0 : v[1];
		}
		if (!tree_node_set(&server->tree, &client->root, a->node,
				(enum tree_prop)a->property, v, rgba)) {
			log_error("client %u: out of memory for animation %u: cancelled", client->id, a->id);
			stop(a, true, true);
			continue;
		}
		if (done) {
			stop(a, true, false);
		}
	}
}

static void animation_destroy(struct client *client, uint32_t id, void *slot) {
	struct animation *a = ((struct animation_slot *)slot)->animation;
	if (a->state == ANIMATION_RUNNING && a->node != NULL) {
		// Stopped by its client: the value the client set shows again.
		if (!tree_node_set(&client->server->tree, &client->root, a->node,
				(enum tree_prop)a->property, a->model, a->model_rgba)) {
			log_error("client %u: out of memory restoring animation %u's node", client->id, id);
		}
	}
	if (active(a)) {
		stop(a, false, true);
	}
	if (a->state == ANIMATION_NEW) {
		list_remove(&a->new_link);
	}
	if (a->node != NULL) {
		object_unlisten(&a->listener);
	}
	list_remove(&a->link);
	client->animation_count--;
	free(a);
}

void animation_client_gone(struct client *client) {
	while (!list_empty(&client->animations)) {
		struct animation *a = list_entry(client->animations.next, struct animation, link);
		if (active(a)) {
			stop(a, false, true);
		}
		list_remove(&a->link);
		free(a);
	}
	list_init(&client->animations_new);
	client->animation_count = 0;
}

size_t animation_bytes(const struct client *client) {
	return (size_t)client->animation_count * sizeof(struct animation);
}

const struct object_ops animation_ops = {
	.name = "animation",
	.destroyable = true,
	.destroy = animation_destroy,
};
