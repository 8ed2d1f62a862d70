// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Process table: identity, lineage, reaping, pid reuse, coarse starts,
 * seeding from a fake procfs tree, the recent ring. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "recorder/proctab.h"

#define MS 1000000ull
#define SEC 1000000000ull

static uint64_t tick_ns(void)
{
	return SEC / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* init (1) -> 100 -> 200 -> 300, started at 1, 2, 3, 4 seconds. */
static struct pr_proctab *chain(void)
{
	struct pr_proctab *t = pr_proctab_new();
	struct pr_proc *init = pr_proctab_get(t, 1, 1 * SEC);

	pr_proc_set_str(&init->exe, "/sbin/init", 10);
	pr_proc_set_argv(init, "/sbin/init\0splash", 17, 2);
	init->uid = 0;
	pr_proc_set_str(&init->cwd, "/", 1);
	pr_proc_set_str(&init->cgroup, "/init.scope", 11);
	strcpy(init->sha256, "ab");
	init->exe_ino = 77;
	assert_non_null(pr_proctab_fork(t, 1, 1 * SEC, 100, 2 * SEC, 2 * SEC));
	assert_non_null(pr_proctab_fork(t, 100, 2 * SEC, 200, 3 * SEC, 3 * SEC));
	assert_non_null(pr_proctab_fork(t, 200, 3 * SEC, 300, 4 * SEC, 4 * SEC));
	return t;
}

static void test_fork_chain_lineage(void **state)
{
	struct pr_proctab *t = chain();
	struct pr_proc *p = pr_proctab_lookup(t, 300, 4 * SEC), *out[8];
	size_t n;

	assert_non_null(p);
	assert_int_equal(pr_proctab_count(t), 4);
	n = pr_proctab_lineage(p, out, 8);
	assert_int_equal(n, 4);
	assert_int_equal(out[0]->pid, 300);
	assert_int_equal(out[1]->pid, 200);
	assert_int_equal(out[2]->pid, 100);
	assert_int_equal(out[3]->pid, 1);
	assert_int_equal(out[1]->start, 3 * SEC);
	assert_int_equal(p->ppid, 200);
	assert_int_equal(p->pstart, 3 * SEC);
	assert_int_equal(out[1]->nchildren, 1);
	assert_int_equal(out[3]->nchildren, 1);

	/* the image is inherited down the chain */
	assert_string_equal(p->exe, "/sbin/init");
	assert_int_equal(p->argv_len, 17);
	assert_int_equal(p->argc, 2);
	assert_memory_equal(p->argv, "/sbin/init\0splash", 18);
	assert_string_equal(p->cwd, "/");
	assert_string_equal(p->cgroup, "/init.scope");
	assert_null(p->container_id);
	assert_string_equal(p->sha256, "ab");
	assert_int_equal(p->exe_ino, 77);
	assert_int_equal(p->exec_time, 0);
	assert_int_equal(p->recent_count, 0);

	/* bounded walk */
	assert_int_equal(pr_proctab_lineage(p, out, 2), 2);
	assert_int_equal(out[1]->pid, 200);
	assert_int_equal(pr_proctab_lineage(p, out, 0), 0);
	pr_proctab_free(t);
}

static void test_fork_existing_and_unknown_parent(void **state)
{
	struct pr_proctab *t = chain();
	struct pr_proc *p = pr_proctab_lookup(t, 200, 3 * SEC), *q, *out[4];

	pr_proc_set_str(&p->exe, "/bin/changed", 12);
	/* a duplicate fork event returns the entry unchanged */
	q = pr_proctab_fork(t, 1, 1 * SEC, 200, 3 * SEC, 9 * SEC);
	assert_ptr_equal(q, p);
	assert_string_equal(q->exe, "/bin/changed");
	assert_int_equal(q->ppid, 100);
	assert_int_equal(pr_proctab_count(t), 4);

	/* parent never seen: no link, ppid/pstart kept, empty image */
	q = pr_proctab_fork(t, 555, 7 * SEC, 556, 8 * SEC, 8 * SEC);
	assert_null(q->parent);
	assert_int_equal(q->ppid, 555);
	assert_int_equal(q->pstart, 7 * SEC);
	assert_string_equal(q->exe, "");
	assert_int_equal(q->argv_len, 0);
	assert_int_equal(pr_proctab_lineage(q, out, 4), 1);

	/* get: creates without parent, then finds it */
	q = pr_proctab_get(t, 700, 9 * SEC);
	assert_null(q->parent);
	assert_ptr_equal(pr_proctab_get(t, 700, 9 * SEC), q);
	assert_null(pr_proctab_lookup(t, 700, 9 * SEC + 1));
	assert_int_equal(pr_proctab_count(t), 6);
	pr_proctab_free(t);
}

static void test_reparent_keeps_exited_ancestor(void **state)
{
	struct pr_proctab *t = chain();
	struct pr_proc *mid = pr_proctab_lookup(t, 200, 3 * SEC);
	struct pr_proc *leaf = pr_proctab_lookup(t, 300, 4 * SEC);
	struct pr_proc *p100 = pr_proctab_lookup(t, 100, 2 * SEC), *out[8];

	pr_proctab_exit(t, mid, 0, 5 * SEC);
	assert_true(mid->exited);
	assert_int_equal(mid->exit_time, 5 * SEC);
	assert_int_equal(pr_proctab_reap(t, 6 * SEC, 0), 0);
	assert_int_equal(pr_proctab_count(t), 4);
	assert_int_equal(pr_proctab_lineage(leaf, out, 8), 4);
	assert_ptr_equal(out[1], mid);
	assert_true(out[1]->exited);
	assert_int_equal(out[2]->pid, 100);

	/* the leaf exits: within the grace period nothing goes */
	pr_proctab_exit(t, leaf, 256, 7 * SEC);
	assert_int_equal(leaf->exit_code, 256);
	assert_int_equal(pr_proctab_reap(t, 7 * SEC + 5 * MS, 10 * MS), 0);
	assert_int_equal(pr_proctab_count(t), 4);

	/* then both go: the leaf, and the ancestor that only waited for it */
	assert_int_equal(pr_proctab_reap(t, 8 * SEC, 10 * MS), 2);
	assert_int_equal(pr_proctab_count(t), 2);
	assert_null(pr_proctab_lookup(t, 200, 3 * SEC));
	assert_null(pr_proctab_lookup(t, 300, 4 * SEC));
	assert_int_equal(p100->nchildren, 0);
	assert_int_equal(pr_proctab_reap(t, 9 * SEC, 0), 0);

	/* the rest exits in parent-first order: the cascade still frees all */
	pr_proctab_exit(t, pr_proctab_find_pid(t, 1), 0, 10 * SEC);
	pr_proctab_exit(t, p100, 0, 10 * SEC);
	assert_int_equal(pr_proctab_reap(t, 10 * SEC, 0), 2);
	assert_int_equal(pr_proctab_count(t), 0);
	pr_proctab_free(t);
}

static void test_pid_reuse(void **state)
{
	struct pr_proctab *t = chain();
	struct pr_proc *old = pr_proctab_lookup(t, 200, 3 * SEC), *neu, *out[8];

	pr_proctab_exit(t, old, 0, 5 * SEC);
	neu = pr_proctab_fork(t, 100, 2 * SEC, 200, 6 * SEC, 6 * SEC);
	assert_ptr_not_equal(neu, old);
	assert_int_equal(pr_proctab_count(t), 5);
	assert_ptr_equal(pr_proctab_lookup(t, 200, 3 * SEC), old);
	assert_ptr_equal(pr_proctab_lookup(t, 200, 6 * SEC), neu);
	assert_null(pr_proctab_lookup(t, 200, 4 * SEC));
	assert_ptr_equal(pr_proctab_find_pid(t, 200), neu);
	assert_int_equal(pr_proctab_lookup(t, 100, 2 * SEC)->nchildren, 2);

	/* the old one still heads the lineage of its child */
	assert_int_equal(pr_proctab_lineage(pr_proctab_lookup(t, 300, 4 * SEC), out, 8), 4);
	assert_ptr_equal(out[1], old);

	/* once both 200s are gone find_pid prefers the newer */
	pr_proctab_exit(t, neu, 0, 7 * SEC);
	assert_ptr_equal(pr_proctab_find_pid(t, 200), neu);
	assert_int_equal(pr_proctab_reap(t, 7 * SEC, 0), 1);
	assert_ptr_equal(pr_proctab_find_pid(t, 200), old);
	assert_null(pr_proctab_find_pid(t, 201));
	pr_proctab_free(t);
}

static void test_lost_exit_retired_by_reuse(void **state)
{
	struct pr_proctab *t = pr_proctab_new();
	struct pr_proc *old = pr_proctab_get(t, 400, 1 * SEC), *neu;

	/* the exit of old was never seen; a later process with its pid was */
	neu = pr_proctab_fork(t, 1, 0, 400, 5 * SEC, 5 * SEC);
	assert_true(old->exited);
	assert_int_equal(old->exit_time, 5 * SEC);
	assert_false(neu->exited);
	assert_int_equal(pr_proctab_reap(t, 5 * SEC, 0), 1);
	assert_int_equal(pr_proctab_count(t), 1);
	pr_proctab_free(t);
}

static void test_many_entries_resize(void **state)
{
	struct pr_proctab *t = pr_proctab_new();
	uint32_t i;

	for (i = 1; i <= 20000; i++)
		assert_non_null(pr_proctab_get(t, i, (uint64_t)i * 1000));
	assert_int_equal(pr_proctab_count(t), 20000);
	for (i = 1; i <= 20000; i++) {
		struct pr_proc *p = pr_proctab_lookup(t, i, (uint64_t)i * 1000);

		assert_non_null(p);
		assert_int_equal(p->pid, i);
	}
	for (i = 1; i <= 20000; i += 2)
		pr_proctab_exit(t, pr_proctab_find_pid(t, i), 0, 1);
	assert_int_equal(pr_proctab_reap(t, 1, 0), 10000);
	assert_int_equal(pr_proctab_count(t), 10000);
	assert_null(pr_proctab_find_pid(t, 1));
	assert_non_null(pr_proctab_find_pid(t, 2));
	pr_proctab_free(t);
}

static void test_recent_ring(void **state)
{
	struct pr_proctab *t = pr_proctab_new();
	struct pr_proc *p = pr_proctab_get(t, 10, 1);
	const struct pr_recent *r;
	char path[32];
	unsigned i, n = PR_RECENT_MAX + 8;

	pr_proc_add_recent(p, 1, PR_RK_EXEC, "/bin/sh", NULL);
	assert_int_equal(p->recent_count, 1);
	r = pr_proc_recent_at(p, 0);
	assert_string_equal(r->path, "/bin/sh");
	assert_null(r->path2);
	assert_null(pr_proc_recent_at(p, 1));

	for (i = 1; i < n; i++) {
		snprintf(path, sizeof(path), "/f%u", i);
		pr_proc_add_recent(p, 1 + i, i % 2 ? PR_RK_RENAME : PR_RK_WRITE, path,
				   i % 2 ? "/old" : NULL);
	}
	assert_int_equal(p->recent_count, PR_RECENT_MAX);
	for (i = 0; i < PR_RECENT_MAX; i++) {
		unsigned want = n - PR_RECENT_MAX + i;

		r = pr_proc_recent_at(p, i);
		snprintf(path, sizeof(path), "/f%u", want);
		assert_int_equal(r->time, 1 + want);
		assert_string_equal(r->path, path);
		assert_int_equal(r->kind, want % 2 ? PR_RK_RENAME : PR_RK_WRITE);
		if (want % 2)
			assert_string_equal(r->path2, "/old");
		else
			assert_null(r->path2);
	}
	assert_null(pr_proc_recent_at(p, PR_RECENT_MAX));
	assert_string_equal(pr_recent_kind_name(PR_RK_EXEC), "exec");
	assert_string_equal(pr_recent_kind_name(PR_RK_TRUNCATE), "truncate");
	assert_string_equal(pr_recent_kind_name(0), "unknown");
	assert_string_equal(pr_recent_kind_name(200), "unknown");
	pr_proctab_free(t);
}

static void test_dev_encoding(void **state)
{
	uint64_t udev = makedev(259, 3);

	assert_int_equal(pr_dev_to_kernel(udev), (259ull << 20) | 3);
	assert_int_equal(pr_dev_from_kernel((259ull << 20) | 3), udev);
	assert_int_equal(pr_dev_from_kernel(pr_dev_to_kernel(makedev(8, 1))), makedev(8, 1));
}

/* ---- a fake procfs ---- */

struct fake {
	char root[64];
	char exe[128];
	struct stat exe_st;
};

static void put(const struct fake *f, const char *rel, const char *data, size_t len)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void dir(const struct fake *f, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void link_to(const struct fake *f, const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* One process directory; exe NULL for a kernel thread. */
static void fake_proc(const struct fake *f, unsigned pid, const char *comm, unsigned ppid,
		      unsigned long long ticks, unsigned uid, const char *exe,
		      const char *cmdline, size_t cmdlen, const char *cgroup)
{
	char rel[64], buf[1024];
	int n;

	snprintf(rel, sizeof(rel), "%u", pid);
	dir(f, rel);
	n = snprintf(buf, sizeof(buf),
		     "%u (%s) S %u %u %u 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %llu "
		     "1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0\n",
		     pid, comm, ppid, pid, pid, ticks);
	snprintf(rel, sizeof(rel), "%u/stat", pid);
	put(f, rel, buf, (size_t)n);
	n = snprintf(buf, sizeof(buf),
		     "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%u\nPid:\t%u\n"
		     "PPid:\t%u\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t5\t5\t5\nGroups:\t\n",
		     comm, pid, pid, ppid, uid, uid + 1, uid, uid, uid + 10);
	snprintf(rel, sizeof(rel), "%u/status", pid);
	put(f, rel, buf, (size_t)n);
	snprintf(rel, sizeof(rel), "%u/cmdline", pid);
	put(f, rel, cmdline, cmdlen);
	snprintf(rel, sizeof(rel), "%u/loginuid", pid);
	n = snprintf(buf, sizeof(buf), "%u", exe ? 1000 + pid : 4294967295u);
	put(f, rel, buf, (size_t)n);
	snprintf(rel, sizeof(rel), "%u/sessionid", pid);
	n = snprintf(buf, sizeof(buf), "%u", exe ? 3 : 4294967295u);
	put(f, rel, buf, (size_t)n);
	snprintf(rel, sizeof(rel), "%u/cgroup", pid);
	n = snprintf(buf, sizeof(buf), "0::%s\n", cgroup);
	put(f, rel, buf, (size_t)n);
	snprintf(rel, sizeof(rel), "%u/cwd", pid);
	link_to(f, exe ? "/home/user" : "/", rel);
	if (exe) {
		snprintf(rel, sizeof(rel), "%u/exe", pid);
		link_to(f, exe, rel);
	}
}

#define DOCKER_ID "4f9a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->root, "/tmp/polrec-proc-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->exe, sizeof(f->exe), "%s/bin-sh", f->root);
	put(f, "bin-sh", "#!", 2);
	assert_int_equal(stat(f->exe, &f->exe_st), 0);

	fake_proc(f, 1, "systemd", 0, 5, 0, f->exe, "/sbin/init\0", 11, "/init.scope");
	fake_proc(f, 2, "kthreadd", 0, 5, 0, NULL, "", 0, "/");
	fake_proc(f, 3, "kworker/0:0 (x)", 2, 6, 0, NULL, "", 0, "/");
	fake_proc(f, 42, "a) b (c", 1, 12345, 1000, f->exe, "sh\0-c\0echo hi\0", 14,
		  "/system.slice/docker-" DOCKER_ID ".scope");
	fake_proc(f, 43, "child", 42, 12346, 1000, "/nonexistent/binary", "x", 1, "/user.slice");
	/* a process that exited between readdir and reading it */
	dir(f, "99");
	/* not processes */
	dir(f, "self");
	put(f, "uptime", "1.0 1.0\n", 8);
	dir(f, "12ab");
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	assert_int_equal(nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* A process whose fork event was lost is read from procfs when first seen,
 * but only if it is still the same process (same start tick). */
static void test_adopt_from_procfs(void **state)
{
	struct fake *f = *state;
	struct pr_proctab *t = pr_proctab_new();
	struct pr_proc *p, *init;
	uint64_t tk = tick_ns();

	init = pr_proctab_get(t, 1, 7 * tk);
	assert_non_null(init);
	p = pr_proctab_adopt(t, f->root, 42, 12345 * tk + 17);
	assert_non_null(p);
	assert_false(p->coarse);
	assert_int_equal(p->start, 12345 * tk + 17);
	assert_string_equal(p->exe, f->exe);
	assert_int_equal(p->uid, 1000);
	assert_ptr_equal(p->parent, init);
	assert_ptr_equal(pr_proctab_lookup(t, 42, 12345 * tk + 17), p);
	/* the same pid seen with a start in another tick: procfs describes a
	 * different process, so nothing is taken from it */
	p = pr_proctab_adopt(t, f->root, 42, 99999 * tk);
	assert_non_null(p);
	assert_true(p->exe == NULL || p->exe[0] == '\0');
	pr_proctab_free(t);
}

static void test_seed_fake_procfs(void **state)
{
	struct fake *f = *state;
	struct pr_proctab *t = pr_proctab_new();
	struct pr_proc *p, *out[8];
	uint64_t tk = tick_ns();

	assert_int_equal(pr_proctab_seed(t, f->root), 5);
	assert_int_equal(pr_proctab_count(t), 5);
	assert_null(pr_proctab_find_pid(t, 99));

	/* comm with spaces and ')' */
	p = pr_proctab_find_pid(t, 42);
	assert_non_null(p);
	assert_true(p->coarse);
	assert_int_equal(p->start, 12345 * tk);
	assert_int_equal(p->ppid, 1);
	assert_int_equal(p->uid, 1000);
	assert_int_equal(p->gid, 1010);
	assert_int_equal(p->loginuid, 1042);
	assert_int_equal(p->sessionid, 3);
	assert_string_equal(p->exe, f->exe);
	assert_int_equal(p->exe_ino, f->exe_st.st_ino);
	assert_int_equal(p->exe_dev, pr_dev_to_kernel(f->exe_st.st_dev));
	assert_int_equal(p->exe_mtime_sec, f->exe_st.st_mtim.tv_sec);
	assert_int_equal(p->exe_mtime_nsec, f->exe_st.st_mtim.tv_nsec);
	assert_int_equal(p->argc, 3);
	assert_int_equal(p->argv_len, 13);
	assert_memory_equal(p->argv, "sh\0-c\0echo hi", 14);
	assert_string_equal(p->cwd, "/home/user");
	assert_string_equal(p->cgroup, "/system.slice/docker-" DOCKER_ID ".scope");
	assert_string_equal(p->container_id, DOCKER_ID);
	assert_false(p->exited);

	/* exe link to a missing file: path kept, no inode */
	p = pr_proctab_find_pid(t, 43);
	assert_string_equal(p->exe, "/nonexistent/binary");
	assert_int_equal(p->exe_ino, 0);
	assert_int_equal(p->argc, 1);
	assert_null(p->container_id);

	/* kernel threads */
	p = pr_proctab_find_pid(t, 3);
	assert_string_equal(p->exe, "");
	assert_int_equal(p->argc, 0);
	assert_int_equal(p->argv_len, 0);
	assert_int_equal(p->loginuid, 4294967295u);
	assert_non_null(p->parent);
	assert_int_equal(p->parent->pid, 2);
	assert_null(p->parent->parent);
	assert_int_equal(p->parent->ppid, 0);

	/* links by ppid, pstart = the parent's (coarse) start */
	p = pr_proctab_find_pid(t, 43);
	assert_int_equal(pr_proctab_lineage(p, out, 8), 3);
	assert_int_equal(out[1]->pid, 42);
	assert_int_equal(out[2]->pid, 1);
	assert_int_equal(p->pstart, 12345 * tk);
	assert_int_equal(out[1]->nchildren, 1);
	assert_int_equal(out[2]->nchildren, 1);

	/* seeding again adds nothing */
	assert_int_equal(pr_proctab_seed(t, f->root), 0);
	assert_int_equal(pr_proctab_count(t), 5);
	assert_int_equal(pr_proctab_seed(t, "/nonexistent-procfs"), -1);
	pr_proctab_free(t);
}

static void test_coarse_match_and_upgrade(void **state)
{
	struct fake *f = *state;
	struct pr_proctab *t = pr_proctab_new();
	uint64_t tk = tick_ns(), precise = 12345 * tk + tk - 1;
	struct pr_proc *p, *child;

	assert_int_equal(pr_proctab_seed(t, f->root), 5);
	child = pr_proctab_find_pid(t, 43);
	/* the next tick is another process */
	assert_null(pr_proctab_lookup(t, 42, 12346 * tk));
	assert_null(pr_proctab_lookup(t, 42, 12345 * tk - 1));
	/* a precise start within the tick matches and upgrades */
	p = pr_proctab_lookup(t, 42, precise);
	assert_non_null(p);
	assert_false(p->coarse);
	assert_int_equal(p->start, precise);
	assert_int_equal(child->pstart, precise);
	/* now only the precise value matches */
	assert_null(pr_proctab_lookup(t, 42, 12345 * tk));
	assert_ptr_equal(pr_proctab_lookup(t, 42, precise), p);

	/* a fork from a coarse parent upgrades it and links */
	child = pr_proctab_fork(t, 43, 12346 * tk + 7, 500, 20 * SEC, 20 * SEC);
	assert_non_null(child->parent);
	assert_int_equal(child->parent->pid, 43);
	assert_false(child->parent->coarse);
	assert_int_equal(child->pstart, 12346 * tk + 7);
	assert_string_equal(child->exe, "/nonexistent/binary");
	pr_proctab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_chain_lineage),
		cmocka_unit_test(test_fork_existing_and_unknown_parent),
		cmocka_unit_test(test_reparent_keeps_exited_ancestor),
		cmocka_unit_test(test_pid_reuse),
		cmocka_unit_test(test_lost_exit_retired_by_reuse),
		cmocka_unit_test(test_many_entries_resize),
		cmocka_unit_test(test_recent_ring),
		cmocka_unit_test(test_dev_encoding),
		cmocka_unit_test_setup_teardown(test_seed_fake_procfs, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_adopt_from_procfs, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_coarse_match_and_upgrade, fake_setup,
						fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
