// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The process table (see proctab.h): a hash of (pid, start) entries with
 * chaining by pid, parent links counted in the parent, and a list of exited
 * entries waiting for their children and a grace period before they go.
 */
#include "recorder/proctab.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ull
#define PT_INIT_BUCKETS 1024u
#define SEED_FILE_MAX (64u << 10)  /* bytes read from one procfs file */
#define SEED_LINK_MAX 4096u

struct pr_proctab {
	struct pr_proc **buckets;
	size_t nbuckets;               /* power of two */
	size_t count;
	struct pr_proc *exited_head, *exited_tail;
	uint64_t tick_ns;              /* 10^9 / USER_HZ */
	size_t cap;                    /* context memory cap, 0 = none */
	size_t peak;                   /* most memory held after enforcing the cap */
	uint64_t evicted, events_dropped;
};

/* ---- allocation: running out of memory is fatal, as in redis ---- */

void *pr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		fprintf(stderr, "polrec: out of memory (%zu bytes)\n", n * size);
		abort();
	}
	return p;
}

/* Memory the table holds (entries and their strings), for the context
 * cap: counted with malloc_usable_size at allocation and release. */
static size_t pt_mem;

static void *pt_acct(void *p)
{
	pt_mem += malloc_usable_size(p);
	return p;
}

static void pfree(void *p)
{
	if (!p)
		return;
	pt_mem -= malloc_usable_size(p);
	free(p);
}

size_t pr_proctab_memory(void)
{
	return pt_mem;
}

static char *xmemdup0(const char *s, size_t len)
{
	char *p = pt_acct(pr_xcalloc(1, len + 1));

	if (len)
		memcpy(p, s, len);
	return p;
}

static char *xstrdup_or_null(const char *s)
{
	return s ? xmemdup0(s, strlen(s)) : NULL;
}

/* ---- small helpers ---- */

const char *pr_recent_kind_name(uint8_t k)
{
	static const char *const names[] = {
		[PR_RK_EXEC] = "exec",     [PR_RK_WRITE] = "write",
		[PR_RK_RENAME] = "rename", [PR_RK_UNLINK] = "unlink",
		[PR_RK_CHMOD] = "chmod",   [PR_RK_CHOWN] = "chown",
		[PR_RK_TRUNCATE] = "truncate",
		[PR_RK_CONNECT] = "connect", [PR_RK_ACCEPT] = "accept",
		[PR_RK_SEND] = "send",     [PR_RK_BIND] = "bind",
		[PR_RK_LISTEN] = "listen",
		[PR_RK_SIGNAL] = "signal", [PR_RK_PTRACE] = "ptrace",
	};

	if (k < sizeof(names) / sizeof(names[0]) && names[k])
		return names[k];
	return "unknown";
}

uint64_t pr_dev_from_kernel(uint64_t kdev)
{
	return makedev((unsigned)(kdev >> 20), (unsigned)(kdev & 0xfffff));
}

uint64_t pr_dev_to_kernel(uint64_t dev)
{
	return ((uint64_t)major(dev) << 20) | (minor(dev) & 0xfffff);
}

void pr_proc_set_str(char **field, const char *s, size_t len)
{
	char *copy = xmemdup0(s, len);

	pfree(*field);
	*field = copy;
}

void pr_proc_set_argv(struct pr_proc *p, const char *argv, size_t len, uint32_t argc)
{
	pr_proc_set_str(&p->argv, argv, len);
	p->argv_len = len;
	p->argc = argc;
}

static void recent_clear(struct pr_recent *r)
{
	pfree(r->path);
	pfree(r->path2);
	pfree(r->flow);
	memset(r, 0, sizeof(*r));
}

void pr_proc_add_recent(struct pr_proc *p, uint64_t time, uint8_t kind,
			const char *path, const char *path2)
{
	struct pr_recent *r = &p->recent[p->recent_head];

	recent_clear(r);
	r->time = time;
	r->kind = kind;
	r->path = xstrdup_or_null(path);
	r->path2 = xstrdup_or_null(path2);
	p->recent_head = (p->recent_head + 1) % PR_RECENT_MAX;
	if (p->recent_count < PR_RECENT_MAX)
		p->recent_count++;
}

