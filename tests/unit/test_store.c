// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The store layer: round trips, filters, snapshots, modes, damage. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "schema/store.h"

struct fx {
	char tmp[64];
	char dir[128]; /* tmp/store, not created yet */
	char err[1024];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->tmp, "/tmp/polrec-test-store.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(fx->dir, sizeof(fx->dir), "%s/store", fx->tmp);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	nftw(fx->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct pr_store *open_ok(struct fx *fx, enum pr_store_mode mode)
{
	struct pr_store *s = NULL;

	if (pr_store_open(&s, fx->dir, mode, fx->err, sizeof(fx->err)))
		fail_msg("open %s: %s", fx->dir, fx->err);
	return s;
}

/* ---- hostile records ---- */

static char long_path[4001];
static char big_argv[64 * 1024];

static void init_hostile(void)
{
	long_path[0] = '/';
	for (size_t i = 1; i < sizeof(long_path) - 1; i++)
		long_path[i] = i % 100 == 0 ? '/' : i % 37 == 0 ? '\n' : (char)(0x80 + i % 127);
	long_path[sizeof(long_path) - 1] = '\0';
	for (size_t i = 0; i < sizeof(big_argv); i++)
		big_argv[i] = i % 17 == 16 ? '\0' : (char)(i * 31 + 1);
}

static struct pr_proc_rec proc(uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart,
			       const char *exe)
{
	static const char argv[] = "sh\0-c\0echo 'a\nb' \xff\xfe\0";

	return (struct pr_proc_rec){
		.pid = pid, .ppid = ppid, .start_boot = start, .pstart_boot = pstart,
		.start_time = 1700000000000000000ull + start,
		.uid = 1000, .gid = 1000, .loginuid = 4294967295u, .sessionid = 7,
		.user = "us\ner\xff", .exe = exe,
		.argv = argv, .argv_len = sizeof(argv) - 1, .argc = 3,
		.flags = 2, .cwd = "/home/u\n/\xc3\x28",
		.cgroup_id = 0xfedcba9876543210ull, .cgroup = "/user.slice/x\ny",
		.container_id = "", .sha256 = "ab12", .exit_time = 0, .exit_code = 0,
	};
}

static void assert_str(const char *got, const char *want)
{
	assert_non_null(got);
	assert_int_equal(strlen(got), strlen(want ? want : ""));
	assert_memory_equal(got, want ? want : "", strlen(got) + 1);
}

static void assert_proc_eq(const struct pr_proc_rec *g, const struct pr_proc_rec *w)
{
	assert_int_equal(g->pid, w->pid);
	assert_int_equal(g->ppid, w->ppid);
	assert_true(g->start_boot == w->start_boot);
	assert_true(g->pstart_boot == w->pstart_boot);
	assert_true(g->start_time == w->start_time);
	assert_int_equal(g->uid, w->uid);
	assert_int_equal(g->gid, w->gid);
	assert_int_equal(g->loginuid, w->loginuid);
	assert_int_equal(g->sessionid, w->sessionid);
	assert_str(g->user, w->user);
	assert_str(g->exe, w->exe);
	assert_int_equal(g->argv_len, w->argv_len);
	if (w->argv_len)
		assert_memory_equal(g->argv, w->argv, w->argv_len);
	assert_non_null(g->argv);
	assert_int_equal(g->argv[g->argv_len], '\0');
	assert_int_equal(g->argc, w->argc);
	assert_int_equal(g->flags, w->flags);
	assert_str(g->cwd, w->cwd);
	assert_true(g->cgroup_id == w->cgroup_id);
	assert_str(g->cgroup, w->cgroup);
	assert_str(g->container_id, w->container_id);
	assert_str(g->sha256, w->sha256);
	assert_true(g->exit_time == w->exit_time);
	assert_int_equal(g->exit_code, w->exit_code);
}

static void assert_one_line(const char *msg)
{
	assert_non_null(msg);
	assert_true(msg[0] != '\0');
	assert_null(strchr(msg, '\n'));
}

/* ---- opening ---- */

static void test_open_creates_private(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	char path[256];
	struct stat st;

	assert_int_equal(pr_store_schema_version(s), 6);
	assert_int_equal(stat(fx->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "polrec.db", "polrec.db-wal", "polrec.db-shm" };

		snprintf(path, sizeof(path), "%s/%s", fx->dir, names[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	assert_int_equal(pr_store_check(s, 0), 0);
	assert_int_equal(pr_store_check(s, 1), 0);
	pr_store_close(s);

	/* again: nothing to migrate, same version */
	s = open_ok(fx, PR_STORE_WRITE);
	assert_int_equal(pr_store_schema_version(s), 6);
	pr_store_close(s);
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_schema_version(s), 6);
	pr_store_close(s);
}

static void test_open_fixes_db_mode(void **state)
{
	struct fx *fx = *state;
	char path[256];
	struct stat st;

	pr_store_close(open_ok(fx, PR_STORE_WRITE));
	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(chmod(path, 0644), 0);
	pr_store_close(open_ok(fx, PR_STORE_WRITE));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_open_symlink_dir_refused(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = NULL;
	char real[128];

	snprintf(real, sizeof(real), "%s/real", fx->tmp);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, fx->dir), 0);
	assert_int_equal(pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)), -1);
	assert_null(s);
	assert_one_line(fx->err);
	assert_non_null(strstr(fx->err, "symlink"));
	assert_int_equal(strncmp(fx->err, fx->dir, strlen(fx->dir)), 0);

	/* a symlink above the store directory is fine */
	snprintf(fx->dir, sizeof(fx->dir), "%s/store/inner", fx->tmp);
	pr_store_close(open_ok(fx, PR_STORE_WRITE));
	pr_store_close(open_ok(fx, PR_STORE_READ));
}

static void test_open_shared_dir_refused(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = NULL;

	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(chmod(fx->dir, 0777), 0);
	assert_int_equal(pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)), -1);
	assert_one_line(fx->err);
	assert_non_null(strstr(fx->err, "writable by group or others"));
}

static void test_read_missing_store(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = NULL;
	char want[256];

	snprintf(want, sizeof(want), "%s: no polrec store here (no polrec.db)", fx->dir);
	assert_int_equal(pr_store_open(&s, fx->dir, PR_STORE_READ, fx->err, sizeof(fx->err)), -1);
	assert_null(s);
	assert_string_equal(fx->err, want);
	assert_int_equal(access(fx->dir, F_OK), -1); /* READ creates nothing */

	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(pr_store_open(&s, fx->dir, PR_STORE_READ, fx->err, sizeof(fx->err)), -1);
	assert_string_equal(fx->err, want);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_garbage_db(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = NULL;
	char path[256], junk[8192];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 13 + 7);
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	write_file(path, junk, sizeof(junk));
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(pr_store_open(&s, fx->dir, mode, fx->err, sizeof(fx->err)), -1);
		assert_null(s);
		assert_one_line(fx->err);
		assert_non_null(strstr(fx->err, "file is not a database"));
		assert_int_equal(strncmp(fx->err, fx->dir, strlen(fx->dir)), 0);
	}
}

static void test_foreign_db_refused(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = NULL;
	char path[256];
	sqlite3 *db;

	assert_int_equal(mkdir(fx->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(pr_store_open(&s, fx->dir, mode, fx->err, sizeof(fx->err)), -1);
		assert_one_line(fx->err);
		assert_non_null(strstr(fx->err, "not a polrec store"));
	}
}

static void set_user_version(struct fx *fx, int v)
{
	char path[256], sql[64];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = NULL;

	pr_store_close(open_ok(fx, PR_STORE_WRITE));
	set_user_version(fx, 99);
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(pr_store_open(&s, fx->dir, mode, fx->err, sizeof(fx->err)), -1);
		assert_one_line(fx->err);
		assert_non_null(strstr(fx->err, "newer"));
	}
}

/* ---- processes ---- */

static void test_process_roundtrip_hostile(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_proc_rec a = proc(4242, 123456789, 1, 1000, long_path);
	struct pr_proc_rec b = proc(4243, UINT64_MAX - 5, 4242, 123456789, "/bin/\n\xff");
	struct pr_proc_rec c = proc(4244, 99, 4242, 123456789, "");
	struct pr_proc_rec *all[] = { &a, &b, &c };
	struct pr_proc_list l;
	int64_t id;

	b.argv = big_argv;
	b.argv_len = sizeof(big_argv);
	b.argc = 3855;
	b.exit_time = 1800000000000000000ull;
	b.exit_code = -9;
	c.argv = NULL;
	c.argv_len = 0;
	c.argc = 0;
	c.user = NULL; /* NULL strings are stored as "" */
	c.sha256 = NULL;

	assert_int_equal(pr_store_begin(s), 0);
	for (int i = 0; i < 3; i++) {
		id = pr_store_put_process(s, all[i]);
		assert_true(id > 0);
	}
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);

	s = open_ok(fx, PR_STORE_READ);
	c.user = "";
	c.sha256 = "";
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pr_store_find_processes(s, all[i]->pid, all[i]->start_boot, &l), 0);
		assert_int_equal(l.n, 1);
		assert_true(l.v[0].id > 0);
		assert_proc_eq(&l.v[0], all[i]);
		pr_proc_list_free(&l);
		assert_null(l.v);
	}
	assert_int_equal(pr_store_find_processes(s, 777, 0, &l), 0);
	assert_int_equal(l.n, 0);
	pr_proc_list_free(&l);
	pr_store_close(s);
}

