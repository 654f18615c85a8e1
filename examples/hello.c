/*
 * hello: a complete Tessera client. It shows an orange 100x50 rectangle at (10, 10)
 * on the server at $TESSERA_SOCKET (else $XDG_RUNTIME_DIR/tessera-0) until a line or
 * end of file comes on standard input, then disconnects, which takes the rectangle
 * away. Built against an installed libtessera (README.md, "Install"):
 *
 *   cc hello.c -o hello $(pkg-config --cflags --libs tessera-client)
 */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include <tessera/client.h>

int main(void) {
	struct ts_display *d = ts_display_connect(NULL, "hello");
	if (d == NULL) {
		fprintf(stderr, "hello: %s\n", ts_connect_error());
		return 1;
	}
	struct ts_rect *r = ts_rect_create(d);
	if (r == NULL) {
		fprintf(stderr, "hello: cannot create a rect: %s\n", ts_display_get_error_message(d));
		ts_display_disconnect(d);
		return 1;
	}
	ts_rect_set_position(r, 10, 10);
	ts_rect_set_size(r, 100, 50);
	ts_rect_set_color(r, 0xff8000ff);   // 0xRRGGBBAA
	ts_display_commit(d);               // atomically applies pending state
	// Errors stick, so this one check covers the calls above: once the roundtrip is
	// answered, the server has shown the rect.
	if (ts_display_roundtrip(d) < 0) {
		fprintf(stderr, "hello: %s\n", ts_display_get_error_message(d));
		ts_display_disconnect(d);
		return 1;
	}
	printf("hello: showing a rect; press Enter to quit\n");
	fflush(stdout);

	// Wait for standard input, handling what the server sends meanwhile: an error or a
	// server that goes away ends the wait too.
	struct pollfd fds[] = {
		{ .fd = ts_display_get_fd(d), .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	int status = 0;
	while (fds[1].revents == 0) {
		if (poll(fds, 2, -1) < 0) {
			perror("hello: poll");
			status = 1;
			break;
		}
		if (fds[0].revents != 0 && ts_display_read_events(d) < 0) {
			fprintf(stderr, "hello: %s\n", ts_display_get_error_message(d));
			status = 1;
			break;
		}
	}
	ts_display_disconnect(d);
	return status;
}
