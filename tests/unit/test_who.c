// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* who.c: user names, cgroup paths, container ids, executable digests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "recorder/proctab.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static int cleanup(void **state)
{
	pr_who_cleanup();
	return 0;
}

static void test_user_name(void **state)
{
	const char *root = pr_user_name(0);

	assert_string_equal(root, "root");
	assert_ptr_equal(pr_user_name(0), root);       /* cached */
	assert_string_equal(pr_user_name(4000000000u), "");
	assert_string_equal(pr_user_name(4000000000u), "");
	assert_string_equal(pr_user_name(0), "root");
}

struct cid_case {
	const char *path;
	const char *id;   /* NULL: none */
};

static void test_container_id(void **state)
{
	static const struct cid_case cases[] = {
		{ "/system.slice/docker-" ID64 ".scope", ID64 },
		{ "/docker/" ID64, ID64 },
		{ "/system.slice/containerd.service/kubepods-burstable-pod1.slice:cri-containerd:" ID64, ID64 },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice/"
		  "cri-containerd-" ID64 ".scope", ID64 },
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab.slice/crio-" ID64
		  ".scope", ID64 },
		{ "/kubepods/burstable/pod1234-5678/" ID64, ID64 },
		{ "/machine.slice/libpod-" ID64 ".scope/container", ID64 },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID64 ".scope", ID64 },
		/* nested: the innermost wins */
		{ "/docker/" ID64 "/docker/" ID64B, ID64B },
		{ "/system.slice/docker-" ID64 ".scope/kubepods/pod1/" ID64B, ID64B },
		/* none */
		{ "/", NULL },
		{ "/user.slice/user-1000.slice/session-2.scope", NULL },
		{ "/system.slice/docker.service", NULL },
		{ "/system.slice/" ID64, NULL },             /* bare id outside a runtime */
		{ "/docker/" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL },
		{ "/docker/" ID64 "0", NULL },
		{ "/system.slice/docker-" ID64 ".scopex", NULL },
		{ "/x.slice:other:" ID64, NULL },
		{ "/docker-" ID64 "x.scope", NULL },
		{ "", NULL },
	};
	char out[65];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = pr_container_id(cases[i].path, out);

		if (cases[i].id) {
			if (r != 1)
				fail_msg("no id in %s", cases[i].path);
			assert_string_equal(out, cases[i].id);
		} else {
			if (r != 0)
				fail_msg("id %s found in %s", out, cases[i].path);
			assert_string_equal(out, "");
		}
	}
	assert_int_equal(pr_container_id(NULL, out), 0);
}

static int is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* Our own cgroup, from the "0::" line of /proc/self/cgroup. */
static int self_cgroup(char *out, size_t len)
{
	char line[4096];
	FILE *fp = fopen("/proc/self/cgroup", "r");
	int found = 0;

	assert_non_null(fp);
	while (!found && fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", line + 3);
		found = 1;
	}
	fclose(fp);
	return found;
}

static void check_real_cgroupfs(const char *root)
{
	char self[4096], path[8192];
	struct stat st;
	const char *p;

	assert_int_equal(stat(root, &st), 0);
	p = pr_cgroup_path(st.st_ino, root);
	assert_non_null(p);
	assert_string_equal(p, "/");
	if (!self_cgroup(self, sizeof(self)) || !strcmp(self, "/"))
		return;
	snprintf(path, sizeof(path), "%s%s", root, self);
	if (stat(path, &st) < 0)
		return;   /* our cgroup is not under this mount (a namespace) */
	p = pr_cgroup_path(st.st_ino, root);
	assert_non_null(p);
	assert_string_equal(p, self);
}

static void test_cgroup_root_is_slash(void **state)
{
	if (!is_cgroup2("/sys/fs/cgroup"))
		skip();
	check_real_cgroupfs("/sys/fs/cgroup");
}

/* Hybrid hierarchies mount cgroup2 at /sys/fs/cgroup/unified. */
static void test_cgroup_unified(void **state)
{
	if (!is_cgroup2("/sys/fs/cgroup/unified"))
		skip();
	check_real_cgroupfs("/sys/fs/cgroup/unified");
}

static void mkdir_in(const char *root, const char *rel, struct stat *st)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(stat(path, st), 0);
}

static void rmdir_in(const char *root, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	assert_int_equal(rmdir(path), 0);
}

/* A plain directory tree stands in for cgroupfs: inode -> path. */
static void test_cgroup_fake_tree_and_rescan(void **state)
{
	char root[] = "/tmp/polrec-cg-XXXXXX";
	struct stat rst, a, ab, late;
	const char *p;

	assert_non_null(mkdtemp(root));
	assert_int_equal(stat(root, &rst), 0);
	mkdir_in(root, "/system.slice", &a);
	mkdir_in(root, "/system.slice/nginx service", &ab);

	p = pr_cgroup_path(ab.st_ino, root);
	assert_non_null(p);
	assert_string_equal(p, "/system.slice/nginx service");
	assert_string_equal(pr_cgroup_path(a.st_ino, root), "/system.slice");
	assert_string_equal(pr_cgroup_path(rst.st_ino, root), "/");

	/* a cgroup made after the scan: not found until a second has passed */
	mkdir_in(root, "/late.scope", &late);
	assert_null(pr_cgroup_path(late.st_ino, root));
	assert_null(pr_cgroup_path(late.st_ino, root));
	usleep(1100 * 1000);
	assert_string_equal(pr_cgroup_path(late.st_ino, root), "/late.scope");
	/* earlier answers stay valid */
	assert_string_equal(p, "/system.slice/nginx service");

	rmdir_in(root, "/late.scope");
	rmdir_in(root, "/system.slice/nginx service");
	rmdir_in(root, "/system.slice");
	assert_int_equal(rmdir(root), 0);
	assert_null(pr_cgroup_path(1, "/nonexistent-cgroupfs"));
}

