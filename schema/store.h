/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The store: DIR/polrec.db (SQLite, WAL) and DIR/pcap/ (packet segments,
 * classic pcap files written with libpcap, indexed in SQLite). polrecd
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pr_store;

enum pr_store_mode {
	PR_STORE_READ = 0,   /* read-only, store must exist; an older schema is read
			      * as it is (version 1: no network side, flows, packets;
			      * versions 1 and 2: every event marked context (the
			      * renderers find the violating one), follow_until 0,
			      * violations 1) */
	PR_STORE_WRITE = 1,  /* create DIR (0700) and polrec.db (0600) if missing, migrate,
			      * finish pcap segments a crash left open */
};

/* Returns 0, or -1 with a one-line message in err ("DIR: what"). */
int pr_store_open(struct pr_store **out, const char *dir, enum pr_store_mode mode,
		  char *err, size_t errlen);
/* WRITE mode: finishes the open pcap segment (renamed, closed). */
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

/* What an event is to its incident (struct pr_event_rec.mark). */
enum pr_event_mark {
	PR_MARK_CONTEXT = 0,     /* before or after the violation (the family's activity) */
	PR_MARK_VIOLATION = 1,   /* the incident's violating event */
	PR_MARK_JOINED = 2,      /* a later violation of the same process, within the
				  * follow window, that joined the incident */
};

/* One exec, file or connection event of a process of the violator's
 * family, kept as incident context (before the violation) or collected
 * during the follow window (after it). */
struct pr_event_rec {
	uint64_t time;           /* epoch ns */
	const char *kind;        /* "exec", "write", "rename", "unlink", "chmod", "chown", "truncate", "fork", "exit" */
	uint32_t pid;
	uint64_t start_boot;
	const char *path;        /* file path, or exe for exec; may be "" */
	const char *path2;       /* rename source, else "" */
	const char *detail;      /* free text, e.g. "flags=O_WRONLY|O_TRUNC" */
	int mark;                /* enum pr_event_mark: writers set it, readers fill it
				  * (relative to the incident read; 0 in old rows) */
};

/* The network side of a "network" incident. */
struct pr_net_rec {
	const char *direction;   /* "egress" | "ingress" */
	const char *protocol;    /* "tcp" | "udp" */
	const char *src;         /* address text, e.g. "127.0.0.1", "::1" */
	uint16_t sport;
	const char *dst;
	uint16_t dport;
	const char *result;      /* "ok", "in-progress", "ECONNREFUSED", ... */
	uint64_t flow_id;        /* the violating flow's packets, 0 when none were captured */
};

struct pr_incident_rec {
	int64_t id;              /* set by the store */
	uint64_t time;           /* epoch ns of the violating event */
	const char *policy;      /* expectation name */
	const char *rule;        /* "exec.allow", "exec.deny", "files.writeAllow", "files.protect" */
	const char *severity;    /* low|medium|high|critical */
	const char *kind;        /* "exec" | "file" | "network" */
	const char *action;      /* "exec", "write", "rename", ... */
	const char *path;        /* the object: exe executed or file written */
	const char *expected;    /* what the expectation allows/denies */
	const char *actual;      /* what happened, one line */
	struct pr_proc_rec proc; /* the violator, as it was at the violation */
	uint64_t lost_events;    /* ring buffer drops known when it was written */
	uint64_t follow_until;   /* epoch ns: end of the follow window, 0 = unknown */
	uint32_t violations;     /* 1 + joined violations; set by the store (writers'
				  * value is ignored), filled by readers */
	/* kind "network": required; any other kind: must be NULL. Readers
	 * fill it for network incidents (memory owned by the reader). */
	const struct pr_net_rec *net;
	/* When and by what it was judged (schema 6). Writers set boot_time
	 * (CLOCK_BOOTTIME ns of the violating event; 0 = when written) and
	 * policy_sha256 (the version in force, as given to
	 * pr_store_add_policy_version; NULL = unknown); the store adds its own
	 * boot id. pr_store_get_incident fills all four; older stores and the
	 * list reader leave them NULL / 0. */
	uint64_t boot_time;
	const char *policy_sha256;
	const char *boot_id;
	int64_t policy_version;  /* policy_versions id, 0 = unknown */
};

