// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests of what polq's query options stand on: the --since/--until
 * parser (fixed "now", fixed time zones), colour and pager choices
 * (query/term.c), the store's orders and id bounds behind -n, -r and -f,
 * and the built polq itself ($POLQ) on a store written here: -n, -r,
 * -o, --color, NO_COLOR, -f, and hostile option values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probes/events.h"
#include "query/render.h"
#include "query/term.h"
#include "schema/store.h"

#define NS 1000000000ull

/* ---- the time parser ---- */

/* Berlin's rules, spelled out so no tzdata is needed: UTC+1, and UTC+2
 * from the last Sunday of March to the last Sunday of October. */
#define TZ_CET "CET-1CEST,M3.5.0,M10.5.0/3"

static void set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static uint64_t utc(const char *rfc3339)
{
	uint64_t t = 0;

	assert_int_equal(pr_parse_rfc3339(rfc3339, &t), 0);
	return t;
}

static void assert_when(const char *s, uint64_t now, uint64_t want)
{
	uint64_t t = 0;
	int rc = pr_parse_when(s, now, &t);

	if (rc || t != want)
		fail_msg("'%s': rc %d, %" PRIu64 ", want %" PRIu64, s, rc, t, want);
}

static void assert_when_err(const char *s, uint64_t now, int want)
{
	uint64_t t = 12345;
	int rc = pr_parse_when(s, now, &t);

	if (rc != want)
		fail_msg("'%s': rc %d, want %d", s, rc, want);
	assert_int_equal(t, 12345); /* untouched */
}

static void test_when_rfc3339(void **state)
{
	uint64_t now = utc("2026-11-26T09:41:26Z");

	set_tz(TZ_CET);
	assert_when("2026-11-26T09:00:00Z", now, utc("2026-11-26T09:00:00Z"));
	assert_when("2026-11-26T10:00:00.5+01:00", now, utc("2026-11-26T09:00:00Z") + NS / 2);
	assert_when("2026-11-26 09:00:00z", now, utc("2026-11-26T09:00:00Z"));
	assert_when("2026-11-26T09:00:00.123456789-02:30", now,
		    utc("2026-11-26T11:30:00Z") + 123456789);
}

static void test_when_local(void **state)
{
	uint64_t now = utc("2026-11-26T09:41:26Z");

	set_tz(TZ_CET);
	/* winter: UTC+1 */
	assert_when("2026-11-26 10:00:00", now, utc("2026-11-26T09:00:00Z"));
	assert_when("2026-11-26T10:00:00", now, utc("2026-11-26T09:00:00Z"));
	assert_when("2026-11-26 10:00", now, utc("2026-11-26T09:00:00Z"));
	assert_when("2026-11-26 10:00:00.25", now, utc("2026-11-26T09:00:00Z") + NS / 4);
	assert_when("2026-11-26", now, utc("2026-11-25T23:00:00Z"));
	/* summer: UTC+2 */
	assert_when("2026-07-01 12:00:00", now, utc("2026-07-01T10:00:00Z"));
	assert_when("2026-07-01", now, utc("2026-06-30T22:00:00Z"));
	/* a clock alone is today's */
	assert_when("10:00", now, utc("2026-11-26T09:00:00Z"));
	assert_when("23:59:59", now, utc("2026-11-26T22:59:59Z"));
	/* the same text in another zone is another instant */
	set_tz("UTC0");
	assert_when("2026-11-26 10:00:00", now, utc("2026-11-26T10:00:00Z"));
	set_tz("EST5EDT,M3.2.0,M11.1.0");
	assert_when("2026-11-26 10:00:00", now, utc("2026-11-26T15:00:00Z"));
	assert_when("2026-07-01", now, utc("2026-07-01T04:00:00Z"));
}

