/*
 * End-to-end: a short soak with tessera-chaos against the real server (headless):
 * clients that send valid and invalid traffic and die in every way. tessera-chaos
 * checks the server itself (alive, nothing left, fds, RSS); this test checks its exit
 * status, then looks again from outside, as the other end-to-end tests do.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

// Well above the run itself: the sanitizer build makes the server several times slower,
// and the end checks may wait up to 10 s for the server to free everything.
#define CHAOS_ALARM_S 120

// Static: the teardown finds the server even after a failed assertion.
static struct e2e_server srv;

static int teardown(void **state) {
	e2e_server_discard(&srv); // left running by a failed test; nothing once stopped
	return 0;
}

static void test_chaos(void **state) {
	e2e_server_start(&srv);
	int fd_baseline = e2e_server_settled_fds(&srv);

	const char *argv[] = { e2e_bin("TESSERA_CHAOS"), "--socket", srv.socket,
		"--clients", "8", "--seconds", "10", "--seed", "1", NULL };
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		// Its report goes to the test's log. The alarm survives exec.
		alarm(CHAOS_ALARM_S);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "tail -n 40 %s >&2", srv.log);
		(void)!system(cmd);
		fail_msg("tessera-chaos %s %d", WIFEXITED(status) ? "exited with status"
			: "died of signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}

	// What tessera-chaos checked, checked again with the harness's own tools.
	e2e_check_as_found(&srv, fd_baseline, 10000);
	// A sanitizer report in the server's log fails the test even if the server went on.
	assert_false(e2e_log_contains(&srv, "Sanitizer"));
	assert_false(e2e_log_contains(&srv, "runtime error"));
	// Exits 0 (and so without a LeakSanitizer report) and removes its socket.
	e2e_server_stop(&srv);
	srv.pid = 0; // stopped: nothing for the teardown to do
}

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_chaos, teardown),
	};
	return cmocka_run_group_tests_name("e2e-chaos", tests, NULL, NULL);
}
