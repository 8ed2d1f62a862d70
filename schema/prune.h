/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The disk budget (schema/prune.c): what the store occupies, pruning the
 * oldest closed incidents with everything they own, the prune records
 * (table prunes) and the budget state (table budget) that `polq stats`
 * shows, and the recorder's keeper that holds --max-store-size, --max-age
 * and --max-pcap-size and rides out a full disk.
 *
 * Closed: the incident's follow window has ended (follow_until + grace <
 * now), or, when the window is unknown (follow_until 0), its time is more
 * than an hour ago. Open incidents are never pruned.
 *
 * Crash safety: one prune step is one transaction (rows, the prune
 * record); the segment files whose every packet row went are unlinked
 * only after it commits. A crash in between leaves files without rows,
 * which the next start removes (pr_store_sweep_segments). Segment ids are
 * never reused (the largest pruned one is kept in the budget row).
 */
#ifndef POLREC_PRUNE_H
#define POLREC_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/store.h"

#define PR_RESERVE_NAME ".polrec-reserve"

enum pr_prune_reason {
	PR_PRUNE_SIZE = 0,       /* --max-store-size */
	PR_PRUNE_AGE,            /* --max-age */
	PR_PRUNE_DISK_FULL,      /* the file system ran out of space */
	PR_PRUNE_PCAP_SIZE,      /* --max-pcap-size: packets only, incidents stay */
	PR_PRUNE__COUNT
};
const char *pr_prune_reason_name(enum pr_prune_reason r);

/* What the store occupies, in bytes (apparent file sizes). */
struct pr_store_usage {
	uint64_t db_bytes;       /* polrec.db: page_count * page_size */
	uint64_t db_free;        /* of which free pages (reused before the file grows) */
	uint64_t wal_bytes;      /* polrec.db-wal + polrec.db-shm */
	uint64_t pcap_bytes;     /* every file in DIR/pcap */
	uint64_t pcap_files;
	uint64_t reserve_bytes;  /* DIR/.polrec-reserve (see pr_budget) */
	uint64_t used;           /* db_bytes - db_free + wal + pcap + reserve */
};
int pr_store_usage(struct pr_store *s, struct pr_store_usage *u);

struct pr_prune_req {
	enum pr_prune_reason reason;
	uint64_t now;            /* epoch ns */
	uint64_t before;         /* only incidents with time < before (0: any) */
	uint64_t grace_ns;       /* closed: follow_until + grace < now */
	size_t max;              /* incidents in this step (0: 256) */
};

struct pr_prune_result {
	uint64_t incidents;      /* removed (pcap-size: whose packets were removed) */
	int64_t first_id, last_id;
	uint64_t packets, segments, processes;
	uint64_t bytes;          /* freed: database pages + segment files */
};

/* One prune step, one transaction (WRITE mode, outside a transaction).
 * The oldest closed incidents (by id), at most max, with their snapshots,
 * lineage, events, network side, flows and packet index rows (pcap-size:
 * only their packet rows); packet rows no flow owns in the segments
 * touched; closed segments left without packets (rows, then files after
 * the commit); processes no snapshot refers to; a prunes row. Returns 1
 * when something was pruned, 0 when nothing qualified, -1 on error. */
int pr_store_prune(struct pr_store *s, const struct pr_prune_req *req,
		   struct pr_prune_result *res);

/* Start-up (WRITE mode): remove seg-N.pcap files that no pcap_segments row
 * names (a crash between a prune's commit and its unlinks), and never hand
 * out a segment id a prune removed. */
int pr_store_sweep_segments(struct pr_store *s, unsigned *removed);

/* Checkpoint the WAL and truncate it, unless a reader holds it (then as
 * much as possible without waiting). 0 done, 1 readers blocked it, -1. */
int pr_store_wal_truncate(struct pr_store *s);

/* ---- budget state (polq stats) ---- */
struct pr_budget_info {
	bool available;          /* the store has the budget tables (schema 5) */
	uint64_t max_store, max_age_ns, max_pcap; /* 0 = unlimited */
	uint64_t disk_full_since;/* epoch ns, 0 = writing normally */
	uint64_t updated;        /* when polrecd last wrote the state */
	uint64_t prunes, incidents, bytes;       /* all prune records */
	uint64_t by_reason[PR_PRUNE__COUNT];      /* prune records by reason */
	uint64_t last_time;      /* the latest prune record */
	char last_reason[16];
	int64_t last_first_id, last_last_id;
	uint64_t last_incidents, last_bytes;
	struct pr_store_usage usage;
};
int pr_store_budget_info(struct pr_store *s, struct pr_budget_info *out);

/* ---- the recorder's keeper (polrecd's writer thread only) ---- */
struct pr_budget_cfg {
	uint64_t max_store;      /* bytes, 0 = unlimited */
	uint64_t max_age_ns;     /* 0 = unlimited */
	uint64_t max_pcap;       /* bytes, 0 = unlimited */
	void (*log)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};
struct pr_budget;

/* Sweeps stray segments, sizes segments and the WAL to the budget,
 * creates the reserve, stores the limits. NULL on error (logged). */
struct pr_budget *pr_budget_new(struct pr_store *s, const struct pr_budget_cfg *cfg);
void pr_budget_free(struct pr_budget *b);
/* Bytes of queued jobs one transaction should take (0: no limit). */
size_t pr_budget_batch_bytes(const struct pr_budget *b);
/* Between batches: the size budgets after every batch; the age budget,
 * and recovery from a full disk, at most every second. */
void pr_budget_tick(struct pr_budget *b, uint64_t now);
/* The store's last error says the disk (or quota) is full. */
bool pr_budget_full_error(struct pr_store *s);
/* A write failed for lack of space: log (rate-limited), enter the
 * disk-full state, give up the reserve, prune the oldest closed incidents
 * to make room. Returns whether anything was freed. */
bool pr_budget_disk_full(struct pr_budget *b, uint64_t now);
/* A transaction is open on the store (SQLite may roll one back by itself
 * after a full disk or an I/O error). */
bool pr_store_in_transaction(struct pr_store *s);
/* What the budget pruned since it started, by reason (every prune step;
 * pcap-size: incidents whose packets went). Zeros for NULL. */
void pr_budget_pruned(const struct pr_budget *b, uint64_t incidents[PR_PRUNE__COUNT],
		      uint64_t bytes[PR_PRUNE__COUNT]);
/* Currently in the disk-full state: since when (0 = not). */
uint64_t pr_budget_full_since(const struct pr_budget *b);

#endif /* POLREC_PRUNE_H */