/* A flow whose packets belong to an incident. */
struct pr_flow_rec {
	uint64_t flow_id;        /* unique in the store (the recorder guarantees it), not 0 */
	int64_t incident_id;
	uint64_t time;           /* epoch ns, when the flow was seen first */
	const char *role;        /* "violation" | "follow" */
	const char *protocol;    /* "tcp" | "udp" */
	const char *local;       /* address text */
	uint16_t lport;
	const char *remote;
	uint16_t rport;
	uint32_t pid;            /* the process that owns the flow */
	uint64_t start_boot;
	const char *exe;         /* its executable, for pcapng comments */
	/* filled by readers: */
	uint64_t packets, bytes; /* bytes = sum of original lengths */
	const uint8_t *head;     /* first payload bytes (after the TCP/UDP header) of
				  * the first packets that carry any, up to PR_FLOW_HEAD_MAX */
	size_t head_len;
};
#define PR_FLOW_HEAD_MAX 64

/* One packet snippet: starts at the IP header (LINKTYPE_RAW, v4 or v6). */
struct pr_packet_rec {
	uint64_t flow_id;
	uint64_t time;           /* epoch ns */
	uint32_t len;            /* original length */
	uint32_t caplen;         /* bytes in data, <= len and <= PR_STORE_SNAPLEN */
	uint8_t dir;             /* 0 = ingress (received), 1 = egress (sent) */
	const uint8_t *data;     /* from the IP header */
};
#define PR_STORE_SNAPLEN 65535
#define PR_SEGMENT_BYTES_DEFAULT (64ull << 20)

/* ---- writing (polrecd's writer thread) ---- */
int pr_store_begin(struct pr_store *s);   /* BEGIN IMMEDIATE */
int pr_store_commit(struct pr_store *s);  /* fdatasyncs the pcap segment first */
int pr_store_rollback(struct pr_store *s);

/* Upsert by (pid, start_boot); later images (exec) replace exe/argv.
 * Returns the row id, or -1. */
int64_t pr_store_put_process(struct pr_store *s, const struct pr_proc_rec *p);

/* Write an incident: lineage[0] is the violator (same as inc->proc),
 * lineage[n-1] the oldest known ancestor (pid 1 when known). Lineage is a
 * snapshot: each entry is also upserted as a process. events in time
 * order, each with its mark (at most one PR_MARK_VIOLATION; events of
 * other processes of the family carry their own pid/start_boot). Stores
 * inc->follow_until; violations becomes 1 + the events marked
 * PR_MARK_JOINED. Returns the incident id, or -1. Call inside
 * begin/commit. */
int64_t pr_store_add_incident(struct pr_store *s, const struct pr_incident_rec *inc,
			      const struct pr_proc_rec *lineage, size_t nlineage,
			      const struct pr_event_rec *events, size_t nevents);

/* Append events to an incident written earlier (or in this transaction),
 * e.g. what the violator and its descendants did during the follow
 * window, or a joined violation (PR_MARK_JOINED). Their seq continues
 * after the incident's current last; incidents.violations grows by the
 * number of events marked PR_MARK_JOINED. PR_MARK_VIOLATION is refused
 * (the violating event is written with the incident). All or nothing.
 * Inside begin/commit. Returns 0, or -1 (an unknown incident id, a bad
 * mark, a database error) with a one-line error. */
int pr_store_append_events(struct pr_store *s, int64_t incident_id,
			   const struct pr_event_rec *ev, size_t n);

/* A flow of an incident written earlier (or in this transaction). Inside
 * begin/commit. Returns 0 or -1 (e.g. a flow id already stored). */
int pr_store_add_flow(struct pr_store *s, const struct pr_flow_rec *f);

/* Append packets to the current pcap segment (DIR/pcap/.seg-<id>.pcap.part,
 * created on first use) and index them. Inside begin/commit; the flows must
 * have been added. The records are written and flushed to the file before
 * this returns; pr_store_commit fdatasyncs the segment before it commits,
 * so a committed index row never points past the file's end. All or
 * nothing: on error no row of this call stays and the segment is finished
 * (the next call starts a new one). A segment that reaches the rotation
 * size is finished and renamed to DIR/pcap/seg-<id>.pcap. */
int pr_store_add_packets(struct pr_store *s, const struct pr_packet_rec *p, size_t n);
/* Rotation size in bytes (default PR_SEGMENT_BYTES_DEFAULT); 0 = default. */
void pr_store_set_segment_bytes(struct pr_store *s, uint64_t bytes);