void pr_proc_add_recent_flow(struct pr_proc *p, uint64_t time, uint8_t kind, const char *path,
			     const char *path2, const struct pr_flow_key *flow)
{
	struct pr_recent *r;

	pr_proc_add_recent(p, time, kind, path, path2);
	r = &p->recent[(p->recent_head + PR_RECENT_MAX - 1) % PR_RECENT_MAX];
	r->flow = pt_acct(pr_xcalloc(1, sizeof(*r->flow)));
	*r->flow = *flow;
}

const struct pr_recent *pr_proc_recent_at(const struct pr_proc *p, unsigned i)
{
	unsigned oldest;

	if (i >= p->recent_count)
		return NULL;
	oldest = (p->recent_head + PR_RECENT_MAX - p->recent_count) % PR_RECENT_MAX;
	return &p->recent[(oldest + i) % PR_RECENT_MAX];
}

/* ---- entries ---- */

static struct pr_proc *proc_new(uint32_t pid, uint64_t start)
{
	struct pr_proc *p = pt_acct(pr_xcalloc(1, sizeof(*p)));

	p->pid = pid;
	p->start = start;
	p->loginuid = UINT32_MAX;
	p->sessionid = UINT32_MAX;
	p->exe = xmemdup0("", 0);
	p->argv = xmemdup0("", 0);
	return p;
}

static void proc_free(struct pr_proc *p)
{
	unsigned i;

	for (i = 0; i < PR_RECENT_MAX; i++)
		recent_clear(&p->recent[i]);
	pfree(p->exe);
	pfree(p->argv);
	pfree(p->cwd);
	pfree(p->cgroup);
	pfree(p->container_id);
	pfree(p);
}

/* The image a child inherits at fork: everything but identity, exit and
 * the recent ring. */
static void proc_copy_image(struct pr_proc *dst, const struct pr_proc *src)
{
	dst->uid = src->uid;
	dst->gid = src->gid;
	dst->loginuid = src->loginuid;
	dst->sessionid = src->sessionid;
	dst->cgroup_id = src->cgroup_id;
	pr_proc_set_str(&dst->exe, src->exe, strlen(src->exe));
	pr_proc_set_argv(dst, src->argv, src->argv_len, src->argc);
	dst->flags = src->flags;
	pfree(dst->cwd);
	dst->cwd = xstrdup_or_null(src->cwd);
	pfree(dst->cgroup);
	dst->cgroup = xstrdup_or_null(src->cgroup);
	pfree(dst->container_id);
	dst->container_id = xstrdup_or_null(src->container_id);
	memcpy(dst->sha256, src->sha256, sizeof(dst->sha256));
	dst->exe_dev = src->exe_dev;
	dst->exe_ino = src->exe_ino;
	dst->exe_mtime_sec = src->exe_mtime_sec;
	dst->exe_mtime_nsec = src->exe_mtime_nsec;
}

static void proc_link_parent(struct pr_proc *p, struct pr_proc *parent)
{
	p->parent = parent;
	p->ppid = parent->pid;
	p->pstart = parent->start;
	parent->nchildren++;
}

/* ---- the hash ---- */

static size_t bucket_of(size_t nbuckets, uint32_t pid)
{
	return (size_t)((pid * 2654435761u) & (nbuckets - 1));
}

struct pr_proctab *pr_proctab_new(void)
{
	struct pr_proctab *t = pr_xcalloc(1, sizeof(*t));
	long hz = sysconf(_SC_CLK_TCK);

	t->nbuckets = PT_INIT_BUCKETS;
	t->buckets = pr_xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->tick_ns = NSEC_PER_SEC / (uint64_t)(hz > 0 ? hz : 100);
	return t;
}

void pr_proctab_free(struct pr_proctab *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		struct pr_proc *p = t->buckets[i], *next;

		for (; p; p = next) {
			next = p->hnext;
			proc_free(p);
		}
	}
	free(t->buckets);
	free(t);
}

size_t pr_proctab_count(const struct pr_proctab *t)
{
	return t->count;
}