struct shafile {
	char path[64];
	struct stat st;
};

static int sha_setup(void **state)
{
	struct shafile *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	strcpy(f->path, "/tmp/polrec-sha-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(fstat(fd, &f->st), 0);
	assert_int_equal(close(fd), 0);
	*state = f;
	return 0;
}

static int sha_teardown(void **state)
{
	struct shafile *f = *state;

	assert_int_equal(unlink(f->path), 0);
	free(f);
	pr_who_cleanup();
	return 0;
}

static int sha_of(const struct shafile *f, const struct stat *st, uint64_t ino, char out[65])
{
	return pr_exe_sha256(0, f->path, st->st_dev, ino, st->st_mtim.tv_sec,
			     (uint32_t)st->st_mtim.tv_nsec, out);
}

static void test_sha256_cache(void **state)
{
	struct shafile *f = *state;
	uint64_t c0, h0, c, h;
	struct timespec times[2] = { { 1000000000, 5 }, { 1000000000, 5 } };
	struct stat st2;
	char out[65];

	pr_exe_sha256_stats(&c0, &h0);
	assert_int_equal(sha_of(f, &f->st, f->st.st_ino, out), 0);
	assert_string_equal(out, ABC_SHA256);
	pr_exe_sha256_stats(&c, &h);
	assert_int_equal(c, c0 + 1);
	assert_int_equal(h, h0);

	/* second time: from the cache */
	memset(out, 'x', sizeof(out));
	assert_int_equal(sha_of(f, &f->st, f->st.st_ino, out), 0);
	assert_string_equal(out, ABC_SHA256);
	pr_exe_sha256_stats(&c, &h);
	assert_int_equal(c, c0 + 1);
	assert_int_equal(h, h0 + 1);

	/* a new mtime is a new binary: computed again */
	assert_int_equal(utimensat(AT_FDCWD, f->path, times, 0), 0);
	assert_int_equal(stat(f->path, &st2), 0);
	assert_int_equal(sha_of(f, &st2, st2.st_ino, out), 0);
	assert_string_equal(out, ABC_SHA256);
	pr_exe_sha256_stats(&c, &h);
	assert_int_equal(c, c0 + 2);
	assert_int_equal(h, h0 + 1);

	/* the old key is still cached */
	assert_int_equal(sha_of(f, &f->st, f->st.st_ino, out), 0);
	pr_exe_sha256_stats(&c, &h);
	assert_int_equal(h, h0 + 2);
}

static void test_sha256_wrong_file(void **state)
{
	struct shafile *f = *state;
	struct stat stale = f->st;
	uint64_t c0, c;
	char out[65];

	pr_exe_sha256_stats(&c0, NULL);
	/* another inode at that path: never hash the wrong file */
	memset(out, 'x', sizeof(out));
	assert_int_equal(sha_of(f, &f->st, f->st.st_ino + 1, out), -1);
	assert_string_equal(out, "");
	/* the right inode but another device */
	assert_int_equal(pr_exe_sha256(0, f->path, f->st.st_dev + 1, f->st.st_ino,
				       f->st.st_mtim.tv_sec, (uint32_t)f->st.st_mtim.tv_nsec,
				       out), -1);
	/* the right inode, modified since the key's mtime */
	stale.st_mtim.tv_sec -= 100;
	assert_int_equal(sha_of(f, &stale, stale.st_ino, out), -1);
	assert_string_equal(out, "");
	/* neither the process nor the path */
	assert_int_equal(pr_exe_sha256(999999999u, NULL, f->st.st_dev, f->st.st_ino,
				       f->st.st_mtim.tv_sec, (uint32_t)f->st.st_mtim.tv_nsec,
				       out), -1);
	pr_exe_sha256_stats(&c, NULL);
	assert_int_equal(c, c0);
}

/* A running process is hashed through /proc/PID/exe even when the path
 * given is wrong; the digest equals the one read from the real path. */
static void test_sha256_via_proc_exe(void **state)
{
	char self[4096], by_proc[65], by_path[65];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct stat st;

	assert_true(n > 0);
	self[n] = '\0';
	assert_int_equal(stat(self, &st), 0);
	assert_int_equal(pr_exe_sha256((uint32_t)getpid(), "/nonexistent", st.st_dev, st.st_ino,
				       st.st_mtim.tv_sec, (uint32_t)st.st_mtim.tv_nsec, by_proc),
			 0);
	assert_int_equal(strlen(by_proc), 64);
	pr_who_cleanup();
	assert_int_equal(pr_exe_sha256(0, self, st.st_dev, st.st_ino, st.st_mtim.tv_sec,
				       (uint32_t)st.st_mtim.tv_nsec, by_path), 0);
	assert_string_equal(by_proc, by_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_user_name, cleanup),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test_teardown(test_cgroup_root_is_slash, cleanup),
		cmocka_unit_test_teardown(test_cgroup_unified, cleanup),
		cmocka_unit_test_teardown(test_cgroup_fake_tree_and_rescan, cleanup),
		cmocka_unit_test_setup_teardown(test_sha256_cache, sha_setup, sha_teardown),
		cmocka_unit_test_setup_teardown(test_sha256_wrong_file, sha_setup, sha_teardown),
		cmocka_unit_test_teardown(test_sha256_via_proc_exe, cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
