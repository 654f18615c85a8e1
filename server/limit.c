#include "limit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct limit_info {
	const char *name;
	const char *text;
	uint32_t def, min, max;
	size_t offset;
};

static const struct limit_info table[] = {
#define LIMIT_X_(n, d, lo, hi, t) \
	{ .name = #n, .text = t, .def = d, .min = lo, .max = hi, \
	  .offset = offsetof(struct server_limits, n) },
	SERVER_LIMITS(LIMIT_X_)
#undef LIMIT_X_
};

#define LIMIT_COUNT (sizeof table / sizeof table[0])

static uint32_t *field(struct server_limits *limits, size_t i) {
	return (uint32_t *)((char *)limits + table[i].offset);
}

void limits_init(struct server_limits *limits) {
	for (size_t i = 0; i < LIMIT_COUNT; i++) {
		*field(limits, i) = table[i].def;
	}
}

size_t limits_count(void) {
	return LIMIT_COUNT;
}

const char *limits_name(size_t i) {
	return i < LIMIT_COUNT ? table[i].name : NULL;
}

uint32_t limits_value(const struct server_limits *limits, size_t i) {
	return i < LIMIT_COUNT ? *field((struct server_limits *)limits, i) : 0;
}

bool limits_parse(struct server_limits *limits, const char *text, char *err, size_t err_size) {
	const char *eq = strchr(text, '=');
	if (eq == NULL || eq == text) {
		snprintf(err, err_size, "expected NAME=VALUE, not '%s'", text);
		return false;
	}
	size_t len = (size_t)(eq - text);
	size_t i = 0;
	while (i < LIMIT_COUNT && (strlen(table[i].name) != len ||
			strncmp(table[i].name, text, len) != 0)) {
		i++;
	}
	if (i == LIMIT_COUNT) {
		snprintf(err, err_size, "unknown limit '%.*s' (see --help for the list)",
			(int)len, text);
		return false;
	}
	const char *num = eq + 1;
	char *end;
	errno = 0;
	// strtoull takes a sign; a limit has none.
	unsigned long long value = num[0] >= '0' && num[0] <= '9' ? strtoull(num, &end, 10) : 0;
	if (num[0] < '0' || num[0] > '9' || errno != 0) {
		snprintf(err, err_size, "limit %s: '%s' is not a number", table[i].name, num);
		return false;
	}
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k') {
		shift = 10, end++;
	} else if (*end == 'M' || *end == 'm') {
		shift = 20, end++;
	} else if (*end == 'G' || *end == 'g') {
		shift = 30, end++;
	}
	if (*end != '\0') {
		snprintf(err, err_size, "limit %s: '%s' is not a number", table[i].name, num);
		return false;
	}
	if (value > (UINT32_MAX >> shift) || (value << shift) < table[i].min ||
			(value << shift) > table[i].max) {
		snprintf(err, err_size, "limit %s: %s is out of range (%u to %u)", table[i].name,
			num, table[i].min, table[i].max);
		return false;
	}
	*field(limits, i) = (uint32_t)(value << shift);
	return true;
}

void limits_print_help(FILE *file) {
	for (size_t i = 0; i < LIMIT_COUNT; i++) {
		fprintf(file, "  %-17s %10u  %s\n", table[i].name, table[i].def, table[i].text);
	}
}