static void test_upsert_replaces_image(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_proc_rec p = proc(10, 5000, 1, 100, "/bin/bash");
	struct pr_proc_rec older = proc(10, 4000, 1, 100, "/old/pid/reused");
	struct pr_proc_list l;
	int64_t id1, id2;

	assert_true(pr_store_put_process(s, &older) > 0);
	id1 = pr_store_put_process(s, &p);
	p.exit_time = 1234;
	p.exit_code = 3;
	assert_int_equal(pr_store_put_process(s, &p), id1);
	/* exec: a new image; an image without exit keeps the known exit */
	p.exe = "/usr/bin/python3";
	p.argv = "python3\0-c\0";
	p.argv_len = 11;
	p.argc = 2;
	p.exit_time = 0;
	p.exit_code = 0;
	id2 = pr_store_put_process(s, &p);
	assert_int_equal(id1, id2);

	assert_int_equal(pr_store_find_processes(s, 10, 5000, &l), 0);
	assert_int_equal(l.n, 1);
	p.exit_time = 1234;
	p.exit_code = 3;
	assert_proc_eq(&l.v[0], &p);
	pr_proc_list_free(&l);

	/* start_boot 0: every process that had pid 10, newest first */
	assert_int_equal(pr_store_find_processes(s, 10, 0, &l), 0);
	assert_int_equal(l.n, 2);
	assert_true(l.v[0].start_boot == 5000);
	assert_true(l.v[1].start_boot == 4000);
	assert_str(l.v[1].exe, "/old/pid/reused");
	pr_proc_list_free(&l);
	pr_store_close(s);
}

static void test_lineage_and_children(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_proc_rec init = proc(1, 10, 0, 0, "/sbin/init");
	struct pr_proc_rec sshd = proc(500, 20, 1, 10, "/usr/sbin/sshd");
	struct pr_proc_rec sh1 = proc(600, 30, 500, 20, "/bin/sh");
	struct pr_proc_rec sh2 = proc(601, 31, 500, 20, "/bin/sh");
	struct pr_proc_rec other = proc(602, 32, 500, 99, "/bin/other-parent");
	struct pr_proc_list l;

	assert_true(pr_store_put_process(s, &init) > 0);
	assert_true(pr_store_put_process(s, &sshd) > 0);
	assert_true(pr_store_put_process(s, &sh2) > 0);
	assert_true(pr_store_put_process(s, &sh1) > 0);
	assert_true(pr_store_put_process(s, &other) > 0);

	assert_int_equal(pr_store_process_lineage(s, 600, 30, &l), 0);
	assert_int_equal(l.n, 3);
	assert_proc_eq(&l.v[0], &sh1);
	assert_proc_eq(&l.v[1], &sshd);
	assert_proc_eq(&l.v[2], &init);
	pr_proc_list_free(&l);

	assert_int_equal(pr_store_process_children(s, 500, 20, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].pid, 600);
	assert_int_equal(l.v[1].pid, 601);
	pr_proc_list_free(&l);

	assert_int_equal(pr_store_process_lineage(s, 9999, 1, &l), 0);
	assert_int_equal(l.n, 0);
	pr_proc_list_free(&l);
	pr_store_close(s);
}

static void test_lineage_cycle_bounded(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_proc_rec a = proc(70, 7, 71, 8, "/a");
	struct pr_proc_rec b = proc(71, 8, 70, 7, "/b");
	struct pr_proc_rec self = proc(72, 9, 72, 9, "/self");
	struct pr_proc_list l;

	assert_true(pr_store_put_process(s, &a) > 0);
	assert_true(pr_store_put_process(s, &b) > 0);
	assert_true(pr_store_put_process(s, &self) > 0);
	assert_int_equal(pr_store_process_lineage(s, 70, 7, &l), 0);
	assert_int_equal(l.n, 2);
	pr_proc_list_free(&l);
	assert_int_equal(pr_store_process_lineage(s, 72, 9, &l), 0);
	assert_int_equal(l.n, 1);
	pr_proc_list_free(&l);
	pr_store_close(s);
}

/* ---- incidents ---- */

struct scenario {
	struct pr_proc_rec lineage[3];
	struct pr_event_rec events[3];
	struct pr_incident_rec inc;
};

static void make_scenario(struct scenario *sc, uint64_t t, const char *policy,
			  const char *severity)
{
	sc->lineage[0] = proc(300, 3000, 200, 2000, "/bin/sh");
	sc->lineage[0].argv = big_argv;
	sc->lineage[0].argv_len = sizeof(big_argv);
	sc->lineage[1] = proc(200, 2000, 1, 10, "/usr/sbin/nginx");
	sc->lineage[1].argv = NULL;
	sc->lineage[1].argv_len = 0;
	sc->lineage[1].argc = 0;
	sc->lineage[2] = proc(1, 10, 0, 0, "/sbin/init");
	sc->events[0] = (struct pr_event_rec){
		.time = t - 20, .kind = "exec", .pid = 300, .start_boot = 3000,
		.path = "/bin/sh", .path2 = "", .detail = "",
	};
	sc->events[1] = (struct pr_event_rec){
		.time = t, .kind = "write", .pid = 300, .start_boot = 3000,
		.path = long_path, .path2 = NULL, .detail = "flags=O_WRONLY|O_TRUNC\n\xff",
	};
	sc->events[2] = (struct pr_event_rec){
		.time = t + 5, .kind = "rename", .pid = 300, .start_boot = 3000,
		.path = "/etc/passwd", .path2 = "/tmp/x\ny", .detail = "",
	};
	sc->inc = (struct pr_incident_rec){
		.time = t, .policy = policy, .rule = "files.protect", .severity = severity,
		.kind = "file", .action = "write", .path = long_path,
		.expected = "no writes under /etc/**", .actual = "wrote \xff\n",
		.proc = sc->lineage[0], .lost_events = 17,
	};
}

static int64_t add_scenario(struct pr_store *s, struct scenario *sc)
{
	int64_t id;

	assert_int_equal(pr_store_begin(s), 0);
	id = pr_store_add_incident(s, &sc->inc, sc->lineage, 3, sc->events, 3);
	if (id < 0)
		fail_msg("add incident: %s", pr_store_errmsg(s));
	assert_int_equal(pr_store_commit(s), 0);
	return id;
}

static void assert_event_eq(const struct pr_event_rec *g, const struct pr_event_rec *w)
{
	assert_true(g->time == w->time);
	assert_str(g->kind, w->kind);
	assert_int_equal(g->pid, w->pid);
	assert_true(g->start_boot == w->start_boot);
	assert_str(g->path, w->path);
	assert_str(g->path2, w->path2);
	assert_str(g->detail, w->detail);
}

static void assert_incident_eq(const struct pr_incident_rec *g, const struct pr_incident_rec *w)
{
	assert_true(g->time == w->time);
	assert_str(g->policy, w->policy);
	assert_str(g->rule, w->rule);
	assert_str(g->severity, w->severity);
	assert_str(g->kind, w->kind);
	assert_str(g->action, w->action);
	assert_str(g->path, w->path);
	assert_str(g->expected, w->expected);
	assert_str(g->actual, w->actual);
	assert_true(g->lost_events == w->lost_events);
	assert_proc_eq(&g->proc, &w->proc);
}

static void test_incident_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_incident_full *f;
	struct scenario sc;
	int64_t id;

	make_scenario(&sc, 1700000000123456789ull, "web-tier\nx", "high");
	id = add_scenario(s, &sc);
	assert_true(id > 0);
	pr_store_close(s);

	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_get_incident(s, id, &f), 0);
	assert_true(f->inc.id == id);
	assert_incident_eq(&f->inc, &sc.inc);
	assert_int_equal(f->nlineage, 3);
	for (int i = 0; i < 3; i++)
		assert_proc_eq(&f->lineage[i], &sc.lineage[i]);
	assert_int_equal(f->nevents, 3);
	for (int i = 0; i < 3; i++)
		assert_event_eq(&f->events[i], &sc.events[i]);
	pr_incident_full_free(f);

	assert_int_equal(pr_store_get_incident(s, id + 100, &f), 1);
	assert_null(f);
	pr_store_close(s);
}

/* Events come back in time order whatever order they were given in. */
static void test_incident_events_time_order(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_incident_full *f;
	struct pr_event_rec ev[3];
	struct scenario sc;
	int64_t id;

	make_scenario(&sc, 5000, "p", "low");
	ev[0] = sc.events[2];
	ev[1] = sc.events[0];
	ev[2] = sc.events[1];
	id = pr_store_add_incident(s, &sc.inc, NULL, 0, ev, 3);
	assert_true(id > 0);
	assert_int_equal(pr_store_get_incident(s, id, &f), 0);
	assert_int_equal(f->nlineage, 0);
	assert_null(f->lineage);
	assert_int_equal(f->nevents, 3);
	for (int i = 0; i < 3; i++)
		assert_event_eq(&f->events[i], &sc.events[i]);
	assert_proc_eq(&f->inc.proc, &sc.lineage[0]);
	pr_incident_full_free(f);
	pr_store_close(s);
}

