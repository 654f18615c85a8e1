#include "wire.h"

#include <stdio.h>
#include <string.h>

#define TS_X_(op, k, type, iface, mask, null_, elem) [op][k] = { \
		.interface = iface, .interfaces = mask, .nullable = null_, .elem_size = elem },
static const struct ts_arg_desc request_args[TS_REQ_COUNT_][TS_MAX_ARGS] = {
	TS_REQUEST_ARGS(TS_X_)
};
static const struct ts_arg_desc event_args[TS_EV_COUNT_][TS_MAX_ARGS] = {
	TS_EVENT_ARGS(TS_X_)
};
#undef TS_X_

const struct ts_message_desc ts_requests[TS_REQ_COUNT_] = {
#define TS_X_(op, n, sig, f, iface, since_) [op] = { .name = #n, .signature = sig, \
		.fields = f, .interface = #iface, .since = since_, .args = request_args[op] },
	TS_REQUEST_INFO(TS_X_)
#undef TS_X_
};

const struct ts_message_desc ts_events[TS_EV_COUNT_] = {
#define TS_X_(op, n, sig, f, iface, since_) [op] = { .name = #n, .signature = sig, \
		.fields = f, .interface = #iface, .since = since_, .args = event_args[op] },
	TS_EVENT_INFO(TS_X_)
#undef TS_X_
};

static struct ts_message_meta request_meta[TS_REQ_COUNT_];
static struct ts_message_meta event_meta[TS_EV_COUNT_];

const struct ts_interface ts_request_interface = {
	.messages = ts_requests, .meta = request_meta, .count = TS_REQ_COUNT_,
};
const struct ts_interface ts_event_interface = {
	.messages = ts_events, .meta = event_meta, .count = TS_EV_COUNT_,
};

_Static_assert(TS_MAX_ARGS <= 16, "ts_message_meta.ids has a bit per field");
_Static_assert(TS_HEADER_SIZE + 4 * TS_MAX_ARGS <= UINT16_MAX, "ts_message_meta.size");

struct ts_message_meta ts_message_meta_of(const struct ts_message_desc *desc) {
	const char *signature = desc->signature;
	struct ts_message_meta meta = { .plain = true };
	unsigned size = TS_HEADER_SIZE;
	bool fixed = true;
	for (unsigned k = 0; signature[k]; k++) {
		switch (signature[k]) {
		case 's':
		case 'a':
			fixed = false;
			meta.plain = false;
			break;
		case 'h':
			meta.nfds++;
			meta.plain = false;
			break;
		case 'o':
			if (desc->args != NULL && desc->args[k].nullable) {
				meta.nullable |= (uint16_t)(1u << k);
			}
			// fall through
		case 'n':
			meta.ids |= (uint16_t)(1u << k);
			size += 4;
			break;
		default:
			size += 4;
			break;
		}
	}
	meta.size = fixed ? (uint16_t)size : 0;
	return meta;
}

// Runs once when the program or the library that holds the codec loads, before any
// message can be encoded or decoded: the table is constant, so its meta is too.
__attribute__((constructor)) static void compute_all_meta(void) {
	for (unsigned op = 0; op < TS_REQ_COUNT_; op++) {
		request_meta[op] = ts_message_meta_of(&ts_requests[op]);
	}
	for (unsigned op = 0; op < TS_EV_COUNT_; op++) {
		event_meta[op] = ts_message_meta_of(&ts_events[op]);
	}
}

static const char *const error_names[TS_ERR_COUNT_] = {
#define TS_X_(code, n) [code] = #n,
	TS_ERRORS(TS_X_)
#undef TS_X_
};

const char *ts_error_name(uint32_t code) {
	return code < TS_ERR_COUNT_ ? error_names[code] : "unknown";
}

unsigned ts_message_fd_count(const struct ts_message_desc *desc) {
	unsigned n = 0;
	for (const char *c = desc->signature; *c; c++) {
		n += *c == 'h';
	}
	return n;
}