static void table_grow(struct pr_proctab *t)
{
	size_t n = t->nbuckets * 2, i;
	struct pr_proc **b = pr_xcalloc(n, sizeof(*b));

	for (i = 0; i < t->nbuckets; i++) {
		struct pr_proc *p = t->buckets[i], *next;

		for (; p; p = next) {
			size_t h = bucket_of(n, p->pid);

			next = p->hnext;
			p->hnext = b[h];
			b[h] = p;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static void table_insert(struct pr_proctab *t, struct pr_proc *p)
{
	size_t h;

	if (t->count >= t->nbuckets)
		table_grow(t);
	h = bucket_of(t->nbuckets, p->pid);
	p->hnext = t->buckets[h];
	t->buckets[h] = p;
	t->count++;
}

static void table_unlink(struct pr_proctab *t, struct pr_proc *p)
{
	struct pr_proc **pp = &t->buckets[bucket_of(t->nbuckets, p->pid)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			t->count--;
			return;
		}
	}
}

static struct pr_proc *find_precise(struct pr_proctab *t, uint32_t pid, uint64_t start)
{
	struct pr_proc *p = t->buckets[bucket_of(t->nbuckets, pid)];

	for (; p; p = p->hnext)
		if (p->pid == pid && p->start == start && !p->coarse)
			return p;
	return NULL;
}

static struct pr_proc *find_coarse(struct pr_proctab *t, uint32_t pid, uint64_t start)
{
	struct pr_proc *p = t->buckets[bucket_of(t->nbuckets, pid)];

	for (; p; p = p->hnext)
		if (p->pid == pid && p->coarse && p->start / t->tick_ns == start / t->tick_ns)
			return p;
	return NULL;
}

/* Children seeded before their parent's start was known precisely carry
 * its coarse start in pstart: bring them up to date. Only seeded parents
 * with children get here, once each. */
static void upgrade_children_pstart(struct pr_proctab *t, const struct pr_proc *parent)
{
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		struct pr_proc *p = t->buckets[i];

		for (; p; p = p->hnext)
			if (p->parent == parent)
				p->pstart = parent->start;
	}
}

struct pr_proc *pr_proctab_lookup(struct pr_proctab *t, uint32_t pid, uint64_t start)
{
	struct pr_proc *p = find_precise(t, pid, start);

	if (p)
		return p;
	p = find_coarse(t, pid, start);
	if (!p)
		return NULL;
	p->coarse = 0;
	p->start = start;
	if (p->nchildren)
		upgrade_children_pstart(t, p);
	return p;
}

/* Live beats exited, then the later start wins. */
static int newer_than(const struct pr_proc *a, const struct pr_proc *b)
{
	if (a->exited != b->exited)
		return !a->exited;
	return a->start > b->start;
}

struct pr_proc *pr_proctab_find_pid(struct pr_proctab *t, uint32_t pid)
{
	struct pr_proc *p = t->buckets[bucket_of(t->nbuckets, pid)], *best = NULL;

	for (; p; p = p->hnext)
		if (p->pid == pid && (!best || newer_than(p, best)))
			best = p;
	return best;
}

/* ---- exit and reap ---- */

static void exited_append(struct pr_proctab *t, struct pr_proc *p)
{
	p->lnext = NULL;
	p->lprev = t->exited_tail;
	if (t->exited_tail)
		t->exited_tail->lnext = p;
	else
		t->exited_head = p;
	t->exited_tail = p;
}

static void exited_unlink(struct pr_proctab *t, struct pr_proc *p)
{
	if (p->lprev)
		p->lprev->lnext = p->lnext;
	else
		t->exited_head = p->lnext;
	if (p->lnext)
		p->lnext->lprev = p->lprev;
	else
		t->exited_tail = p->lprev;
	p->lnext = p->lprev = NULL;
}

void pr_proctab_exit(struct pr_proctab *t, struct pr_proc *p, int32_t code, uint64_t time)
{
	if (p->exited)
		return;
	p->exited = 1;
	p->exit_code = code;
	p->exit_time = time;
	exited_append(t, p);
}

/* A live entry whose pid now belongs to a later process has exited even if
 * its exit event was lost: a pid is only reused once its owner is gone. */
static void retire_stale(struct pr_proctab *t, uint32_t pid, uint64_t start, uint64_t time)
{
	struct pr_proc *p = t->buckets[bucket_of(t->nbuckets, pid)];

	for (; p; p = p->hnext)
		if (p->pid == pid && !p->exited && p->start < start)
			pr_proctab_exit(t, p, 0, time);
}

static int reapable(const struct pr_proc *p, uint64_t now, uint64_t grace_ns)
{
	return p->exited && !p->nchildren && now >= p->exit_time &&
	       now - p->exit_time >= grace_ns;
}

/* Free p and then any ancestor that only waited for it. *next is the
 * caller's list cursor, moved on if an ancestor freed here is it. */
static size_t reap_chain(struct pr_proctab *t, struct pr_proc *p, uint64_t now,
			 uint64_t grace_ns, struct pr_proc **next)
{
	size_t n = 0;

	while (p && reapable(p, now, grace_ns)) {
		struct pr_proc *parent = p->parent;

		if (parent)
			parent->nchildren--;
		if (*next == p)
			*next = p->lnext;
		exited_unlink(t, p);
		table_unlink(t, p);
		proc_free(p);
		n++;
		p = parent;
	}
	return n;
}

size_t pr_proctab_reap(struct pr_proctab *t, uint64_t now, uint64_t grace_ns)
{
	struct pr_proc *p = t->exited_head, *next;
	size_t n = 0;

	for (; p; p = next) {
		next = p->lnext;
		n += reap_chain(t, p, now, grace_ns, &next);
	}
	return n;
}

/* ---- the context cap ----
 * Over the cap, exited processes go first, oldest exit first, before
 * their grace period ends (those with live children stay, for lineage,
 * but lose their recent events); what goes is counted. */
void pr_proctab_set_cap(struct pr_proctab *t, size_t bytes)
{
	t->cap = bytes;
}

void pr_proctab_cap_stats(const struct pr_proctab *t, uint64_t *evicted, uint64_t *events)
{
	*evicted = t->evicted;
	*events = t->events_dropped;
}

void pr_proctab_enforce_cap(struct pr_proctab *t)
{
	struct pr_proc *p, *next;

	if (!t->cap || pt_mem <= t->cap) {
		if (pt_mem > t->peak)
			t->peak = pt_mem;
		return;
	}
	for (p = t->exited_head; p && pt_mem > t->cap; p = next) {
		next = p->lnext;
		t->events_dropped += p->recent_count;
		if (p->nchildren) {
			for (unsigned i = 0; i < PR_RECENT_MAX; i++)
				recent_clear(&p->recent[i]);
			p->recent_count = 0;
			p->recent_head = 0;
			continue;
		}
		t->evicted += reap_chain(t, p, UINT64_MAX, 0, &next);
	}
	if (pt_mem > t->peak)
		t->peak = pt_mem;
}

size_t pr_proctab_peak(const struct pr_proctab *t)
{
	return t->peak;
}

/* ---- creation ---- */

struct pr_proc *pr_proctab_get(struct pr_proctab *t, uint32_t pid, uint64_t start)
{
	struct pr_proc *p = pr_proctab_lookup(t, pid, start);

	if (p)
		return p;
	retire_stale(t, pid, start, start);
	p = proc_new(pid, start);
	table_insert(t, p);
	return p;
}

struct pr_proc *pr_proctab_fork(struct pr_proctab *t, uint32_t ppid, uint64_t pstart,
				uint32_t pid, uint64_t start, uint64_t time)
{
	struct pr_proc *p, *parent;

	pr_proctab_enforce_cap(t);
	p = pr_proctab_lookup(t, pid, start);
	if (p)
		return p;
	parent = pr_proctab_lookup(t, ppid, pstart);
	retire_stale(t, pid, start, time);
	p = proc_new(pid, start);
	if (parent) {
		proc_copy_image(p, parent);
		proc_link_parent(p, parent);
	} else {
		p->ppid = ppid;
		p->pstart = pstart;
	}
	table_insert(t, p);
	return p;
}

size_t pr_proctab_lineage(struct pr_proc *p, struct pr_proc **out, size_t max)
{
	size_t n = 0;

	for (; p && n < max; p = p->parent)
		out[n++] = p;
	return n;
}

/* ---- seeding from procfs ---- */

/* Read procfs file dir/name (at most SEED_FILE_MAX bytes). Returns the
 * length read (buf NUL-terminated, caller frees) or -1. */
static ssize_t read_at(int dirfd, const char *name, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	buf = pr_xcalloc(1, cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			if (cap >= SEED_FILE_MAX)
				break;
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf) {
				fprintf(stderr, "polrec: out of memory\n");
				abort();
			}
		}
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

static char *readlink_at(int dirfd, const char *name)
{
	char buf[SEED_LINK_MAX];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf));

	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return xmemdup0(buf, (size_t)n);
}