static void test_when_words(void **state)
{
	uint64_t now = utc("2026-11-26T09:41:26Z");
	/* 00:30 on the 26th in Berlin is still the 25th in UTC */
	uint64_t early = utc("2026-11-25T23:30:00Z");
	/* the day before summer time starts (2026-03-29 02:00 CET) */
	uint64_t spring = utc("2026-03-28T12:00:00Z");

	set_tz(TZ_CET);
	assert_when("now", now, now);
	assert_when("today", now, utc("2026-11-25T23:00:00Z"));
	assert_when("yesterday", now, utc("2026-11-24T23:00:00Z"));
	assert_when("tomorrow", now, utc("2026-11-26T23:00:00Z"));
	assert_when("today", early, utc("2026-11-25T23:00:00Z"));
	assert_when("yesterday", early, utc("2026-11-24T23:00:00Z"));
	/* a month end, and a day that is 23 hours long */
	assert_when("tomorrow", utc("2026-11-30T12:00:00Z"), utc("2026-11-30T23:00:00Z"));
	assert_when("tomorrow", spring, utc("2026-03-28T23:00:00Z"));
	assert_when("2026-03-30", spring, utc("2026-03-29T22:00:00Z"));
	assert_when("@1795686086", now, 1795686086ull * NS);
	assert_when("@1795686086.5", now, 1795686086ull * NS + NS / 2);
}

static void test_when_relative(void **state)
{
	uint64_t now = utc("2026-11-26T09:41:26Z");

	set_tz(TZ_CET);
	assert_when("-1h", now, now - 3600 * NS);
	assert_when("+5m", now, now + 300 * NS);
	assert_when("1h", now, now - 3600 * NS); /* a bare duration: that long ago */
	assert_when("1h30m", now, now - 5400 * NS);
	assert_when("1h 30min", now, now - 5400 * NS);
	assert_when("-1h30m", now, now - 5400 * NS);
	assert_when("5min ago", now, now - 300 * NS);
	assert_when("2 days ago", now, now - 2 * 86400 * NS);
	assert_when("1w", now, now - 7 * 86400 * NS);
	assert_when("+2hours", now, now + 7200 * NS);
	assert_when("500ms", now, now - NS / 2);
	assert_when("-250us", now, now - 250000);
	assert_when("0s", now, now);
	assert_when("+0s", now, now);
}

static void test_when_errors(void **state)
{
	uint64_t now = utc("2026-11-26T09:41:26Z");
	static const char *const bad[] = {
		"", " ", "-", "+", "ago", " ago", "1", "1x", "1h ", " 1h", "1h  ", "h",
		"1M", "1y", "1months", "1secs", "yesterdayy", "Today", "now ", "@", "@x",
		"@1.", "2026-13-01", "2026-02-30", "2026-11-26 25:00", "2026-11-26 10:60",
		"2026-11-26 10", "2026-11-26T09:00:00+25:00", "2026-11-26 10:00:00 ",
		"26-11-2026", "10:00:61", "1:00", "1h--1h", "--1h", "+-1h", "1h ago ago",
		"5 ago", "\n", "1h\n", "2026-11-26\n",
	};

	set_tz(TZ_CET);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_when_err(bad[i], now, -EINVAL);
	/* before 1970 (local 1970-01-01 00:30 CET is 1969 in UTC) */
	assert_when_err("1970-01-01 00:30", now, -ERANGE);
	assert_when_err("1969-12-31T23:00:00Z", now, -ERANGE);
	assert_when_err("-100000d", now, -ERANGE);
	assert_when_err("+40000w", now, -ERANGE);
	assert_when_err("99999999999999999999s", now, -ERANGE);
	assert_when_err("@99999999999", now, -ERANGE);
	assert_when("1970-01-01 01:00", now, 0);
}

/* ---- colour and pager choices ---- */

