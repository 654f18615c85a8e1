#include "gen.h"

#include <limits.h>
#include <string.h>

void peer_field_name(const struct ts_message_desc *desc, unsigned k, char *out, size_t cap) {
	const char *f = desc->fields;
	for (unsigned i = 0; i < k && *f; i++) {
		f += strcspn(f, " ");
		f += *f == ' ';
	}
	size_t n = strcspn(f, " ");
	n = n < cap - 1 ? n : cap - 1;
	memcpy(out, f, n);
	out[n] = '\0';
}

bool peer_field_is_callback(uint16_t opcode, unsigned k) {
	const struct ts_message_desc *desc = &ts_requests[opcode];
	if (k >= strlen(desc->signature) || desc->signature[k] != 'n') {
		return false;
	}
	// The table says what an 'n' makes; a callback is answered, then forgotten.
	const char *made = desc->args != NULL ? desc->args[k].interface : NULL;
	if (made != NULL) {
		return strcmp(made, "callback") == 0;
	}
	char name[32];
	peer_field_name(desc, k, name, sizeof name);
	return strcmp(name, "callback") == 0;
}

// The interfaces field @k of @opcode names or makes, as TS_IFACE_ bits (all when the
// table does not say).
static uint32_t field_interfaces(uint16_t opcode, unsigned k) {
	const struct ts_arg_desc *args = ts_requests[opcode].args;
	return args != NULL && args[k].interfaces != 0 ? args[k].interfaces : UINT32_MAX;
}

bool peer_request_creates(uint16_t opcode) {
	const char *sig = ts_requests[opcode].signature;
	for (unsigned k = 0; sig[k]; k++) {
		if (sig[k] == 'n' && !peer_field_is_callback(opcode, k)) {
			return true;
		}
	}
	return false;
}

static void forget(struct peer_ids *ids, uint32_t id) {
	for (unsigned i = 0; i < ids->nlive; i++) {
		if (ids->live[i] == id) {
			memmove(&ids->live[i], &ids->live[i + 1], (ids->nlive - i - 1) * sizeof ids->live[0]);
			memmove(&ids->kinds[i], &ids->kinds[i + 1], (ids->nlive - i - 1) * sizeof ids->kinds[0]);
			ids->nlive--;
			return;
		}
	}
}

// A live object that field @k of @opcode may name, or 0 when there is none.
static uint32_t pick_live(struct peer_rng *rng, const struct peer_ids *ids, uint16_t opcode,
		unsigned k) {
	uint32_t want = field_interfaces(opcode, k);
	unsigned n = 0;
	for (unsigned i = 0; i < ids->nlive; i++) {
		n += (ids->kinds[i] & want) != 0;
	}
	if (n == 0) {
		return 0;
	}
	unsigned pick = peer_rng_below(rng, n);
	for (unsigned i = 0; i < ids->nlive; i++) {
		if ((ids->kinds[i] & want) != 0 && pick-- == 0) {
			return ids->live[i];
		}
	}
	return 0;
}

// The values that make the image and text requests valid (gen.h): their fields depend
// on each other and on the pool, or have ranges, which 0 and 1 do not satisfy.
static void image_values(struct peer_rng *rng, uint16_t opcode, union ts_arg *args,
		char *strings) {
	switch (opcode) {
	case TS_REQ_shm_pool_create:
		args[2].u = PEER_POOL_BYTES;
		break;
	case TS_REQ_buffer_create: {
		uint32_t width = 1 + peer_rng_below(rng, 16), height = 1 + peer_rng_below(rng, 16);
		args[2].u = 0;             // offset
		args[3].u = width;
		args[4].u = height;
		args[5].u = width * 4;     // stride: a whole row of any format
		args[6].u = peer_rng_below(rng, 3); // rgba8, xrgb8, rgb565
		break;
	}
	case TS_REQ_buffer_create_inline: {
		uint32_t width = 1 + peer_rng_below(rng, 8), height = 1 + peer_rng_below(rng, 8);
		uint32_t format = peer_rng_below(rng, 3), bpp = format == 2 ? 2 : 4;
		args[1].u = width;
		args[2].u = height;
		args[3].u = format;
		for (uint32_t i = 0; i < width * height * bpp; i++) {
			strings[i] = (char)peer_rng_next(rng);
		}
		args[4].a = (struct ts_array){ .data = strings, .size = width * height * bpp };
		break;
	}
	case TS_REQ_animate: {
		// Properties every kind of node has: position, scale, rotation, opacity.
		static const uint32_t props[] = { 0, 2, 3, 4 };
		args[2].u = props[peer_rng_below(rng, 4)];
		break;
	}
	case TS_REQ_text_set_font:
		args[2].f = (int32_t)(8 + peer_rng_below(rng, 40)) << 16; // 8 to 47 px
		args[3].u = 100 * (1 + peer_rng_below(rng, 9));           // 100 to 900
		break;
	case TS_REQ_buffer_damage:
		for (uint32_t at = 0; at + 16 <= args[1].a.size; at += 16) {
			int32_t box[4] = { (int32_t)peer_rng_below(rng, 200) - 100,
				(int32_t)peer_rng_below(rng, 200) - 100,
				(int32_t)peer_rng_below(rng, 64), (int32_t)peer_rng_below(rng, 64) };
			memcpy(strings + at, box, sizeof box);
		}
		break;
	default:
		break;
	}
}

