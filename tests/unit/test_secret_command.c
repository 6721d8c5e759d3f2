/* password_command as a child on the loop: what it answers, how fast, and
 * that nothing is left running (issue 15). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "loop.h"
#include "secret.h"
#include "util.h"

struct answer {
	struct loop *loop;
	int calls;
	char *password;
	char *err;
	int ticks; /* the loop's own timer kept firing meanwhile */
	struct loop_timer *tick;
};

static void on_answer(char *password, const char *err, void *ud)
{
	struct answer *a = ud;

	a->calls++;
	a->password = password;
	a->err = err ? xstrdup(err) : NULL;
	loop_stop(a->loop, 0);
}

static void on_tick(struct loop *l, void *ud)
{
	struct answer *a = ud;

	a->ticks++;
	a->tick = loop_timer(l, 20, on_tick, a);
}

/* Runs cmd with timeout_ms on a loop of its own; *ms how long it took. */
static void run(const char *cmd, int64_t timeout_ms, struct answer *a, int64_t *ms)
{
	int64_t start = loop_now();

	memset(a, 0, sizeof(*a));
	a->loop = loop_new();
	a->tick = loop_timer(a->loop, 20, on_tick, a);
	secret_command_start(a->loop, cmd, timeout_ms, on_answer, a);
	loop_run(a->loop);
	loop_timer_cancel(a->loop, a->tick);
	loop_free(a->loop);
	*ms = loop_now() - start;
	assert_int_equal(a->calls, 1);
}

static void done(struct answer *a)
{
	secret_free(a->password);
	free(a->err);
}

static bool process_gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		char path[64], buf[512];
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (!f)
			return true;
		buf[0] = '\0';
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		if (strstr(buf, ") Z"))
			return true;
		usleep(10000);
	}
	return false;
}

static void test_first_line_is_the_password(void **state)
{
	struct answer a;
	int64_t ms;

	run("printf 'hunter2\\nsecond\\n'", 5000, &a, &ms);
	assert_non_null(a.password);
	assert_string_equal(a.password, "hunter2");
	assert_null(a.err);
	done(&a);
	run("printf 'no-newline'", 5000, &a, &ms);
	assert_string_equal(a.password, "no-newline");
	done(&a);
}

static void test_failures_say_stderr(void **state)
{
	struct answer a;
	int64_t ms;

	run("printf 'locked \\033[1m\\nmore\\n' >&2; exit 4", 5000, &a, &ms);
	assert_null(a.password);
	assert_string_equal(a.err, "password_command exited with 4: locked ?[1m");
	done(&a);
	run("echo oops >&2", 5000, &a, &ms);
	assert_string_equal(a.err, "password_command printed no password: oops");
	done(&a);
	run("kill -KILL $$", 5000, &a, &ms);
	assert_non_null(strstr(a.err, "killed by signal 9"));
	done(&a);
}

/* A sleeper is killed at the deadline with its children; the loop turned throughout. */
static void test_timeout_kills_the_session(void **state)
{
	struct answer a;
	int64_t ms;
	char pidfile[128], cmd[256];
	FILE *f;
	int child = 0;

	snprintf(pidfile, sizeof(pidfile), "build/test-logs/secret-cmd-%d.pid", (int)getpid());
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; wait", pidfile);
	run(cmd, 400, &a, &ms);
	assert_null(a.password);
	assert_non_null(strstr(a.err, "took longer than 400 ms and was killed"));
	assert_true(ms >= 380 && ms < 3000);
	assert_true(a.ticks >= 10);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &child), 1);
	fclose(f);
	unlink(pidfile);
	assert_true(process_gone(child));
	done(&a);
}

/* Its answer comes when it ends, not when a child it left closes stdout. */
static void test_lingering_child_does_not_hold_it(void **state)
{
	struct answer a;
	int64_t ms;

	char pidfile[128], cmd[256];
	FILE *f;
	int child = 0;

	snprintf(pidfile, sizeof(pidfile), "build/test-logs/secret-linger-%d.pid", (int)getpid());
	snprintf(cmd, sizeof(cmd), "sleep 10 & echo $! > %s; echo pw", pidfile);
	run(cmd, 10000, &a, &ms);
	assert_string_equal(a.password, "pw");
	assert_true(ms < 2000);
	done(&a);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &child), 1);
	fclose(f);
	unlink(pidfile);
	kill(child, SIGKILL); /* what it left behind is not ours to keep */
}

static void test_stdin_is_empty(void **state)
{
	struct answer a;
	int64_t ms;

	run("cat", 5000, &a, &ms);
	assert_string_equal(a.err, "password_command printed no password");
	assert_true(ms < 2000);
	done(&a);
}

static void never(char *password, const char *err, void *ud)
{
	fail_msg("a cancelled command answered");
}

static void test_cancel_reaps(void **state)
{
	struct loop *l = loop_new();
	struct secret_cmd *c = secret_command_start(l, "sleep 30", 10000, never, NULL);

	secret_command_cancel(c);
	/* nothing of ours is left to wait for: no zombie */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	loop_free(l);
}

static void test_blocking_path(void **state)
{
	char *err = NULL;
	char *pw = secret_from_command("echo via-cli", &err);

	assert_string_equal(pw, "via-cli");
	secret_free(pw);
	assert_null(secret_from_command("echo no >&2; exit 3", &err));
	assert_string_equal(err, "password_command exited with 3: no");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_line_is_the_password),
		cmocka_unit_test(test_failures_say_stderr),
		cmocka_unit_test(test_timeout_kills_the_session),
		cmocka_unit_test(test_lingering_child_does_not_hold_it),
		cmocka_unit_test(test_stdin_is_empty),
		cmocka_unit_test(test_cancel_reaps),
		cmocka_unit_test(test_blocking_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