/* What WRITE-mode open found in DIR/pcap/ after a crash: segments left
 * open (closed and renamed now; their packets stay readable) and hidden
 * temporary files nobody indexed (removed). Also stored as a run record
 * "pcap-recovery" when either is nonzero. */
struct pr_pcap_recovery {
	unsigned int closed, removed;
};
void pr_store_pcap_recovery(struct pr_store *s, struct pr_pcap_recovery *out);

/* A loss record: count events of kind (e.g. "exec", "file") were dropped
 * between from and to (epoch ns), at stage ("kernel-ringbuf", "recorder"). */
int pr_store_add_loss(struct pr_store *s, uint64_t from, uint64_t to,
		      const char *stage, const char *kind, uint64_t count);

/* Recorder lifecycle records (start, stop) for polq stats. */
int pr_store_add_run(struct pr_store *s, uint64_t time, const char *what, const char *detail);

/* A policy version in force from time (epoch ns): sha256 (64 hex digits)
 * over its sources, source (the files, or "(default)"), its number of
 * expectations and its text (stored compressed). The same sha256 again
 * returns the existing row's id. Returns the id, or -1. Incidents name it
 * by pr_incident_rec.policy_sha256. */
int64_t pr_store_add_policy_version(struct pr_store *s, uint64_t time, const char *sha256,
				    const char *source, uint32_t expectations,
				    const void *text, size_t len);

/* The policy versions stored, oldest first (schema 6; older stores have
 * none). text is filled only by pr_store_get_policy_version. */
struct pr_policy_version {
	int64_t id;
	uint64_t time;
	const char *boot_id;
	const char *sha256;
	const char *source;
	uint32_t expectations;
	uint64_t incidents;      /* incidents that name it */
	const char *text;        /* NUL-terminated */
	size_t text_len;
};
struct pr_policy_list {
	struct pr_policy_version *v;
	size_t n;
	void *priv;
};
int pr_store_policy_versions(struct pr_store *s, struct pr_policy_list *out);
/* One version with its text: 0, 1 when there is no such version, -1. */
int pr_store_get_policy_version(struct pr_store *s, int64_t id, struct pr_policy_list *out);
void pr_policy_list_free(struct pr_policy_list *l);

/* ---- reading (polq) ---- */
struct pr_query {
	uint64_t since, until;   /* epoch ns, 0 = unbounded; since <= time < until */
	const char *policy;      /* NULL = any */
	const char *severity;    /* NULL = any */
	/* polq -f, -r: ids are AUTOINCREMENT and committed in order by the
	 * one writer, so after_id < id <= upto_id splits the store exactly */
	int64_t after_id;        /* only ids above it; 0 = any */
	int64_t upto_id;         /* only ids up to it; 0 = any */
	enum pr_order {
		PR_ORDER_TIME,   /* oldest first: time, then id */
		PR_ORDER_TIME_DESC, /* newest first (polq -r, -n) */
		PR_ORDER_ID,     /* commit order (polq -f: a round cut short
				  * by an error resumes after the last id seen) */
	} order;
};

/* The highest incident id in the store (0 when none): polq -f follows
 * from there. 0 or -1. */
int pr_store_max_incident_id(struct pr_store *s, int64_t *id);

/* Calls cb for each incident matching q in q->order (default oldest
 * first). inc->proc filled.
 * Returns the number of incidents, or -1 on error. cb returning nonzero stops.
 * q NULL = all; cb NULL = just count. *inc is valid only during the call;
 * cb may call other readers (get_incident, ...) but not list_incidents. */
typedef int (*pr_incident_cb)(const struct pr_incident_rec *inc, void *arg);
long pr_store_list_incidents(struct pr_store *s, const struct pr_query *q,
			     pr_incident_cb cb, void *arg);

/* A loss record: count events of kind were dropped in [from, to] at stage. */
struct pr_loss_rec {
	uint64_t from, to;
	const char *stage, *kind;
	uint64_t count;
};