bool peer_gen_args(struct peer_rng *rng, struct peer_ids *ids, enum peer_values values,
		uint16_t opcode, union ts_arg *args, char *strings) {
	const char *sig = ts_requests[opcode].signature;
	struct peer_ids next = *ids;
	bool edge = values == PEER_VALUES_EDGE;
	for (unsigned k = 0; sig[k]; k++) {
		// Every field type the table knows, and what a valid one is.
		switch (sig[k]) {
		case 'u':
			args[k].u = edge ? (peer_rng_chance(rng, 50) ? UINT32_MAX : 0)
				: peer_rng_below(rng, 2);
			break;
		case 'i':
			args[k].i = edge ? (peer_rng_chance(rng, 50) ? INT32_MAX : INT32_MIN)
				: (int32_t)peer_rng_below(rng, 2001) - 1000;
			break;
		case 'n':
			if (next.highest >= TS_MAX_ID) {
				return false;
			}
			args[k].u = ++next.highest;
			if (!peer_field_is_callback(opcode, k)) {
				if (next.nlive == PEER_LIVE_MAX) {
					return false;
				}
				next.kinds[next.nlive] = field_interfaces(opcode, k);
				next.live[next.nlive++] = args[k].u;
			}
			break;
		case 'o': {
			// A live object of an interface it accepts. Where 0 (none) will do, 0: the
			// ids that may be none are parents and siblings, and whether a given one
			// is valid depends on the shape of the tree, which the table cannot say
			// (a parent inside the node, a sibling elsewhere); none always is.
			bool nullable = (ts_request_interface.meta[opcode].nullable >> k) & 1;
			args[k].u = nullable ? 0 : pick_live(rng, ids, opcode, k);
			if (args[k].u == 0 && !nullable) {
				return false;
			}
			break;
		}
		case 'f':
			// Safe: 0 to 1, which every fixed-point field takes (sizes, opacity,
			// radius and border want no more than that to be valid).
			args[k].f = edge ? (peer_rng_chance(rng, 50) ? INT32_MAX : INT32_MIN)
				: (int32_t)peer_rng_below(rng, 65537);
			break;
		case 'a': {
			// Whole elements of the size the table says (bytes when it says none).
			const struct ts_arg_desc *desc = ts_requests[opcode].args;
			uint32_t elem = desc != NULL && desc[k].elem_size > 0 ? desc[k].elem_size : 1;
			uint32_t count = edge ? 0 : peer_rng_below(rng, 8);
			if (count * elem > TS_MAX_STRING) {
				count = TS_MAX_STRING / elem;
			}
			for (uint32_t i = 0; i < count * elem; i++) {
				strings[i] = (char)peer_rng_next(rng);
			}
			args[k].a = (struct ts_array){ .data = strings, .size = count * elem };
			break;
		}
		case 's': {
			size_t len = edge ? TS_MAX_STRING - 1 : 1 + peer_rng_below(rng, 16);
			for (size_t i = 0; i < len; i++) {
				strings[i] = (char)('a' + peer_rng_below(rng, 26));
			}
			strings[len] = '\0';
			args[k].s = strings;
			break;
		}
		case 'h':
			args[k].h = -1;
			break;
		default:
			return false; // a type this generator has not learnt: never made
		}
	}
	if (!edge) {
		image_values(rng, opcode, args, strings);
	}
	if (opcode == TS_REQ_destroy) {
		forget(&next, args[0].u);
	}
	*ids = next;
	return true;
}

uint16_t peer_gen_pick(struct peer_rng *rng, struct peer_ids *ids, enum peer_values values,
		union ts_arg *args, char *strings) {
	for (;;) {
		uint16_t opcode = (uint16_t)(1 + peer_rng_below(rng, TS_REQ_COUNT_ - 1));
		_Static_assert(TS_REQ_hello == 0, "hello is opcode 0, left out above");
		// Refused (access_denied) unless the server runs --clock manual: not valid in
		// a stream meant to be accepted.
		if (opcode == TS_REQ_clock_step) {
			continue;
		}
		// An animation may be set up only until the commit that starts it, which a
		// stream that does not follow commits cannot tell: never in a valid stream.
		if (opcode == TS_REQ_animation_set_from || opcode == TS_REQ_animation_set_timing ||
				opcode == TS_REQ_animation_set_curve || opcode == TS_REQ_animation_set_steps) {
			continue;
		}
		if (peer_gen_args(rng, ids, values, opcode, args, strings)) {
			return opcode;
		}
	}
}