int ts_decode(const struct ts_interface *iface, const uint8_t *msg,
		const struct ts_header *hdr, const int *fds, union ts_arg *args, const char **why) {
	if (hdr->opcode >= iface->count) {
		*why = "unknown opcode";
		return TS_ERR_unknown_opcode;
	}
	const struct ts_message_meta *meta = &iface->meta[hdr->opcode];
	if (hdr->nfds != meta->nfds) {
		*why = "wrong number of file descriptors for this message";
		return TS_ERR_bad_fds;
	}
	// Only 4-byte fields, and exactly as many as the signature has: the walk below
	// would check nothing but the ids, in the same order.
	int rc = ts_decode_plain(meta, msg, hdr, args, why);
	if (rc >= 0) {
		return rc;
	}
	const struct ts_message_desc *desc = &iface->messages[hdr->opcode];
	const uint8_t *p = msg + TS_HEADER_SIZE;
	const uint8_t *end = msg + hdr->size;
	unsigned fd_index = 0;
	unsigned i = 0;
	for (const char *c = desc->signature; *c; c++, i++) {
		if (*c == 'h') {
			args[i].h = fds[fd_index++];
			continue;
		}
		if (end - p < 4) {
			*why = "message shorter than its fields";
			return TS_ERR_invalid_message;
		}
		uint32_t v = ts_get_u32(p);
		p += 4;
		switch (*c) {
		case 'u':
			args[i].u = v;
			break;
		case 'i':
			args[i].i = (int32_t)v;
			break;
		case 'f':
			args[i].f = (int32_t)v;
			break;
		case 'n':
		case 'o':
			if (v > TS_MAX_ID || (v == 0 && !((meta->nullable >> i) & 1))) {
				*why = "object id out of range";
				return TS_ERR_invalid_id;
			}
			args[i].u = v;
			break;
		case 'a': {
			if ((size_t)(end - p) < v) {
				*why = "array runs past the end of the message";
				return TS_ERR_invalid_message;
			}
			unsigned elem = desc->args != NULL ? desc->args[i].elem_size : 0;
			if (elem > 1 && v % elem != 0) {
				*why = "array length not a multiple of its element size";
				return TS_ERR_invalid_message;
			}
			size_t padded = ((size_t)v + 3) & ~(size_t)3;
			if ((size_t)(end - p) < padded) {
				*why = "array padding runs past the end of the message";
				return TS_ERR_invalid_message;
			}
			for (size_t k = v; k < padded; k++) {
				if (p[k] != 0) {
					*why = "array padding not zero";
					return TS_ERR_invalid_message;
				}
			}
			args[i].a = (struct ts_array){ .data = p, .size = v };
			p += padded;
			break;
		}
		case 's': {
			// v counts the final NUL; padding rounds it up to 4.
			if (v == 0 || v > TS_MAX_STRING) {
				*why = "string length out of range";
				return TS_ERR_invalid_message;
			}
			size_t padded = ((size_t)v + 3) & ~(size_t)3;
			if ((size_t)(end - p) < padded) {
				*why = "string runs past the end of the message";
				return TS_ERR_invalid_message;
			}
			if (p[v - 1] != '\0' || memchr(p, '\0', v - 1) != NULL) {
				*why = "string not terminated by its only NUL";
				return TS_ERR_invalid_message;
			}
			for (size_t k = v; k < padded; k++) {
				if (p[k] != 0) {
					*why = "string padding not zero";
					return TS_ERR_invalid_message;
				}
			}
			args[i].s = (const char *)p;
			p += padded;
			break;
		}
		default:
			*why = "bad signature in the protocol table";
			return TS_ERR_internal;
		}
	}
	if (p != end) {
		*why = "message longer than its fields";
		return TS_ERR_invalid_message;
	}
	return 0;
}