static void test_color_parse(void **state)
{
	enum pr_color_mode m = PR_COLOR_NEVER;

	assert_int_equal(pr_color_parse(NULL, &m), 0); /* a bare --color */
	assert_int_equal(m, PR_COLOR_ALWAYS);
	assert_int_equal(pr_color_parse("auto", &m), 0);
	assert_int_equal(m, PR_COLOR_AUTO);
	assert_int_equal(pr_color_parse("never", &m), 0);
	assert_int_equal(m, PR_COLOR_NEVER);
	assert_int_equal(pr_color_parse("always", &m), 0);
	assert_int_equal(m, PR_COLOR_ALWAYS);
	assert_int_equal(pr_color_parse("yes", &m), -1);
	assert_int_equal(pr_color_parse("", &m), -1);
	assert_int_equal(pr_color_parse("Always", &m), -1);
}

static void test_color_want(void **state)
{
	int pty = posix_openpt(O_RDWR | O_NOCTTY), tty, p[2];

	assert_true(pty >= 0);
	assert_int_equal(grantpt(pty), 0);
	assert_int_equal(unlockpt(pty), 0);
	tty = open(ptsname(pty), O_RDWR | O_NOCTTY);
	assert_true(tty >= 0);
	assert_int_equal(pipe(p), 0);

	unsetenv("NO_COLOR");
	setenv("TERM", "xterm-256color", 1);
	assert_true(pr_color_want(PR_COLOR_AUTO, tty));
	assert_false(pr_color_want(PR_COLOR_AUTO, p[1]));
	assert_false(pr_color_want(PR_COLOR_AUTO, -1));
	assert_true(pr_color_want(PR_COLOR_ALWAYS, p[1]));
	assert_false(pr_color_want(PR_COLOR_NEVER, tty));
	setenv("NO_COLOR", "1", 1);
	assert_false(pr_color_want(PR_COLOR_AUTO, tty));
	assert_true(pr_color_want(PR_COLOR_ALWAYS, tty)); /* asked for: given */
	setenv("NO_COLOR", "", 1); /* empty: as if unset (no-color.org) */
	assert_true(pr_color_want(PR_COLOR_AUTO, tty));
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	assert_false(pr_color_want(PR_COLOR_AUTO, tty));
	unsetenv("TERM");
	assert_false(pr_color_want(PR_COLOR_AUTO, tty));
	close(p[0]);
	close(p[1]);
	close(tty);
	close(pty);
}

static void test_pager_command(void **state)
{
	unsetenv("POLQ_PAGER");
	unsetenv("PAGER");
	assert_string_equal(pr_pager_command(), "less");
	setenv("PAGER", "more -d", 1);
	assert_string_equal(pr_pager_command(), "more -d");
	setenv("POLQ_PAGER", "less -S", 1);
	assert_string_equal(pr_pager_command(), "less -S");
	setenv("POLQ_PAGER", "", 1); /* set and empty: no pager, $PAGER not asked */
	assert_null(pr_pager_command());
	setenv("POLQ_PAGER", "cat", 1);
	assert_null(pr_pager_command());
	unsetenv("POLQ_PAGER");
	setenv("PAGER", "cat", 1);
	assert_null(pr_pager_command());
	unsetenv("PAGER");
}

/* ---- a store with incidents out of time order ---- */

struct st {
	char top[64], dir[80];
};

static const char sh_argv[] = "sh\0-c\0true";