static void test_lineage_snapshot_stable(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_proc_rec later;
	struct pr_incident_full *f;
	struct pr_proc_list l;
	struct scenario sc;
	int64_t id;

	make_scenario(&sc, 1000, "p", "low");
	id = add_scenario(s, &sc);
	later = sc.lineage[0];
	later.exe = "/usr/bin/exec-later";
	later.argv = "exec-later\0";
	later.argv_len = 11;
	later.argc = 1;
	later.exit_time = 99;
	assert_true(pr_store_put_process(s, &later) > 0);
	later = sc.lineage[1];
	later.exe = "/usr/sbin/nginx-upgraded";
	assert_true(pr_store_put_process(s, &later) > 0);

	/* a second incident with the old images must not revert processes */
	add_scenario(s, &sc);
	assert_int_equal(pr_store_find_processes(s, 300, 3000, &l), 0);
	assert_str(l.v[0].exe, "/usr/bin/exec-later");
	assert_true(l.v[0].exit_time == 99);
	pr_proc_list_free(&l);

	assert_int_equal(pr_store_get_incident(s, id, &f), 0);
	assert_incident_eq(&f->inc, &sc.inc);
	for (int i = 0; i < 3; i++)
		assert_proc_eq(&f->lineage[i], &sc.lineage[i]);
	pr_incident_full_free(f);

	/* the lineage walk follows the processes table: the latest images */
	assert_int_equal(pr_store_process_lineage(s, 300, 3000, &l), 0);
	assert_int_equal(l.n, 3);
	assert_str(l.v[1].exe, "/usr/sbin/nginx-upgraded");
	pr_proc_list_free(&l);
	pr_store_close(s);
}

struct collect {
	int64_t ids[16];
	int n, stop_after;
	struct pr_store *s;
	struct scenario *sc;
};

static int collect_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < 16);
	c->ids[c->n++] = inc->id;
	assert_non_null(inc->proc.exe);
	return c->stop_after && c->n >= c->stop_after;
}

static long list(struct pr_store *s, struct collect *c, uint64_t since, uint64_t until,
		 const char *policy, const char *severity)
{
	struct pr_query q = { .since = since, .until = until, .policy = policy,
			      .severity = severity };

	c->n = 0;
	return pr_store_list_incidents(s, &q, collect_cb, c);
}

static void test_list_filters(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct collect c = { 0 };
	struct scenario sc;
	int64_t id[5];

	/* added out of time order; two share a time */
	static const struct { uint64_t t; const char *pol, *sev; } in[5] = {
		{ 300, "web", "high" }, { 100, "web", "low" }, { 200, "db\xff", "high" },
		{ 200, "web", "critical" }, { 400, "db\xff", "low" },
	};
	for (int i = 0; i < 5; i++) {
		make_scenario(&sc, in[i].t, in[i].pol, in[i].sev);
		id[i] = add_scenario(s, &sc);
	}
	pr_store_close(s);
	s = open_ok(fx, PR_STORE_READ);

	assert_int_equal(pr_store_list_incidents(s, NULL, collect_cb, &c), 5);
	assert_int_equal(c.n, 5);
	assert_true(c.ids[0] == id[1] && c.ids[1] == id[2] && c.ids[2] == id[3] &&
		    c.ids[3] == id[0] && c.ids[4] == id[4]);

	/* since inclusive, until exclusive */
	assert_int_equal(list(s, &c, 200, 400, NULL, NULL), 3);
	assert_true(c.ids[0] == id[2] && c.ids[1] == id[3] && c.ids[2] == id[0]);
	assert_int_equal(list(s, &c, 201, 0, NULL, NULL), 2);
	assert_int_equal(list(s, &c, 0, 200, NULL, NULL), 1);
	assert_int_equal(list(s, &c, 0, 201, NULL, NULL), 3);
	assert_int_equal(list(s, &c, 401, 0, NULL, NULL), 0);
	assert_int_equal(list(s, &c, UINT64_MAX, 0, NULL, NULL), 0);

	assert_int_equal(list(s, &c, 0, 0, "web", NULL), 3);
	assert_int_equal(list(s, &c, 0, 0, "db\xff", NULL), 2);
	assert_int_equal(list(s, &c, 0, 0, "we", NULL), 0);
	assert_int_equal(list(s, &c, 0, 0, NULL, "high"), 2);
	assert_int_equal(list(s, &c, 0, 0, "web", "high"), 1);
	assert_true(c.ids[0] == id[0]);
	assert_int_equal(list(s, &c, 150, 350, "web", NULL), 2);

	/* the callback stops the walk; the count includes the stopping one */
	c.stop_after = 2;
	assert_int_equal(list(s, &c, 0, 0, NULL, NULL), 2);
	c.stop_after = 0;
	/* no callback: just count */
	assert_int_equal(pr_store_list_incidents(s, NULL, NULL, NULL), 5);
	pr_store_close(s);
}

static int nested_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct collect *c = arg;
	struct pr_incident_full *f;

	assert_int_equal(pr_store_get_incident(c->s, inc->id, &f), 0);
	assert_incident_eq(&f->inc, inc);
	/* its own 3 events; the second incident of the same process (time
	 * 20) also shows the first one's 3, all at or before its time */
	assert_int_equal(f->nevents, inc->time == 20 ? 6 : 3);
	for (size_t i = 1; i < f->nevents; i++)
		assert_true((int64_t)f->events[i - 1].time <= (int64_t)f->events[i].time);
	pr_incident_full_free(f);
	/* listing again from the callback is refused, not corrupted */
	assert_int_equal(pr_store_list_incidents(c->s, NULL, NULL, NULL), -1);
	assert_one_line(pr_store_errmsg(c->s));
	c->n++;
	return 0;
}

static void test_list_callback_may_read(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct collect c = { 0 };
	struct scenario sc;

	make_scenario(&sc, 10, "a", "low");
	add_scenario(s, &sc);
	make_scenario(&sc, 20, "b", "low");
	add_scenario(s, &sc);
	pr_store_close(s);
	s = open_ok(fx, PR_STORE_READ);
	c.s = s;
	assert_int_equal(pr_store_list_incidents(s, NULL, nested_cb, &c), 2);
	assert_int_equal(c.n, 2);
	pr_store_close(s);
}

/* add_incident leaves nothing behind when a step fails, and the caller's
 * transaction (with earlier work) goes on. */
static void test_add_incident_atomic(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_proc_rec keep = proc(5, 55, 1, 10, "/kept");
	struct pr_stats st;
	struct scenario sc;

	make_scenario(&sc, 100, "p", "low");
	sc.lineage[2].argv = NULL; /* invalid: argv_len without argv */
	sc.lineage[2].argv_len = 5;
	assert_int_equal(pr_store_begin(s), 0);
	assert_true(pr_store_put_process(s, &keep) > 0);
	assert_int_equal(pr_store_add_incident(s, &sc.inc, sc.lineage, 3, sc.events, 3), -1);
	assert_one_line(pr_store_errmsg(s));
	assert_non_null(strstr(pr_store_errmsg(s), "argv"));
	assert_int_equal(pr_store_commit(s), 0);

	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.incidents == 0);
	assert_true(st.events == 0);
	assert_true(st.processes == 1); /* only "keep": the lineage upserts were undone */
	pr_stats_free(&st);
	pr_store_close(s);
}

static void test_read_while_writing(void **state)
{
	struct fx *fx = *state;
	struct pr_store *w = open_ok(fx, PR_STORE_WRITE), *r;
	struct pr_incident_full *f;
	struct scenario sc;
	int64_t id1, id2;

	make_scenario(&sc, 100, "p", "low");
	id1 = add_scenario(w, &sc);
	assert_int_equal(pr_store_begin(w), 0);
	id2 = pr_store_add_incident(w, &sc.inc, sc.lineage, 3, sc.events, 3);
	assert_true(id2 > id1);

	r = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_list_incidents(r, NULL, NULL, NULL), 1);
	assert_int_equal(pr_store_get_incident(r, id2, &f), 1);
	assert_int_equal(pr_store_get_incident(r, id1, &f), 0);
	pr_incident_full_free(f);
	/* the reader cannot write */
	assert_int_equal(pr_store_put_process(r, &sc.lineage[0]), -1);
	assert_non_null(strstr(pr_store_errmsg(r), "read-only"));
	assert_int_equal(pr_store_begin(r), -1);

	assert_int_equal(pr_store_commit(w), 0);
	assert_int_equal(pr_store_list_incidents(r, NULL, NULL, NULL), 2);
	assert_int_equal(pr_store_get_incident(r, id2, &f), 0);
	pr_incident_full_free(f);
	pr_store_close(w);
	/* the writer is gone (and may have removed -wal/-shm): still readable */
	assert_int_equal(pr_store_list_incidents(r, NULL, NULL, NULL), 2);
	pr_store_close(r);
	r = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_list_incidents(r, NULL, NULL, NULL), 2);
	pr_store_close(r);
}

