// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Who and what a process is, beyond what the kernel hands us: user names,
 * cgroup paths, container ids and executable digests. Each keeps a small
 * cache; none is thread-safe (the recorder's event thread owns them).
 */
#include "recorder/proctab.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define USER_BUCKETS 256u
#define USER_RETRY_NS (60ull * 1000000000ull) /* unknown uids are asked again */
#define CG_RESCAN_NS 1000000000ull
#define CG_DEPTH_MAX 64
#define SHA_SLOTS 4096u                       /* power of two */
#define SHA_BUF (64u << 10)

static char *xstrdup(const char *s)
{
	size_t len = strlen(s);
	char *p = pr_xcalloc(1, len + 1);

	memcpy(p, s, len);
	return p;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* ---- user names ---- */

struct user_ent {
	uint32_t uid;
	char *name;            /* "" (static) while unknown */
	uint64_t checked;      /* monotonic ns of the last lookup */
	struct user_ent *next;
};

static struct user_ent *user_tab[USER_BUCKETS];

/* 1 found (*name allocated), 0 no such user, -1 lookup error. */
static int passwd_name(uint32_t uid, char **name)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = hint > 0 ? (size_t)hint : 1024;
	struct passwd pw, *res = NULL;
	char *buf;
	int err;

	for (;;) {
		buf = pr_xcalloc(1, len);
		err = getpwuid_r((uid_t)uid, &pw, buf, len, &res);
		if (err != ERANGE || len >= (1u << 20))
			break;
		free(buf);
		len *= 2;
	}
	if (!err && res)
		*name = xstrdup(res->pw_name);
	free(buf);
	if (err && err != ENOENT && err != ESRCH)
		return -1;
	return !err && res;
}

static void user_refresh(struct user_ent *e, uint64_t now)
{
	char *name = NULL;

	if (passwd_name(e->uid, &name) < 0)
		return;          /* transient error: keep what we have, ask again */
	e->checked = now;
	if (name)
		e->name = name;  /* a name is never freed before pr_who_cleanup */
}

const char *pr_user_name(uint32_t uid)
{
	struct user_ent **b = &user_tab[mix64(uid) & (USER_BUCKETS - 1)], *e;
	uint64_t now = monotonic_ns();

	for (e = *b; e; e = e->next)
		if (e->uid == uid)
			break;
	if (!e) {
		e = pr_xcalloc(1, sizeof(*e));
		e->uid = uid;
		e->name = "";
		e->next = *b;
		*b = e;
		user_refresh(e, now);
	} else if (!*e->name && now - e->checked >= USER_RETRY_NS) {
		user_refresh(e, now);
	}
	return e->name;
}

static void user_cleanup(void)
{
	unsigned i;

	for (i = 0; i < USER_BUCKETS; i++) {
		struct user_ent *e = user_tab[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (*e->name)
				free(e->name);
			free(e);
		}
		user_tab[i] = NULL;
	}
}

/* ---- cgroup paths ---- */

struct cg_ent {
	uint64_t id;
	char *path;
	struct cg_ent *next;
};

/* cgroup ids are never reused, so entries are only added: a path handed
 * out stays valid until the root changes or pr_who_cleanup. */
static struct {
	char *root;
	struct cg_ent **buckets;
	size_t nbuckets, count;
	uint64_t last_scan;     /* monotonic ns, 0: never */
} cg;

static struct cg_ent *cg_find(uint64_t id)
{
	struct cg_ent *e;

	if (!cg.buckets)
		return NULL;
	for (e = cg.buckets[mix64(id) & (cg.nbuckets - 1)]; e; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

static void cg_grow(void)
{
	size_t n = cg.nbuckets ? cg.nbuckets * 2 : 256, i;
	struct cg_ent **b = pr_xcalloc(n, sizeof(*b));

	for (i = 0; i < cg.nbuckets; i++) {
		struct cg_ent *e = cg.buckets[i], *next;

		for (; e; e = next) {
			size_t h = mix64(e->id) & (n - 1);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(cg.buckets);
	cg.buckets = b;
	cg.nbuckets = n;
}

static void cg_add(uint64_t id, const char *path)
{
	struct cg_ent *e;
	size_t h;

	if (cg_find(id))
		return;
	if (cg.count >= cg.nbuckets)
		cg_grow();
	e = pr_xcalloc(1, sizeof(*e));
	e->id = id;
	e->path = xstrdup(path);
	h = mix64(id) & (cg.nbuckets - 1);
	e->next = cg.buckets[h];
	cg.buckets[h] = e;
	cg.count++;
}

static void cg_drop(void)
{
	size_t i;

	for (i = 0; i < cg.nbuckets; i++) {
		struct cg_ent *e = cg.buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->path);
			free(e);
		}
	}
	free(cg.buckets);
	free(cg.root);
	memset(&cg, 0, sizeof(cg));
}

/* Walk directory fd (whose path relative to the root is rel, "" for the
 * root itself), recording every directory's inode on the root's file
 * system. cgroups come and go while we walk: a vanished directory is
 * simply not recorded. */
static void cg_scan_dir(int fd, dev_t dev, char *rel, size_t rel_len, int depth)
{
	struct dirent *de;
	DIR *dir = fdopendir(fd);

	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		struct stat st;
		size_t nlen = strlen(de->d_name);
		int sub;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rel_len + 1 + nlen >= PATH_MAX || depth >= CG_DEPTH_MAX)
			continue;
		sub = openat(dirfd(dir), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (fstat(sub, &st) < 0 || st.st_dev != dev) {   /* not a cgroup */
			close(sub);
			continue;
		}
		rel[rel_len] = '/';
		memcpy(rel + rel_len + 1, de->d_name, nlen + 1);
		cg_add(st.st_ino, rel);
		cg_scan_dir(sub, dev, rel, rel_len + 1 + nlen, depth + 1);
		rel[rel_len] = '\0';
	}
	closedir(dir);
}

static int cg_scan(const char *root)
{
	char rel[PATH_MAX] = "";
	struct stat st;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	cg_add(st.st_ino, "/");
	cg_scan_dir(fd, st.st_dev, rel, 0, 0);
	return 0;
}

const char *pr_cgroup_path(uint64_t cgroup_id, const char *cgroup_root)
{
	struct cg_ent *e;
	uint64_t now;

	if (cg.root && strcmp(cg.root, cgroup_root))
		cg_drop();
	if (!cg.root)
		cg.root = xstrdup(cgroup_root);
	e = cg_find(cgroup_id);
	if (e)
		return e->path;
	now = monotonic_ns();
	if (cg.last_scan && now - cg.last_scan < CG_RESCAN_NS)
		return NULL;
	cg.last_scan = now;
	if (cg_scan(cgroup_root) < 0)
		return NULL;
	e = cg_find(cgroup_id);
	return e ? e->path : NULL;
}

/* ---- container ids ---- */

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static const char *const runtimes[] = { "docker", "cri-containerd", "crio", "libpod" };
#define NRUNTIMES (sizeof(runtimes) / sizeof(runtimes[0]))

/* "<runtime>-<64hex>", optionally with ".scope" (systemd driver), or
 * "...:<runtime>:<64hex>" (containerd's systemd-style names): the id, or
 * NULL. */
static const char *prefixed_id(const char *seg, size_t len)
{
	const char *id;
	size_t i;

	if (len > 6 && !memcmp(seg + len - 6, ".scope", 6))
		len -= 6;
	if (len < 65 || !is_hex64(seg + len - 64))
		return NULL;
	id = seg + len - 64;
	for (i = 0; i < NRUNTIMES; i++) {
		size_t rlen = strlen(runtimes[i]);

		if (len == rlen + 65 && id[-1] == '-' && !memcmp(seg, runtimes[i], rlen))
			return id;
		if (len >= rlen + 66 && id[-1] == ':' && id[-rlen - 2] == ':' &&
		    !memcmp(id - rlen - 1, runtimes[i], rlen))
			return id;
	}
	return NULL;
}

/* Segments under which a bare 64-hex directory names a container:
 * /docker/<id>, /kubepods/burstable/pod<uid>/<id>, /libpod_parent/... */
static int runtime_parent(const char *seg, size_t len)
{
	return (len >= 6 && !memcmp(seg, "docker", 6)) ||
	       (len >= 8 && !memcmp(seg, "kubepods", 8)) ||
	       (len >= 6 && !memcmp(seg, "libpod", 6));
}

int pr_container_id(const char *cgroup_path, char out[65])
{
	const char *seg = cgroup_path, *found = NULL;
	int under_runtime = 0;

	out[0] = '\0';
	if (!cgroup_path)
		return 0;
	while (*seg) {
		size_t len = strcspn(seg, "/");
		const char *id = prefixed_id(seg, len);

		if (!id && under_runtime && len == 64 && is_hex64(seg))
			id = seg;
		if (id)
			found = id;
		if (runtime_parent(seg, len))
			under_runtime = 1;
		seg += len;
		seg += *seg == '/';
	}
	if (!found)
		return 0;
	memcpy(out, found, 64);
	out[64] = '\0';
	return 1;
}

/* ---- executable digests ---- */

struct sha_slot {
	uint64_t dev, ino;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	int used;
	uint64_t stamp;         /* insertion order, for eviction */
	char hex[65];
};

static struct {
	struct sha_slot *slots; /* SHA_SLOTS, two-way: slot h and h ^ 1 */
	uint64_t stamp, computed, hits;
} sha;

static int sha_key_eq(const struct sha_slot *s, uint64_t dev, uint64_t ino,
		      int64_t sec, uint32_t nsec)
{
	return s->used && s->dev == dev && s->ino == ino && s->mtime_sec == sec &&
	       s->mtime_nsec == nsec;
}

static size_t sha_index(uint64_t dev, uint64_t ino, int64_t sec, uint32_t nsec)
{
	uint64_t h = mix64(dev ^ mix64(ino ^ mix64((uint64_t)sec ^ ((uint64_t)nsec << 32))));

	return (size_t)(h & (SHA_SLOTS - 1) & ~(size_t)1);
}

static struct sha_slot *sha_lookup(uint64_t dev, uint64_t ino, int64_t sec, uint32_t nsec)
{
	size_t i = sha_index(dev, ino, sec, nsec);

	if (!sha.slots)
		return NULL;
	if (sha_key_eq(&sha.slots[i], dev, ino, sec, nsec))
		return &sha.slots[i];
	if (sha_key_eq(&sha.slots[i + 1], dev, ino, sec, nsec))
		return &sha.slots[i + 1];
	return NULL;
}

/* The free slot of the pair, else the older one. */
static void sha_store(uint64_t dev, uint64_t ino, int64_t sec, uint32_t nsec,
		      const char *hex)
{
	struct sha_slot *a, *b, *s;

	if (!sha.slots)
		sha.slots = pr_xcalloc(SHA_SLOTS, sizeof(*sha.slots));
	a = &sha.slots[sha_index(dev, ino, sec, nsec)];
	b = a + 1;
	if (!a->used)
		s = a;
	else if (!b->used)
		s = b;
	else
		s = a->stamp <= b->stamp ? a : b;
	s->dev = dev;
	s->ino = ino;
	s->mtime_sec = sec;
	s->mtime_nsec = nsec;
	s->used = 1;
	s->stamp = ++sha.stamp;
	memcpy(s->hex, hex, 65);
}

/* The file is the one the key names: same inode and unchanged since. */
static int file_matches(const struct stat *st, uint64_t dev, uint64_t ino,
			int64_t sec, uint32_t nsec)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_dev == dev &&
	       (uint64_t)st->st_ino == ino && st->st_mtim.tv_sec == sec &&
	       (uint32_t)st->st_mtim.tv_nsec == nsec;
}

/* O_NONBLOCK: a FIFO planted at path must not hang us before fstat. */
static int open_matching(const char *path, uint64_t dev, uint64_t ino,
			 int64_t sec, uint32_t nsec)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !file_matches(&st, dev, ino, sec, nsec)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void to_hex(const unsigned char *md, unsigned len, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < len && i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	out[2 * i] = '\0';
}

/* Hash fd to its end; 0 or -1. */
static int sha256_fd(int fd, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	unsigned char *buf = pr_xcalloc(1, SHA_BUF);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = -1;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, SHA_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)
		goto out;
	to_hex(md, mdlen, out);
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return ret;
}

