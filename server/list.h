/* A circular doubly linked list, embedded in the structures it links. */
#ifndef TESSERA_LIST_H
#define TESSERA_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
	struct list *prev, *next;
};

static inline void list_init(struct list *head) {
	head->prev = head->next = head;
}

static inline bool list_empty(const struct list *head) {
	return head->next == head;
}

/** Inserts @elem right after @where (at the front when @where is the head). */
static inline void list_insert(struct list *where, struct list *elem) {
	elem->prev = where;
	elem->next = where->next;
	where->next->prev = elem;
	where->next = elem;
}

/** Inserts @elem at the back of the list @head. */
static inline void list_append(struct list *head, struct list *elem) {
	list_insert(head->prev, elem);
}

/** Unlinks @elem and leaves it pointing at itself, so a second remove is harmless. */
static inline void list_remove(struct list *elem) {
	elem->prev->next = elem->next;
	elem->next->prev = elem->prev;
	elem->prev = elem->next = elem;
}

/** Moves every element of @from to the back of @to (which may be empty); @from is left empty. */
static inline void list_splice(struct list *to, struct list *from) {
	if (list_empty(from)) {
		return;
	}
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	list_init(from);
}

#define list_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/** Iterates safely against removal of the current element. */
#define list_for_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
		(pos) = (tmp), (tmp) = (pos)->next)

#endif