static void test_stats(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_stats st;
	struct scenario sc;

	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.incidents == 0 && st.processes == 0 && st.events == 0);
	assert_int_equal(st.nlosses, 0);
	pr_stats_free(&st);

	make_scenario(&sc, 100, "p", "low");
	add_scenario(s, &sc);
	add_scenario(s, &sc);
	assert_int_equal(pr_store_add_loss(s, 50, 60, "kernel-ringbuf", "file", 12), 0);
	assert_int_equal(pr_store_add_loss(s, 10, 20, "recorder", "exec", 3), 0);
	assert_int_equal(pr_store_add_run(s, 5, "start", "polrecd 0.1.0 pid 1\n"), 0);
	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.incidents == 2);
	assert_true(st.processes == 3);
	assert_true(st.events == 6);
	assert_int_equal(st.nlosses, 2);
	assert_true(st.losses[0].from == 10 && st.losses[0].to == 20 && st.losses[0].count == 3);
	assert_string_equal(st.losses[0].stage, "recorder");
	assert_string_equal(st.losses[0].kind, "exec");
	assert_string_equal(st.losses[1].stage, "kernel-ringbuf");
	assert_true(st.losses[1].count == 12);
	pr_stats_free(&st);
	assert_null(st.losses);
	pr_store_close(s);
}

/* ---- damage ---- */

static void raw_exec(struct fx *fx, const char *sql)
{
	char path[256];
	sqlite3 *db;
	char *msg = NULL;

	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void test_damaged_blobs(void **state)
{
	static const char *const damage[] = {
		"UPDATE proc_images SET argv = x'28b52ffd0102'",  /* truncated frame */
		"UPDATE proc_images SET argv = x'00'",
		"UPDATE proc_images SET argv = NULL",
		"UPDATE proc_images SET argv_len = argv_len + 1",
		"UPDATE proc_images SET argv_len = -1",
		"UPDATE proc_images SET argv_len = 1 << 40",
	};
	struct fx *fx = *state;
	struct pr_incident_full *f = (void *)1;
	struct pr_store *s;
	struct scenario sc;
	int64_t id;

	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		s = open_ok(fx, PR_STORE_WRITE);
		make_scenario(&sc, 100, "p", "low");
		id = add_scenario(s, &sc);
		pr_store_close(s);
		/* NOT NULL would refuse NULL: write through a fresh table copy */
		if (strstr(damage[i], "NULL"))
			raw_exec(fx, "PRAGMA writable_schema = 1; "
				 "UPDATE sqlite_schema SET sql = replace(sql, 'argv         BLOB NOT NULL', 'argv BLOB') "
				 "WHERE name = 'proc_images'");
		raw_exec(fx, damage[i]);

		s = open_ok(fx, PR_STORE_READ);
		assert_int_equal(pr_store_get_incident(s, id, &f), -1);
		assert_null(f);
		assert_one_line(pr_store_errmsg(s));
		assert_non_null(strstr(pr_store_errmsg(s), "damaged argv"));
		assert_int_equal(pr_store_list_incidents(s, NULL, NULL, NULL), -1);
		pr_store_close(s);
		raw_exec(fx, "PRAGMA foreign_keys = ON; DELETE FROM incidents");
	}
}

static void test_missing_snapshot(void **state)
{
	struct fx *fx = *state;
	struct pr_incident_full *f;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct scenario sc;
	int64_t id;

	make_scenario(&sc, 100, "p", "low");
	id = add_scenario(s, &sc);
	pr_store_close(s);
	raw_exec(fx, "UPDATE incidents SET proc_image_id = NULL");
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_get_incident(s, id, &f), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "snapshot missing"));
	pr_store_close(s);
}

/* Pruning deletes incidents; their snapshots, lineage and events follow. */
static void test_delete_cascades(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_stats st;
	struct scenario sc;
	char path[256];
	sqlite3 *db;
	sqlite3_stmt *q;

	make_scenario(&sc, 100, "p", "low");
	add_scenario(s, &sc);
	add_scenario(s, &sc);
	pr_store_close(s);

	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON; DELETE FROM incidents",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM proc_images) + "
					    "(SELECT count(*) FROM incident_lineage)", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);

	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.incidents == 0 && st.events == 0 && st.processes == 3);
	pr_stats_free(&st);
	pr_store_close(s);
}


/* ---- network: incidents, flows, packets, segments ---- */

extern const char pr_schema_001[];

static const struct pr_net_rec test_net = {
	.direction = "egress", .protocol = "tcp", .src = "127.0.0.1", .sport = 40000,
	.dst = "::1", .dport = 80, .result = "ECONNREFUSED", .flow_id = 42,
};

static int64_t add_net_incident(struct pr_store *s, uint64_t t)
{
	struct scenario sc;
	int64_t id;

	make_scenario(&sc, t, "net", "high");
	sc.inc.kind = "network";
	sc.inc.action = "connect";
	sc.inc.net = &test_net;
	id = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, sc.events, 3);
	if (id < 0)
		fail_msg("add incident: %s", pr_store_errmsg(s));
	return id;
}

static struct pr_flow_rec test_flow(uint64_t fid, int64_t iid, const char *role)
{
	return (struct pr_flow_rec){
		.flow_id = fid, .incident_id = iid, .time = 1000 + fid, .role = role,
		.protocol = "tcp", .local = "127.0.0.1", .lport = 40000, .remote = "10.0.0.2",
		.rport = 80, .pid = 300, .start_boot = 3000, .exe = "/usr/bin/cu\nrl\xff",
	};
}

/* IPv4/TCP with a 20-byte header and payload "<fid>:<i>:" + filler. */
static uint8_t pkt_bytes[64][128];

static struct pr_packet_rec test_packet(uint64_t fid, int i, uint64_t time)
{
	uint8_t *b = pkt_bytes[i % 64];
	int n;

	memset(b, 0, 128);
	b[0] = 0x45;
	b[2] = 0;
	b[3] = 100;   /* total length 100 */
	b[9] = 6;
	b[32] = 5 << 4;
	n = snprintf((char *)b + 40, 60, "%llu:%d:", (unsigned long long)fid, i);
	memset(b + 40 + n, '\x01', (size_t)(60 - n));
	return (struct pr_packet_rec){
		.flow_id = fid, .time = time, .len = 100 + (uint32_t)i, .caplen = 100,
		.dir = (uint8_t)(i & 1), .data = b,
	};
}

struct pkt_seen {
	uint64_t time[64], flow[64];
	uint32_t len[64];
	uint8_t first[64];
	long n;
};

static int pkt_cb(const struct pr_packet_rec *p, const struct pr_flow_rec *f, void *arg)
{
	struct pkt_seen *seen = arg;

	assert_true(seen->n < 64);
	assert_true(f->flow_id == p->flow_id);
	assert_int_equal(p->caplen, 100);
	assert_int_equal(p->data[0], 0x45);
	seen->time[seen->n] = p->time;
	seen->flow[seen->n] = p->flow_id;
	seen->len[seen->n] = p->len;
	seen->first[seen->n] = p->data[40];
	seen->n++;
	return 0;
}

/* Collects the ids of network incidents; checks their network side. */
static int net_list_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct collect *c = arg;

	if (strcmp(inc->kind, "network")) {
		assert_null(inc->net);
		return 0;
	}
	assert_non_null(inc->net);
	assert_string_equal(inc->net->dst, "::1");
	assert_string_equal(inc->net->result, "ECONNREFUSED");
	c->ids[c->n++] = inc->id;
	return 0;
}