int pr_exe_sha256(uint32_t pid, const char *path, uint64_t dev, uint64_t ino,
		  int64_t mtime_sec, uint32_t mtime_nsec, char out[65])
{
	const struct sha_slot *s = sha_lookup(dev, ino, mtime_sec, mtime_nsec);
	char proc_exe[32], hex[65];
	struct stat st;
	int fd = -1, ret;

	out[0] = '\0';
	if (s) {
		sha.hits++;
		memcpy(out, s->hex, 65);
		return 0;
	}
	if (pid) {
		snprintf(proc_exe, sizeof(proc_exe), "/proc/%u/exe", pid);
		fd = open_matching(proc_exe, dev, ino, mtime_sec, mtime_nsec);
	}
	if (fd < 0 && path && *path)
		fd = open_matching(path, dev, ino, mtime_sec, mtime_nsec);
	if (fd < 0)
		return -1;
	ret = sha256_fd(fd, hex);
	/* Written while we read it? Then the digest is of neither version. */
	if (ret == 0 && (fstat(fd, &st) < 0 ||
			 !file_matches(&st, dev, ino, mtime_sec, mtime_nsec)))
		ret = -1;
	close(fd);
	if (ret < 0)
		return -1;
	sha.computed++;
	sha_store(dev, ino, mtime_sec, mtime_nsec, hex);
	memcpy(out, hex, 65);
	return 0;
}

void pr_exe_sha256_stats(uint64_t *computed, uint64_t *hits)
{
	if (computed)
		*computed = sha.computed;
	if (hits)
		*hits = sha.hits;
}

void pr_who_cleanup(void)
{
	user_cleanup();
	cg_drop();
	free(sha.slots);
	memset(&sha, 0, sizeof(sha));
}
