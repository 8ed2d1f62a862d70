// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The disk budget: size accounting, prune steps, the start-up sweep of
 * segment files, the budget state, and the recorder's keeper (see
 * schema/prune.h).
 *
 * A prune step is one transaction on the writer's connection. The
 * incidents to remove go into a TEMP table (temp_store = MEMORY, so
 * nothing of it reaches the disk or the WAL); their flows, the segments
 * their packets sit in and the processes their snapshots name likewise.
 * Deleting an incident row cascades (ON DELETE CASCADE) to proc_images,
 * incident_lineage, incident_events, incident_network and flows; packets
 * are not foreign keys (a flow's first packets reach the writer before the
 * event naming its incident) and are deleted explicitly, first.
 *
 * Freed database pages go to SQLite's freelist and are reused before the
 * file grows, so no VACUUM is needed; "used" counts the file minus its
 * free pages. The WAL is checkpointed and truncated after pruning when no
 * reader holds it (else checkpointed as far as possible; the next prune
 * tries again), and journal_size_limit bounds what a reset WAL keeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "schema/pcapseg.h"
#include "schema/prune.h"
#include "schema/store_int.h"

#define NS_PER_S            1000000000ull
#define PR_BUDGET_SCHEMA    5            /* first version with prunes and budget */
#define UNKNOWN_FOLLOW_NS   (3600ull * NS_PER_S) /* follow_until 0: closed after 1 h */
#define CLOSE_GRACE_NS      (1ull * NS_PER_S)    /* follow events still queued */
#define ORPHAN_AGE_NS       (60ull * NS_PER_S)   /* packets no flow claimed */
#define STEP_MAX            512
#define STEP_DEFAULT        64
#define LOG_EVERY_NS        (10ull * NS_PER_S)
#define MiB                 (1ull << 20)

static const char *const reason_names[PR_PRUNE__COUNT] = {
	[PR_PRUNE_SIZE] = "size",
	[PR_PRUNE_AGE] = "age",
	[PR_PRUNE_DISK_FULL] = "disk-full",
	[PR_PRUNE_PCAP_SIZE] = "pcap-size",
};

const char *pr_prune_reason_name(enum pr_prune_reason r)
{
	return (unsigned)r < PR_PRUNE__COUNT ? reason_names[r] : "?";
}

/* ---- small SQL helpers ---- */

__attribute__((format(printf, 2, 3)))
static int fail(struct pr_store *s, const char *fmt, ...)
{
	char m[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	pr_store_set_error(s, m);
	return -1;
}

static int db_fail(struct pr_store *s, const char *what)
{
	return fail(s, "%s: %s", what, sqlite3_errmsg(pr_store_sqlite(s)));
}

/* Run sql with int64 parameters ?1..?np; every row's first column goes to
 * *out when out (the last one wins). *changes: rows changed. */
static int q(struct pr_store *s, const char *sql, const int64_t *p, int np, int64_t *out,
	     int64_t *changes, const char *what)
{
	sqlite3 *db = pr_store_sqlite(s);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, what);
	for (int i = 0; i < np; i++)
		sqlite3_bind_int64(st, i + 1, p[i]);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (out)
			*out = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE) {
		db_fail(s, what);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	if (changes)
		*changes = sqlite3_changes(db);
	return 0;
}

static int q0(struct pr_store *s, const char *sql, const char *what)
{
	return q(s, sql, NULL, 0, NULL, NULL, what);
}

static int64_t i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static bool has_budget_tables(struct pr_store *s)
{
	return pr_store_schema_version(s) >= PR_BUDGET_SCHEMA;
}

/* ---- usage ---- */

static uint64_t file_size(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    lstat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

static void pcap_usage(struct pr_store *s, struct pr_store_usage *u)
{
	DIR *d = opendir(pr_store_pcap_dir(s));
	struct dirent *e;
	struct stat st;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		u->pcap_bytes += (uint64_t)st.st_size;
		u->pcap_files++;
	}
	closedir(d);
}

int pr_store_usage(struct pr_store *s, struct pr_store_usage *u)
{
	int64_t psize = 0, pages = 0, freep = 0;

	memset(u, 0, sizeof(*u));
	if (q(s, "PRAGMA page_size", NULL, 0, &psize, NULL, "usage") ||
	    q(s, "PRAGMA page_count", NULL, 0, &pages, NULL, "usage") ||
	    q(s, "PRAGMA freelist_count", NULL, 0, &freep, NULL, "usage"))
		return -1;
	u->db_bytes = (uint64_t)pages * (uint64_t)psize;
	u->db_free = (uint64_t)freep * (uint64_t)psize;
	u->wal_bytes = file_size(pr_store_dir(s), "polrec.db-wal") +
		       file_size(pr_store_dir(s), "polrec.db-shm");
	u->reserve_bytes = file_size(pr_store_dir(s), PR_RESERVE_NAME);
	pcap_usage(s, u);
	if (u->db_free > u->db_bytes)
		u->db_free = u->db_bytes;
	u->used = u->db_bytes - u->db_free + u->wal_bytes + u->pcap_bytes + u->reserve_bytes;
	return 0;
}

/* ---- one prune step ---- */