static void test_network_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_flow_rec f1, f2;
	struct pr_packet_rec p[4];
	struct pr_incident_full *full;
	struct pr_flow_list fl;
	struct pkt_seen seen = { 0 };
	struct collect c = { 0 };
	struct scenario sc;
	struct pr_stats st;
	int64_t id, plain;

	assert_int_equal(pr_store_begin(s), 0);
	id = add_net_incident(s, 5000);
	f1 = test_flow(42, id, "violation");
	f2 = test_flow(43, id, "follow");
	f2.local = "::1";
	assert_int_equal(pr_store_add_flow(s, &f1), 0);
	assert_int_equal(pr_store_add_flow(s, &f2), 0);
	assert_int_equal(pr_store_add_flow(s, &f1), -1); /* unique */
	assert_one_line(pr_store_errmsg(s));
	assert_non_null(strstr(pr_store_errmsg(s), "add flow 42"));
	p[0] = test_packet(42, 0, 5003);
	p[1] = test_packet(43, 1, 5001);
	p[2] = test_packet(42, 2, 5001); /* same time as p[1]: index order */
	p[3] = test_packet(42, 3, 5002);
	assert_int_equal(pr_store_add_packets(s, p, 4), 0);
	/* a packet of a flow not written yet is kept: a flow's first
	 * packets reach the writer before the event that names its incident */
	p[0].flow_id = 99;
	assert_int_equal(pr_store_add_packets(s, p, 1), 0);
	p[0].flow_id = 42;
	/* bad records */
	p[1].caplen = p[1].len + 1;
	assert_int_equal(pr_store_add_packets(s, p + 1, 1), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "bad record"));
	p[1].caplen = 100;
	/* kind and net must agree */
	make_scenario(&sc, 6000, "p", "low");
	sc.inc.net = &test_net;
	assert_int_equal(pr_store_add_incident(s, &sc.inc, sc.lineage, 3, NULL, 0), -1);
	sc.inc.net = NULL;
	sc.inc.kind = "network";
	assert_int_equal(pr_store_add_incident(s, &sc.inc, sc.lineage, 3, NULL, 0), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "needs its network side"));
	sc.inc.kind = "file";
	plain = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, NULL, 0);
	assert_true(plain > 0);
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);

	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_get_incident(s, id, &full), 0);
	assert_non_null(full->inc.net);
	assert_string_equal(full->inc.net->direction, "egress");
	assert_string_equal(full->inc.net->protocol, "tcp");
	assert_string_equal(full->inc.net->src, "127.0.0.1");
	assert_int_equal(full->inc.net->sport, 40000);
	assert_string_equal(full->inc.net->dst, "::1");
	assert_int_equal(full->inc.net->dport, 80);
	assert_string_equal(full->inc.net->result, "ECONNREFUSED");
	assert_true(full->inc.net->flow_id == 42);
	assert_int_equal(full->nflows, 2);
	assert_true(full->flows[0].flow_id == 42 && full->flows[1].flow_id == 43);
	assert_string_equal(full->flows[0].role, "violation");
	assert_str(full->flows[0].exe, "/usr/bin/cu\nrl\xff");
	assert_string_equal(full->flows[1].local, "::1");
	assert_true(full->flows[0].packets == 3 && full->flows[0].bytes == 100 + 102 + 103);
	assert_true(full->flows[1].packets == 1 && full->flows[1].bytes == 101);
	/* head: payloads of flow 42 in time order, cut at 64 */
	assert_int_equal(full->flows[0].head_len, 64);
	assert_memory_equal(full->flows[0].head, "42:2:\x01", 6);
	assert_memory_equal(full->flows[0].head + 60, "42:3", 4);
	assert_int_equal(full->flows[1].head_len, 60);
	pr_incident_full_free(full);

	assert_int_equal(pr_store_get_incident(s, plain, &full), 0);
	assert_null(full->inc.net);
	assert_int_equal(full->nflows, 0);
	pr_incident_full_free(full);

	assert_int_equal(pr_store_incident_flows(s, id, &fl), 0);
	assert_int_equal(fl.n, 2);
	pr_flow_list_free(&fl);
	assert_int_equal(pr_store_incident_flows(s, 999, &fl), 0);
	assert_int_equal(fl.n, 0);
	pr_flow_list_free(&fl);

	assert_int_equal(pr_store_incident_packets(s, id, pkt_cb, &seen), 4);
	assert_true(seen.time[0] == 5001 && seen.flow[0] == 43);  /* added first */
	assert_true(seen.time[1] == 5001 && seen.flow[1] == 42);
	assert_true(seen.time[2] == 5002 && seen.time[3] == 5003);
	assert_int_equal(seen.len[3], 100);
	assert_int_equal(pr_store_incident_packets(s, plain, pkt_cb, &seen), 0);

	assert_int_equal(pr_store_list_incidents(s, NULL, net_list_cb, &c), 2);
	assert_int_equal(c.n, 1);
	assert_true(c.ids[0] == id);

	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.flows == 2 && st.packets == 5 && st.pcap_segments == 1);
	/* the refused batch's first record stays in the file, unindexed */
	assert_true(st.pcap_bytes == 24 + 5 * (16 + 100));
	pr_stats_free(&st);
	pr_store_close(s);
}

static void count_files(struct fx *fx, int *done, int *part)
{
	char path[256];
	struct dirent *d;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/pcap", fx->dir);
	dp = opendir(path);
	assert_non_null(dp);
	*done = *part = 0;
	while ((d = readdir(dp))) {
		*done += !strncmp(d->d_name, "seg-", 4);
		*part += !strncmp(d->d_name, ".seg-", 5);
	}
	closedir(dp);
}

/* Rotation, a rolled-back batch, and damaged segments. */
static void test_packets_rotation_and_damage(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pkt_seen seen = { 0 };
	struct pr_packet_rec p;
	struct pr_flow_rec f;
	struct pr_stats st;
	char path[256];
	int64_t id;
	int done, part;

	pr_store_set_segment_bytes(s, 200); /* two records per segment */
	assert_int_equal(pr_store_begin(s), 0);
	id = add_net_incident(s, 5000);
	f = test_flow(42, id, "violation");
	assert_int_equal(pr_store_add_flow(s, &f), 0);
	assert_int_equal(pr_store_commit(s), 0);
	for (int i = 0; i < 10; i++) {
		p = test_packet(42, i, 6000 + (uint64_t)i);
		assert_int_equal(pr_store_begin(s), 0);
		assert_int_equal(pr_store_add_packets(s, &p, 1), 0);
		if (i == 4) { /* this one never happened */
			assert_int_equal(pr_store_rollback(s), 0);
			continue;
		}
		assert_int_equal(pr_store_commit(s), 0);
	}
	pr_store_close(s);
	count_files(fx, &done, &part);
	assert_int_equal(done, 5);
	assert_int_equal(part, 0);

	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_incident_packets(s, id, pkt_cb, &seen), 9);
	for (int i = 0; i < 9; i++)
		assert_true(seen.time[i] == 6000 + (uint64_t)(i < 4 ? i : i + 1));
	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.packets == 9 && st.pcap_segments == 5);
	pr_stats_free(&st);
	pr_store_close(s);

	/* a wrong offset: the record header does not match */
	raw_exec(fx, "UPDATE packets SET offset = offset + 1 WHERE time = 6002");
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_incident_packets(s, id, NULL, NULL), -1);
	assert_one_line(pr_store_errmsg(s));
	assert_non_null(strstr(pr_store_errmsg(s), "seg-2.pcap: offset 25: "));
	assert_non_null(strstr(pr_store_errmsg(s), "does not match the index"));
	pr_store_close(s);
	raw_exec(fx, "UPDATE packets SET offset = 1 << 40 WHERE time = 6002");
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_incident_packets(s, id, NULL, NULL), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "beyond the end of the file"));
	pr_store_close(s);
	raw_exec(fx, "UPDATE packets SET offset = 24 WHERE time = 6002");

	/* a truncated segment */
	snprintf(path, sizeof(path), "%s/pcap/seg-5.pcap", fx->dir);
	assert_int_equal(truncate(path, 200), 0);
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_incident_packets(s, id, NULL, NULL), -1);
	assert_one_line(pr_store_errmsg(s));
	assert_non_null(strstr(pr_store_errmsg(s), "seg-5.pcap: offset 140: record beyond"));
	/* show reads only the first packets of a flow (its head): still fine */
	struct pr_incident_full *full = NULL;
	assert_int_equal(pr_store_get_incident(s, id, &full), 0);
	assert_int_equal(full->flows[0].head_len, 64);
	pr_incident_full_free(full);
	pr_store_close(s);
	/* a missing one, and a file that is not a pcap */
	assert_int_equal(unlink(path), 0);
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_incident_packets(s, id, NULL, NULL), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "pcap segment 5: "));
	assert_non_null(strstr(pr_store_errmsg(s), "No such file"));
	pr_store_close(s);
	write_file(path, "garbage, not a pcap file header", 31);
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_incident_packets(s, id, NULL, NULL), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "not a nanosecond pcap file"));
	pr_store_close(s);
}

/* A crash leaves .seg-N.pcap.part: readable, then finished at the next start. */
static void test_segment_crash_recovery(void **state)
{
	struct fx *fx = *state;
	struct pkt_seen seen = { 0 };
	struct pr_pcap_recovery rec;
	struct pr_packet_rec p;
	struct pr_flow_rec f;
	struct pr_store *s;
	char path[256];
	int64_t id = 0;
	int done, part, status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)) ||
		    pr_store_begin(s))
			_exit(1);
		id = add_net_incident(s, 5000);
		f = test_flow(42, id, "violation");
		p = test_packet(42, 0, 7000);
		if (pr_store_add_flow(s, &f) || pr_store_add_packets(s, &p, 1) || pr_store_commit(s))
			_exit(2);
		_exit(0); /* no close: the segment stays .part */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	count_files(fx, &done, &part);
	assert_int_equal(done, 0);
	assert_int_equal(part, 1);
	/* nobody's temporary file */
	snprintf(path, sizeof(path), "%s/pcap/.seg-77.pcap.part", fx->dir);
	write_file(path, "x", 1);
	/* not ours: never touched */
	snprintf(path, sizeof(path), "%s/pcap/.notes", fx->dir);
	write_file(path, "x", 1);

	s = open_ok(fx, PR_STORE_READ);
	id = 1;
	assert_int_equal(pr_store_incident_packets(s, id, pkt_cb, &seen), 1);
	pr_store_close(s);

	s = open_ok(fx, PR_STORE_WRITE);
	pr_store_pcap_recovery(s, &rec);
	assert_int_equal(rec.closed, 1);
	assert_int_equal(rec.removed, 1);
	count_files(fx, &done, &part);
	assert_int_equal(done, 1);
	assert_int_equal(part, 0);
	assert_int_equal(access(path, F_OK), 0);
	/* a new segment, never appended to the old one */
	p = test_packet(42, 1, 7001);
	assert_int_equal(pr_store_begin(s), 0);
	assert_int_equal(pr_store_add_packets(s, &p, 1), 0);
	assert_int_equal(pr_store_commit(s), 0);
	count_files(fx, &done, &part);
	assert_int_equal(done, 1);
	assert_int_equal(part, 1);
	snprintf(path, sizeof(path), "%s/pcap/.seg-78.pcap.part", fx->dir);
	assert_int_equal(access(path, F_OK), 0); /* past every id seen */
	pr_store_close(s);
	count_files(fx, &done, &part);
	assert_int_equal(done, 2);
	assert_int_equal(part, 0);

	s = open_ok(fx, PR_STORE_READ);
	seen.n = 0;
	assert_int_equal(pr_store_incident_packets(s, id, pkt_cb, &seen), 2);
	pr_store_close(s);
	s = open_ok(fx, PR_STORE_WRITE);
	pr_store_pcap_recovery(s, &rec);
	assert_int_equal(rec.closed + rec.removed, 0);
	pr_store_close(s);
}

