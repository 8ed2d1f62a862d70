// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* polq and the terminal: colour, pager, the signals of -f (query/term.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "query/term.h"

/* ---- colour ---- */

int pr_color_parse(const char *s, enum pr_color_mode *mode)
{
	if (!s || !strcmp(s, "always"))
		*mode = PR_COLOR_ALWAYS;
	else if (!strcmp(s, "auto"))
		*mode = PR_COLOR_AUTO;
	else if (!strcmp(s, "never"))
		*mode = PR_COLOR_NEVER;
	else
		return -1;
	return 0;
}

bool pr_color_want(enum pr_color_mode mode, int fd)
{
	const char *v;

	switch (mode) {
	case PR_COLOR_ALWAYS:
		return true;
	case PR_COLOR_NEVER:
		return false;
	case PR_COLOR_AUTO:
		break;
	}
	if (fd < 0 || !isatty(fd))
		return false;
	/* https://no-color.org: set and not empty means no colour */
	v = getenv("NO_COLOR");
	if (v && *v)
		return false;
	/* as systemd: no $TERM is a dumb terminal too */
	v = getenv("TERM");
	return v && *v && strcmp(v, "dumb");
}

/* ---- pager ---- */

static pid_t pager_pid = -1;

const char *pr_pager_command(void)
{
	static const char *const vars[] = { "POLQ_PAGER", "PAGER" };
	const char *v;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		v = getenv(vars[i]);
		if (v)
			return *v && strcmp(v, "cat") ? v : NULL;
	}
	return "less";
}

/* One plain word (a name or a path) runs without a shell, so a pager that
 * is not there is seen here and the output goes to the terminal instead. */
static bool plain_word(const char *cmd)
{
	return strspn(cmd, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789_./+-") == strlen(cmd);
}

/* In the child: stdin from the pipe, the pager's environment, exec; on
 * failure errno goes back through the close-on-exec status pipe. */
static void pager_child(const char *cmd, int data[2], int status)
{
	int err;

	if (dup2(data[0], STDIN_FILENO) < 0)
		goto fail;
	close(data[0]);
	close(data[1]);
	if (!getenv("LESS") && setenv("LESS", "FRX", 1))
		goto fail;
	if (!getenv("LV") && setenv("LV", "-c", 1))
		goto fail;
	if (plain_word(cmd))
		execlp(cmd, cmd, (char *)NULL);
	else
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
fail:
	err = errno;
	if (write(status, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* 0 when the child exec'd, else its errno. */
static int exec_status(int status)
{
	ssize_t n;
	int err = 0;

	do
		n = read(status, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(err) ? err : 0;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

bool pr_pager_start(void)
{
	const char *cmd = pr_pager_command(), *why = NULL;
	int data[2], status[2], err;
	pid_t pid;

	if (!cmd || pager_pid > 0 || fileno(stdout) != STDOUT_FILENO || !isatty(STDOUT_FILENO))
		return false;
	if (pipe2(data, O_CLOEXEC))
		return false;
	if (pipe2(status, O_CLOEXEC)) {
		close(data[0]);
		close(data[1]);
		return false;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(status[0]);
		pager_child(cmd, data, status[1]);
	}
	err = pid < 0 ? errno : 0;
	close(status[1]);
	close(data[0]);
	if (!err && (err = exec_status(status[0])))
		reap(pid);
	close(status[0]);
	if (err || dup2(data[1], STDOUT_FILENO) < 0) {
		why = strerror(err ? err : errno);
		close(data[1]);
		if (pid > 0 && !err) {
			kill(pid, SIGTERM);
			reap(pid);
		}
		/* the default less missing is no news; a pager asked for is */
		if (getenv("POLQ_PAGER") || getenv("PAGER"))
			fprintf(stderr, "polq: pager '%s': %s; printing directly\n", cmd, why);
		return false;
	}
	close(data[1]);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	pager_pid = pid;
	return true;
}

bool pr_pager_active(void)
{
	return pager_pid > 0;
}

void pr_pager_end(void)
{
	if (pager_pid <= 0)
		return;
	fflush(stdout);
	close(STDOUT_FILENO); /* the pager sees the end of its input */
	reap(pager_pid);
	pager_pid = -1;
}

/* ---- following ---- */

static volatile sig_atomic_t follow_stop;

static void on_stop(int sig)
{
	(void)sig;
	follow_stop = 1;
}

int pr_follow_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGPIPE };
	struct sigaction sa = { .sa_handler = on_stop };

	follow_stop = 0;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: the signal cuts the sleep short */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -1;
	return 0;
}

bool pr_follow_stopped(void)
{
	return follow_stop != 0;
}

bool pr_follow_sleep(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	if (follow_stop)
		return false;
	nanosleep(&ts, NULL);
	return !follow_stop;
}