struct stat_fields {
	uint32_t ppid;
	uint64_t start_ticks;
	char comm[64];
};

/* /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ...". comm may
 * hold spaces and ')', so the fields start after the LAST ')'. */
static int parse_stat(const char *s, struct stat_fields *f)
{
	const char *open = strchr(s, '('), *close = strrchr(s, ')');
	const char *q;
	int field;

	if (!open || !close || close < open)
		return -1;
	snprintf(f->comm, sizeof(f->comm), "%.*s", (int)(close - open - 1), open + 1);
	q = close + 1;
	for (field = 3; field <= 22; field++) {
		char *end;
		unsigned long long v;

		while (*q == ' ')
			q++;
		if (!*q)
			return -1;
		if (field == 3) {        /* state: one letter */
			while (*q && *q != ' ')
				q++;
			continue;
		}
		errno = 0;
		v = strtoull(q, &end, 10);
		if (end == q || errno)
			return -1;
		if (field == 4)
			f->ppid = (uint32_t)v;
		else if (field == 22)
			f->start_ticks = v;
		q = end;
	}
	return 0;
}

/* "Uid:\t1000\t1000\t1000\t1000": the real id, as the probes report it. */
static int parse_status_id(const char *s, const char *key, uint32_t *out)
{
	size_t klen = strlen(key);
	const char *line = s;

	for (; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char *end;
		unsigned long v;

		if (strncmp(line, key, klen))
			continue;
		errno = 0;
		v = strtoul(line + klen, &end, 10);
		if (end == line + klen || errno)
			return -1;
		*out = (uint32_t)v;
		return 0;
	}
	return -1;
}

