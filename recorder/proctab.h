/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The process table: every live process on the host, plus exited ones
 * still needed as ancestors of live ones (an exited entry is kept while it
 * has children in the table, so a double-forked daemon keeps the lineage
 * of whoever started it). Identity is (pid, start) where start is the
 * start_boottime in ns. Entries seeded from /proc only know start to the
 * clock tick (USER_HZ); they match a precise start in the same tick and
 * are upgraded on first contact with a kernel event.
 *
 * Not thread-safe: owned by the recorder's event thread.
 */
#ifndef POLREC_PROCTAB_H
#define POLREC_PROCTAB_H

#include <stddef.h>
#include <stdint.h>
#include "probes/events.h"

#define PR_RECENT_MAX 32   /* recent exec/file events kept per process */

struct pr_recent {
	uint64_t time;       /* boot ns */
	uint8_t kind;        /* enum pr_recent_kind */
	char *path;          /* owned */
	char *path2;         /* owned, rename source or NULL */
	struct pr_flow_key *flow; /* owned: a connection's flow, or NULL */
};

enum pr_recent_kind {
	PR_RK_EXEC = 1, PR_RK_WRITE, PR_RK_RENAME, PR_RK_UNLINK,
	PR_RK_CHMOD, PR_RK_CHOWN, PR_RK_TRUNCATE,
	/* network: path = "tcp 127.0.0.1:40000 -> 127.66.0.1:4444", path2 = result */
	PR_RK_CONNECT, PR_RK_ACCEPT, PR_RK_SEND, PR_RK_BIND, PR_RK_LISTEN,
	/* attacks on the recorder: path says what */
	PR_RK_SIGNAL, PR_RK_PTRACE,
};
const char *pr_recent_kind_name(uint8_t k); /* "exec", "write", ... */

struct pr_proc {
	uint32_t pid;
	uint64_t start;          /* start_boottime ns (coarse while seeded) */
	uint32_t ppid;
	uint64_t pstart;
	struct pr_proc *parent;  /* parent at creation, or NULL if unknown */
	unsigned nchildren;      /* entries whose ->parent is this one */
	int coarse;              /* start only known to the tick */
	int exited;
	uint64_t exit_time;      /* boot ns */
	int32_t exit_code;
	uint64_t exec_time;      /* boot ns of the last exec (0: none seen) */
	uint32_t exec_seq;       /* the kernel's exec count of this process (verdicts) */

	/* who and what: the current image (copied from the parent at fork) */
	uint32_t uid, gid, loginuid, sessionid;
	uint64_t cgroup_id;
	char *exe;               /* owned, may be "" */
	char *argv;              /* owned, NUL-separated */
	size_t argv_len;
	uint32_t argc;
	uint32_t flags;          /* PR_F_* of the exec event */
	char *cwd;               /* owned, may be NULL */
	char *cgroup;            /* owned, may be NULL */
	char *container_id;      /* owned, may be NULL */
	char sha256[65];         /* "" when unknown */
	uint64_t exe_dev, exe_ino;
	int64_t exe_mtime_sec;
	uint32_t exe_mtime_nsec;

	struct pr_recent recent[PR_RECENT_MAX]; /* ring */
	uint64_t stored_upto;    /* newest recent event already in an incident */
	unsigned recent_head, recent_count;

	/* after an incident: its new flows belong to that incident until
	 * follow_until (boot ns); follow_token names the incident */
	uint64_t follow_token, follow_until;
	int follow_own;          /* the violator of that incident, not a descendant */
	const void *follow_exp;  /* the expectation it broke (a later break of the
				  * same one within the window joins the incident) */

	struct pr_proc *hnext;   /* hash chain (internal) */
	struct pr_proc *lnext, *lprev; /* exited list (internal) */
};

struct pr_proctab;

/* Allocation of the process table and who caches: zeroed, and running out
 * of memory is fatal (as in redis), since callers have no way to go on. */
void *pr_xcalloc(size_t n, size_t size);

struct pr_proctab *pr_proctab_new(void);
void pr_proctab_free(struct pr_proctab *t);
size_t pr_proctab_count(const struct pr_proctab *t);
/* Call fn for every entry (live and exited); fn must not add or remove
 * entries. */
void pr_proctab_foreach(struct pr_proctab *t, void (*fn)(struct pr_proc *p, void *arg), void *arg);

/* Seed from a procfs tree (normally "/proc"): pid, ppid, start (stat
 * field 22 * 10^9 / USER_HZ, marked coarse), uid/gid (status), loginuid,
 * sessionid, exe (readlink), argv (cmdline), cwd, cgroup (0::/path).
 * Unreadable entries are skipped. Returns the number seeded. Parent links
 * are resolved after all entries are read. */
long pr_proctab_seed(struct pr_proctab *t, const char *procfs);

/* Find (pid, start); a coarse entry matches any start in its tick and is
 * upgraded to the precise value. NULL if unknown. */
struct pr_proc *pr_proctab_lookup(struct pr_proctab *t, uint32_t pid, uint64_t start);
/* The newest entry with that pid (live preferred), or NULL. */
struct pr_proc *pr_proctab_find_pid(struct pr_proctab *t, uint32_t pid);