static const char *const temp_tables =
	"PRAGMA temp_store = MEMORY;"
	"CREATE TEMP TABLE IF NOT EXISTS pr_prune_ids (id INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE IF NOT EXISTS pr_prune_flows (flow_id INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE IF NOT EXISTS pr_prune_segs (id INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE IF NOT EXISTS pr_prune_procs (id INTEGER PRIMARY KEY);";

static int temp_ready(struct pr_store *s)
{
	char *msg = NULL;

	if (sqlite3_exec(pr_store_sqlite(s), temp_tables, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	fail(s, "prune: temp tables: %s", msg ? msg : "?");
	sqlite3_free(msg);
	return -1;
}

#define CLOSED_WHERE                                                          \
	" ((follow_until != 0 AND follow_until < ?1) OR"                      \
	"  (follow_until = 0 AND time < ?2)) AND (?3 = 0 OR time < ?3)"

/* The oldest closed incidents into pr_prune_ids. */
static int pick(struct pr_store *s, const struct pr_prune_req *r, bool pcap_only)
{
	int64_t p[4] = {
		i64(r->now > r->grace_ns ? r->now - r->grace_ns : 0),
		i64(r->now > UNKNOWN_FOLLOW_NS ? r->now - UNKNOWN_FOLLOW_NS : 0),
		i64(r->before), (int64_t)(r->max ? r->max : STEP_DEFAULT),
	};

	if (pcap_only)
		return q(s, "INSERT INTO temp.pr_prune_ids (id) SELECT id FROM incidents WHERE"
			 CLOSED_WHERE " AND id IN (SELECT f.incident_id FROM flows f WHERE EXISTS"
			 " (SELECT 1 FROM packets k WHERE k.flow_id = f.flow_id))"
			 " ORDER BY id LIMIT ?4", p, 4, NULL, NULL, "prune: pick");
	return q(s, "INSERT INTO temp.pr_prune_ids (id) SELECT id FROM incidents WHERE"
		 CLOSED_WHERE " ORDER BY id LIMIT ?4", p, 4, NULL, NULL, "prune: pick");
}

struct step_info {
	int64_t n, first, last, newest;
};

static int step_info(struct pr_store *s, struct step_info *si)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(pr_store_sqlite(s),
			       "SELECT count(*), coalesce(min(p.id), 0), coalesce(max(p.id), 0),"
			       " coalesce(max(i.time), 0) FROM temp.pr_prune_ids p"
			       " JOIN incidents i ON i.id = p.id", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "prune: info");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		si->n = sqlite3_column_int64(st, 0);
		si->first = sqlite3_column_int64(st, 1);
		si->last = sqlite3_column_int64(st, 2);
		si->newest = sqlite3_column_int64(st, 3);
	} else {
		db_fail(s, "prune: info");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Packet rows of the picked incidents' flows, then rows no flow owns in
 * the segments touched (and older closed ones). */
static int drop_packets(struct pr_store *s, int64_t orphan_before, int64_t *npackets)
{
	int64_t n1 = 0, n2 = 0, p[2] = { orphan_before, pr_store_open_segment(s) };

	if (q0(s, "INSERT OR IGNORE INTO temp.pr_prune_flows (flow_id) SELECT flow_id FROM flows"
	       " WHERE incident_id IN (SELECT id FROM temp.pr_prune_ids)", "prune: flows") ||
	    q0(s, "INSERT OR IGNORE INTO temp.pr_prune_flows (flow_id) SELECT flow_id"
	       " FROM incident_network WHERE incident_id IN (SELECT id FROM temp.pr_prune_ids)"
	       " AND flow_id != 0", "prune: flows") ||
	    q0(s, "INSERT OR IGNORE INTO temp.pr_prune_segs (id) SELECT DISTINCT segment_id"
	       " FROM packets WHERE flow_id IN (SELECT flow_id FROM temp.pr_prune_flows)",
	       "prune: segments") ||
	    q(s, "DELETE FROM packets WHERE flow_id IN (SELECT flow_id FROM temp.pr_prune_flows)",
	      NULL, 0, NULL, &n1, "prune: packets") ||
	    q(s, "INSERT OR IGNORE INTO temp.pr_prune_segs (id) SELECT id FROM pcap_segments"
	      " WHERE id != ?2 AND id < (SELECT coalesce(max(id), 0)"
	      " FROM temp.pr_prune_segs)", p, 2, NULL, NULL, "prune: segments") ||
	    q(s, "DELETE FROM packets WHERE segment_id IN (SELECT id FROM temp.pr_prune_segs)"
	      " AND time < ?1 AND NOT EXISTS (SELECT 1 FROM flows f WHERE f.flow_id = packets.flow_id)",
	      p, 1, NULL, &n2, "prune: unowned packets"))
		return -1;
	*npackets = n1 + n2;
	return 0;
}

/* Closed segments of pr_prune_segs without packets: their ids (malloc'd),
 * their rows deleted. */
static int drop_segments(struct pr_store *s, int64_t **ids, size_t *nids)
{
	int64_t p[1] = { pr_store_open_segment(s) };
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*nids = 0;
	/* not the segment being written; one a failed write left 'open' is done */
	if (q(s, "DELETE FROM temp.pr_prune_segs WHERE id = ?1 OR id NOT IN"
	      " (SELECT id FROM pcap_segments) OR EXISTS"
	      " (SELECT 1 FROM packets k WHERE k.segment_id = pr_prune_segs.id)",
	      p, 1, NULL, NULL, "prune: segments"))
		return -1;
	if (sqlite3_prepare_v2(pr_store_sqlite(s), "SELECT id FROM temp.pr_prune_segs ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "prune: segments");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*nids == cap) {
			int64_t *v = realloc(*ids, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!v) {
				sqlite3_finalize(st);
				return fail(s, "prune: out of memory");
			}
			*ids = v;
		}
		(*ids)[(*nids)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "prune: segments");
	if (!*nids)
		return 0;
	return q0(s, "UPDATE budget SET max_segment = max(max_segment,"
		  " (SELECT max(id) FROM temp.pr_prune_segs))", "prune: segments") ||
	       q0(s, "DELETE FROM pcap_segments WHERE id IN (SELECT id FROM temp.pr_prune_segs)",
		  "prune: segments") ? -1 : 0;
}

static uint64_t segment_file_bytes(struct pr_store *s, int64_t id)
{
	char path[PATH_MAX];
	struct stat st;

	if (pr_seg_path(path, sizeof(path), pr_store_pcap_dir(s), id, false) ||
	    lstat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

static int record(struct pr_store *s, const struct pr_prune_req *r,
		  const struct pr_prune_result *res)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(pr_store_sqlite(s),
			       "INSERT INTO prunes (time, reason, incidents, first_id, last_id,"
			       " packets, segments, processes, bytes, boot_id, boot_time)"
			       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(s, "prune: record");
	sqlite3_bind_int64(st, 1, i64(r->now));
	sqlite3_bind_text(st, 2, pr_prune_reason_name(r->reason), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, i64(res->incidents));
	sqlite3_bind_int64(st, 4, res->first_id);
	sqlite3_bind_int64(st, 5, res->last_id);
	sqlite3_bind_int64(st, 6, i64(res->packets));
	sqlite3_bind_int64(st, 7, i64(res->segments));
	sqlite3_bind_int64(st, 8, i64(res->processes));
	sqlite3_bind_int64(st, 9, i64(res->bytes));
	sqlite3_bind_text(st, 10, pr_store_boot_id(s), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, i64(pr_store_boottime_ns()));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "prune: record");
}

static int prune_tx(struct pr_store *s, const struct pr_prune_req *r,
		    struct pr_prune_result *res, int64_t **segs, size_t *nsegs)
{
	bool pcap_only = r->reason == PR_PRUNE_PCAP_SIZE;
	int64_t psize = 0, free0 = 0, free1 = 0, np = 0, nproc = 0, orphan_before;
	struct step_info si = { 0 };

	if (q0(s, "DELETE FROM temp.pr_prune_ids", "prune") ||
	    q0(s, "DELETE FROM temp.pr_prune_flows", "prune") ||
	    q0(s, "DELETE FROM temp.pr_prune_segs", "prune") ||
	    q0(s, "DELETE FROM temp.pr_prune_procs", "prune") ||
	    q(s, "PRAGMA page_size", NULL, 0, &psize, NULL, "prune") ||
	    q(s, "PRAGMA freelist_count", NULL, 0, &free0, NULL, "prune") ||
	    pick(s, r, pcap_only) || step_info(s, &si))
		return -1;
	if (!si.n)
		return 0;
	res->incidents = (uint64_t)si.n;
	res->first_id = si.first;
	res->last_id = si.last;
	orphan_before = si.newest;
	if (r->now > ORPHAN_AGE_NS && orphan_before > (int64_t)(r->now - ORPHAN_AGE_NS))
		orphan_before = (int64_t)(r->now - ORPHAN_AGE_NS);
	if (drop_packets(s, orphan_before, &np))
		return -1;
	res->packets = (uint64_t)np;
	if (!pcap_only &&
	    (q0(s, "INSERT OR IGNORE INTO temp.pr_prune_procs (id) SELECT process_id FROM proc_images"
		" WHERE incident_id IN (SELECT id FROM temp.pr_prune_ids) AND process_id IS NOT NULL",
		"prune: processes") ||
	     q0(s, "DELETE FROM incidents WHERE id IN (SELECT id FROM temp.pr_prune_ids)",
		"prune: incidents") ||
	     q(s, "DELETE FROM processes WHERE id IN (SELECT id FROM temp.pr_prune_procs)"
	       " AND NOT EXISTS (SELECT 1 FROM proc_images i WHERE i.process_id = processes.id)",
	       NULL, 0, NULL, &nproc, "prune: processes")))
		return -1;
	res->processes = (uint64_t)nproc;
	if (drop_segments(s, segs, nsegs))
		return -1;
	res->segments = *nsegs;
	for (size_t i = 0; i < *nsegs; i++)
		res->bytes += segment_file_bytes(s, (*segs)[i]);
	if (q(s, "PRAGMA freelist_count", NULL, 0, &free1, NULL, "prune"))
		return -1;
	if (free1 > free0)
		res->bytes += (uint64_t)(free1 - free0) * (uint64_t)psize;
	/* the hash chain marks the records whose rows went (schema/chain.c) */
	if (record(s, r, res) ||
	    pr_store_chain_prune(s, sqlite3_last_insert_rowid(pr_store_sqlite(s))))
		return -1;
	return 1;
}

static void unlink_segments(struct pr_store *s, const int64_t *ids, size_t n)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		/* a file that is already gone is fine: rows went first */
		if (!pr_seg_path(path, sizeof(path), pr_store_pcap_dir(s), ids[i], false))
			unlink(path);
		if (!pr_seg_path(path, sizeof(path), pr_store_pcap_dir(s), ids[i], true))
			unlink(path);
	}
}

int pr_store_prune(struct pr_store *s, const struct pr_prune_req *req,
		   struct pr_prune_result *res)
{
	sqlite3 *db = pr_store_sqlite(s);
	int64_t *segs = NULL;
	size_t nsegs = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!pr_store_is_writer(s))
		return fail(s, "prune: store is open read-only");
	if (!has_budget_tables(s))
		return fail(s, "prune: store schema %d has no prune records",
			    pr_store_schema_version(s));
	if (!sqlite3_get_autocommit(db))
		return fail(s, "prune: inside a transaction");
	if (temp_ready(s) || q0(s, "BEGIN IMMEDIATE", "prune: begin"))
		return -1;
	rc = prune_tx(s, req, res, &segs, &nsegs);
	if (rc > 0 && q0(s, "COMMIT", "prune: commit"))
		rc = -1;
	if (rc <= 0) {
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (rc < 0)
			memset(res, 0, sizeof(*res));
		free(segs);
		return rc;
	}
	unlink_segments(s, segs, nsegs);
	free(segs);
	return 1;
}

/* ---- start-up sweep ---- */

int pr_store_sweep_segments(struct pr_store *s, unsigned *removed)
{
	int64_t max_pruned = 0, id, found, p[1];
	struct dirent *e;
	bool part;
	DIR *d;

	*removed = 0;
	if (!has_budget_tables(s))
		return 0;
	if (q(s, "SELECT max_segment FROM budget WHERE id = 1", NULL, 0, &max_pruned, NULL,
	      "sweep"))
		return -1;
	pr_store_segment_next_min(s, max_pruned + 1);
	if (!(d = opendir(pr_store_pcap_dir(s))))
		return errno == ENOENT ? 0 : fail(s, "%s: %s", pr_store_pcap_dir(s), strerror(errno));
	while ((e = readdir(d))) {
		id = pr_seg_parse_name(e->d_name, &part);
		if (id < 0 || part || id == pr_store_open_segment(s))
			continue; /* not ours, or the open one (start-up recovery's) */
		p[0] = id;
		found = 0;
		if (q(s, "SELECT count(*) FROM pcap_segments WHERE id = ?1", p, 1, &found, NULL,
		      "sweep")) {
			closedir(d);
			return -1;
		}
		if (!found && !unlinkat(dirfd(d), e->d_name, 0))
			(*removed)++;
	}
	closedir(d);
	return 0;
}

static int wal_checkpoint_wait(struct pr_store *s, int mode, int wait_ms)
{
	sqlite3 *db = pr_store_sqlite(s);
	int rc;

	sqlite3_busy_timeout(db, wait_ms);
	rc = sqlite3_wal_checkpoint_v2(db, NULL, mode, NULL, NULL);
	sqlite3_busy_timeout(db, PR_STORE_BUSY_MS);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return 1;
	return rc == SQLITE_OK ? 0 : db_fail(s, "checkpoint");
}

int pr_store_wal_truncate(struct pr_store *s)
{
	return wal_checkpoint_wait(s, SQLITE_CHECKPOINT_TRUNCATE, 0); /* never wait for a reader */
}


/* ---- budget state ---- */

static int read_info(struct pr_store *s, struct pr_budget_info *o)
{
	sqlite3 *db = pr_store_sqlite(s);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT max_store_size, max_age, max_pcap_size,"
			       " disk_full_since, updated FROM budget WHERE id = 1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "stats: budget");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		o->max_store = (uint64_t)sqlite3_column_int64(st, 0);
		o->max_age_ns = (uint64_t)sqlite3_column_int64(st, 1);
		o->max_pcap = (uint64_t)sqlite3_column_int64(st, 2);
		o->disk_full_since = (uint64_t)sqlite3_column_int64(st, 3);
		o->updated = (uint64_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "stats: budget");
	if (sqlite3_prepare_v2(db, "SELECT reason, count(*), sum(incidents), sum(bytes)"
			       " FROM prunes GROUP BY reason", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "stats: prunes");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);

		for (int i = 0; r && i < PR_PRUNE__COUNT; i++)
			if (!strcmp(r, reason_names[i]))
				o->by_reason[i] = (uint64_t)sqlite3_column_int64(st, 1);
		o->prunes += (uint64_t)sqlite3_column_int64(st, 1);
		o->incidents += (uint64_t)sqlite3_column_int64(st, 2);
		o->bytes += (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "stats: prunes");
	if (sqlite3_prepare_v2(db, "SELECT time, reason, first_id, last_id, incidents, bytes"
			       " FROM prunes ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "stats: prunes");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 1);

		o->last_time = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(o->last_reason, sizeof(o->last_reason), "%s", r ? r : "");
		o->last_first_id = sqlite3_column_int64(st, 2);
		o->last_last_id = sqlite3_column_int64(st, 3);
		o->last_incidents = (uint64_t)sqlite3_column_int64(st, 4);
		o->last_bytes = (uint64_t)sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, "stats: prunes");
}

int pr_store_budget_info(struct pr_store *s, struct pr_budget_info *out)
{
	sqlite3 *db = pr_store_sqlite(s);
	int rc;

	memset(out, 0, sizeof(*out));
	if (pr_store_usage(s, &out->usage))
		return -1;
	if (!has_budget_tables(s))
		return 0;
	out->available = true;
	/* one snapshot for the three reads */
	if (sqlite3_exec(db, "SAVEPOINT pr_budget_read", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, "stats: budget");
	rc = read_info(s, out);
	sqlite3_exec(db, "RELEASE pr_budget_read", NULL, NULL, NULL);
	return rc;
}

/* ---- the recorder's keeper ---- */

struct pr_budget {
	struct pr_store *s;
	struct pr_budget_cfg cfg;
	char reserve_path[PATH_MAX];
	uint64_t reserve_size;
	uint64_t last_age, last_recover_check;
	uint64_t step_avg;           /* bytes one incident freed, last step */
	/* the disk-full state */
	uint64_t full_since, full_cap, full_room, full_failures, full_failures_logged;
	uint64_t full_last_log;
	uint64_t autockpt;           /* wal_autocheckpoint (pages) when writing normally */
	uint64_t wal_busy_at, wal_busy; /* the WAL bound: last refused, how often */
	bool full_recorded;          /* the budget row says so */
	bool state_dirty;        /* the budget row still says what was, retry */
	/* prune log, aggregated */
	uint64_t log_last, log_incidents[PR_PRUNE__COUNT], log_bytes[PR_PRUNE__COUNT];
	/* since start, for the metrics */
	uint64_t total_incidents[PR_PRUNE__COUNT], total_bytes[PR_PRUNE__COUNT];
};

static void blog(struct pr_budget *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blog(struct pr_budget *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!b->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->cfg.log("%s", line);
}

static double mib(uint64_t v)
{
	return (double)v / (double)MiB;
}

static uint64_t clampu(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A file of zeros we can give back when the disk is full, so a prune
 * transaction (which writes to the WAL) still fits. */
static int reserve_make(struct pr_budget *b)
{
	int fd = open(b->reserve_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return -1;
	rc = posix_fallocate(fd, 0, (off_t)b->reserve_size);
	if (rc == EOPNOTSUPP || rc == EINVAL) {
		static const char zero[65536];
		uint64_t done = 0;

		rc = 0;
		while (!rc && done < b->reserve_size) {
			size_t n = b->reserve_size - done < sizeof(zero) ? b->reserve_size - done
									  : sizeof(zero);
			ssize_t w = write(fd, zero, n);

			if (w <= 0)
				rc = errno ? errno : ENOSPC;
			else
				done += (uint64_t)w;
		}
	}
	if (!rc && fdatasync(fd))
		rc = errno;
	close(fd);
	if (rc) {
		unlink(b->reserve_path);
		errno = rc;
		return -1;
	}
	return 0;
}

static bool reserve_present(struct pr_budget *b)
{
	struct stat st;

	return !lstat(b->reserve_path, &st) && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size >= b->reserve_size;
}

static int write_state(struct pr_budget *b, uint64_t now, const char *run_what,
		       const char *run_detail)
{
	struct pr_store *s = b->s;
	int64_t p[5] = { i64(b->cfg.max_store), i64(b->cfg.max_age_ns), i64(b->cfg.max_pcap),
			 i64(b->full_since), i64(now) };

	if (q0(s, "BEGIN IMMEDIATE", "budget state"))
		return -1;
	if (q(s, "UPDATE budget SET max_store_size = ?1, max_age = ?2, max_pcap_size = ?3,"
	      " disk_full_since = ?4, updated = ?5 WHERE id = 1", p, 5, NULL, NULL, "budget state") ||
	    (run_what && pr_store_add_run(s, now, run_what, run_detail)) ||
	    q0(s, "COMMIT", "budget state")) {
		if (!sqlite3_get_autocommit(pr_store_sqlite(s)))
			sqlite3_exec(pr_store_sqlite(s), "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

#define FULL_AUTOCKPT 64 /* pages: the WAL's checkpoint threshold on a full disk */

static int set_autocheckpoint(struct pr_budget *b, uint64_t pages)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint = %llu", (unsigned long long)pages);
	return q0(b->s, sql, "budget");
}

struct pr_budget *pr_budget_new(struct pr_store *s, const struct pr_budget_cfg *cfg)
{
	struct pr_budget *b = calloc(1, sizeof(*b));
	uint64_t seg = PR_SEGMENT_BYTES_DEFAULT, wal_limit = 32 * MiB;
	int64_t psize = 4096;
	unsigned removed = 0;
	char sql[128];

	if (!b)
		return NULL;
	b->s = s;
	b->cfg = *cfg;
	b->step_avg = 0;
	if (snprintf(b->reserve_path, sizeof(b->reserve_path), "%s/%s", pr_store_dir(s),
		     PR_RESERVE_NAME) >= (int)sizeof(b->reserve_path))
		goto fail_msg;
	/* segments small enough that pruning frees files while the budget
	 * holds; the WAL checkpointed (and a reset one truncated) well inside it */
	if (cfg->max_store)
		seg = clampu(cfg->max_store / 16, 256 << 10, seg);
	if (cfg->max_pcap)
		seg = clampu(cfg->max_pcap / 8, 256 << 10, seg);
	pr_store_set_segment_bytes(s, seg);
	b->reserve_size = cfg->max_store ? clampu(cfg->max_store / 16, 256 << 10, 4 * MiB) : 4 * MiB;
	if (q(s, "PRAGMA page_size", NULL, 0, &psize, NULL, "budget"))
		goto fail_msg;
	if (cfg->max_store) {
		wal_limit = clampu(cfg->max_store / 16, 256 << 10, wal_limit);
		b->autockpt = clampu(cfg->max_store / 32 / (uint64_t)psize, 64, 1000);
	} else {
		b->autockpt = 1000; /* SQLite's default */
	}
	/* likewise the WAL between checkpoints (see pr_budget_batch_bytes) */
	if (b->autockpt > b->reserve_size / 4 / (uint64_t)psize)
		b->autockpt = clampu(b->reserve_size / 4 / (uint64_t)psize, 64, 1000);
	if (set_autocheckpoint(b, b->autockpt))
		goto fail_msg;
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %llu", (unsigned long long)wal_limit);
	if (q0(s, sql, "budget") || pr_store_sweep_segments(s, &removed))
		goto fail_msg;
	if (removed)
		blog(b, "store: removed %u pcap segment file(s) a prune had already unindexed", removed);
	if (!reserve_present(b) && reserve_make(b))
		blog(b, "store: cannot create the %.1f MiB reserve %s (%s): a full disk may stop "
		     "writes until space returns", mib(b->reserve_size), b->reserve_path,
		     strerror(errno));
	if (has_budget_tables(s)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		if (write_state(b, (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec, NULL, NULL))
			goto fail_msg;
	}
	return b;
fail_msg:
	blog(b, "store budget: %s", pr_store_errmsg(s));
	free(b);
	return NULL;
}

void pr_budget_free(struct pr_budget *b)
{
	free(b);
}

size_t pr_budget_batch_bytes(const struct pr_budget *b)
{
	if (!b)
		return 0;
	/* on a full disk a batch must fit in what a prune freed */
	if (b->full_since)
		return 256 << 10;
	/* a transaction's WAL frames stay well inside the reserve: on a full
	 * disk, giving the reserve back must let the WAL be checkpointed into
	 * the database file, or nothing (not even a prune) can be written */
	if (!b->cfg.max_store)
		return (size_t)(b->reserve_size / 4);
	return (size_t)clampu(b->cfg.max_store / 64, 256 << 10, b->reserve_size / 4);
}

void pr_budget_pruned(const struct pr_budget *b, uint64_t incidents[PR_PRUNE__COUNT],
		      uint64_t bytes[PR_PRUNE__COUNT])
{
	for (int r = 0; r < PR_PRUNE__COUNT; r++) {
		incidents[r] = b ? b->total_incidents[r] : 0;
		bytes[r] = b ? b->total_bytes[r] : 0;
	}
}

uint64_t pr_budget_full_since(const struct pr_budget *b)
{
	return b ? b->full_since : 0;
}

bool pr_store_in_transaction(struct pr_store *s)
{
	return !sqlite3_get_autocommit(pr_store_sqlite(s));
}

bool pr_budget_full_error(struct pr_store *s)
{
	const char *m = pr_store_errmsg(s);
	sqlite3 *db = pr_store_sqlite(s);
	int ec = sqlite3_extended_errcode(db), se = sqlite3_system_errno(db);

	/* SQLite says SQLITE_FULL only for ENOSPC; a quota (EDQUOT) comes back
	 * as an I/O error whose errno tells */
	return (ec & 0xff) == SQLITE_FULL || strstr(m, "database or disk is full") ||
	       ((ec & 0xff) == SQLITE_IOERR && (se == ENOSPC || se == EDQUOT)) ||
	       strstr(m, strerror(ENOSPC)) || strstr(m, strerror(EDQUOT));
}

static void log_prunes(struct pr_budget *b, uint64_t now, bool force)
{
	char line[512];
	size_t len = 0;
	struct pr_store_usage u;

	if (!force && now - b->log_last < LOG_EVERY_NS)
		return;
	for (int r = 0; r < PR_PRUNE__COUNT; r++) {
		if (!b->log_incidents[r] && !b->log_bytes[r])
			continue;
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%llu (%s, %.1f MiB freed)",
					len ? ", " : "", (unsigned long long)b->log_incidents[r],
					reason_names[r], mib(b->log_bytes[r]));
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		b->log_incidents[r] = b->log_bytes[r] = 0;
	}
	if (!len)
		return;
	b->log_last = now;
	if (pr_store_usage(b->s, &u))
		u.used = 0;
	blog(b, "store budget: pruned the oldest closed incidents: %s; store uses %.1f MiB%s",
	     line, mib(u.used), b->cfg.max_store ? "" : " (no --max-store-size)");
	if (b->cfg.max_store)
		blog(b, "store budget: --max-store-size %.1f MiB", mib(b->cfg.max_store));
}

/* Prune (reason) while the measure is above target. Returns bytes freed. */
static uint64_t prune_to(struct pr_budget *b, enum pr_prune_reason reason, uint64_t now,
			 uint64_t target, uint64_t before)
{
	struct pr_prune_result res;
	struct pr_store_usage u;
	uint64_t freed = 0, wal0, measure;
	int steps = 0, rc;

	if (pr_store_usage(b->s, &u))
		return 0;
	wal0 = u.wal_bytes; /* the prune's own WAL growth is checkpointed below */
	for (;;) {
		struct pr_prune_req r = { .reason = reason, .now = now, .before = before,
					  .grace_ns = CLOSE_GRACE_NS, .max = STEP_DEFAULT };
		uint64_t excess;

		measure = reason == PR_PRUNE_PCAP_SIZE ? u.pcap_bytes
						      : u.used - u.wal_bytes + wal0;
		if (reason != PR_PRUNE_AGE && measure <= target)
			break;
		/* about a 32nd of the budget per transaction: short, and the WAL stays small */
		excess = reason == PR_PRUNE_AGE ? 0 : measure - target;
		if (b->step_avg && reason != PR_PRUNE_AGE) {
			uint64_t want = excess + excess / 4;

			if (b->cfg.max_store && want > b->cfg.max_store / 32)
				want = b->cfg.max_store / 32;
			r.max = (size_t)clampu(want / b->step_avg, 1, STEP_MAX);
		}
		rc = pr_store_prune(b->s, &r, &res);
		if (rc < 0) {
			/* a full disk is logged (rate-limited) by pr_budget_disk_full */
			if (!pr_budget_full_error(b->s))
				blog(b, "store budget: prune failed: %s", pr_store_errmsg(b->s));
			break;
		}
		if (rc == 0)
			break;
		if (res.incidents)
			b->step_avg = res.bytes / res.incidents ? res.bytes / res.incidents : 1;
		freed += res.bytes;
		b->log_incidents[reason] += res.incidents;
		b->log_bytes[reason] += res.bytes;
		b->total_incidents[reason] += res.incidents;
		b->total_bytes[reason] += res.bytes;
		if (++steps % 8 == 0)
			pr_store_wal_truncate(b->s);
		if (pr_store_usage(b->s, &u))
			break;
	}
	if (steps)
		pr_store_wal_truncate(b->s);
	log_prunes(b, now, false);
	return freed;
}

static uint64_t avail_bytes(struct pr_budget *b)
{
	struct statvfs v;

	if (statvfs(pr_store_dir(b->s), &v))
		return UINT64_MAX;
	return (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
}

/* Keep the database file from growing while the disk is full: every page
 * a write needs must come from the free pages a prune made, so the WAL can
 * always be checkpointed into the file (a WAL that cannot be checkpointed
 * never shrinks, and then even a prune has no room to write). Prunes until
 * the free pages cover twice the room a batch may need. */
static void full_keep_free(struct pr_budget *b, uint64_t now)
{
	struct pr_store_usage u;
	uint64_t want;

	if (pr_store_usage(b->s, &u) || u.db_free >= b->full_room)
		return;
	want = 2 * b->full_room - u.db_free;
	prune_to(b, PR_PRUNE_DISK_FULL, now, u.used > want ? u.used - want : 0, 0);
}

static void full_recover(struct pr_budget *b, uint64_t now)
{
	uint64_t avail = avail_bytes(b);
	char detail[256];

	if (avail < b->reserve_size + b->full_room + MiB)
		return;
	if (!reserve_present(b) && reserve_make(b))
		return; /* not yet after all */
	snprintf(detail, sizeof(detail), "disk full from %llu to %llu ns; %llu write(s) failed; "
		 "%.1f MiB free again", (unsigned long long)b->full_since, (unsigned long long)now,
		 (unsigned long long)b->full_failures, mib(avail));
	blog(b, "store: disk space is back (%.1f MiB free) after %llu s of disk full; "
	     "writing normally again", mib(avail),
	     (unsigned long long)((now - b->full_since) / NS_PER_S));
	b->full_since = 0;
	b->full_cap = 0;
	if (set_autocheckpoint(b, b->autockpt))
		blog(b, "store: cannot restore wal_autocheckpoint: %s", pr_store_errmsg(b->s));
	b->full_failures = b->full_failures_logged = 0;
	if (write_state(b, now, "disk-full", detail) == 0)
		b->full_recorded = false;
	else
		b->state_dirty = true;
}

/* Readers that keep overlapping starve the passive checkpoints SQLite
 * runs after each commit (each holds the WAL at its snapshot), and the WAL
 * then grows without end. Past the bound, wait a little for the readers
 * of old snapshots to finish and restart the WAL; a reader that holds its
 * snapshot longer (a polq timeline blocked in a pager) is waited for
 * again only after WAL_BOUND_RETRY_NS, so the writer never stalls. */
#define WAL_BOUND_WAIT_MS  250
#define WAL_BOUND_RETRY_NS (10 * NS_PER_S)

static void wal_bound(struct pr_budget *b, uint64_t now)
{
	uint64_t wal = file_size(pr_store_dir(b->s), "polrec.db-wal");
	int rc;

	if (wal <= b->reserve_size || now - b->wal_busy_at < WAL_BOUND_RETRY_NS)
		return;
	/* RESTART, not TRUNCATE: the next write starts the WAL over in the
	 * same file, so it stops growing, and the budget, which counts the
	 * WAL, does not hand its space to the database only to see it come
	 * back */
	rc = wal_checkpoint_wait(b->s, SQLITE_CHECKPOINT_RESTART, WAL_BOUND_WAIT_MS);
	if (rc == 1) {
		b->wal_busy_at = now;
		b->wal_busy++;
		if (b->wal_busy == 1 || b->wal_busy % 60 == 0)
			blog(b, "store: the WAL is %.1f MiB and a reader has held an old snapshot "
			     "for more than %d ms (%llu time(s)); it is reset when the reader is done",
			     mib(wal), WAL_BOUND_WAIT_MS, (unsigned long long)b->wal_busy);
	} else if (rc < 0) {
		blog(b, "store: cannot reset the WAL: %s", pr_store_errmsg(b->s));
	}
}

void pr_budget_tick(struct pr_budget *b, uint64_t now)
{
	struct pr_store_usage u;
	uint64_t cap;

	if (!b || !has_budget_tables(b->s))
		return;
	wal_bound(b, now);
	/* a recovery whose state write failed: polq stats must stop saying
	 * "disk full" once the disk is not */
	if (b->state_dirty && write_state(b, now, NULL, NULL) == 0)
		b->state_dirty = false;
	if (b->cfg.max_age_ns && now - b->last_age >= NS_PER_S) {
		b->last_age = now;
		if (now > b->cfg.max_age_ns)
			prune_to(b, PR_PRUNE_AGE, now, 0, now - b->cfg.max_age_ns);
	}
	if (b->full_since && now - b->last_recover_check >= NS_PER_S) {
		b->last_recover_check = now;
		full_recover(b, now);
		if (b->full_since && !b->full_recorded && write_state(b, now, NULL, NULL) == 0)
			b->full_recorded = true;
	}
	if (b->full_since)
		full_keep_free(b, now);
	cap = b->cfg.max_store;
	if (b->full_since && b->full_cap && (!cap || b->full_cap < cap))
		cap = b->full_cap;
	if (!cap && !b->cfg.max_pcap)
		return;
	if (pr_store_usage(b->s, &u))
		return;
	if (cap && u.used > cap)
		prune_to(b, cap == b->cfg.max_store ? PR_PRUNE_SIZE : PR_PRUNE_DISK_FULL, now,
			 cap - cap / 10, 0);
	if (b->cfg.max_pcap && u.pcap_bytes > b->cfg.max_pcap)
		prune_to(b, PR_PRUNE_PCAP_SIZE, now, b->cfg.max_pcap - b->cfg.max_pcap / 10, 0);
	log_prunes(b, now, false);
}

bool pr_budget_disk_full(struct pr_budget *b, uint64_t now)
{
	struct pr_store_usage u;
	uint64_t freed = 0, cap;
	bool gave_reserve = false;

	if (!b)
		return false;
	b->full_failures++;
	if (!b->full_since) {
		b->full_since = now;
		b->full_last_log = now;
		b->full_failures_logged = b->full_failures;
		/* a small WAL, checkpointed often into the free pages prunes make */
		if (set_autocheckpoint(b, FULL_AUTOCKPT))
			blog(b, "store: cannot lower wal_autocheckpoint: %s", pr_store_errmsg(b->s));
		blog(b, "store: disk full (%s): pruning the oldest closed incidents to keep the "
		     "newest; what cannot be written is counted (loss records, stage store-full); "
		     "writing resumes by itself when space returns", pr_store_errmsg(b->s));
	} else if (now - b->full_last_log >= LOG_EVERY_NS) {
		blog(b, "store: disk still full (since %llu s): %llu more write(s) failed",
		     (unsigned long long)((now - b->full_since) / NS_PER_S),
		     (unsigned long long)(b->full_failures - b->full_failures_logged));
		b->full_last_log = now;
		b->full_failures_logged = b->full_failures;
	}
	if (reserve_present(b) && !unlink(b->reserve_path))
		gave_reserve = true;
	{
		/* segment files a failed (rolled back) write left without rows */
		unsigned removed = 0;

		pr_store_sweep_segments(b->s, &removed);
		gave_reserve |= removed > 0;
	}
	/* move the WAL into the database file first (it may need to grow into
	 * the reserve's space) and give the WAL's space back: a WAL that
	 * cannot be checkpointed can never be reused, and every write needs
	 * new space */
	pr_store_wal_truncate(b->s);
	if (!has_budget_tables(b->s) || pr_store_usage(b->s, &u))
		return gave_reserve;
	/* from now on the store holds a little less than it did when the disk filled */
	b->full_room = clampu(u.used / 20, MiB, 64 * MiB);
	cap = u.used > b->full_room ? u.used - b->full_room : 0;
	if (!b->full_cap || cap < b->full_cap)
		b->full_cap = cap;
	if (cap)
		freed = prune_to(b, PR_PRUNE_DISK_FULL, now, cap, 0);
	full_keep_free(b, now);
	if (!b->full_recorded && write_state(b, now, NULL, NULL) == 0)
		b->full_recorded = true;
	return freed || gave_reserve;
}