static int read_u32_at(int dirfd, const char *name, uint32_t *out)
{
	char *buf = NULL, *end;
	unsigned long v;
	int ret = -1;

	if (read_at(dirfd, name, &buf) < 0)
		return -1;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (end != buf && !errno) {
		*out = (uint32_t)v;
		ret = 0;
	}
	free(buf);
	return ret;
}

/* cmdline is "a\0b\0": kept as "a\0b" (NUL-separated), argc strings. */
static void seed_argv(struct pr_proc *p, int dirfd)
{
	char *buf = NULL;
	ssize_t len = read_at(dirfd, "cmdline", &buf);
	uint32_t argc = 0;
	ssize_t i;

	if (len <= 0) {
		free(buf);
		return;
	}
	if (buf[len - 1] == '\0')
		len--;
	for (i = 0; i <= len; i++)
		if (i == len || buf[i] == '\0')
			argc++;
	pr_proc_set_argv(p, buf, (size_t)len, argc);
	free(buf);
}

/* "0::/system.slice/x.service" is the cgroup v2 line. */
static void seed_cgroup(struct pr_proc *p, int dirfd)
{
	char *buf = NULL, *line, *save = NULL;
	char id[65];

	if (read_at(dirfd, "cgroup", &buf) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "0::", 3))
			continue;
		pr_proc_set_str(&p->cgroup, line + 3, strlen(line + 3));
		if (pr_container_id(p->cgroup, id))
			pr_proc_set_str(&p->container_id, id, strlen(id));
		break;
	}
	free(buf);
}

static void seed_exe(struct pr_proc *p, int dirfd)
{
	char *exe = readlink_at(dirfd, "exe");
	struct stat st;

	if (!exe)
		return;  /* kernel thread, or not ours to read */
	pfree(p->exe);
	p->exe = exe;
	if (fstatat(dirfd, "exe", &st, 0) == 0) {
		p->exe_dev = pr_dev_to_kernel(st.st_dev);
		p->exe_ino = st.st_ino;
		p->exe_mtime_sec = st.st_mtim.tv_sec;
		p->exe_mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	}
}