/* A version-1 store: polq reads it as it is; polrecd migrates it to 3. */
static void test_migrate_v1(void **state)
{
	struct fx *fx = *state;
	struct pr_flow_list fl;
	struct pr_stats st;
	struct pr_store *s;
	struct scenario sc;
	char path[256];
	sqlite3 *db;
	int64_t id;

	assert_int_equal(mkdir(fx->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, pr_schema_001, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1; "
				      "INSERT INTO losses (from_time, to_time, stage, kind, count) "
				      "VALUES (1, 2, 'recorder', 'exec', 3)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0600), 0);

	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_schema_version(s), 1);
	assert_int_equal(pr_store_list_incidents(s, NULL, NULL, NULL), 0);
	assert_int_equal(pr_store_incident_flows(s, 1, &fl), 0);
	assert_int_equal(fl.n, 0);
	pr_flow_list_free(&fl);
	assert_int_equal(pr_store_incident_packets(s, 1, NULL, NULL), 0);
	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.flows == 0 && st.packets == 0 && st.nlosses == 1);
	pr_stats_free(&st);
	pr_store_close(s);

	s = open_ok(fx, PR_STORE_WRITE);
	assert_int_equal(pr_store_schema_version(s), 6);
	assert_int_equal(pr_store_begin(s), 0);
	id = add_net_incident(s, 100);
	assert_int_equal(pr_store_commit(s), 0);
	make_scenario(&sc, 200, "p", "low");
	add_scenario(s, &sc);
	pr_store_close(s);
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_schema_version(s), 6);
	assert_int_equal(pr_store_list_incidents(s, NULL, NULL, NULL), 2);
	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_int_equal(st.nlosses, 1);
	pr_stats_free(&st);
	assert_true(id > 0);
	pr_store_close(s);
	assert_int_equal(pr_store_check(s = open_ok(fx, PR_STORE_READ), 1), 0);
	pr_store_close(s);
}

/* ---- the flight recorder (schema 3): marks, appends, gaps, timeline ---- */

extern const char pr_schema_002[];

/* An old store (version 1 or 2) as its polrecd left it, with incident 1:
 * pid 300:3000 wrote /etc/x at time 1000, two events stored. */