struct pr_incident_full {
	struct pr_incident_rec inc;
	struct pr_proc_rec *lineage;  /* [0] = violator ... up to pid 1 */
	size_t nlineage;
	struct pr_event_rec *events;  /* time order */
	size_t nevents;
	struct pr_flow_rec *flows;    /* the incident's flows (first seen first), with
				       * packets, bytes and head filled */
	size_t nflows;
	/* Loss records whose [from, to] overlaps the incident's window
	 * [time - PR_GAP_BEFORE_NS, max(follow_until, time)], oldest first:
	 * every gap in what was recorded around it is visible. */
	struct pr_loss_rec *gaps;
	size_t ngaps;
	void *priv;
};
#define PR_GAP_BEFORE_NS (5 * 60 * 1000000000ull)

/* events: the incident's own events (marks as stored) plus the
 * violator's latest events stored with earlier incidents up to its time
 * (marked context here), in time order; an event stored twice (same pid,
 * start_boot, time, kind, path) comes once, with the highest mark.
 * Returns 0, 1 if no such incident, -1 on error. */
int pr_store_get_incident(struct pr_store *s, int64_t id, struct pr_incident_full **out);
void pr_incident_full_free(struct pr_incident_full *f);

/* The incident's flows, first seen first, packets/bytes/head filled.
 * 0 (an unknown incident has none), or -1. A version-1 store has none. */
struct pr_flow_list {
	struct pr_flow_rec *v;
	size_t n;
	void *priv;
};
int pr_store_incident_flows(struct pr_store *s, int64_t incident_id, struct pr_flow_list *out);
void pr_flow_list_free(struct pr_flow_list *l);

/* Every packet of the incident's flows in time order (ties: the order they
 * were added). p->data and f are valid during the call. Each record is read
 * from its segment and checked against the index (time, caplen, len); an
 * inconsistency stops with -1 and an error naming segment and offset.
 * cb nonzero stops. Returns the number of packets passed to cb, or -1. */
typedef int (*pr_packet_cb)(const struct pr_packet_rec *p, const struct pr_flow_rec *f,
			    void *arg);
long pr_store_incident_packets(struct pr_store *s, int64_t incident_id, pr_packet_cb cb,
			       void *arg);

/* Every recorded event (of any incident) with since <= time < until
 * (0 = unbounded), in time order (ties: pid, start_boot, kind, path).
 * pid 0: every process; else only that pid, and with start_boot != 0 only
 * that process. An event stored with several incidents comes once
 * (dedupe on pid, start_boot, time, kind, path): the row with the highest
 * mark, then the oldest incident, whose id is passed as incident_id.
 * e->mark is relative to that incident. *e is valid only during the call;
 * cb may call other readers but not pr_store_timeline. cb nonzero stops.
 * Returns the number of events passed to cb (cb NULL: counted), or -1. */
typedef int (*pr_event_cb)(const struct pr_event_rec *e, int64_t incident_id, void *arg);
long pr_store_timeline(struct pr_store *s, uint64_t since, uint64_t until, uint32_t pid,
		       uint64_t start_boot, pr_event_cb cb, void *arg);
/* The same events newest first (exactly the reverse order, the same row
 * kept of each repeated event): polq timeline -r and -n. */
long pr_store_timeline_rev(struct pr_store *s, uint64_t since, uint64_t until, uint32_t pid,
			   uint64_t start_boot, pr_event_cb cb, void *arg);

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

/* Totals for `polq stats` (losses: every loss record, oldest first). */
struct pr_stats {
	uint64_t incidents, processes, events;
	uint64_t flows, packets;
	uint64_t pcap_segments, pcap_bytes; /* segment files and their bytes */
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

/* Tamper evidence (schema/chain.h has the chain itself and polq verify).
 * For pruning: call after deleting whole records (incidents with their
 * events and flows, packet rows of whole pr_store_add_packets calls,
 * segments, losses, runs) and inserting the prune row prune_id (0: none),
 * inside the same transaction. Marks every chain record whose rows are
 * gone as removed by the new 'prune' record, which covers that list (and
 * its row in a table named prunes, when there is one). 0 or -1. */
int pr_store_chain_prune(struct pr_store *s, int64_t prune_id);

/* ---- zstd blobs (schema/blob.c) ---- */
/* Compress src into a malloc'd buffer; returns 0 or -1. */
int pr_blob_pack(const void *src, size_t len, void **out, size_t *outlen);
/* Decompress; refuses output larger than max (a damaged or hostile blob). */
int pr_blob_unpack(const void *src, size_t len, size_t max, void **out, size_t *outlen);

#endif /* POLREC_STORE_H */
