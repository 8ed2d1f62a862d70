/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The store: DIR/polrec.db (SQLite, WAL) and later DIR/pcap/. polrecd
 * writes through one connection from its writer thread; polq reads with a
 * read-only connection while the recorder writes. All times are ns since
 * the Unix epoch (UTC) unless named *_boot (CLOCK_BOOTTIME ns).
 *
 * Strings are raw bytes, NUL-terminated (paths may hold any byte but NUL,
 * including newlines and invalid UTF-8); argv is NUL-separated with an
 * explicit length. Records returned by readers point into memory owned by
 * the returned object.
 */
#ifndef POLREC_STORE_H
#define POLREC_STORE_H

#include <stddef.h>
#include <stdint.h>

struct pr_store;

enum pr_store_mode {
	PR_STORE_READ = 0,   /* read-only, store must exist */
	PR_STORE_WRITE = 1,  /* create DIR (0700) and polrec.db (0600) if missing, migrate */
};

/* Returns 0, or -1 with a one-line message in err ("DIR: what"). */
int pr_store_open(struct pr_store **out, const char *dir, enum pr_store_mode mode,
		  char *err, size_t errlen);
void pr_store_close(struct pr_store *s);
const char *pr_store_errmsg(struct pr_store *s); /* last error, one line */
int pr_store_schema_version(struct pr_store *s);

/* A process image: identity (pid, start_boot) plus who and what. */
struct pr_proc_rec {
	int64_t id;              /* row id (set by readers) */
	uint32_t pid, ppid;
	uint64_t start_boot;     /* identity: start_boottime ns */
	uint64_t pstart_boot;    /* parent at creation: its start_boottime */
	uint64_t start_time;     /* epoch ns */
	uint32_t uid, gid, loginuid, sessionid;
	const char *user;        /* user name of uid, "" when unknown */
	const char *exe;
	const char *argv;        /* NUL-separated */
	size_t argv_len;
	uint32_t argc;
	uint32_t flags;          /* PR_F_ARGV_TRUNC, PR_F_PATH_TRUNC of exe */
	const char *cwd;
	uint64_t cgroup_id;
	const char *cgroup;      /* cgroup v2 path, "" when unknown */
	const char *container_id;/* "" when none */
	const char *sha256;      /* 64 hex, "" when unknown */
	uint64_t exit_time;      /* 0 while running */
	int32_t exit_code;
};

/* One exec or file event of a process, kept as incident context. */
struct pr_event_rec {
	uint64_t time;           /* epoch ns */
	const char *kind;        /* "exec", "write", "rename", "unlink", "chmod", "chown", "truncate", "fork", "exit" */
	uint32_t pid;
	uint64_t start_boot;
	const char *path;        /* file path, or exe for exec; may be "" */
	const char *path2;       /* rename source, else "" */
	const char *detail;      /* free text, e.g. "flags=O_WRONLY|O_TRUNC" */
};

struct pr_incident_rec {
	int64_t id;              /* set by the store */
	uint64_t time;           /* epoch ns of the violating event */
	const char *policy;      /* expectation name */
	const char *rule;        /* "exec.allow", "exec.deny", "files.writeAllow", "files.protect" */
	const char *severity;    /* low|medium|high|critical */
	const char *kind;        /* "exec" | "file" */
	const char *action;      /* "exec", "write", "rename", ... */
	const char *path;        /* the object: exe executed or file written */
	const char *expected;    /* what the expectation allows/denies */
	const char *actual;      /* what happened, one line */
	struct pr_proc_rec proc; /* the violator, as it was at the violation */
	uint64_t lost_events;    /* ring buffer drops known when it was written */
};

/* ---- writing (polrecd's writer thread) ---- */
int pr_store_begin(struct pr_store *s);   /* BEGIN IMMEDIATE */
int pr_store_commit(struct pr_store *s);
int pr_store_rollback(struct pr_store *s);

/* Upsert by (pid, start_boot); later images (exec) replace exe/argv.
 * Returns the row id, or -1. */
int64_t pr_store_put_process(struct pr_store *s, const struct pr_proc_rec *p);