static void make_old_store(struct fx *fx, int version)
{
	static const char *const rows[] = {
		"INSERT INTO incidents (id, time, policy, rule, severity, kind, action, path,"
		" expected, actual, proc_image_id, lost_events) VALUES (1, 1000, 'old', "
		"'files.protect', 'high', 'file', 'write', x'2f6574632f78', x'', x'', 1, 0)",
		"INSERT INTO incident_events (incident_id, seq, time, kind, pid, start_boot, path,"
		" path2, detail) VALUES (1, 0, 900, 'exec', 300, 3000, x'2f62696e2f7368', x'', x''),"
		" (1, 1, 1000, 'write', 300, 3000, x'2f6574632f78', x'', x'')",
	};
	char path[256];
	sqlite3_stmt *st;
	void *argv;
	size_t alen;
	sqlite3 *db;

	assert_int_equal(mkdir(fx->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, pr_schema_001, NULL, NULL, NULL), SQLITE_OK);
	if (version >= 2)
		assert_int_equal(sqlite3_exec(db, pr_schema_002, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, version >= 2 ? "PRAGMA user_version = 2"
					      : "PRAGMA user_version = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(pr_blob_pack("", 0, &argv, &alen), 0);
	assert_int_equal(sqlite3_prepare_v2(db,
		"INSERT INTO proc_images (id, incident_id, process_id, pid, start_boot, ppid,"
		" pstart_boot, start_time, uid, gid, loginuid, sessionid, user, exe, argv,"
		" argv_len, argc, flags, cwd, cgroup_id, cgroup, container_id, sha256, exit_time,"
		" exit_code) VALUES (1, 1, NULL, 300, 3000, 1, 10, 5, 0, 0, 0, 0, x'',"
		" x'2f62696e2f7368', ?, 0, 0, 0, x'', 0, x'', x'', '', 0, 0)", -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_bind_blob(st, 1, argv, (int)alen, SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	free(argv);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (sqlite3_exec(db, rows[i], NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("%s: %s", rows[i], sqlite3_errmsg(db));
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0600), 0);
}

struct tl_seen {
	struct pr_event_rec ev[32];
	char kind[32][16], path[32][64];
	int64_t iid[32];
	long n, stop_after;
};

static int tl_cb(const struct pr_event_rec *e, int64_t iid, void *arg)
{
	struct tl_seen *t = arg;

	assert_true(t->n < 32);
	t->ev[t->n] = *e;
	snprintf(t->kind[t->n], sizeof(t->kind[0]), "%s", e->kind);
	snprintf(t->path[t->n], sizeof(t->path[0]), "%s", e->path);
	t->ev[t->n].kind = t->kind[t->n];
	t->ev[t->n].path = t->path[t->n];
	t->ev[t->n].path2 = t->ev[t->n].detail = NULL;
	t->iid[t->n] = iid;
	t->n++;
	return t->stop_after && t->n >= t->stop_after;
}

/* The old incident, read as version 1/2 rows: context marks, no follow
 * window, one violation; the renderers find the violating event. */
static void check_old_incident(struct pr_store *s)
{
	struct pr_incident_full *f;
	struct tl_seen t = { 0 };

	assert_int_equal(pr_store_get_incident(s, 1, &f), 0);
	assert_true(f->inc.follow_until == 0);
	assert_int_equal(f->inc.violations, 1);
	assert_int_equal(f->nevents, 2);
	assert_int_equal(f->events[0].mark, PR_MARK_CONTEXT);
	assert_int_equal(f->events[1].mark, PR_MARK_CONTEXT);
	assert_int_equal(f->ngaps, 0);
	pr_incident_full_free(f);
	assert_int_equal(pr_store_timeline(s, 0, 0, 0, 0, tl_cb, &t), 2);
	assert_true(t.ev[0].time == 900 && t.ev[1].time == 1000);
	assert_int_equal(t.iid[1], 1);
}

static void test_migrate_old_to_3(void **state)
{
	struct fx *fx = *state;
	struct pr_event_rec later = {
		.time = 2000, .kind = "write", .pid = 300, .start_boot = 3000,
		.path = "/etc/y", .path2 = "", .detail = "", .mark = PR_MARK_JOINED,
	};
	struct pr_incident_full *f;
	struct pr_store *s;

	for (int v = 1; v <= 2; v++) {
		make_old_store(fx, v);
		s = open_ok(fx, PR_STORE_READ);
		assert_int_equal(pr_store_schema_version(s), v);
		check_old_incident(s);
		assert_int_equal(pr_store_list_incidents(s, NULL, NULL, NULL), 1);
		pr_store_close(s);

		s = open_ok(fx, PR_STORE_WRITE);
		assert_int_equal(pr_store_schema_version(s), 6);
		check_old_incident(s);
		/* an old incident takes appended events like a new one */
		assert_int_equal(pr_store_begin(s), 0);
		assert_int_equal(pr_store_append_events(s, 1, &later, 1), 0);
		assert_int_equal(pr_store_commit(s), 0);
		pr_store_close(s);
		s = open_ok(fx, PR_STORE_READ);
		assert_int_equal(pr_store_get_incident(s, 1, &f), 0);
		assert_int_equal(f->inc.violations, 2);
		assert_int_equal(f->nevents, 3);
		assert_int_equal(f->events[2].mark, PR_MARK_JOINED);
		pr_incident_full_free(f);
		assert_int_equal(pr_store_check(s, 1), 0);
		pr_store_close(s);
		nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static struct pr_event_rec ev_at(uint64_t t, const char *kind, uint32_t pid, uint64_t start,
				 const char *path, int mark)
{
	return (struct pr_event_rec){
		.time = t, .kind = kind, .pid = pid, .start_boot = start, .path = path,
		.path2 = "", .detail = "d", .mark = mark,
	};
}

static int64_t seq_of(struct fx *fx, int64_t iid, const char *path_hex)
{
	char db_path[256], sql[256];
	sqlite3_stmt *q;
	sqlite3 *db;
	int64_t v;

	snprintf(db_path, sizeof(db_path), "%s/polrec.db", fx->dir);
	snprintf(sql, sizeof(sql), "SELECT seq FROM incident_events WHERE incident_id = %lld"
		 " AND path = x'%s'", (long long)iid, path_hex);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* The family's context, the violation, then the follow window appended
 * in two batches (a joined violation among them). */
static void test_append_events(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_event_rec ctx[3], follow[2], bad;
	struct pr_incident_full *f;
	struct pr_stats st;
	struct scenario sc;
	int64_t id;

	make_scenario(&sc, 10000, "p", "high");
	sc.inc.follow_until = 40000;
	sc.inc.violations = 99; /* ignored: the store counts */
	ctx[0] = ev_at(9000, "exec", 200, 2000, "/usr/sbin/nginx", PR_MARK_CONTEXT); /* parent */
	ctx[1] = ev_at(9500, "exec", 301, 3100, "/bin/true", PR_MARK_CONTEXT);  /* exited sibling */
	ctx[2] = ev_at(10000, "write", 300, 3000, "/etc/a", PR_MARK_VIOLATION);
	assert_int_equal(pr_store_begin(s), 0);
	id = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, ctx, 3);
	assert_true(id > 0);
	/* in the same transaction */
	follow[0] = ev_at(12000, "exec", 302, 3200, "/usr/bin/curl", PR_MARK_CONTEXT); /* child */
	assert_int_equal(pr_store_append_events(s, id, follow, 1), 0);
	assert_int_equal(pr_store_commit(s), 0);
	/* a later transaction: a joined violation and a child's write */
	follow[0] = ev_at(20000, "write", 300, 3000, "/etc/b", PR_MARK_JOINED);
	follow[1] = ev_at(15000, "write", 302, 3200, "/tmp/c", PR_MARK_CONTEXT);
	assert_int_equal(pr_store_begin(s), 0);
	assert_int_equal(pr_store_append_events(s, id, follow, 2), 0);
	assert_int_equal(pr_store_append_events(s, id, NULL, 0), 0);
	assert_int_equal(pr_store_commit(s), 0);

	/* refused: an unknown incident, a second violation mark, bad marks */
	assert_int_equal(pr_store_begin(s), 0);
	assert_int_equal(pr_store_append_events(s, id + 100, follow, 2), -1);
	assert_one_line(pr_store_errmsg(s));
	assert_non_null(strstr(pr_store_errmsg(s), "no such incident"));
	assert_int_equal(pr_store_append_events(s, id + 100, NULL, 0), -1);
	bad = ev_at(30000, "write", 300, 3000, "/etc/z", PR_MARK_VIOLATION);
	assert_int_equal(pr_store_append_events(s, id, &bad, 1), -1);
	assert_one_line(pr_store_errmsg(s));
	bad.mark = 7;
	assert_int_equal(pr_store_append_events(s, id, &bad, 1), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "bad mark 7"));
	/* all or nothing: a bad mark after good events keeps none of them */
	follow[1].mark = -1;
	assert_int_equal(pr_store_append_events(s, id, follow, 2), -1);
	follow[1].mark = PR_MARK_CONTEXT;
	assert_int_equal(pr_store_commit(s), 0);
	/* an incident with two violating events is refused */
	ctx[0].mark = PR_MARK_VIOLATION;
	assert_int_equal(pr_store_add_incident(s, &sc.inc, sc.lineage, 3, ctx, 3), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "at most one"));
	ctx[0].mark = PR_MARK_CONTEXT;
	pr_store_close(s);

	/* seq continues after the incident's last */
	assert_int_equal(seq_of(fx, id, "2f7573722f62696e2f6375726c"), 3); /* /usr/bin/curl */
	assert_int_equal(seq_of(fx, id, "2f6574632f62"), 4);               /* /etc/b */
	assert_int_equal(seq_of(fx, id, "2f746d702f63"), 5);               /* /tmp/c */

	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_append_events(s, id, follow, 1), -1);
	assert_non_null(strstr(pr_store_errmsg(s), "read-only"));
	assert_int_equal(pr_store_get_incident(s, id, &f), 0);
	assert_true(f->inc.follow_until == 40000);
	assert_int_equal(f->inc.violations, 2);
	assert_int_equal(f->nevents, 6);
	for (size_t i = 1; i < f->nevents; i++)
		assert_true(f->events[i - 1].time <= f->events[i].time);
	assert_true(f->events[0].time == 9000 && f->events[0].pid == 200);
	assert_int_equal(f->events[2].mark, PR_MARK_VIOLATION);
	assert_str(f->events[2].path, "/etc/a");
	assert_int_equal(f->events[3].mark, PR_MARK_CONTEXT);
	assert_str(f->events[4].path, "/tmp/c");
	assert_true(f->events[4].start_boot == 3200);
	assert_int_equal(f->events[5].mark, PR_MARK_JOINED);
	assert_str(f->events[5].path, "/etc/b");
	pr_incident_full_free(f);
	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.events == 6);
	pr_stats_free(&st);
	pr_store_close(s);
}

/* Joined violations written with the incident count as well. */
static void test_incident_marks_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_incident_full *f;
	struct pr_event_rec ev[3];
	struct scenario sc;
	int64_t id;

	make_scenario(&sc, 1000, "p", "low");
	for (int i = 0; i < 3; i++)
		ev[i] = sc.events[i];
	ev[1].mark = PR_MARK_VIOLATION;
	ev[2].mark = PR_MARK_JOINED;
	id = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, ev, 3);
	assert_true(id > 0);
	pr_store_close(s);
	s = open_ok(fx, PR_STORE_READ);
	assert_int_equal(pr_store_get_incident(s, id, &f), 0);
	assert_int_equal(f->inc.violations, 2);
	assert_true(f->inc.follow_until == 0);
	assert_int_equal(f->nevents, 3);
	for (int i = 0; i < 3; i++) {
		assert_event_eq(&f->events[i], &ev[i]);
		assert_int_equal(f->events[i].mark, ev[i].mark);
	}
	pr_incident_full_free(f);
	pr_store_close(s);
}

/* An event stored with an earlier incident and again with a later one of
 * the same violator comes once; the earlier incident's violation is
 * context of the later one. */
static void test_incident_events_dedupe(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_event_rec a[2], b[3];
	struct pr_incident_full *f;
	struct scenario sc;
	int64_t id1, id2;

	make_scenario(&sc, 1000, "p", "low");
	a[0] = ev_at(900, "exec", 300, 3000, "/bin/sh", PR_MARK_CONTEXT);
	a[1] = ev_at(1000, "write", 300, 3000, "/etc/a", PR_MARK_VIOLATION);
	id1 = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, a, 2);
	sc.inc.time = 2000;
	b[0] = a[0];   /* the family context again */
	b[1] = ev_at(1500, "exec", 200, 2000, "/usr/sbin/nginx", PR_MARK_CONTEXT);
	b[2] = ev_at(2000, "write", 300, 3000, "/etc/b", PR_MARK_VIOLATION);
	id2 = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, b, 3);
	assert_true(id1 > 0 && id2 > id1);
	assert_int_equal(pr_store_get_incident(s, id2, &f), 0);
	assert_int_equal(f->nevents, 4);
	assert_true(f->events[0].time == 900);
	assert_int_equal(f->events[0].mark, PR_MARK_CONTEXT);
	assert_true(f->events[1].time == 1000);
	assert_int_equal(f->events[1].mark, PR_MARK_CONTEXT); /* incident 1's violation */
	assert_true(f->events[2].time == 1500 && f->events[2].pid == 200);
	assert_int_equal(f->events[3].mark, PR_MARK_VIOLATION);
	pr_incident_full_free(f);
	pr_store_close(s);
}

static void test_incident_gaps(void **state)
{
	const uint64_t min = 60 * 1000000000ull, t = 100 * min;
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_incident_full *f;
	struct scenario sc;
	int64_t with, without;

	make_scenario(&sc, t, "p", "low");
	sc.inc.follow_until = t + 2 * min;
	with = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, sc.events, 3);
	sc.inc.follow_until = 0;
	without = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, sc.events, 3);
	/* ends before the window: out */
	assert_int_equal(pr_store_add_loss(s, t - 10 * min, t - 5 * min - 1, "kernel-ringbuf",
					   "file", 1), 0);
	/* straddles its start: in */
	assert_int_equal(pr_store_add_loss(s, t - 6 * min, t - 5 * min, "kernel-ringbuf",
					   "exec", 2), 0);
	/* within the follow window: in only where there is one */
	assert_int_equal(pr_store_add_loss(s, t + min, t + min + 5, "recorder", "file", 312), 0);
	/* covers the whole window: in */
	assert_int_equal(pr_store_add_loss(s, 0, UINT64_MAX >> 1, "recorder-queue", "packet", 4), 0);
	/* after the window: out */
	assert_int_equal(pr_store_add_loss(s, t + 2 * min + 1, t + 3 * min, "recorder", "exec", 9),
			 0);

	assert_int_equal(pr_store_get_incident(s, with, &f), 0);
	assert_int_equal(f->ngaps, 3);
	assert_true(f->gaps[0].from == 0 && f->gaps[0].count == 4);
	assert_string_equal(f->gaps[0].stage, "recorder-queue");
	assert_true(f->gaps[1].count == 2);
	assert_string_equal(f->gaps[1].kind, "exec");
	assert_true(f->gaps[2].count == 312 && f->gaps[2].from == t + min &&
		    f->gaps[2].to == t + min + 5);
	assert_string_equal(f->gaps[2].stage, "recorder");
	pr_incident_full_free(f);

	assert_int_equal(pr_store_get_incident(s, without, &f), 0);
	assert_int_equal(f->ngaps, 2);
	assert_true(f->gaps[0].count == 4 && f->gaps[1].count == 2);
	pr_incident_full_free(f);
	pr_store_close(s);
}

