/*
 * Server-side animations: one message makes a node's position, size, scale, rotation,
 * opacity, colour or corner radius move on its own, frame after frame, with no client
 * message per frame. An animation is an object of its client (it goes with the client).
 *
 * Model and presented values: the scene (tree.h) holds what is on screen, the
 * presented value, which the frame writes from every running animation before it is
 * drawn (and which hit testing will read). The model value is what the client set
 * last; an animation keeps the model value of its property from its start. An animation
 * that runs to its end leaves its end value, which then is the model value too, as if
 * the client had set it; the client hears animation_ended(id, 0). Setting the animated
 * property (committed) cancels it: the value set is shown, animation_ended(id, 1).
 * Destroying the node cancels it too (animation_ended(id, 1)); destroying the
 * animation stops it and shows its model value again, without an event. A new
 * animation of the same node and property cancels the one before.
 *
 * Animations made together start together: each starts at the presentation time of the
 * first frame that shows the commit that made it (see docs/pacing.md).
 */
#ifndef TESSERA_ANIMATION_H
#define TESSERA_ANIMATION_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct server;
struct tree_node;
union ts_arg;

/** The commit of @client starts the animations it made since the last commit. */
void animation_commit(struct client *client);

/**
 * The committed @fields (enum pending_field) of node @node are about to be applied:
 * cancels the animations of the properties among them; those of the other properties
 * keep their presented values in @props (struct tree_props), which were copied when
 * the client first changed the node.
 */
struct tree_props;
void animation_node_commit(struct client *client, struct tree_node *node, uint32_t fields,
	struct tree_props *props);

/** Moves every running animation to time @t_ns (the frame's presentation time). */
void animation_tick(struct server *server, uint64_t t_ns);

/** Frees every animation of @client (client_destroy; its listeners were told before). */
void animation_client_gone(struct client *client);

/** Server memory @client's animations take (client_bytes counts it). */
size_t animation_bytes(const struct client *client);

void handle_animate(struct client *client, const union ts_arg *args, void *const *objs);
void handle_animation_set_from(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_animation_set_timing(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_animation_set_curve(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_animation_set_steps(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_node_get_value(struct client *client, const union ts_arg *args,
	void *const *objs);

#endif