/* Incident number n (its id if written in order) at time t. */
static int64_t add_incident(const char *dir, uint64_t t, const char *sev, const char *path)
{
	struct pr_proc_rec p = {
		.pid = 4242, .ppid = 1, .start_boot = 3000, .start_time = 1795600000ull * NS,
		.user = "root", .exe = "/bin/sh", .argv = sh_argv, .argv_len = sizeof(sh_argv),
		.cwd = "/", .cgroup = "/", .container_id = "", .sha256 = "",
	};
	struct pr_incident_rec inc = {
		.time = t, .policy = "no-tmp", .rule = "exec.deny", .severity = sev,
		.kind = "exec", .action = "exec", .path = path, .expected = "exec.deny /tmp/**",
		.actual = "exec", .proc = p,
	};
	struct pr_event_rec ev = {
		.time = t, .kind = "exec", .pid = 4242, .start_boot = 3000, .path = path,
		.path2 = "", .detail = "", .mark = PR_MARK_VIOLATION,
	};
	struct pr_store *w;
	char err[256];
	int64_t id;

	if (pr_store_open(&w, dir, PR_STORE_WRITE, err, sizeof(err)))
		fail_msg("open write: %s", err);
	if (pr_store_begin(w))
		fail_msg("begin: %s", pr_store_errmsg(w));
	id = pr_store_add_incident(w, &inc, &p, 1, &ev, 1);
	if (id < 0 || pr_store_commit(w))
		fail_msg("write: %s", pr_store_errmsg(w));
	pr_store_close(w);
	return id;
}

#define T0 (1795686086ull * NS) /* 2026-11-26T09:41:26Z */

static int st_setup(void **state)
{
	struct st *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->top, sizeof(t->top), "/tmp/test_polq.XXXXXX");
	if (!mkdtemp(t->top))
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s/s", t->top);
	/* ids 1, 2, 3 at times T0+20, T0+10, T0+30: time order 2, 1, 3 */
	if (add_incident(t->dir, T0 + 20 * NS, "high", "/tmp/b") != 1 ||
	    add_incident(t->dir, T0 + 10 * NS, "low", "/tmp/a") != 2 ||
	    add_incident(t->dir, T0 + 30 * NS, "critical", "/tmp/c\x1b[31mforged") != 3)
		return -1;
	*state = t;
	return 0;
}