static void test_timeline(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct pr_event_rec a[3], b[3], late;
	struct tl_seen t = { 0 };
	struct scenario sc;
	int64_t id1, id2;

	assert_int_equal(pr_store_timeline(s, 0, 0, 0, 0, tl_cb, &t), 0);
	make_scenario(&sc, 1000, "p", "low");
	a[0] = ev_at(900, "exec", 300, 3000, "/bin/sh", PR_MARK_CONTEXT);
	a[1] = ev_at(950, "exec", 300, 7777, "/bin/other", PR_MARK_CONTEXT); /* pid reused */
	a[2] = ev_at(1000, "write", 300, 3000, "/etc/a", PR_MARK_VIOLATION);
	id1 = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, a, 3);
	/* incident 2 (its violator is pid 400) saw 300's violation as context */
	sc.inc.time = 1100;
	b[0] = a[2];
	b[0].mark = PR_MARK_CONTEXT;
	b[1] = ev_at(1000, "exec", 400, 4000, "/bin/zz", PR_MARK_CONTEXT); /* same time */
	b[2] = ev_at(1100, "write", 400, 4000, "/etc/b", PR_MARK_VIOLATION);
	id2 = pr_store_add_incident(s, &sc.inc, sc.lineage, 3, b, 3);
	assert_true(id1 > 0 && id2 > id1);
	/* incident 2's follow window saw 300's sh again (stored twice) */
	late = a[0];
	assert_int_equal(pr_store_append_events(s, id2, &late, 1), 0);
	late = ev_at(1200, "exec", 400, 4000, "/bin/later", PR_MARK_JOINED);
	assert_int_equal(pr_store_append_events(s, id2, &late, 1), 0);
	pr_store_close(s);
	s = open_ok(fx, PR_STORE_READ);

	/* everything, each event once, in time order */
	assert_int_equal(pr_store_timeline(s, 0, 0, 0, 0, tl_cb, &t), 6);
	assert_true(t.ev[0].time == 900 && t.iid[0] == id1);
	assert_true(t.ev[1].time == 950 && t.ev[1].start_boot == 7777);
	/* same time: ordered by pid; the violation's row, not the context copy */
	assert_true(t.ev[2].time == 1000 && t.ev[2].pid == 300);
	assert_int_equal(t.ev[2].mark, PR_MARK_VIOLATION);
	assert_int_equal(t.iid[2], id1);
	assert_true(t.ev[3].time == 1000 && t.ev[3].pid == 400 && t.iid[3] == id2);
	assert_true(t.ev[4].time == 1100);
	assert_int_equal(t.ev[4].mark, PR_MARK_VIOLATION);
	assert_true(t.ev[5].time == 1200);
	assert_int_equal(t.ev[5].mark, PR_MARK_JOINED);
	assert_string_equal(t.ev[5].path, "/bin/later");
	assert_int_equal(pr_store_timeline(s, 0, 0, 0, 0, NULL, NULL), 6);

	/* since inclusive, until exclusive */
	memset(&t, 0, sizeof(t));
	assert_int_equal(pr_store_timeline(s, 950, 1100, 0, 0, tl_cb, &t), 3);
	assert_true(t.ev[0].time == 950 && t.ev[2].time == 1000);
	memset(&t, 0, sizeof(t));
	assert_int_equal(pr_store_timeline(s, 1100, 0, 0, 0, tl_cb, &t), 2);
	assert_int_equal(pr_store_timeline(s, 5000, 0, 0, 0, tl_cb, &t), 0);

	/* one pid (both of its processes), one process */
	memset(&t, 0, sizeof(t));
	assert_int_equal(pr_store_timeline(s, 0, 0, 300, 0, tl_cb, &t), 3);
	assert_true(t.ev[0].time == 900 && t.ev[1].time == 950 && t.ev[2].time == 1000);
	memset(&t, 0, sizeof(t));
	assert_int_equal(pr_store_timeline(s, 0, 0, 300, 3000, tl_cb, &t), 2);
	assert_true(t.ev[0].start_boot == 3000 && t.ev[1].start_boot == 3000);
	assert_int_equal(pr_store_timeline(s, 0, 0, 300, 1, NULL, NULL), 0);
	assert_int_equal(pr_store_timeline(s, 0, 0, 31337, 0, NULL, NULL), 0);

	/* the callback stops it */
	memset(&t, 0, sizeof(t));
	t.stop_after = 2;
	assert_int_equal(pr_store_timeline(s, 0, 0, 0, 0, tl_cb, &t), 2);
	pr_store_close(s);
}

/* ---- listings in chunks: no read snapshot while a callback runs ---- */

struct chunk_ctx {
	sqlite3 *db;          /* a second connection: the writer's side */
	int64_t last_id;
	uint64_t last_time;
	long n;
	int order;
	int busy;             /* checkpoints refused because a snapshot was held */
};

static int chunk_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct chunk_ctx *c = arg;
	int log = -1, ckpt = -1, rc;

	if (c->n) {
		if (c->order == PR_ORDER_ID)
			assert_true(inc->id > c->last_id);
		else if (c->order == PR_ORDER_TIME)
			assert_true(inc->time > c->last_time ||
				    (inc->time == c->last_time && inc->id > c->last_id));
		else
			assert_true(inc->time < c->last_time ||
				    (inc->time == c->last_time && inc->id < c->last_id));
	}
	c->last_id = inc->id;
	c->last_time = inc->time;
	c->n++;
	/* every 100th: the writer commits and resets the WAL; a reader still
	 * holding a snapshot would make that checkpoint busy */
	if (c->n % 100 == 0) {
		assert_int_equal(sqlite3_exec(c->db, "INSERT INTO runs (time, what, detail)"
					      " VALUES (1, 'x', x'')", NULL, NULL, NULL), SQLITE_OK);
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt);
		c->busy += rc == SQLITE_BUSY;
		assert_true(rc == SQLITE_OK || rc == SQLITE_BUSY);
	}
	return 0;
}

static void test_list_in_chunks(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s = open_ok(fx, PR_STORE_WRITE);
	struct scenario sc;
	char path[256];
	int orders[] = { PR_ORDER_TIME, PR_ORDER_TIME_DESC, PR_ORDER_ID };

	for (int i = 0; i < 600; i++) {
		/* times repeat (a chunk boundary inside equal times) and are not
		 * in id order */
		make_scenario(&sc, 10000 + (uint64_t)((i * 7) % 300), "p", "low");
		sc.lineage[0].argv = sc.inc.proc.argv = NULL;
		sc.lineage[0].argv_len = sc.inc.proc.argv_len = 0;
		add_scenario(s, &sc);
	}
	pr_store_close(s);

	s = open_ok(fx, PR_STORE_READ);
	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
		struct chunk_ctx c = { .order = orders[k] };
		struct pr_query q = { .order = orders[k] };

		assert_int_equal(sqlite3_open_v2(path, &c.db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
		assert_int_equal(pr_store_list_incidents(s, &q, chunk_cb, &c), 600);
		assert_int_equal(c.n, 600);
		assert_int_equal(c.busy, 0);
		sqlite3_close(c.db);
	}
	pr_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_open_creates_private),
		T(test_open_fixes_db_mode),
		T(test_open_symlink_dir_refused),
		T(test_open_shared_dir_refused),
		T(test_read_missing_store),
		T(test_garbage_db),
		T(test_foreign_db_refused),
		T(test_newer_schema_refused),
		T(test_process_roundtrip_hostile),
		T(test_upsert_replaces_image),
		T(test_lineage_and_children),
		T(test_lineage_cycle_bounded),
		T(test_incident_roundtrip),
		T(test_incident_events_time_order),
		T(test_lineage_snapshot_stable),
		T(test_list_filters),
		T(test_list_callback_may_read),
		T(test_add_incident_atomic),
		T(test_read_while_writing),
		T(test_stats),
		T(test_damaged_blobs),
		T(test_missing_snapshot),
		T(test_delete_cascades),
		T(test_network_roundtrip),
		T(test_packets_rotation_and_damage),
		T(test_segment_crash_recovery),
		T(test_migrate_v1),
		T(test_migrate_old_to_3),
		T(test_append_events),
		T(test_incident_marks_roundtrip),
		T(test_incident_events_dedupe),
		T(test_incident_gaps),
		T(test_timeline),
		T(test_list_in_chunks),
#undef T
	};

	init_hostile();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