/* A new process (pid, start) created by (ppid, pstart) at time: it
 * inherits the parent's image (exe, argv, uid, ...). An unknown parent
 * yields a process with parent NULL and ppid/pstart kept. If (pid, start)
 * already exists it is returned unchanged. */
struct pr_proc *pr_proctab_fork(struct pr_proctab *t, uint32_t ppid, uint64_t pstart,
				uint32_t pid, uint64_t start, uint64_t time);

/* A process seen in an event but not in the table (its fork event was
 * lost): read its image from procfs/PID when that is still the same
 * process (same start tick), link it to its parent by ppid when known,
 * and take the precise start. Falls back to pr_proctab_get. */
struct pr_proc *pr_proctab_adopt(struct pr_proctab *t, const char *procfs,
				 uint32_t pid, uint64_t start);

/* Get or create (pid, start) without a parent, e.g. an exec from a
 * process we never saw fork. */
struct pr_proc *pr_proctab_get(struct pr_proctab *t, uint32_t pid, uint64_t start);

/* Replace a string field (takes a copy of len bytes; adds a NUL). */
void pr_proc_set_str(char **field, const char *s, size_t len);
void pr_proc_set_argv(struct pr_proc *p, const char *argv, size_t len, uint32_t argc);

/* Mark exited. The entry is freed by pr_proctab_reap once it has no
 * children left and grace_ns has passed since exit. */
void pr_proctab_exit(struct pr_proctab *t, struct pr_proc *p, int32_t code, uint64_t time);
size_t pr_proctab_reap(struct pr_proctab *t, uint64_t now, uint64_t grace_ns);

/* Memory the process tables hold (entries, strings, recent events). */
size_t pr_proctab_memory(void);
/* Cap it (0 = no cap): pr_proctab_enforce_cap frees exited processes,
 * oldest exit first, before their grace ends (those with live children
 * only lose their recent events) until under the cap; live processes are
 * never dropped. Counted: processes evicted, recent events dropped. */
void pr_proctab_set_cap(struct pr_proctab *t, size_t bytes);
void pr_proctab_enforce_cap(struct pr_proctab *t);
void pr_proctab_cap_stats(const struct pr_proctab *t, uint64_t *evicted, uint64_t *events);
/* The most memory held at any enforcement point (fork, tick). */
size_t pr_proctab_peak(const struct pr_proctab *t);

/* p, its parent at creation, ... up to the root (pid 1 or the oldest
 * known). Returns the count written (at most max). Cycles are impossible
 * by construction but the walk is bounded by max anyway. */
size_t pr_proctab_lineage(struct pr_proc *p, struct pr_proc **out, size_t max);

/* Append to the recent ring (copies the strings; the oldest is dropped). */
void pr_proc_add_recent(struct pr_proc *p, uint64_t time, uint8_t kind,
			const char *path, const char *path2);
/* The same for a connection, with its flow (copied). */
void pr_proc_add_recent_flow(struct pr_proc *p, uint64_t time, uint8_t kind, const char *path,
			     const char *path2, const struct pr_flow_key *flow);
/* The i-th entry of the recent ring, 0 = oldest, recent_count - 1 =
 * newest; NULL when i >= recent_count. recent_head is the next slot
 * written. */
const struct pr_recent *pr_proc_recent_at(const struct pr_proc *p, unsigned i);

/* Device numbers: the probes report the kernel's encoding (major << 20 |
 * minor, as in sb->s_dev; pr_proc.exe_dev holds that, seeding converts to
 * it), stat(2) the user-space dev_t. */
uint64_t pr_dev_from_kernel(uint64_t kdev);
uint64_t pr_dev_to_kernel(uint64_t dev);

/* ---- who (recorder/who.c) ---- */
/* User name of uid from the passwd database, cached. "" when unknown.
 * The returned string lives as long as the process. */
const char *pr_user_name(uint32_t uid);
/* cgroup v2 path ("/system.slice/nginx.service") of a cgroup id, found by
 * scanning cgroup_root (normally "/sys/fs/cgroup"; inode number == id),
 * cached, rescanned on a miss at most once per second. NULL if unknown. */
const char *pr_cgroup_path(uint64_t cgroup_id, const char *cgroup_root);
/* Container id derived from a cgroup path (docker-<64hex>.scope,
 * /docker/<64hex>, cri-containerd-, crio-, libpod-, /kubepods/.../<64hex>):
 * writes the 64-hex id (NUL-terminated) into out[65] and returns 1, or 0. */
int pr_container_id(const char *cgroup_path, char out[65]);
/* SHA-256 (64 lowercase hex + NUL) of an executable, cached by (dev, ino,
 * mtime): computed once per binary. Reads /proc/PID/exe when the process
 * still runs (the exact file even if renamed), else path, and checks the
 * file's (dev, ino) against the key. Returns 0, or -1 (out = ""). */
int pr_exe_sha256(uint32_t pid, const char *path, uint64_t dev, uint64_t ino,
		  int64_t mtime_sec, uint32_t mtime_nsec, char out[65]);
/* Cache statistics for tests: hashes computed, cache hits. */
void pr_exe_sha256_stats(uint64_t *computed, uint64_t *hits);
/* Free the who caches (at exit, and for leak checks in tests). Strings
 * returned earlier by pr_user_name and pr_cgroup_path become invalid. */
void pr_who_cleanup(void);

#endif /* POLREC_PROCTAB_H */