size_t ts_encoded_size(const struct ts_interface *iface, uint16_t opcode,
		const union ts_arg *args) {
	if (opcode >= iface->count) {
		return 0;
	}
	if (iface->meta[opcode].size != 0) {
		return iface->meta[opcode].size;
	}
	size_t size = TS_HEADER_SIZE;
	unsigned i = 0;
	for (const char *c = iface->messages[opcode].signature; *c; c++, i++) {
		if (*c == 'h') {
			continue;
		}
		if (*c == 's') {
			if (args[i].s == NULL) {
				return 0;
			}
			size_t len = strnlen(args[i].s, TS_MAX_STRING) + 1;
			if (len > TS_MAX_STRING) {
				return 0;
			}
			size += 4 + ((len + 3) & ~(size_t)3);
		} else if (*c == 'a') {
			const struct ts_array *a = &args[i].a;
			const struct ts_arg_desc *ad = iface->messages[opcode].args;
			unsigned elem = ad != NULL ? ad[i].elem_size : 0;
			if (a->size > TS_MAX_MESSAGE || (a->size != 0 && a->data == NULL) ||
					(elem > 1 && a->size % elem != 0)) {
				return 0;
			}
			size += 4 + (((size_t)a->size + 3) & ~(size_t)3);
		} else {
			size += 4;
		}
	}
	return size <= TS_MAX_MESSAGE ? size : 0;
}

size_t ts_encode(uint8_t *buf, size_t cap, const struct ts_interface *iface,
		uint16_t opcode, const union ts_arg *args) {
	size_t size = ts_encoded_size(iface, opcode, args);
	if (size == 0 || size > cap) {
		return 0;
	}
	const struct ts_message_meta *meta = &iface->meta[opcode];
	if (meta->plain) {
		return ts_encode_plain(buf, meta, opcode, args);
	}
	ts_put_u32(buf, (uint32_t)size);
	ts_put_u32(buf + 4, (uint32_t)opcode | (uint32_t)meta->nfds << 16);
	uint8_t *p = buf + TS_HEADER_SIZE;
	const struct ts_message_desc *desc = &iface->messages[opcode];
	unsigned i = 0;
	for (const char *c = desc->signature; *c; c++, i++) {
		switch (*c) {
		case 'h':
			break;
		case 's': {
			size_t len = strlen(args[i].s) + 1;
			size_t padded = (len + 3) & ~(size_t)3;
			ts_put_u32(p, (uint32_t)len);
			memcpy(p + 4, args[i].s, len);
			memset(p + 4 + len, 0, padded - len);
			p += 4 + padded;
			break;
		}
		case 'a': {
			size_t len = args[i].a.size;
			size_t padded = (len + 3) & ~(size_t)3;
			ts_put_u32(p, (uint32_t)len);
			if (len != 0) {
				memcpy(p + 4, args[i].a.data, len);
			}
			memset(p + 4 + len, 0, padded - len);
			p += 4 + padded;
			break;
		}
		default:
			ts_put_u32(p, args[i].u);
			p += 4;
			break;
		}
	}
	return size;
}

char *ts_format(char *out, size_t cap, const struct ts_interface *iface,
		uint16_t opcode, const union ts_arg *args) {
	if (cap == 0) {
		return out;
	}
	if (opcode >= iface->count) {
		snprintf(out, cap, "unknown(opcode=%u)", opcode);
		return out;
	}
	const struct ts_message_desc *desc = &iface->messages[opcode];
	size_t used = 0;
	// Appends with snprintf; once the buffer is full, further writes are dropped.
#define APPEND(...) do { \
		if (used < cap) { \
			int n_ = snprintf(out + used, cap - used, __VA_ARGS__); \
			used = n_ < 0 ? cap : used + (size_t)n_; \
		} \
	} while (0)
	APPEND("%s(", desc->name);
	const char *field = desc->fields;
	unsigned i = 0;
	for (const char *c = desc->signature; *c; c++, i++) {
		size_t flen = strcspn(field, " ");
		APPEND("%s%.*s=", i ? ", " : "", (int)flen, field);
		field += flen + (field[flen] == ' ');
		switch (*c) {
		case 'i':
			APPEND("%d", args[i].i);
			break;
		case 'f':
			APPEND("%.10g", ts_fixed_to_double(args[i].f));
			break;
		case 'n':
		case 'o':
			if (args[i].u == 0 && ((iface->meta[opcode].nullable >> i) & 1)) {
				APPEND("none");
			} else {
				APPEND("#%u", args[i].u);
			}
			break;
		case 'a':
			APPEND("[%u bytes]", args[i].a.size);
			break;
		case 's':
			APPEND("\"%s\"", args[i].s);
			break;
		case 'h':
			APPEND("fd %d", args[i].h);
			break;
		default:
			APPEND("%u", args[i].u);
			break;
		}
	}
	APPEND(")");
#undef APPEND
	return out;
}