static void rm_tree(const char *dir)
{
	char path[512];
	struct dirent *d;
	struct stat sb;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (!lstat(path, &sb) && S_ISDIR(sb.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(dp);
	rmdir(dir);
}

static int st_teardown(void **state)
{
	struct st *t = *state;

	rm_tree(t->top);
	free(t);
	return 0;
}

struct ids {
	int64_t v[16];
	size_t n;
};

static int ids_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct ids *c = arg;

	if (c->n < 16)
		c->v[c->n++] = inc->id;
	return 0;
}

static void assert_ids(struct pr_store *s, const struct pr_query *q, size_t n, ...)
{
	struct ids c = { 0 };
	va_list ap;

	assert_int_equal(pr_store_list_incidents(s, q, ids_cb, &c), (long)n);
	assert_int_equal(c.n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(c.v[i], va_arg(ap, int));
	va_end(ap);
}

static void test_store_orders(void **state)
{
	struct st *t = *state;
	struct pr_query q = { 0 };
	struct pr_store *s;
	char err[256];
	int64_t max = -1;

	assert_int_equal(pr_store_open(&s, t->dir, PR_STORE_READ, err, sizeof(err)), 0);
	assert_ids(s, &q, 3, 2, 1, 3);
	q.order = PR_ORDER_TIME_DESC;
	assert_ids(s, &q, 3, 3, 1, 2);
	q.order = PR_ORDER_ID;
	assert_ids(s, &q, 3, 1, 2, 3);
	q.after_id = 1;
	assert_ids(s, &q, 2, 2, 3);
	q.upto_id = 2;
	assert_ids(s, &q, 1, 2);
	q.after_id = 2;
	assert_ids(s, &q, 0);
	q = (struct pr_query){ .upto_id = 2, .order = PR_ORDER_TIME_DESC };
	assert_ids(s, &q, 2, 1, 2);
	q.order = 7;
	assert_int_equal(pr_store_list_incidents(s, &q, ids_cb, NULL), -1);
	assert_int_equal(pr_store_max_incident_id(s, &max), 0);
	assert_int_equal(max, 3);
	pr_store_close(s);
}

struct tl {
	uint64_t t[16];
	size_t n;
};

static int tl_cb(const struct pr_event_rec *e, int64_t iid, void *arg)
{
	struct tl *c = arg;

	if (c->n < 16)
		c->t[c->n++] = e->time;
	return 0;
}

static void test_store_timeline_rev(void **state)
{
	struct st *t = *state;
	struct tl fwd = { 0 }, rev = { 0 };
	struct pr_store *s;
	char err[256];

	assert_int_equal(pr_store_open(&s, t->dir, PR_STORE_READ, err, sizeof(err)), 0);
	assert_int_equal(pr_store_timeline(s, 0, 0, 0, 0, tl_cb, &fwd), 3);
	assert_int_equal(pr_store_timeline_rev(s, 0, 0, 0, 0, tl_cb, &rev), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(rev.t[i], fwd.t[2 - i]);
	assert_int_equal(fwd.t[0], T0 + 10 * NS);
	rev.n = 0;
	assert_int_equal(pr_store_timeline_rev(s, T0 + 15 * NS, 0, 4242, 3000, tl_cb, &rev), 2);
	assert_int_equal(rev.t[0], T0 + 30 * NS);
	pr_store_close(s);
}

/* ---- the built polq ---- */

struct run {
	int status; /* exit status, or 128 + signal */
	char out[16384], err[4096];
};

static void slurp(int fd, char *buf, size_t size)
{
	ssize_t n;
	size_t len = 0;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

static int tmpfd(const struct st *t, const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t->top, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	return fd;
}

/* polq --store DIR ARGS... with stdout and stderr in files; env: NAME=VALUE
 * strings to set (NAME alone: unset) in the child. */
static pid_t spawn(const struct st *t, const char *const *env, const char *const *args,
		   int out, int err)
{
	const char *polq = getenv("POLQ");
	const char *argv[32];
	size_t n = 0;
	pid_t pid;

	if (!polq)
		fail_msg("POLQ is not set (ctest sets it to the built polq)");
	argv[n++] = polq;
	argv[n++] = "--store";
	argv[n++] = t->dir;
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		for (; env && *env; env++) {
			const char *eq = strchr(*env, '=');

			if (eq) {
				char name[64];

				snprintf(name, sizeof(name), "%.*s", (int)(eq - *env), *env);
				setenv(name, eq + 1, 1);
			} else {
				unsetenv(*env);
			}
		}
		if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
			_exit(126);
		execv(polq, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void polq_run(const struct st *t, struct run *r, const char *const *env, ...)
{
	const char *args[24];
	size_t n = 0;
	int out = tmpfd(t, "out"), err = tmpfd(t, "err");
	va_list ap;

	va_start(ap, env);
	while (n < 23 && (args[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	args[n] = NULL;
	r->status = wait_status(spawn(t, env, args, out, err));
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

/* The incident ids of text or JSON lines, in order. */
static size_t line_ids(const char *out, int64_t *ids, size_t max)
{
	size_t n = 0;

	for (const char *l = out; *l && n < max; l = strchr(l, '\n') + 1) {
		ids[n++] = !strncmp(l, "{\"id\":", 6) ? strtoll(l + 6, NULL, 10)
						      : strtoll(l, NULL, 10);
		if (!strchr(l, '\n'))
			break;
	}
	return n;
}

static void assert_out_ids(const struct run *r, size_t n, ...)
{
	int64_t ids[16];
	va_list ap;

	assert_int_equal(r->status, 0);
	assert_int_equal(line_ids(r->out, ids, 16), n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ids[i], va_arg(ap, int));
	va_end(ap);
}

static void assert_one_line_error(const struct run *r, const char *needle)
{
	size_t len = strlen(r->err);

	if (r->status != 2 || len < 7 || strncmp(r->err, "polq: ", 6) ||
	    strchr(r->err, '\n') != r->err + len - 1 || !strstr(r->err, needle))
		fail_msg("want exit 2 and one line with '%s'; got %d: %s", needle, r->status,
			 r->err);
}

static void test_polq_lines_reverse(void **state)
{
	struct st *t = *state;
	struct run r;

	polq_run(t, &r, NULL, "incidents", NULL);
	assert_out_ids(&r, 3, 2, 1, 3);
	polq_run(t, &r, NULL, "incidents", "-n", "2", NULL);
	assert_out_ids(&r, 2, 1, 3);
	polq_run(t, &r, NULL, "incidents", "--lines=1", NULL);
	assert_out_ids(&r, 1, 3);
	polq_run(t, &r, NULL, "incidents", "-r", NULL);
	assert_out_ids(&r, 3, 3, 1, 2);
	polq_run(t, &r, NULL, "incidents", "--reverse", "-n", "2", "--json", NULL);
	assert_out_ids(&r, 2, 3, 1);
	polq_run(t, &r, NULL, "incidents", "-n", "all", NULL);
	assert_out_ids(&r, 3, 2, 1, 3);
	polq_run(t, &r, NULL, "incidents", "-n", "0", NULL);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	polq_run(t, &r, NULL, "incidents", "-n", "9", "--severity", "high", NULL);
	assert_out_ids(&r, 1, 1);
	/* the timeline: one event per incident, at its time */
	polq_run(t, &r, NULL, "timeline", "-n", "1", "--json", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"incident\":3"));
	assert_ptr_equal(strchr(r.out, '\n'), r.out + strlen(r.out) - 1); /* one line */
	polq_run(t, &r, NULL, "timeline", "-r", "-o", "json", NULL);
	assert_int_equal(r.status, 0);
	assert_true(strstr(r.out, "\"incident\":3") < strstr(r.out, "\"incident\":1"));
	assert_true(strstr(r.out, "\"incident\":1") < strstr(r.out, "\"incident\":2"));
}

static void test_polq_since(void **state)
{
	struct st *t = *state;
	const char *const cet[] = { "TZ=" TZ_CET, NULL };
	struct run r;

	/* T0 + 15s = 2026-11-26T09:41:41Z = 10:41:41 in Berlin */
	polq_run(t, &r, cet, "incidents", "--since", "2026-11-26T09:41:41Z", NULL);
	assert_out_ids(&r, 2, 1, 3);
	polq_run(t, &r, cet, "incidents", "--since", "2026-11-26 10:41:41", NULL);
	assert_out_ids(&r, 2, 1, 3);
	polq_run(t, &r, cet, "incidents", "--since", "2026-11-26 10:41:41", "--until",
		 "2026-11-26T10:41:55+01:00", NULL);
	assert_out_ids(&r, 1, 1);
	polq_run(t, &r, cet, "incidents", "--since", "2026-11-26", "--until", "2026-11-27", NULL);
	assert_out_ids(&r, 3, 2, 1, 3);
	polq_run(t, &r, cet, "incidents", "--since", "@1795686100", NULL);
	assert_out_ids(&r, 2, 1, 3);
	/* all three are in 2026, long before "1h" ago... or after, if this runs
	 * before then: either way, the relative forms agree with each other */
	polq_run(t, &r, cet, "incidents", "--until", "now", NULL);
	assert_true(r.status == 0 || r.status == 1);
	polq_run(t, &r, cet, "incidents", "--since", "2026-11-27", NULL);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "no incidents match"));
}

static void test_polq_format_color(void **state)
{
	struct st *t = *state;
	const char *const plain[] = { "NO_COLOR", "TERM=xterm", NULL };
	const char *const nocolor[] = { "NO_COLOR=1", "TERM=xterm", NULL };
	struct run r;

	polq_run(t, &r, plain, "-o", "json", "incidents", NULL);
	assert_out_ids(&r, 3, 2, 1, 3);
	assert_int_equal(r.out[0], '{');
	polq_run(t, &r, plain, "incidents", "--output=json", NULL);
	assert_int_equal(r.out[0], '{');
	polq_run(t, &r, plain, "--json", "incidents", "-o", "text", NULL);
	assert_out_ids(&r, 3, 2, 1, 3);
	assert_int_equal(r.out[0], '2');
	polq_run(t, &r, plain, "show", "3", "-ojson", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out[0], '{');
	polq_run(t, &r, plain, "stats", "-o", "json", NULL);
	assert_int_equal(r.out[0], '{');
	polq_run(t, &r, plain, "-o", "json", "tree", "4242", NULL);
	assert_int_equal(r.out[0], '{');

	/* a pipe: no colour unless asked for */
	polq_run(t, &r, plain, "incidents", NULL);
	assert_null(strchr(r.out, '\x1b'));
	polq_run(t, &r, plain, "incidents", "--color=always", NULL);
	assert_non_null(strstr(r.out, PR_SGR_CRITICAL "critical" PR_SGR_RESET));
	assert_non_null(strstr(r.out, PR_SGR_LOW "low" PR_SGR_RESET));
	/* the stored ESC stays escaped with colour on */
	assert_non_null(strstr(r.out, "/tmp/c\\x1b[31mforged"));
	assert_null(strstr(r.out, "/tmp/c\x1b"));
	polq_run(t, &r, nocolor, "--color", "incidents", NULL);
	assert_non_null(strchr(r.out, '\x1b')); /* asked for: given */
	polq_run(t, &r, plain, "show", "1", "--color=always", NULL);
	assert_non_null(strstr(r.out, PR_SGR_VIOLATION "=> "));
	polq_run(t, &r, plain, "timeline", "--color=always", NULL);
	assert_non_null(strstr(r.out, PR_SGR_VIOLATION "=> "));
	polq_run(t, &r, plain, "incidents", "--color=always", "--json", NULL);
	assert_null(strchr(r.out, '\x1b'));
	polq_run(t, &r, plain, "incidents", "--color=never", NULL);
	assert_null(strchr(r.out, '\x1b'));
}

static void test_polq_bad_options(void **state)
{
	struct st *t = *state;
	struct run r;

	polq_run(t, &r, NULL, "incidents", "--since", "yesterday\n{\"id\":1}", NULL);
	assert_one_line_error(&r, "--since");
	assert_non_null(strstr(r.err, "RFC 3339"));
	assert_non_null(strstr(r.err, "yesterday\\n{"));
	polq_run(t, &r, NULL, "timeline", "--until", "\xff\xfe", NULL);
	assert_one_line_error(&r, "--until '\\xff\\xfe'");
	polq_run(t, &r, NULL, "incidents", "--until", "+40000w", NULL);
	assert_one_line_error(&r, "out of range");
	polq_run(t, &r, NULL, "incidents", "-n", "-1", NULL);
	assert_one_line_error(&r, "-n '-1'");
	polq_run(t, &r, NULL, "incidents", "-n", "1x", NULL);
	assert_one_line_error(&r, "-n '1x'");
	polq_run(t, &r, NULL, "incidents", "-n", "99999999999999999999999", NULL);
	assert_one_line_error(&r, "-n");
	polq_run(t, &r, NULL, "incidents", "-o", "yaml\r", NULL);
	assert_one_line_error(&r, "-o 'yaml\\r'");
	polq_run(t, &r, NULL, "incidents", "--color=\x1b[2J", NULL);
	assert_one_line_error(&r, "--color '\\x1b[2J'");
	polq_run(t, &r, NULL, "incidents", "-f", "-r", NULL);
	assert_one_line_error(&r, "-r");
	polq_run(t, &r, NULL, "show", "1", "-n", "1", NULL);
	assert_one_line_error(&r, "unknown option");
	/* ocsf and ecs: whole incidents, so only incidents and show */
	polq_run(t, &r, NULL, "-o", "ocsf", "timeline", NULL);
	assert_one_line_error(&r, "-o ocsf: not available for timeline");
	polq_run(t, &r, NULL, "stats", "--output", "ecs", NULL);
	assert_one_line_error(&r, "-o ecs: not available for stats");
	/* errors in JSON mode also on stdout, whichever way JSON was asked */
	polq_run(t, &r, NULL, "incidents", "-n", "x", "-o", "json", NULL);
	assert_one_line_error(&r, "-n 'x'");
	assert_non_null(strstr(r.out, "{\"error\":"));
	polq_run(t, &r, NULL, "-o", "json", "incidents", "--since", "x", NULL);
	assert_non_null(strstr(r.out, "{\"error\":"));
}

/* pcap, export and checkpoint keep -o as their output path */
static void test_polq_o_is_a_path(void **state)
{
	struct st *t = *state;
	char path[128];
	struct run r;

	snprintf(path, sizeof(path), "%s/json", t->top);
	polq_run(t, &r, NULL, "pcap", "1", "-o", path, NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	polq_run(t, &r, NULL, "-o", "json", "pcap", "1", "-o", path, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"packets\":0"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/bundle", t->top);
	polq_run(t, &r, NULL, "export", "2", "-o", path, NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(access(path, F_OK), 0);
}

/* Lines in the file at fd so far. */
static size_t count_lines(int fd)
{
	char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	size_t lines = 0;

	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return lines;
}

static bool wait_lines(int fd, size_t want)
{
	for (int i = 0; i < 100; i++) {
		if (count_lines(fd) >= want)
			return true;
		usleep(50000);
	}
	return false;
}

static void test_polq_follow(void **state)
{
	struct st *t = *state;
	const char *const args[] = { "incidents", "-f", "--json", "-n", "1", NULL };
	int out = tmpfd(t, "fout"), err = tmpfd(t, "ferr");
	char buf[16384], ebuf[1024];
	int64_t ids[16], id4, id5;
	pid_t pid;
	size_t n;

	pid = spawn(t, NULL, args, out, err);
	/* the newest one first */
	assert_true(wait_lines(out, 1));
	id4 = add_incident(t->dir, T0 + 40 * NS, "medium", "/tmp/d");
	usleep(300000);
	/* an older time, a newer id: still new */
	id5 = add_incident(t->dir, T0 + 5 * NS, "high", "/tmp/e");
	assert_true(wait_lines(out, 3));
	usleep(600000); /* a few more polls: nothing printed twice */
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_status(pid), 0);
	slurp(out, buf, sizeof(buf));
	slurp(err, ebuf, sizeof(ebuf));
	assert_string_equal(ebuf, "");
	n = line_ids(buf, ids, 16);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], id4);
	assert_int_equal(ids[2], id5);
	assert_int_equal(id5, id4 + 1);
}

int main(void)
{
	const struct CMUnitTest when[] = {
		cmocka_unit_test(test_when_rfc3339),
		cmocka_unit_test(test_when_local),
		cmocka_unit_test(test_when_words),
		cmocka_unit_test(test_when_relative),
		cmocka_unit_test(test_when_errors),
		cmocka_unit_test(test_color_parse),
		cmocka_unit_test(test_color_want),
		cmocka_unit_test(test_pager_command),
	};
	const struct CMUnitTest store[] = {
		cmocka_unit_test(test_store_orders),
		cmocka_unit_test(test_store_timeline_rev),
		cmocka_unit_test(test_polq_lines_reverse),
		cmocka_unit_test(test_polq_since),
		cmocka_unit_test(test_polq_format_color),
		cmocka_unit_test(test_polq_bad_options),
		cmocka_unit_test(test_polq_o_is_a_path),
		/* last: it adds incidents */
		cmocka_unit_test(test_polq_follow),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("polq_when_term", when, NULL, NULL);
	failed += cmocka_run_group_tests_name("polq_store", store, st_setup, st_teardown);
	return failed;
}