/* One /proc/PID directory, or NULL if it vanished or is unreadable. */
static struct pr_proc *seed_one(struct pr_proctab *t, int procfd, const char *name)
{
	struct stat_fields sf = { 0 };
	struct pr_proc *p = NULL;
	char *stat = NULL, *status = NULL;
	int dirfd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return NULL;
	if (read_at(dirfd, "stat", &stat) < 0 || parse_stat(stat, &sf) < 0)
		goto out;
	if (read_at(dirfd, "status", &status) < 0)
		goto out;
	p = proc_new((uint32_t)strtoul(name, NULL, 10), sf.start_ticks * t->tick_ns);
	p->coarse = 1;
	p->ppid = sf.ppid;
	if (parse_status_id(status, "Uid:", &p->uid) < 0 ||
	    parse_status_id(status, "Gid:", &p->gid) < 0) {
		proc_free(p);
		p = NULL;
		goto out;
	}
	read_u32_at(dirfd, "loginuid", &p->loginuid);   /* absent: stays unset */
	read_u32_at(dirfd, "sessionid", &p->sessionid);
	seed_exe(p, dirfd);
	seed_argv(p, dirfd);
	p->cwd = readlink_at(dirfd, "cwd");
	seed_cgroup(p, dirfd);
out:
	free(stat);
	free(status);
	close(dirfd);
	return p;
}

static int is_pid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Link seeded entries to their parents by ppid, once all are in. */
static void seed_link(struct pr_proctab *t, struct pr_proc **seeded, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct pr_proc *p = seeded[i], *parent;

		if (!p->ppid || p->ppid == p->pid)
			continue;
		parent = pr_proctab_find_pid(t, p->ppid);
		if (parent && !parent->exited && parent->start <= p->start)
			proc_link_parent(p, parent);
	}
}

long pr_proctab_seed(struct pr_proctab *t, const char *procfs)
{
	struct pr_proc **seeded = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int procfd, err;
	DIR *dir;

	procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -1;
	dir = fdopendir(procfd);
	if (!dir) {
		close(procfd);
		return -1;
	}
	for (errno = 0; (de = readdir(dir)); errno = 0) {
		struct pr_proc *p;

		if (!is_pid_name(de->d_name))
			continue;
		p = seed_one(t, procfd, de->d_name);
		if (!p)
			continue;
		if (find_precise(t, p->pid, p->start) || find_coarse(t, p->pid, p->start)) {
			proc_free(p);    /* already known */
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			seeded = realloc(seeded, cap * sizeof(*seeded));
			if (!seeded) {
				fprintf(stderr, "polrec: out of memory\n");
				abort();
			}
		}
		seeded[n++] = p;
		table_insert(t, p);
	}
	err = errno;
	closedir(dir);
	seed_link(t, seeded, n);
	free(seeded);
	if (err) {
		errno = err;
		return -1;    /* what was read stays in the table */
	}
	return (long)n;
}

struct pr_proc *pr_proctab_adopt(struct pr_proctab *t, const char *procfs,
				 uint32_t pid, uint64_t start)
{
	struct pr_proc *p, *parent;
	char name[16];
	int procfd;

	p = pr_proctab_lookup(t, pid, start);
	if (p)
		return p;
	procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return pr_proctab_get(t, pid, start);
	snprintf(name, sizeof(name), "%u", pid);
	p = seed_one(t, procfd, name);
	close(procfd);
	/* another process by now (pid reused), or gone: an empty entry */
	if (!p || p->start / t->tick_ns != start / t->tick_ns) {
		if (p)
			proc_free(p);
		return pr_proctab_get(t, pid, start);
	}
	p->start = start;
	p->coarse = 0;
	retire_stale(t, pid, start, 0);
	table_insert(t, p);
	parent = p->ppid ? pr_proctab_find_pid(t, p->ppid) : NULL;
	if (parent && parent != p && !parent->exited && parent->start <= start) {
		proc_link_parent(p, parent);
		p->pstart = parent->start;
	}
	return p;
}

void pr_proctab_foreach(struct pr_proctab *t, void (*fn)(struct pr_proc *p, void *arg), void *arg)
{
	for (size_t b = 0; b < t->nbuckets; b++)
		for (struct pr_proc *p = t->buckets[b]; p; p = p->hnext)
			fn(p, arg);
}