/* Write an incident: lineage[0] is the violator (same as inc->proc),
 * lineage[n-1] the oldest known ancestor (pid 1 when known). Lineage is a
 * snapshot: each entry is also upserted as a process. events in time
 * order. Returns the incident id, or -1. Call inside begin/commit. */
int64_t pr_store_add_incident(struct pr_store *s, const struct pr_incident_rec *inc,
			      const struct pr_proc_rec *lineage, size_t nlineage,
			      const struct pr_event_rec *events, size_t nevents);

/* A loss record: count events of kind (e.g. "exec", "file") were dropped
 * between from and to (epoch ns), at stage ("kernel-ringbuf", "recorder"). */
int pr_store_add_loss(struct pr_store *s, uint64_t from, uint64_t to,
		      const char *stage, const char *kind, uint64_t count);

/* Recorder lifecycle records (start, stop) for polq stats. */
int pr_store_add_run(struct pr_store *s, uint64_t time, const char *what, const char *detail);

/* ---- reading (polq) ---- */
struct pr_query {
	uint64_t since, until;   /* epoch ns, 0 = unbounded; since <= time < until */
	const char *policy;      /* NULL = any */
	const char *severity;    /* NULL = any */
};

/* Calls cb for each incident matching q, oldest first. inc->proc filled.
 * Returns the number of incidents, or -1 on error. cb returning nonzero stops.
 * q NULL = all; cb NULL = just count. *inc is valid only during the call;
 * cb may call other readers (get_incident, ...) but not list_incidents. */
typedef int (*pr_incident_cb)(const struct pr_incident_rec *inc, void *arg);
long pr_store_list_incidents(struct pr_store *s, const struct pr_query *q,
			     pr_incident_cb cb, void *arg);

struct pr_incident_full {
	struct pr_incident_rec inc;
	struct pr_proc_rec *lineage;  /* [0] = violator ... up to pid 1 */
	size_t nlineage;
	struct pr_event_rec *events;  /* time order */
	size_t nevents;
	void *priv;
};
/* Returns 0, 1 if no such incident, -1 on error. */
int pr_store_get_incident(struct pr_store *s, int64_t id, struct pr_incident_full **out);
void pr_incident_full_free(struct pr_incident_full *f);

/* Processes for `polq tree`. */
struct pr_proc_list {
	struct pr_proc_rec *v;
	size_t n;
	void *priv;
};
/* start_boot == 0: every recorded process with that pid (newest first). */
int pr_store_find_processes(struct pr_store *s, uint32_t pid, uint64_t start_boot,
			    struct pr_proc_list *out);
/* The process, its parent at creation, ... up to the oldest recorded one. */
int pr_store_process_lineage(struct pr_store *s, uint32_t pid, uint64_t start_boot,
			     struct pr_proc_list *out);
/* Recorded processes whose parent at creation is (pid, start_boot). */
int pr_store_process_children(struct pr_store *s, uint32_t pid, uint64_t start_boot,
			      struct pr_proc_list *out);
void pr_proc_list_free(struct pr_proc_list *l);

/* Totals for `polq stats`. */
struct pr_loss_rec {
	uint64_t from, to;
	const char *stage, *kind;
	uint64_t count;
};
struct pr_stats {
	uint64_t incidents, processes, events;
	struct pr_loss_rec *losses;
	size_t nlosses;
	void *priv;
};
int pr_store_stats(struct pr_store *s, struct pr_stats *out);
void pr_stats_free(struct pr_stats *st);

/* Consistency check for `polq verify`: PRAGMA quick_check, or
 * integrity_check when full. Returns 0 when sound, 1 when damaged (the
 * first problem in pr_store_errmsg), -1 when the check could not run. */
int pr_store_check(struct pr_store *s, int full);

/* ---- zstd blobs (schema/blob.c) ---- */
/* Compress src into a malloc'd buffer; returns 0 or -1. */
int pr_blob_pack(const void *src, size_t len, void **out, size_t *outlen);
/* Decompress; refuses output larger than max (a damaged or hostile blob). */
int pr_blob_unpack(const void *src, size_t len, size_t max, void **out, size_t *outlen);

#endif /* POLREC_STORE_H */
