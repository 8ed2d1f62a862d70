// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The store layer: DIR/polrec.db through SQLite, and DIR/pcap/ segments
 * (schema/pcapseg.c) for packet bytes.
 *
 * One struct pr_store is one connection with its prepared statements
 * cached. WRITE mode creates and migrates the store; READ mode opens it
 * SQLITE_OPEN_READONLY and reads while polrecd writes (WAL: readers see the
 * last committed state, never the writer's open transaction).
 *
 * Schema versions: PRAGMA user_version; migrations[] is the numbered list
 * (001-initial.sql is version 1, 002-network.sql version 2,
 * 003-follow.sql version 3, ...). WRITE mode applies the missing ones in
 * one transaction. READ mode never migrates: a store newer than this build
 * is refused; an older one is read as it is: version 1 has no network
 * tables, so its incidents have no network side, flows or packets;
 * versions 1 and 2 have no event marks, follow windows or joined
 * violations, so their events read as context, follow_until as 0 and
 * violations as 1 (readers check s->version before touching a table or
 * column a version lacks, and pick the statement variant that has it).
 *
 * Readers copy everything they return into an arena owned by the returned
 * object; one free releases it all. Byte fields are bound and read as
 * BLOBs so nothing is transcoded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "schema/chain.h"
#include "schema/pcapseg.h"
#include "schema/store.h"
#include "schema/store_int.h"

extern const char pr_schema_001[];
extern const size_t pr_schema_001_len;
extern const char pr_schema_002[];
extern const size_t pr_schema_002_len;
extern const char pr_schema_003[];
extern const size_t pr_schema_003_len;
extern const char pr_schema_004[];
extern const size_t pr_schema_004_len;
extern const char pr_schema_005[];
extern const size_t pr_schema_005_len;
extern const char pr_schema_006[];
extern const size_t pr_schema_006_len;

#define PR_DB_NAME        "polrec.db"
#define PR_APPLICATION_ID 1886350450 /* 'polr', set by 001-initial.sql */
#define PR_BUSY_MS        5000
#define PR_LINEAGE_MAX    4096
#define PR_ERR_MAX        512

static const char *const migrations[] = {
	pr_schema_001, /* version 1 */
	pr_schema_002, /* version 2: network incidents, flows, packets */
	pr_schema_003, /* version 3: event marks, follow windows, joined violations */
	pr_schema_004, /* version 4: the hash chain (schema/chain.c) */
	pr_schema_005, /* version 5: disk budget, prune records (schema/prune.c) */
	pr_schema_006, /* version 6: boot id and boot time on records, policy versions */
};
#define PR_SCHEMA_NETWORK 2 /* first version with the network tables */
#define PR_SCHEMA_FOLLOW 3  /* first version with marks, follow_until, violations */
#define PR_SCHEMA_TIME 6    /* first version with boot_id/boot_time, policy versions */
#define PR_SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- arena: all memory a reader returns ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap, used;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
};

#define ARENA_CHUNK (16 * 1024)
#define ARENA_ALIGN (_Alignof(max_align_t))

static void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t cap;
	void *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (!c || c->cap - c->used < n) {
		cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* Copy n bytes and add a NUL; NULL src with n == 0 gives "". */
static char *arena_memdup(struct arena *a, const void *src, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	if (n)
		memcpy(p, src, n);
	p[n] = '\0';
	return p;
}

static void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* Keep the newest chunk, drop the rest: reuse between rows. */
static void arena_reset(struct arena *a)
{
	if (!a->head)
		return;
	arena_release(&(struct arena){ a->head->next });
	a->head->next = NULL;
	a->head->used = 0;
}

/* ---- statements ---- */

#define PROC_COLS(t)                                                         \
	t "pid, " t "start_boot, " t "ppid, " t "pstart_boot, " t            \
	"start_time, " t "uid, " t "gid, " t "loginuid, " t "sessionid, " t  \
	"user, " t "exe, " t "argv, " t "argv_len, " t "argc, " t "flags, " t \
	"cwd, " t "cgroup_id, " t "cgroup, " t "container_id, " t "sha256, " t \
	"exit_time, " t "exit_code"
#define PROC_NCOLS 22
#define PROC_PARAMS                                                          \
	"?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"

#define PROC_UPDATE_IMAGE                                                    \
	"ppid = excluded.ppid, pstart_boot = excluded.pstart_boot, "         \
	"start_time = excluded.start_time, uid = excluded.uid, "             \
	"gid = excluded.gid, loginuid = excluded.loginuid, "                 \
	"sessionid = excluded.sessionid, user = excluded.user, "             \
	"exe = excluded.exe, argv = excluded.argv, "                         \
	"argv_len = excluded.argv_len, argc = excluded.argc, "               \
	"flags = excluded.flags, cwd = excluded.cwd, "                       \
	"cgroup_id = excluded.cgroup_id, cgroup = excluded.cgroup, "         \
	"container_id = excluded.container_id, sha256 = excluded.sha256, "
/* A known exit is never forgotten by a later write without one. */
#define PROC_UPDATE_EXIT                                                     \
	"exit_time = CASE WHEN excluded.exit_time != 0 THEN excluded.exit_time " \
	"ELSE processes.exit_time END, "                                     \
	"exit_code = CASE WHEN excluded.exit_time != 0 THEN excluded.exit_code " \
	"ELSE processes.exit_code END"

#define INC_COLS(t)                                                          \
	t "id, " t "time, " t "policy, " t "rule, " t "severity, " t "kind, " t \
	"action, " t "path, " t "expected, " t "actual, " t "lost_events"
#define INC_NCOLS 11

#define EVENT_COLS "time, kind, pid, start_boot, path, path2, detail"
#define EVENT_NCOLS 7 /* then the mark */

/* The network side, after the violator's columns; NULLs before version 2. */
#define NET_COLS(t)                                                          \
	t "direction, " t "protocol, " t "src, " t "sport, " t "dst, " t      \
	"dport, " t "result, " t "flow_id"
#define NET_NULLS "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
#define NET_COL (INC_NCOLS + 1 + PROC_NCOLS)
/* The flight recorder's columns, after the network side; constants before
 * version 3. */
#define FOLLOW_COLS "i.follow_until, i.violations"
#define FOLLOW_CONSTS "0, 1"
#define FOLLOW_COL (NET_COL + 8)
#define INC_SELECT(net, follow)                                              \
	"SELECT " INC_COLS("i.") ", p.id, " PROC_COLS("p.") ", " net ", "     \
	follow " FROM incidents i LEFT JOIN proc_images p ON p.id = i.proc_image_id"
#define NET_JOIN " LEFT JOIN incident_network n ON n.incident_id = i.id"
/* order: INC_BY_TIME, INC_BY_TIME_DESC, INC_BY_ID (enum pr_order) */
/* A listing is read in chunks of ?10 rows after the key (?7 time, ?8 id)
 * of the last row of the previous chunk (?9 = 1 once there is one), so no
 * statement (no read snapshot) is open while a caller's callback runs: a
 * reader that blocks (polq into a pager nobody scrolls) must not keep the
 * writer's WAL from being reset. */
#define INC_LIST_WHERE(order)                                                \
	" WHERE i.time >= ?1 AND i.time < ?2"                                \
	" AND (?3 IS NULL OR i.policy = ?3)"                                 \
	" AND (?4 IS NULL OR i.severity = ?4)"                               \
	" AND i.id > ?5 AND i.id <= ?6"                                      \
	" AND typeof(i.time) = 'integer'" /* the key is read as an integer: a  \
	  damaged REAL time would come back at every chunk (polq verify tells) */ \
	" AND (?9 = 0 OR " order ")"
#define INC_BY_TIME "i.time > ?7 OR (i.time = ?7 AND i.id > ?8)) ORDER BY i.time, i.id LIMIT (?10"
#define INC_BY_TIME_DESC                                                     \
	"i.time < ?7 OR (i.time = ?7 AND i.id < ?8)) ORDER BY i.time DESC, i.id DESC LIMIT (?10"
#define INC_BY_ID "i.id > ?8) ORDER BY i.id LIMIT (?10"
/* the listing of each schema version: 3 (follow), 2 (network), 1 */
#define INC_LIST_V3(order) \
	INC_SELECT(NET_COLS("n."), FOLLOW_COLS) NET_JOIN INC_LIST_WHERE(order)
#define INC_LIST_V2(order) \
	INC_SELECT(NET_COLS("n."), FOLLOW_CONSTS) NET_JOIN INC_LIST_WHERE(order)
#define INC_LIST_V1(order) INC_SELECT(NET_NULLS, FOLLOW_CONSTS) INC_LIST_WHERE(order)

/* mark: "mark", or "0" before version 3. */
#define GET_EVENTS_SQL(mark)                                                 \
	"SELECT " EVENT_COLS ", mk FROM ("                                   \
	" SELECT " EVENT_COLS ", " mark " AS mk, incident_id AS iid, seq"     \
	"  FROM incident_events WHERE incident_id = ?1"                      \
	" UNION ALL"                                                         \
	" SELECT * FROM (SELECT " EVENT_COLS ", 0 AS mk, incident_id AS iid, seq" \
	"  FROM incident_events"                                             \
	"  WHERE pid = ?2 AND start_boot = ?3 AND time <= ?4 AND incident_id < ?1" \
	"  ORDER BY time DESC, iid DESC, seq DESC LIMIT 32))"                \
	" ORDER BY time, iid, seq"
/* Duplicates (the same event stored with several incidents) come next to
 * each other, the one to keep first. */
#define TIMELINE_SQL(mark, where, order)                                     \
	"SELECT " EVENT_COLS ", " mark " AS mk, incident_id FROM incident_events" \
	" WHERE time >= ?1 AND time < ?2" where " ORDER BY " order
#define TL_ORDER "time, pid, start_boot, kind, path, mk DESC, incident_id, seq"
/* Newest first: the event keys reversed, the tie-break among copies of one
 * event not, so the same copy (highest mark, oldest incident) comes first
 * and is the one kept. */
#define TL_ORDER_REV                                                         \
	"time DESC, pid DESC, start_boot DESC, kind DESC, path DESC, mk DESC, "  \
	"incident_id, seq"

#define FLOW_COLS                                                            \
	"flow_id, incident_id, time, role, protocol, local, lport, remote, "  \
	"rport, pid, start_boot, exe"
#define PKT_COLS "k.time, k.segment_id, k.offset, k.caplen, k.len, k.dir, g.state"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SP_WRITE,
	ST_SP_WRITE_RELEASE,
	ST_SP_WRITE_UNDO,
	ST_SP_READ,
	ST_SP_READ_RELEASE,
	ST_PUT_PROC,
	ST_ENSURE_PROC,
	ST_INS_INCIDENT,
	ST_SET_INCIDENT_IMAGE,
	ST_INS_IMAGE,
	ST_INS_LINEAGE,
	ST_INS_EVENT,
	ST_INS_LOSS,
	ST_INS_RUN,
	ST_LIST_INCIDENTS,
	ST_GET_INCIDENT,
	ST_GET_LINEAGE,
	ST_GET_EVENTS,
	ST_FIND_PROC,
	ST_FIND_PROC_PID,
	ST_PROC_CHILDREN,
	ST_COUNT_INCIDENTS,
	ST_COUNT_PROCS,
	ST_COUNT_EVENTS,
	ST_LOSSES,
	ST_LIST_INCIDENTS_V1,
	ST_GET_INCIDENT_V1,
	ST_LIST_INCIDENTS_V2,
	ST_GET_INCIDENT_V2,
	ST_GET_EVENTS_V2,
	ST_APPEND_INFO,
	ST_ADD_VIOLATIONS,
	ST_GAPS,
	ST_TIMELINE,
	ST_TIMELINE_PID,
	ST_TIMELINE_PROC,
	ST_TIMELINE_V2,
	ST_TIMELINE_PID_V2,
	ST_TIMELINE_PROC_V2,
	ST_INS_NET,
	ST_INS_FLOW,
	ST_INS_PACKET,
	ST_PUT_SEGMENT,
	ST_CLOSE_SEGMENT,
	ST_SEGMENT_BYTES,
	ST_SEGMENT_STATE,
	ST_CLOSE_OPEN_SEGMENTS,
	ST_MAX_SEGMENT,
	ST_GET_FLOWS,
	ST_FLOW_PACKETS,
	ST_INC_PACKETS,
	ST_COUNT_FLOWS,
	ST_COUNT_PACKETS,
	ST_COUNT_SEGMENTS,
	ST_SUM_SEGMENT_BYTES,
	ST_PV_INSERT,
	ST_PV_FIND,
	ST_PV_LIST,
	ST_PV_GET,
	ST_INC_JUDGED,
	ST_LIST_INCIDENTS_REV,
	ST_LIST_INCIDENTS_V1_REV,
	ST_LIST_INCIDENTS_V2_REV,
	ST_LIST_INCIDENTS_ID,
	ST_LIST_INCIDENTS_V1_ID,
	ST_LIST_INCIDENTS_V2_ID,
	ST_TIMELINE_REV,
	ST_TIMELINE_PID_REV,
	ST_TIMELINE_PROC_REV,
	ST_TIMELINE_V2_REV,
	ST_TIMELINE_PID_V2_REV,
	ST_TIMELINE_PROC_V2_REV,
	ST_MAX_INCIDENT_ID,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SP_WRITE] = "SAVEPOINT pr_write",
	[ST_SP_WRITE_RELEASE] = "RELEASE pr_write",
	[ST_SP_WRITE_UNDO] = "ROLLBACK TO pr_write",
	[ST_SP_READ] = "SAVEPOINT pr_read",
	[ST_SP_READ_RELEASE] = "RELEASE pr_read",
	[ST_PUT_PROC] =
		"INSERT INTO processes (" PROC_COLS("") ") VALUES (" PROC_PARAMS ") "
		"ON CONFLICT (pid, start_boot) DO UPDATE SET "
		PROC_UPDATE_IMAGE PROC_UPDATE_EXIT " RETURNING id",
	[ST_ENSURE_PROC] =
		"INSERT INTO processes (" PROC_COLS("") ") VALUES (" PROC_PARAMS ") "
		"ON CONFLICT (pid, start_boot) DO UPDATE SET "
		PROC_UPDATE_EXIT " RETURNING id",
	[ST_INS_INCIDENT] =
		"INSERT INTO incidents (time, policy, rule, severity, kind, action, "
		"path, expected, actual, lost_events, follow_until, violations, "
		"boot_id, boot_time, policy_version) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_SET_INCIDENT_IMAGE] =
		"UPDATE incidents SET proc_image_id = ? WHERE id = ?",
	[ST_INS_IMAGE] =
		"INSERT INTO proc_images (" PROC_COLS("") ", incident_id, process_id) "
		"VALUES (" PROC_PARAMS ", ?, ?)",
	[ST_INS_LINEAGE] =
		"INSERT INTO incident_lineage (incident_id, depth, image_id) "
		"VALUES (?, ?, ?)",
	[ST_INS_EVENT] =
		"INSERT INTO incident_events (incident_id, seq, " EVENT_COLS ", mark) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_INS_LOSS] =
		"INSERT INTO losses (from_time, to_time, stage, kind, count, boot_id, boot_time) "
		"VALUES (?, ?, ?, ?, ?, ?, ?)",
	[ST_INS_RUN] = "INSERT INTO runs (time, what, detail, boot_id, boot_time) "
		       "VALUES (?, ?, ?, ?, ?)",
	[ST_PV_INSERT] =
		"INSERT INTO policy_versions (time, boot_id, boot_time, sha256, source, "
		"expectations, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
	[ST_PV_FIND] = "SELECT id FROM policy_versions WHERE sha256 = ?",
	[ST_PV_LIST] =
		"SELECT v.id, v.time, v.boot_id, v.sha256, v.source, v.expectations, "
		"(SELECT count(*) FROM incidents i WHERE i.policy_version = v.id), NULL "
		"FROM policy_versions v ORDER BY v.id",
	[ST_PV_GET] =
		"SELECT v.id, v.time, v.boot_id, v.sha256, v.source, v.expectations, "
		"(SELECT count(*) FROM incidents i WHERE i.policy_version = v.id), v.text "
		"FROM policy_versions v WHERE v.id = ?",
	[ST_INC_JUDGED] =
		"SELECT i.boot_id, i.boot_time, i.policy_version, v.sha256 FROM incidents i "
		"LEFT JOIN policy_versions v ON v.id = i.policy_version WHERE i.id = ?",
	[ST_LIST_INCIDENTS] = INC_LIST_V3(INC_BY_TIME),
	[ST_LIST_INCIDENTS_V2] = INC_LIST_V2(INC_BY_TIME),
	[ST_LIST_INCIDENTS_V1] = INC_LIST_V1(INC_BY_TIME),
	[ST_LIST_INCIDENTS_REV] = INC_LIST_V3(INC_BY_TIME_DESC),
	[ST_LIST_INCIDENTS_V2_REV] = INC_LIST_V2(INC_BY_TIME_DESC),
	[ST_LIST_INCIDENTS_V1_REV] = INC_LIST_V1(INC_BY_TIME_DESC),
	[ST_LIST_INCIDENTS_ID] = INC_LIST_V3(INC_BY_ID),
	[ST_LIST_INCIDENTS_V2_ID] = INC_LIST_V2(INC_BY_ID),
	[ST_LIST_INCIDENTS_V1_ID] = INC_LIST_V1(INC_BY_ID),
	[ST_MAX_INCIDENT_ID] = "SELECT coalesce(max(id), 0) FROM incidents",
	[ST_GET_INCIDENT] =
		INC_SELECT(NET_COLS("n."), FOLLOW_COLS) NET_JOIN " WHERE i.id = ?",
	[ST_GET_INCIDENT_V2] =
		INC_SELECT(NET_COLS("n."), FOLLOW_CONSTS) NET_JOIN " WHERE i.id = ?",
	[ST_GET_INCIDENT_V1] = INC_SELECT(NET_NULLS, FOLLOW_CONSTS) " WHERE i.id = ?",
	[ST_GET_LINEAGE] =
		"SELECT p.id, " PROC_COLS("p.")
		" FROM incident_lineage l LEFT JOIN proc_images p ON p.id = l.image_id"
		" WHERE l.incident_id = ? ORDER BY l.depth",
	/* An incident stores only the violator's events that no earlier
	 * incident of the same process stored; its timeline is those plus
	 * the violator's latest 32 events from earlier incidents, up to its
	 * time (context here, whatever they were there). */
	[ST_GET_EVENTS] = GET_EVENTS_SQL("mark"),
	[ST_GET_EVENTS_V2] = GET_EVENTS_SQL("0"),
	[ST_APPEND_INFO] =
		"SELECT (SELECT count(*) FROM incidents WHERE id = ?1),"
		" (SELECT coalesce(max(seq) + 1, 0) FROM incident_events WHERE incident_id = ?1)",
	[ST_ADD_VIOLATIONS] =
		"UPDATE incidents SET violations = violations + ?2 WHERE id = ?1",
	/* The '+' keep the planner on losses_to (version 3): the losses that
	 * end after the window starts are few, those that start before it
	 * ends are nearly all. */
	[ST_GAPS] =
		"SELECT from_time, to_time, stage, kind, count FROM losses"
		" WHERE to_time >= ?1 AND +from_time <= ?2 ORDER BY +from_time, id",
	[ST_TIMELINE] = TIMELINE_SQL("mark", "", TL_ORDER),
	[ST_TIMELINE_PID] = TIMELINE_SQL("mark", " AND pid = ?3", TL_ORDER),
	[ST_TIMELINE_PROC] = TIMELINE_SQL("mark", " AND pid = ?3 AND start_boot = ?4", TL_ORDER),
	[ST_TIMELINE_V2] = TIMELINE_SQL("0", "", TL_ORDER),
	[ST_TIMELINE_PID_V2] = TIMELINE_SQL("0", " AND pid = ?3", TL_ORDER),
	[ST_TIMELINE_PROC_V2] = TIMELINE_SQL("0", " AND pid = ?3 AND start_boot = ?4", TL_ORDER),
	[ST_TIMELINE_REV] = TIMELINE_SQL("mark", "", TL_ORDER_REV),
	[ST_TIMELINE_PID_REV] = TIMELINE_SQL("mark", " AND pid = ?3", TL_ORDER_REV),
	[ST_TIMELINE_PROC_REV] =
		TIMELINE_SQL("mark", " AND pid = ?3 AND start_boot = ?4", TL_ORDER_REV),
	[ST_TIMELINE_V2_REV] = TIMELINE_SQL("0", "", TL_ORDER_REV),
	[ST_TIMELINE_PID_V2_REV] = TIMELINE_SQL("0", " AND pid = ?3", TL_ORDER_REV),
	[ST_TIMELINE_PROC_V2_REV] =
		TIMELINE_SQL("0", " AND pid = ?3 AND start_boot = ?4", TL_ORDER_REV),
	[ST_FIND_PROC] =
		"SELECT id, " PROC_COLS("") " FROM processes"
		" WHERE pid = ? AND start_boot = ?",
	[ST_FIND_PROC_PID] =
		"SELECT id, " PROC_COLS("") " FROM processes"
		" WHERE pid = ? ORDER BY start_boot DESC, id DESC",
	[ST_PROC_CHILDREN] =
		"SELECT id, " PROC_COLS("") " FROM processes"
		" WHERE ppid = ? AND pstart_boot = ? ORDER BY start_boot, pid, id",
	[ST_COUNT_INCIDENTS] = "SELECT count(*) FROM incidents",
	[ST_COUNT_PROCS] = "SELECT count(*) FROM processes",
	[ST_COUNT_EVENTS] = "SELECT count(*) FROM incident_events",
	[ST_LOSSES] =
		"SELECT from_time, to_time, stage, kind, count FROM losses"
		" ORDER BY from_time, id",
	[ST_INS_NET] =
		"INSERT INTO incident_network (incident_id, " NET_COLS("") ")"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_INS_FLOW] =
		"INSERT INTO flows (" FLOW_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_INS_PACKET] =
		"INSERT INTO packets (flow_id, time, segment_id, offset, caplen, len, dir)"
		" VALUES (?, ?, ?, ?, ?, ?, ?)",
	/* The row may be gone with a rolled-back transaction: recreate it. */
	[ST_PUT_SEGMENT] =
		"INSERT INTO pcap_segments (id, state, bytes, packets, first_time, last_time)"
		" VALUES (?1, 'open', ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET"
		" bytes = ?2, packets = packets + ?3, first_time = min(first_time, ?4),"
		" last_time = max(last_time, ?5)",
	[ST_CLOSE_SEGMENT] =
		"UPDATE pcap_segments SET state = 'closed', bytes = ?2 WHERE id = ?1",
	[ST_SEGMENT_BYTES] = "UPDATE pcap_segments SET bytes = ?2 WHERE id = ?1",
	[ST_SEGMENT_STATE] = "SELECT state = 'open' FROM pcap_segments WHERE id = ?",
	[ST_CLOSE_OPEN_SEGMENTS] =
		"UPDATE pcap_segments SET state = 'closed' WHERE state = 'open'",
	[ST_MAX_SEGMENT] = "SELECT coalesce(max(id), 0) FROM pcap_segments",
	[ST_GET_FLOWS] =
		"SELECT " FLOW_COLS ","
		" (SELECT count(*) FROM packets k WHERE k.flow_id = f.flow_id),"
		" (SELECT coalesce(sum(k.len), 0) FROM packets k WHERE k.flow_id = f.flow_id)"
		" FROM flows f WHERE incident_id = ? ORDER BY time, flow_id",
	[ST_FLOW_PACKETS] =
		"SELECT k.flow_id, " PKT_COLS " FROM packets k"
		" LEFT JOIN pcap_segments g ON g.id = k.segment_id"
		" WHERE k.flow_id = ? ORDER BY k.time, k.rowid LIMIT ?",
	[ST_INC_PACKETS] =
		"SELECT k.flow_id, " PKT_COLS " FROM flows f"
		" JOIN packets k ON k.flow_id = f.flow_id"
		" LEFT JOIN pcap_segments g ON g.id = k.segment_id"
		" WHERE f.incident_id = ? ORDER BY k.time, k.rowid",
	[ST_COUNT_FLOWS] = "SELECT count(*) FROM flows",
	[ST_COUNT_PACKETS] = "SELECT count(*) FROM packets",
	[ST_COUNT_SEGMENTS] = "SELECT count(*) FROM pcap_segments",
	[ST_SUM_SEGMENT_BYTES] = "SELECT coalesce(sum(bytes), 0) FROM pcap_segments",
};

struct pr_store {
	sqlite3 *db;
	enum pr_store_mode mode;
	int version;
	bool listing;
	bool timeline;               /* in pr_store_timeline (its callback) */
	char *dir;
	sqlite3_stmt *stmt[ST__COUNT];
	char err[PR_ERR_MAX];
	/* pcap segments (WRITE mode) */
	char pcapdir[PATH_MAX];      /* DIR/pcap */
	bool pcapdir_ok;             /* created and checked */
	struct pr_seg_writer seg;    /* the open segment, id 0 when none */
	int64_t seg_next;            /* the next segment id to try */
	uint64_t seg_bytes;          /* rotation size */
	struct pr_pcap_recovery recovery;
	struct pr_chain *chain;      /* the hash chain's statements (schema/chain.c) */
	char boot_id[40];            /* WRITE mode: this boot's id, "" if unreadable */
	char pv_sha[65];             /* the last policy version looked up ... */
	int64_t pv_id;               /* ... and its id (0: none) */
};

static int pcap_recover(struct pr_store *s);
static int segment_close(struct pr_store *s);
static void segment_abandon(struct pr_store *s);
static int load_flows(struct pr_store *s, struct arena *a, int64_t iid, bool heads,
		      struct pr_flow_rec **out, size_t *nout);

/* ---- errors: always one line ---- */

static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

__attribute__((format(printf, 2, 3)))
static void set_err(struct pr_store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	one_line(s->err);
}

/* "what: sqlite's message" */
static void db_err(struct pr_store *s, const char *what)
{
	set_err(s, "%s: %s", what, sqlite3_errmsg(s->db));
}

const char *pr_store_errmsg(struct pr_store *s)
{
	if (!s)
		return "no store";
	return s->err[0] ? s->err : "no error";
}

int pr_store_schema_version(struct pr_store *s)
{
	return s->version;
}

/* for schema/chain.c */
sqlite3 *pr_store__db(struct pr_store *s)
{
	return s->db;
}

struct pr_chain **pr_store__chain(struct pr_store *s)
{
	return &s->chain;
}

const char *pr_store__pcapdir(struct pr_store *s)
{
	return s->pcapdir;
}

char *pr_store__err(struct pr_store *s)
{
	return s->err;
}

static int require_write(struct pr_store *s, const char *what)
{
	if (s->mode == PR_STORE_WRITE)
		return 0;
	set_err(s, "%s: store is open read-only", what);
	return -1;
}

/* ---- statement helpers ---- */

static sqlite3_stmt *stmt_get(struct pr_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
			db_err(s, "prepare");
			return NULL;
		}
		s->stmt[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Release a statement after use: ends its read and frees bound pointers. */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run a statement that returns no rows. */
static int stmt_exec(struct pr_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	return 0;
}

static int run_simple(struct pr_store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, id);

	return st ? stmt_exec(s, st, what) : -1;
}

/* Run a statement that returns one int64 (RETURNING id, count(*)). */
static int64_t stmt_int64(struct pr_store *s, sqlite3_stmt *st, const char *what)
{
	int64_t v;
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			set_err(s, "%s: no row", what);
		else
			db_err(s, what);
		stmt_done(st);
		return -1;
	}
	v = sqlite3_column_int64(st, 0);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	return v;
}

static int64_t u2i(uint64_t v)
{
	return (int64_t)v; /* bit pattern: uint64 round-trips through INTEGER */
}

static int64_t clamp_time(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Raw bytes of a NUL-terminated string; NULL is "". */
static int bind_bytes(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_blob(st, i, v ? v : "", v ? (int)strnlen(v, INT_MAX) : 0,
				 SQLITE_STATIC);
}

/* Vocabulary names: TEXT, bytes unchanged (the database is UTF-8). */
static int bind_name(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v ? v : "", v ? (int)strnlen(v, INT_MAX) : 0,
				 SQLITE_STATIC);
}

static int bind_check(struct pr_store *s, int rc, const char *what)
{
	if (rc == SQLITE_OK)
		return 0;
	set_err(s, "%s: bind: %s", what, sqlite3_errstr(rc));
	return -1;
}

/* The boot_id, boot_time pair every record carries (schema 6) at i, i + 1;
 * boot_time 0 means now. */
static int bind_boot(struct pr_store *s, sqlite3_stmt *st, int i, uint64_t boot_time)
{
	int rc;

	if (s->boot_id[0])
		rc = sqlite3_bind_text(st, i, s->boot_id, -1, SQLITE_STATIC);
	else
		rc = sqlite3_bind_null(st, i);
	return rc ?: sqlite3_bind_int64(st, i + 1,
					u2i(boot_time ? boot_time : pr_store_boottime_ns()));
}

/* ---- processes: binding and reading the 22 shared columns ---- */

#define PR_STORE_ARGV_MAX (16u << 20)

/* Binds p at parameters first..first+21. *packed is the argv blob, to be
 * freed by the caller after the statement is done. */
static int bind_proc(struct pr_store *s, sqlite3_stmt *st, int first,
		     const struct pr_proc_rec *p, void **packed, const char *what)
{
	size_t plen;
	int i = first, rc = SQLITE_OK;

	*packed = NULL;
	if (p->argv_len > PR_STORE_ARGV_MAX || (p->argv_len && !p->argv)) {
		set_err(s, "%s: pid %u: bad argv (%zu bytes)", what, p->pid, p->argv_len);
		return -1;
	}
	if (pr_blob_pack(p->argv, p->argv_len, packed, &plen)) {
		set_err(s, "%s: pid %u: cannot compress argv", what, p->pid);
		return -1;
	}
	rc = rc ?: sqlite3_bind_int64(st, i++, p->pid);
	rc = rc ?: sqlite3_bind_int64(st, i++, u2i(p->start_boot));
	rc = rc ?: sqlite3_bind_int64(st, i++, p->ppid);
	rc = rc ?: sqlite3_bind_int64(st, i++, u2i(p->pstart_boot));
	rc = rc ?: sqlite3_bind_int64(st, i++, u2i(p->start_time));
	rc = rc ?: sqlite3_bind_int64(st, i++, p->uid);
	rc = rc ?: sqlite3_bind_int64(st, i++, p->gid);
	rc = rc ?: sqlite3_bind_int64(st, i++, p->loginuid);
	rc = rc ?: sqlite3_bind_int64(st, i++, p->sessionid);
	rc = rc ?: bind_bytes(st, i++, p->user);
	rc = rc ?: bind_bytes(st, i++, p->exe);
	rc = rc ?: sqlite3_bind_blob(st, i++, *packed, (int)plen, SQLITE_STATIC);
	rc = rc ?: sqlite3_bind_int64(st, i++, (int64_t)p->argv_len);
	rc = rc ?: sqlite3_bind_int64(st, i++, p->argc);
	rc = rc ?: sqlite3_bind_int64(st, i++, p->flags);
	rc = rc ?: bind_bytes(st, i++, p->cwd);
	rc = rc ?: sqlite3_bind_int64(st, i++, u2i(p->cgroup_id));
	rc = rc ?: bind_bytes(st, i++, p->cgroup);
	rc = rc ?: bind_bytes(st, i++, p->container_id);
	rc = rc ?: bind_name(st, i++, p->sha256);
	rc = rc ?: sqlite3_bind_int64(st, i++, u2i(p->exit_time));
	rc = rc ?: sqlite3_bind_int64(st, i++, p->exit_code);
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		free(*packed);
		*packed = NULL;
		return -1;
	}
	return 0;
}

static const char *col_bytes(struct arena *a, sqlite3_stmt *st, int col)
{
	const void *v = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	return arena_memdup(a, v, v ? (size_t)n : 0);
}

static const char *col_name(struct arena *a, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	return arena_memdup(a, v, v ? (size_t)n : 0);
}

static int read_argv(struct pr_store *s, struct arena *a, sqlite3_stmt *st, int col,
		     struct pr_proc_rec *p, const char *what)
{
	const void *blob = sqlite3_column_blob(st, col);
	int blen = sqlite3_column_bytes(st, col);
	int64_t want = sqlite3_column_int64(st, col + 1);
	void *raw = NULL;
	size_t n = 0;

	if (want < 0 || want > PR_STORE_ARGV_MAX ||
	    pr_blob_unpack(blob, blob ? (size_t)blen : 0, (size_t)want, &raw, &n) ||
	    n != (size_t)want) {
		free(raw);
		set_err(s, "%s: pid %u: damaged argv blob", what, p->pid);
		return -1;
	}
	p->argv = arena_memdup(a, raw, n);
	p->argv_len = n;
	free(raw);
	if (!p->argv) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

/* Reads PROC_COLS starting at col into p; strings go to a. */
static int read_proc(struct pr_store *s, struct arena *a, sqlite3_stmt *st, int col,
		     struct pr_proc_rec *p, const char *what)
{
	int c = col;

	p->pid = (uint32_t)sqlite3_column_int64(st, c++);
	p->start_boot = (uint64_t)sqlite3_column_int64(st, c++);
	p->ppid = (uint32_t)sqlite3_column_int64(st, c++);
	p->pstart_boot = (uint64_t)sqlite3_column_int64(st, c++);
	p->start_time = (uint64_t)sqlite3_column_int64(st, c++);
	p->uid = (uint32_t)sqlite3_column_int64(st, c++);
	p->gid = (uint32_t)sqlite3_column_int64(st, c++);
	p->loginuid = (uint32_t)sqlite3_column_int64(st, c++);
	p->sessionid = (uint32_t)sqlite3_column_int64(st, c++);
	p->user = col_bytes(a, st, c++);
	p->exe = col_bytes(a, st, c++);
	if (read_argv(s, a, st, c, p, what))
		return -1;
	c += 2;
	p->argc = (uint32_t)sqlite3_column_int64(st, c++);
	p->flags = (uint32_t)sqlite3_column_int64(st, c++);
	p->cwd = col_bytes(a, st, c++);
	p->cgroup_id = (uint64_t)sqlite3_column_int64(st, c++);
	p->cgroup = col_bytes(a, st, c++);
	p->container_id = col_bytes(a, st, c++);
	p->sha256 = col_name(a, st, c++);
	p->exit_time = (uint64_t)sqlite3_column_int64(st, c++);
	p->exit_code = (int32_t)sqlite3_column_int64(st, c++);
	if (!p->user || !p->exe || !p->cwd || !p->cgroup || !p->container_id ||
	    !p->sha256) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

/* Reads "id, PROC_COLS" at col; a NULL id means the snapshot is missing. */
static int read_proc_with_id(struct pr_store *s, struct arena *a, sqlite3_stmt *st,
			     int col, struct pr_proc_rec *p, const char *what)
{
	memset(p, 0, sizeof(*p));
	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		set_err(s, "%s: process snapshot missing (damaged store)", what);
		return -1;
	}
	p->id = sqlite3_column_int64(st, col);
	return read_proc(s, a, st, col + 1, p, what);
}

/* ---- opening ---- */

static int open_err(char *err, size_t errlen, const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int open_err(char *err, size_t errlen, const char *dir, const char *fmt, ...)
{
	char what[PR_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err && errlen) {
		snprintf(err, errlen, "%s: %s", dir, what);
		one_line(err);
	}
	return -1;
}

/* Refuse what another user could swap under us. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st))
		return open_err(err, errlen, dir, "%s", strerror(errno));
	if (S_ISLNK(st.st_mode))
		return open_err(err, errlen, dir,
				"store directory is a symlink; refusing (give the real path)");
	if (!S_ISDIR(st.st_mode))
		return open_err(err, errlen, dir, "not a directory");
	if (st.st_uid != geteuid())
		return open_err(err, errlen, dir, "store directory is owned by uid %u, not us (%u)",
				(unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return open_err(err, errlen, dir,
				"store directory is writable by group or others; refusing");
	return 0;
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) && errno != EEXIST)
		return open_err(err, errlen, dir, "cannot create store directory: %s",
				strerror(errno));
	return check_dir(dir, err, errlen);
}

/* Create (create) or fix a file as a regular 0600 file of ours, never via a
 * symlink. Without create, a file that does not exist is fine (-wal/-shm). */
static int make_private_file(const char *dir, const char *path, bool create,
			     char *err, size_t errlen)
{
	int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (create ? O_CREAT : 0);
	struct stat st;
	int fd = open(path, flags, 0600);

	if (fd < 0) {
		if (!create && errno == ENOENT)
			return 0;
		return open_err(err, errlen, dir, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return open_err(err, errlen, dir, "%s: not a regular file of ours", path);
	}
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600)) {
		int e = errno;

		close(fd);
		return open_err(err, errlen, dir, "%s: chmod 0600: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

static int fix_wal_modes(const char *dir, const char *db, char *err, size_t errlen)
{
	static const char *const suffix[] = { "-wal", "-shm" };
	char path[PATH_MAX];

	for (size_t i = 0; i < 2; i++) {
		if (snprintf(path, sizeof(path), "%s%s", db, suffix[i]) >= (int)sizeof(path))
			return open_err(err, errlen, dir, "path too long");
		if (make_private_file(dir, path, false, err, errlen))
			return -1;
	}
	return 0;
}

static int pragma_int(struct pr_store *s, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(s, "polrec.db");
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		db_err(s, "polrec.db");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int exec_sql(struct pr_store *s, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	set_err(s, "%s: %s", what, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

static int set_wal(struct pr_store *s)
{
	sqlite3_stmt *st;
	const unsigned char *mode;
	int ok, rc;

	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL)) {
		db_err(s, "polrec.db");
		return -1;
	}
	rc = sqlite3_step(st);
	mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	ok = mode && !strcmp((const char *)mode, "wal");
	if (rc != SQLITE_ROW)
		db_err(s, "polrec.db");
	else if (!ok)
		set_err(s, "polrec.db: cannot switch to WAL (journal_mode %s)", mode ? (const char *)mode : "?");
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/* An empty database becomes ours; anything else with version 0 is not. */
static int check_foreign(struct pr_store *s)
{
	int appid = 0, tables = 0;

	if (pragma_int(s, "PRAGMA application_id", &appid) ||
	    pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables))
		return -1;
	if ((appid != 0 && appid != PR_APPLICATION_ID) || tables != 0) {
		set_err(s, "polrec.db: not a polrec store (application_id %d, %d schema objects, version 0)",
			appid, tables);
		return -1;
	}
	return 0;
}

static int migrate(struct pr_store *s)
{
	char sql[64];
	int v, from;

	if (exec_sql(s, "BEGIN IMMEDIATE", "polrec.db: migrate"))
		return -1;
	if (pragma_int(s, "PRAGMA user_version", &v))
		goto fail;
	if (v == 0 && check_foreign(s))
		goto fail;
	if (v > PR_SCHEMA_LATEST) {
		set_err(s, "polrec.db: schema version %d is newer than this build knows (%d)",
			v, PR_SCHEMA_LATEST);
		goto fail;
	}
	from = v;
	for (; v < PR_SCHEMA_LATEST; v++) {
		char what[48];

		snprintf(what, sizeof(what), "polrec.db: migration %d", v + 1);
		if (exec_sql(s, migrations[v], what))
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", PR_SCHEMA_LATEST);
	if (exec_sql(s, sql, "polrec.db: migrate"))
		goto fail;
	s->version = PR_SCHEMA_LATEST;
	/* the chain starts here: older records are not covered */
	if (from < PR_CHAIN_SCHEMA && pr_chain_genesis(s, from))
		goto fail;
	if (exec_sql(s, "COMMIT", "polrec.db: migrate"))
		goto fail;
	return 0;
fail:
	s->version = 0;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* keeps the first error */
	return -1;
}

static int check_version_read(struct pr_store *s)
{
	int v, appid, tables;

	if (pragma_int(s, "PRAGMA user_version", &v) ||
	    pragma_int(s, "PRAGMA application_id", &appid) ||
	    pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables))
		return -1;
	if (appid != PR_APPLICATION_ID) {
		if (v == 0 && appid == 0 && tables == 0)
			set_err(s, "polrec.db: store not initialised yet (schema version 0); run polrecd once");
		else
			set_err(s, "polrec.db: not a polrec store (application_id %d)", appid);
		return -1;
	}
	if (v > PR_SCHEMA_LATEST) {
		set_err(s, "polrec.db: schema version %d is newer than this build knows (%d); use a newer polq",
			v, PR_SCHEMA_LATEST);
		return -1;
	}
	if (v < 1) {
		set_err(s, "polrec.db: schema version %d is older than this build reads; "
			"run polrecd once to migrate it", v);
		return -1;
	}
	s->version = v; /* older than latest: read as it is (no network tables in 1) */
	return 0;
}

/* The directory and polrec.db are checked with lstat/O_NOFOLLOW; symlinks
 * above the store directory (/var/run -> /run) are the admin's business,
 * so SQLite is not asked for SQLITE_OPEN_NOFOLLOW (which refuses them). */
/* The kernel's id of this boot, for the boot_id column of every record;
 * left "" (stored as NULL) when /proc does not have it. */
static void read_boot_id(struct pr_store *s)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	size_t n;

	s->boot_id[0] = '\0';
	if (!f)
		return;
	if (fgets(s->boot_id, sizeof(s->boot_id), f)) {
		n = strcspn(s->boot_id, "\n");
		s->boot_id[n] = '\0';
	}
	fclose(f);
}

static int open_write(struct pr_store *s, const char *db, char *err, size_t errlen)
{
	/* Every file is checked before SQLite opens it, never after: closing
	 * any descriptor of a file drops this process's POSIX locks on it,
	 * SQLite's included; a reader then thinks it is alone, reinitialises
	 * -shm, and our mapping of it dies with SIGBUS. SQLite creates -wal
	 * and -shm with the mode of polrec.db (0600). */
	if (make_dir(s->dir, err, errlen) ||
	    make_private_file(s->dir, db, true, err, errlen) ||
	    fix_wal_modes(s->dir, db, err, errlen))
		return -1;
	if (sqlite3_open_v2(db, &s->db, SQLITE_OPEN_READWRITE,
			    NULL) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(s->db, PR_BUSY_MS);
	if (set_wal(s) ||
	    exec_sql(s, "PRAGMA synchronous = NORMAL", "polrec.db") ||
	    exec_sql(s, "PRAGMA foreign_keys = ON", "polrec.db") ||
	    migrate(s) || pcap_recover(s))
		return -1;
	read_boot_id(s);
	return 0;
}

static int open_read(struct pr_store *s, const char *db, char *err, size_t errlen)
{
	struct stat st;

	if (stat(db, &st)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return open_err(err, errlen, s->dir, "no polrec store here (no %s)", PR_DB_NAME);
		return open_err(err, errlen, s->dir, "%s: %s", PR_DB_NAME, strerror(errno));
	}
	if (sqlite3_open_v2(db, &s->db, SQLITE_OPEN_READONLY,
			    NULL) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(s->db, PR_BUSY_MS);
	return check_version_read(s);
}

int pr_store_open(struct pr_store **out, const char *dir, enum pr_store_mode mode,
		  char *err, size_t errlen)
{
	struct pr_store *s;
	char db[PATH_MAX];
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!dir || !*dir)
		return open_err(err, errlen, "(none)", "no store directory given");
	if (snprintf(db, sizeof(db), "%s/%s", dir, PR_DB_NAME) >= (int)sizeof(db))
		return open_err(err, errlen, dir, "path too long");
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return open_err(err, errlen, dir, "out of memory");
	}
	s->mode = mode;
	s->seg_bytes = PR_SEGMENT_BYTES_DEFAULT;
	if (snprintf(s->pcapdir, sizeof(s->pcapdir), "%s/%s", dir, PR_PCAP_DIR) >=
	    (int)sizeof(s->pcapdir)) {
		free(s->dir);
		free(s);
		return open_err(err, errlen, dir, "path too long");
	}
	rc = mode == PR_STORE_WRITE ? open_write(s, db, err, errlen)
				    : open_read(s, db, err, errlen);
	if (rc) {
		/* errors before sqlite are in err already; later ones in s->err */
		if (err && errlen && !err[0])
			open_err(err, errlen, dir, s->err[0] ? "%s" : PR_DB_NAME ": %s",
				 s->err[0] ? s->err : s->db ? sqlite3_errmsg(s->db) : "out of memory");
		pr_store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void pr_store_close(struct pr_store *s)
{
	if (!s)
		return;
	if (s->seg.id)
		segment_close(s); /* errors: the next start closes it */
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	pr_chain_free(s->chain);
	sqlite3_close(s->db); /* all statements finalized: cannot be busy */
	free(s->dir);
	free(s);
}

/* ---- writing ---- */

int pr_store_begin(struct pr_store *s)
{
	if (require_write(s, "begin"))
		return -1;
	return run_simple(s, ST_BEGIN, "begin");
}

/* Segment bytes reach the disk before the index rows that point at them. */
int pr_store_commit(struct pr_store *s)
{
	if (s->seg.id && pr_seg_sync(&s->seg, s->err, sizeof(s->err))) {
		segment_abandon(s);
		return -1;
	}
	return run_simple(s, ST_COMMIT, "commit");
}

int pr_store_rollback(struct pr_store *s)
{
	return run_simple(s, ST_ROLLBACK, "rollback");
}

static int64_t upsert_process(struct pr_store *s, enum stmt_id id,
			      const struct pr_proc_rec *p, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, id);
	void *packed;
	int64_t row;

	if (!st || bind_proc(s, st, 1, p, &packed, what))
		return -1;
	row = stmt_int64(s, st, what);
	free(packed);
	return row;
}

int64_t pr_store_put_process(struct pr_store *s, const struct pr_proc_rec *p)
{
	if (require_write(s, "put process"))
		return -1;
	if (!p) {
		set_err(s, "put process: no process");
		return -1;
	}
	return upsert_process(s, ST_PUT_PROC, p, "put process");
}

static int with_savepoint_begin(struct pr_store *s)
{
	return run_simple(s, ST_SP_WRITE, "savepoint");
}

/* Keeps the error that made us undo. */
static void with_savepoint_undo(struct pr_store *s)
{
	char keep[PR_ERR_MAX];

	memcpy(keep, s->err, sizeof(keep));
	run_simple(s, ST_SP_WRITE_UNDO, "rollback to savepoint");
	run_simple(s, ST_SP_WRITE_RELEASE, "release savepoint");
	memcpy(s->err, keep, sizeof(keep));
}

/* *id = the stored version with that sha256, 0 when sha256 is NULL or
 * unknown (an incident judged by a version whose record could not be
 * written still gets stored; it names no version). 0, or -1. */
static int policy_version_id(struct pr_store *s, const char *sha256, int64_t *id,
			     const char *what)
{
	sqlite3_stmt *st;
	int rc;

	*id = 0;
	if (!sha256 || !*sha256)
		return 0;
	if (s->pv_id && !strcmp(s->pv_sha, sha256)) {
		*id = s->pv_id;
		return 0;
	}
	if (!(st = stmt_get(s, ST_PV_FIND)))
		return -1;
	if (bind_check(s, bind_name(st, 1, sha256), what)) {
		stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	if (*id) {
		snprintf(s->pv_sha, sizeof(s->pv_sha), "%s", sha256);
		s->pv_id = *id;
	}
	return 0;
}

static int64_t insert_incident_row(struct pr_store *s, const struct pr_incident_rec *inc,
				   uint32_t violations)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;
	int64_t pv;

	if (policy_version_id(s, inc->policy_sha256, &pv, "add incident") ||
	    !(st = stmt_get(s, ST_INS_INCIDENT)))
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, u2i(inc->time));
	rc = rc ?: bind_name(st, 2, inc->policy);
	rc = rc ?: bind_name(st, 3, inc->rule);
	rc = rc ?: bind_name(st, 4, inc->severity);
	rc = rc ?: bind_name(st, 5, inc->kind);
	rc = rc ?: bind_name(st, 6, inc->action);
	rc = rc ?: bind_bytes(st, 7, inc->path);
	rc = rc ?: bind_bytes(st, 8, inc->expected);
	rc = rc ?: bind_bytes(st, 9, inc->actual);
	rc = rc ?: sqlite3_bind_int64(st, 10, u2i(inc->lost_events));
	rc = rc ?: sqlite3_bind_int64(st, 11, clamp_time(inc->follow_until));
	rc = rc ?: sqlite3_bind_int64(st, 12, violations);
	rc = rc ?: bind_boot(s, st, 13, inc->boot_time);
	rc = rc ?: (pv ? sqlite3_bind_int64(st, 15, pv) : sqlite3_bind_null(st, 15));
	if (bind_check(s, rc, "add incident")) {
		stmt_done(st);
		return -1;
	}
	if (stmt_exec(s, st, "add incident"))
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

/* Snapshot p for incident iid; also make sure the process row exists. */
static int64_t insert_image(struct pr_store *s, int64_t iid, const struct pr_proc_rec *p)
{
	sqlite3_stmt *st;
	int64_t pid_row = upsert_process(s, ST_ENSURE_PROC, p, "add incident: process");
	void *packed;
	int rc;

	if (pid_row < 0)
		return -1;
	st = stmt_get(s, ST_INS_IMAGE);
	if (!st || bind_proc(s, st, 1, p, &packed, "add incident: image"))
		return -1;
	rc = sqlite3_bind_int64(st, PROC_NCOLS + 1, iid);
	rc = rc ?: sqlite3_bind_int64(st, PROC_NCOLS + 2, pid_row);
	if (bind_check(s, rc, "add incident: image"))
		rc = -1;
	else
		rc = stmt_exec(s, st, "add incident: image");
	stmt_done(st);
	free(packed);
	return rc ? -1 : sqlite3_last_insert_rowid(s->db);
}

static int exec_3int(struct pr_store *s, enum stmt_id id, int64_t a, int64_t b,
		     int64_t c, int nparams, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, id);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_bind_int64(st, 1, a);
	rc = rc ?: sqlite3_bind_int64(st, 2, b);
	if (nparams > 2)
		rc = rc ?: sqlite3_bind_int64(st, 3, c);
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	return stmt_exec(s, st, what);
}

static bool str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool proc_equal(const struct pr_proc_rec *a, const struct pr_proc_rec *b)
{
	return a->pid == b->pid && a->ppid == b->ppid &&
	       a->start_boot == b->start_boot && a->pstart_boot == b->pstart_boot &&
	       a->start_time == b->start_time && a->uid == b->uid &&
	       a->gid == b->gid && a->loginuid == b->loginuid &&
	       a->sessionid == b->sessionid && a->argv_len == b->argv_len &&
	       a->argc == b->argc && a->flags == b->flags &&
	       a->cgroup_id == b->cgroup_id && a->exit_time == b->exit_time &&
	       a->exit_code == b->exit_code &&
	       (a->argv_len == 0 || !memcmp(a->argv, b->argv, a->argv_len)) &&
	       str_eq(a->user, b->user) && str_eq(a->exe, b->exe) &&
	       str_eq(a->cwd, b->cwd) && str_eq(a->cgroup, b->cgroup) &&
	       str_eq(a->container_id, b->container_id) && str_eq(a->sha256, b->sha256);
}

static int insert_event(struct pr_store *s, int64_t iid, int64_t seq,
			const struct pr_event_rec *e, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_INS_EVENT);
	int rc = SQLITE_OK;

	if (!st)
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, iid);
	rc = rc ?: sqlite3_bind_int64(st, 2, seq);
	rc = rc ?: sqlite3_bind_int64(st, 3, u2i(e->time));
	rc = rc ?: bind_name(st, 4, e->kind);
	rc = rc ?: sqlite3_bind_int64(st, 5, e->pid);
	rc = rc ?: sqlite3_bind_int64(st, 6, u2i(e->start_boot));
	rc = rc ?: bind_bytes(st, 7, e->path);
	rc = rc ?: bind_bytes(st, 8, e->path2);
	rc = rc ?: bind_bytes(st, 9, e->detail);
	rc = rc ?: sqlite3_bind_int64(st, 10, e->mark);
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	return stmt_exec(s, st, what);
}

/* Marks are 0..2; at most max_violation events are the violation.
 * *joined: how many joined the incident. */
static int check_marks(struct pr_store *s, const struct pr_event_rec *ev, size_t n,
		       size_t max_violation, uint32_t *joined, const char *what)
{
	size_t violation = 0;

	*joined = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].mark < PR_MARK_CONTEXT || ev[i].mark > PR_MARK_JOINED) {
			set_err(s, "%s: event %zu: bad mark %d (0 context, 1 violation, 2 joined)",
				what, i, ev[i].mark);
			return -1;
		}
		violation += ev[i].mark == PR_MARK_VIOLATION;
		*joined += ev[i].mark == PR_MARK_JOINED;
	}
	if (violation > max_violation) {
		if (max_violation)
			set_err(s, "%s: %zu events marked as the violation (at most one)", what,
				violation);
		else
			set_err(s, "%s: an appended event cannot be the incident's violation "
				"(mark 1); a later violation is mark 2 (joined)", what);
		return -1;
	}
	if (*joined > UINT32_MAX - 1) {
		set_err(s, "%s: too many joined violations", what);
		return -1;
	}
	return 0;
}

static int insert_net(struct pr_store *s, int64_t iid, const struct pr_net_rec *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_INS_NET);
	int rc = SQLITE_OK;

	if (!st)
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, iid);
	rc = rc ?: bind_name(st, 2, n->direction);
	rc = rc ?: bind_name(st, 3, n->protocol);
	rc = rc ?: bind_name(st, 4, n->src);
	rc = rc ?: sqlite3_bind_int64(st, 5, n->sport);
	rc = rc ?: bind_name(st, 6, n->dst);
	rc = rc ?: sqlite3_bind_int64(st, 7, n->dport);
	rc = rc ?: bind_name(st, 8, n->result);
	rc = rc ?: sqlite3_bind_int64(st, 9, u2i(n->flow_id));
	if (bind_check(s, rc, "add incident: network")) {
		stmt_done(st);
		return -1;
	}
	return stmt_exec(s, st, "add incident: network");
}

static int64_t add_incident_rows(struct pr_store *s, const struct pr_incident_rec *inc,
				 const struct pr_proc_rec *lineage, size_t nlineage,
				 const struct pr_event_rec *events, size_t nevents)
{
	int64_t iid, img, vimg;
	uint32_t joined;

	if (check_marks(s, events, nevents, 1, &joined, "add incident"))
		return -1;
	iid = insert_incident_row(s, inc, 1 + joined);
	if (iid < 0 || (inc->net && insert_net(s, iid, inc->net)))
		return -1;
	vimg = insert_image(s, iid, &inc->proc);
	if (vimg < 0 ||
	    exec_3int(s, ST_SET_INCIDENT_IMAGE, vimg, iid, 0, 2, "add incident: image"))
		return -1;
	for (size_t i = 0; i < nlineage; i++) {
		img = i == 0 && proc_equal(&lineage[0], &inc->proc)
			? vimg : insert_image(s, iid, &lineage[i]);
		if (img < 0 ||
		    exec_3int(s, ST_INS_LINEAGE, iid, (int64_t)i, img, 3, "add incident: lineage"))
			return -1;
	}
	for (size_t i = 0; i < nevents; i++)
		if (insert_event(s, iid, (int64_t)i, &events[i], "add incident: event"))
			return -1;
	if (pr_chain_add(s, "incident", iid, 0, (int64_t)nevents))
		return -1;
	return iid;
}

int64_t pr_store_add_incident(struct pr_store *s, const struct pr_incident_rec *inc,
			      const struct pr_proc_rec *lineage, size_t nlineage,
			      const struct pr_event_rec *events, size_t nevents)
{
	int64_t iid;

	if (require_write(s, "add incident"))
		return -1;
	if (!inc || (nlineage && !lineage) || (nevents && !events)) {
		set_err(s, "add incident: missing incident, lineage or events");
		return -1;
	}
	if (str_eq(inc->kind, "network") != (inc->net != NULL)) {
		set_err(s, "add incident: kind \"%s\" %s", inc->kind ? inc->kind : "",
			inc->net ? "cannot have a network side (only kind network)"
				 : "needs its network side (net)");
		return -1;
	}
	if (with_savepoint_begin(s))
		return -1;
	iid = add_incident_rows(s, inc, lineage, nlineage, events, nevents);
	if (iid < 0) {
		with_savepoint_undo(s);
		return -1;
	}
	if (run_simple(s, ST_SP_WRITE_RELEASE, "add incident: release savepoint")) {
		with_savepoint_undo(s);
		return -1;
	}
	return iid;
}

/* 0 with the incident's next seq, 1 when there is no such incident, -1. */
static int append_info(struct pr_store *s, int64_t iid, int64_t *next, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_APPEND_INFO);
	int rc;

	if (!st)
		return -1;
	if (bind_check(s, sqlite3_bind_int64(st, 1, iid), what)) {
		stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	rc = sqlite3_column_int64(st, 0) ? 0 : 1;
	*next = sqlite3_column_int64(st, 1);
	stmt_done(st);
	return rc;
}

static int append_rows(struct pr_store *s, int64_t iid, const struct pr_event_rec *ev,
		       size_t n, uint32_t joined, const char *what)
{
	int64_t next;
	int rc = append_info(s, iid, &next, what);

	if (rc > 0)
		set_err(s, "%s: no such incident", what);
	if (rc)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (insert_event(s, iid, next + (int64_t)i, &ev[i], what))
			return -1;
	if (n && pr_chain_add(s, "append", iid, next, (int64_t)n))
		return -1;
	if (joined &&
	    exec_3int(s, ST_ADD_VIOLATIONS, iid, joined, 0, 2, what))
		return -1;
	return 0;
}

int pr_store_append_events(struct pr_store *s, int64_t incident_id,
			   const struct pr_event_rec *ev, size_t n)
{
	uint32_t joined;
	char what[64];

	snprintf(what, sizeof(what), "append events: incident %" PRId64, incident_id);
	if (require_write(s, what))
		return -1;
	if (n && !ev) {
		set_err(s, "%s: no events", what);
		return -1;
	}
	if (check_marks(s, ev, n, 0, &joined, what))
		return -1;
	if (with_savepoint_begin(s))
		return -1;
	if (append_rows(s, incident_id, ev, n, joined, what) ||
	    run_simple(s, ST_SP_WRITE_RELEASE, "append events: release savepoint")) {
		with_savepoint_undo(s);
		return -1;
	}
	return 0;
}

/* Run a bound insert and chain its row (ref < 0: the inserted rowid), all
 * or nothing. */
static int exec_chained(struct pr_store *s, sqlite3_stmt *st, const char *what,
			const char *kind, int64_t ref)
{
	if (with_savepoint_begin(s)) {
		stmt_done(st);
		return -1;
	}
	if (stmt_exec(s, st, what) ||
	    pr_chain_add(s, kind, ref < 0 ? sqlite3_last_insert_rowid(s->db) : ref, 0, 0) ||
	    run_simple(s, ST_SP_WRITE_RELEASE, what)) {
		with_savepoint_undo(s);
		return -1;
	}
	return 0;
}

int pr_store_add_loss(struct pr_store *s, uint64_t from, uint64_t to,
		      const char *stage, const char *kind, uint64_t count)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (require_write(s, "add loss") || !(st = stmt_get(s, ST_INS_LOSS)))
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, u2i(from));
	rc = rc ?: sqlite3_bind_int64(st, 2, u2i(to));
	rc = rc ?: bind_name(st, 3, stage);
	rc = rc ?: bind_name(st, 4, kind);
	rc = rc ?: sqlite3_bind_int64(st, 5, u2i(count));
	rc = rc ?: bind_boot(s, st, 6, 0);
	if (bind_check(s, rc, "add loss")) {
		stmt_done(st);
		return -1;
	}
	return exec_chained(s, st, "add loss", "loss", -1);
}

int pr_store_add_run(struct pr_store *s, uint64_t time, const char *what, const char *detail)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (require_write(s, "add run") || !(st = stmt_get(s, ST_INS_RUN)))
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, u2i(time));
	rc = rc ?: bind_name(st, 2, what);
	rc = rc ?: bind_bytes(st, 3, detail);
	rc = rc ?: bind_boot(s, st, 4, 0);
	if (bind_check(s, rc, "add run")) {
		stmt_done(st);
		return -1;
	}
	return exec_chained(s, st, "add run", "run", -1);
}

static bool is_sha256_hex(const char *h)
{
	size_t i;

	for (i = 0; h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return i == 64;
}

int64_t pr_store_add_policy_version(struct pr_store *s, uint64_t time, const char *sha256,
				    const char *source, uint32_t expectations,
				    const void *text, size_t len)
{
	const char *what = "add policy version";
	sqlite3_stmt *st;
	void *packed = NULL;
	size_t plen = 0;
	int64_t id;
	int rc = SQLITE_OK;

	if (require_write(s, what))
		return -1;
	if (!sha256 || !is_sha256_hex(sha256) || (len && !text) || len > INT_MAX) {
		set_err(s, "%s: expected 64 lowercase hex digits and a text", what);
		return -1;
	}
	if (policy_version_id(s, sha256, &id, what))
		return -1;
	if (id)
		return id;
	if (pr_blob_pack(text, len, &packed, &plen)) {
		set_err(s, "%s: cannot compress the policy text", what);
		return -1;
	}
	if (!(st = stmt_get(s, ST_PV_INSERT))) {
		free(packed);
		return -1;
	}
	rc = rc ?: sqlite3_bind_int64(st, 1, u2i(time));
	rc = rc ?: bind_boot(s, st, 2, 0);
	rc = rc ?: bind_name(st, 4, sha256);
	rc = rc ?: bind_bytes(st, 5, source ? source : "(default)");
	rc = rc ?: sqlite3_bind_int64(st, 6, expectations);
	rc = rc ?: sqlite3_bind_blob(st, 7, packed, (int)plen, SQLITE_STATIC);
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		free(packed);
		return -1;
	}
	rc = exec_chained(s, st, what, "policy", -1);
	free(packed);
	if (rc || policy_version_id(s, sha256, &id, what))
		return -1;
	if (!id) {
		set_err(s, "%s: the row is not there after the insert", what);
		return -1;
	}
	return id;
}

/* ---- reading ---- */

/* NET_COLS at col; all NULL (no row, or version 1) leaves *out NULL. */
static int read_net(struct arena *a, sqlite3_stmt *st, int col, const struct pr_net_rec **out)
{
	struct pr_net_rec *n;

	*out = NULL;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	n = arena_alloc(a, sizeof(*n));
	if (!n)
		return -1;
	n->direction = col_name(a, st, col);
	n->protocol = col_name(a, st, col + 1);
	n->src = col_name(a, st, col + 2);
	n->sport = (uint16_t)sqlite3_column_int64(st, col + 3);
	n->dst = col_name(a, st, col + 4);
	n->dport = (uint16_t)sqlite3_column_int64(st, col + 5);
	n->result = col_name(a, st, col + 6);
	n->flow_id = (uint64_t)sqlite3_column_int64(st, col + 7);
	if (!n->direction || !n->protocol || !n->src || !n->dst || !n->result)
		return -1;
	*out = n;
	return 0;
}

static bool has_network(const struct pr_store *s)
{
	return s->version >= PR_SCHEMA_NETWORK;
}

static bool has_follow(const struct pr_store *s)
{
	return s->version >= PR_SCHEMA_FOLLOW;
}

/* The variant of a statement for this store's version. */
static enum stmt_id by_version(const struct pr_store *s, enum stmt_id v3, enum stmt_id v2,
			       enum stmt_id v1)
{
	return has_follow(s) ? v3 : has_network(s) ? v2 : v1;
}

/* Reads INC_COLS, then "id, PROC_COLS" of the violator's snapshot. */
static int read_incident(struct pr_store *s, struct arena *a, sqlite3_stmt *st,
			 struct pr_incident_rec *inc, const char *what)
{
	int c = 0;

	memset(inc, 0, sizeof(*inc));
	inc->id = sqlite3_column_int64(st, c++);
	inc->time = (uint64_t)sqlite3_column_int64(st, c++);
	inc->policy = col_name(a, st, c++);
	inc->rule = col_name(a, st, c++);
	inc->severity = col_name(a, st, c++);
	inc->kind = col_name(a, st, c++);
	inc->action = col_name(a, st, c++);
	inc->path = col_bytes(a, st, c++);
	inc->expected = col_bytes(a, st, c++);
	inc->actual = col_bytes(a, st, c++);
	inc->lost_events = (uint64_t)sqlite3_column_int64(st, c++);
	if (!inc->policy || !inc->rule || !inc->severity || !inc->kind ||
	    !inc->action || !inc->path || !inc->expected || !inc->actual) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	if (read_net(a, st, NET_COL, &inc->net)) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	inc->follow_until = (uint64_t)sqlite3_column_int64(st, FOLLOW_COL);
	inc->violations = (uint32_t)sqlite3_column_int64(st, FOLLOW_COL + 1);
	return read_proc_with_id(s, a, st, INC_NCOLS, &inc->proc, what);
}

#define LIST_CHUNK 256 /* incidents read per statement */

/* Read the next chunk of a listing into v (arena a) and reset the
 * statement; *n rows. 0, or -1. */
static int list_chunk(struct pr_store *s, const struct pr_query *q, enum stmt_id id,
		      const struct pr_incident_rec *key, struct arena *a,
		      struct pr_incident_rec *v, size_t *n)
{
	sqlite3_stmt *st = stmt_get(s, id);
	int rc;

	*n = 0;
	if (!st)
		return -1;
	rc = sqlite3_bind_int64(st, 1, clamp_time(q->since));
	rc = rc ?: sqlite3_bind_int64(st, 2, q->until ? clamp_time(q->until) : INT64_MAX);
	rc = rc ?: (q->policy ? bind_name(st, 3, q->policy) : SQLITE_OK);
	rc = rc ?: (q->severity ? bind_name(st, 4, q->severity) : SQLITE_OK);
	rc = rc ?: sqlite3_bind_int64(st, 5, q->after_id > 0 ? q->after_id : 0);
	rc = rc ?: sqlite3_bind_int64(st, 6, q->upto_id > 0 ? q->upto_id : INT64_MAX);
	rc = rc ?: sqlite3_bind_int64(st, 7, key ? clamp_time(key->time) : 0);
	rc = rc ?: sqlite3_bind_int64(st, 8, key ? key->id : 0);
	rc = rc ?: sqlite3_bind_int(st, 9, key != NULL);
	rc = rc ?: sqlite3_bind_int(st, 10, LIST_CHUNK);
	if (bind_check(s, rc, "list incidents")) {
		stmt_done(st);
		return -1;
	}
	while (*n < LIST_CHUNK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char what[48];

		snprintf(what, sizeof(what), "incident %lld", (long long)sqlite3_column_int64(st, 0));
		if (read_incident(s, a, st, &v[*n], what)) {
			stmt_done(st);
			return -1;
		}
		(*n)++;
	}
	if (*n < LIST_CHUNK && rc != SQLITE_DONE) {
		db_err(s, "list incidents");
		stmt_done(st);
		return -1;
	}
	stmt_done(st); /* the read snapshot ends here, before any callback */
	return 0;
}

long pr_store_list_incidents(struct pr_store *s, const struct pr_query *q,
			     pr_incident_cb cb, void *arg)
{
	/* [order][version 3, 2, 1] */
	static const enum stmt_id list_ids[][3] = {
		[PR_ORDER_TIME] = { ST_LIST_INCIDENTS, ST_LIST_INCIDENTS_V2, ST_LIST_INCIDENTS_V1 },
		[PR_ORDER_TIME_DESC] = { ST_LIST_INCIDENTS_REV, ST_LIST_INCIDENTS_V2_REV,
					 ST_LIST_INCIDENTS_V1_REV },
		[PR_ORDER_ID] = { ST_LIST_INCIDENTS_ID, ST_LIST_INCIDENTS_V2_ID,
				  ST_LIST_INCIDENTS_V1_ID },
	};
	static const struct pr_query all;
	struct pr_incident_rec *v, key;
	struct arena a = { 0 };
	enum stmt_id id;
	bool stop = false, have_key = false;
	size_t got;
	long n = 0;

	if (s->listing) {
		set_err(s, "list incidents: called from its own callback");
		return -1;
	}
	q = q ? q : &all;
	if ((unsigned int)q->order > PR_ORDER_ID) {
		set_err(s, "list incidents: unknown order %d", (int)q->order);
		return -1;
	}
	id = by_version(s, list_ids[q->order][0], list_ids[q->order][1], list_ids[q->order][2]);
	if (!(v = calloc(LIST_CHUNK, sizeof(*v)))) {
		set_err(s, "list incidents: out of memory");
		return -1;
	}
	s->listing = true;
	do {
		arena_release(&a);
		if (list_chunk(s, q, id, have_key ? &key : NULL, &a, v, &got)) {
			n = -1;
			break;
		}
		for (size_t i = 0; i < got && !stop; i++) {
			n++;
			stop = cb && cb(&v[i], arg);
		}
		if (got) {
			key = v[got - 1]; /* only time and id are used */
			have_key = true;
		}
	} while (!stop && got == LIST_CHUNK);
	s->listing = false;
	arena_release(&a);
	free(v);
	return n;
}

/* A growable array of records, copied into the arena when complete. */
struct vec {
	void *v;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		void *nv = reallocarray(v->v, cap, v->size);

		if (!nv)
			return NULL;
		v->v = nv;
		v->cap = cap;
	}
	return memset((char *)v->v + v->n++ * v->size, 0, v->size);
}

/* Moves the records into a; returns NULL (with n == 0 meaning empty). */
static void *vec_finish(struct vec *v, struct arena *a, bool *oom)
{
	void *out = NULL;

	*oom = false;
	if (v->n) {
		out = arena_alloc(a, v->n * v->size);
		if (out)
			memcpy(out, v->v, v->n * v->size);
		else
			*oom = true;
	}
	free(v->v);
	v->v = NULL;
	return out;
}

static int read_event(struct arena *a, sqlite3_stmt *st, struct pr_event_rec *e)
{
	e->time = (uint64_t)sqlite3_column_int64(st, 0);
	e->kind = col_name(a, st, 1);
	e->pid = (uint32_t)sqlite3_column_int64(st, 2);
	e->start_boot = (uint64_t)sqlite3_column_int64(st, 3);
	e->path = col_bytes(a, st, 4);
	e->path2 = col_bytes(a, st, 5);
	e->detail = col_bytes(a, st, 6);
	e->mark = (int)sqlite3_column_int64(st, EVENT_NCOLS);
	return e->kind && e->path && e->path2 && e->detail ? 0 : -1;
}

/* The same event, stored with two incidents (or twice with one). */
static bool same_event(const struct pr_event_rec *x, const struct pr_event_rec *y)
{
	return x->time == y->time && x->pid == y->pid && x->start_boot == y->start_boot &&
	       !strcmp(x->kind, y->kind) && !strcmp(x->path, y->path);
}

/* e, just read, repeats an event of v (which is in time order): keep one,
 * with the higher mark. */
static bool event_seen(struct vec *v, const struct pr_event_rec *e)
{
	struct pr_event_rec *p = v->v;

	for (size_t i = v->n; i-- > 0 && p[i].time == e->time;) {
		if (!same_event(&p[i], e))
			continue;
		if (e->mark > p[i].mark)
			p[i].mark = e->mark;
		return true;
	}
	return false;
}

/* Returns 0, 1 when no such incident, -1 on error. */
static int get_incident_head(struct pr_store *s, struct arena *a, int64_t id,
			     struct pr_incident_rec *inc, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, by_version(s, ST_GET_INCIDENT, ST_GET_INCIDENT_V2,
						  ST_GET_INCIDENT_V1));
	int rc;

	if (!st)
		return -1;
	if (bind_check(s, sqlite3_bind_int64(st, 1, id), what)) {
		stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		stmt_done(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	rc = read_incident(s, a, st, inc, what);
	stmt_done(st);
	return rc;
}

static int get_incident_lineage(struct pr_store *s, struct arena *a,
				struct pr_incident_full *f, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_GET_LINEAGE);
	struct vec v = { .size = sizeof(struct pr_proc_rec) };
	struct pr_proc_rec *p;
	bool oom;
	int rc;

	if (!st)
		return -1;
	if (bind_check(s, sqlite3_bind_int64(st, 1, f->inc.id), what)) {
		stmt_done(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(p = vec_push(&v))) {
			set_err(s, "%s: out of memory", what);
			goto fail;
		}
		if (read_proc_with_id(s, a, st, 0, p, what))
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		db_err(s, what);
		goto fail;
	}
	stmt_done(st);
	f->nlineage = v.n;
	f->lineage = vec_finish(&v, a, &oom);
	if (oom)
		set_err(s, "%s: out of memory", what);
	return oom ? -1 : 0;
fail:
	stmt_done(st);
	free(v.v);
	return -1;
}

static int get_incident_events(struct pr_store *s, struct arena *a,
			       struct pr_incident_full *f, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, has_follow(s) ? ST_GET_EVENTS : ST_GET_EVENTS_V2);
	struct vec v = { .size = sizeof(struct pr_event_rec) };
	struct pr_event_rec e, *p;
	bool oom;
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_bind_int64(st, 1, f->inc.id);
	rc = rc ?: sqlite3_bind_int64(st, 2, f->inc.proc.pid);
	rc = rc ?: sqlite3_bind_int64(st, 3, u2i(f->inc.proc.start_boot));
	rc = rc ?: sqlite3_bind_int64(st, 4, u2i(f->inc.time));
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		if (read_event(a, st, &e)) {
			set_err(s, "%s: out of memory", what);
			goto fail;
		}
		if (event_seen(&v, &e))
			continue;
		if (!(p = vec_push(&v))) {
			set_err(s, "%s: out of memory", what);
			goto fail;
		}
		*p = e;
	}
	if (rc != SQLITE_DONE) {
		db_err(s, what);
		goto fail;
	}
	stmt_done(st);
	f->nevents = v.n;
	f->events = vec_finish(&v, a, &oom);
	if (oom)
		set_err(s, "%s: out of memory", what);
	return oom ? -1 : 0;
fail:
	stmt_done(st);
	free(v.v);
	return -1;
}

/* The rows of a prepared, bound statement ("from_time, to_time, stage,
 * kind, count") into a; the statement is done after. */
static int collect_losses(struct pr_store *s, struct arena *a, sqlite3_stmt *st,
			  struct pr_loss_rec **out, size_t *nout, const char *what)
{
	struct vec v = { .size = sizeof(struct pr_loss_rec) };
	struct pr_loss_rec *l;
	bool oom;
	int rc;

	*out = NULL;
	*nout = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(l = vec_push(&v)))
			break;
		l->from = (uint64_t)sqlite3_column_int64(st, 0);
		l->to = (uint64_t)sqlite3_column_int64(st, 1);
		l->stage = col_name(a, st, 2);
		l->kind = col_name(a, st, 3);
		l->count = (uint64_t)sqlite3_column_int64(st, 4);
		if (!l->stage || !l->kind)
			break;
	}
	if (rc == SQLITE_ROW)
		set_err(s, "%s: out of memory", what);
	else if (rc != SQLITE_DONE)
		db_err(s, what);
	stmt_done(st);
	if (rc != SQLITE_DONE) {
		free(v.v);
		return -1;
	}
	*nout = v.n;
	*out = vec_finish(&v, a, &oom);
	if (oom)
		set_err(s, "%s: out of memory", what);
	return oom ? -1 : 0;
}

/* Column i as an arena string, NULL when the column is NULL. */
static int col_str_or_null(struct arena *a, sqlite3_stmt *st, int i, const char **out)
{
	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	*out = arena_memdup(a, sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
	return *out ? 0 : -1;
}

/* Schema 6: the boot and the policy version an incident was judged in. */
static int get_incident_judged(struct pr_store *s, struct arena *a,
			       struct pr_incident_rec *inc, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_INC_JUDGED);
	int rc;

	if (!st)
		return -1;
	if (bind_check(s, sqlite3_bind_int64(st, 1, inc->id), what)) {
		stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	inc->boot_time = (uint64_t)sqlite3_column_int64(st, 1);
	inc->policy_version = sqlite3_column_int64(st, 2);
	if (col_str_or_null(a, st, 0, &inc->boot_id) ||
	    col_str_or_null(a, st, 3, &inc->policy_sha256)) {
		set_err(s, "%s: out of memory", what);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	return 0;
}

/* Loss records overlapping [time - PR_GAP_BEFORE_NS, max(follow_until, time)]. */
static int get_incident_gaps(struct pr_store *s, struct arena *a,
			     struct pr_incident_full *f, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_GAPS);
	uint64_t t = f->inc.time, lo, hi;
	int rc;

	if (!st)
		return -1;
	lo = t > PR_GAP_BEFORE_NS ? t - PR_GAP_BEFORE_NS : 0;
	hi = f->inc.follow_until > t ? f->inc.follow_until : t;
	rc = sqlite3_bind_int64(st, 1, clamp_time(lo));
	rc = rc ?: sqlite3_bind_int64(st, 2, clamp_time(hi));
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	return collect_losses(s, a, st, &f->gaps, &f->ngaps, what);
}

/* One read snapshot for several statements; nests inside a write
 * transaction of the same connection. */
static int read_begin(struct pr_store *s)
{
	return run_simple(s, ST_SP_READ, "read snapshot");
}

static void read_end(struct pr_store *s)
{
	char keep[PR_ERR_MAX];

	memcpy(keep, s->err, sizeof(keep));
	run_simple(s, ST_SP_READ_RELEASE, "release read snapshot");
	memcpy(s->err, keep, sizeof(keep)); /* nothing was written: keep the first error */
}

static struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

static void arena_free(struct arena *a)
{
	if (a) {
		arena_release(a);
		free(a);
	}
}

int pr_store_get_incident(struct pr_store *s, int64_t id, struct pr_incident_full **out)
{
	struct arena *a = arena_new();
	struct pr_incident_full *f;
	char what[48];
	int rc;

	*out = NULL;
	snprintf(what, sizeof(what), "incident %lld", (long long)id);
	if (!a || !(f = arena_alloc(a, sizeof(*f)))) {
		arena_free(a);
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->priv = a;
	if (read_begin(s)) {
		arena_free(a);
		return -1;
	}
	rc = get_incident_head(s, a, id, &f->inc, what);
	if (rc == 0 && s->version >= PR_SCHEMA_TIME)
		rc = get_incident_judged(s, a, &f->inc, what);
	if (rc == 0)
		rc = get_incident_lineage(s, a, f, what);
	if (rc == 0)
		rc = get_incident_events(s, a, f, what);
	if (rc == 0)
		rc = load_flows(s, a, f->inc.id, true, &f->flows, &f->nflows);
	if (rc == 0)
		rc = get_incident_gaps(s, a, f, what);
	read_end(s);
	if (rc) {
		arena_free(a);
		return rc;
	}
	*out = f;
	return 0;
}

void pr_incident_full_free(struct pr_incident_full *f)
{
	if (f)
		arena_free(f->priv); /* f lives in its own arena */
}

/* ---- policy versions ---- */

#define PR_POLICY_TEXT_MAX (64u << 20) /* policy files are at most 16 MiB each */

static int read_policy_rows(struct pr_store *s, struct arena *a, sqlite3_stmt *st,
			    struct pr_policy_list *out, const char *what)
{
	struct pr_policy_version *v = NULL, *nv;
	size_t n = 0, cap = 0;
	void *raw;
	size_t rawlen;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = arena_alloc(a, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			if (n)
				memcpy(nv, v, n * sizeof(*v));
			v = nv;
		}
		nv = &v[n];
		memset(nv, 0, sizeof(*nv));
		nv->id = sqlite3_column_int64(st, 0);
		nv->time = (uint64_t)sqlite3_column_int64(st, 1);
		nv->expectations = (uint32_t)sqlite3_column_int64(st, 5);
		nv->incidents = (uint64_t)sqlite3_column_int64(st, 6);
		if (col_str_or_null(a, st, 2, &nv->boot_id) ||
		    col_str_or_null(a, st, 3, &nv->sha256) ||
		    col_str_or_null(a, st, 4, &nv->source))
			goto nomem;
		if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
			if (pr_blob_unpack(sqlite3_column_blob(st, 7),
					   (size_t)sqlite3_column_bytes(st, 7),
					   PR_POLICY_TEXT_MAX, &raw, &rawlen)) {
				set_err(s, "%s: policy version %lld: damaged text blob", what,
					(long long)nv->id);
				stmt_done(st);
				return -1;
			}
			nv->text = arena_memdup(a, raw, rawlen);
			nv->text_len = rawlen;
			free(raw);
			if (!nv->text)
				goto nomem;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	out->v = v;
	out->n = n;
	return 0;
nomem:
	set_err(s, "%s: out of memory", what);
	stmt_done(st);
	return -1;
}

static int policy_query(struct pr_store *s, int64_t id, struct pr_policy_list *out)
{
	const char *what = "policy versions";
	struct arena *a;
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s->version < PR_SCHEMA_TIME)
		return id ? 1 : 0;
	if (!(a = arena_new())) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	if (!(st = stmt_get(s, id ? ST_PV_GET : ST_PV_LIST))) {
		arena_free(a);
		return -1;
	}
	if (id && bind_check(s, sqlite3_bind_int64(st, 1, id), what)) {
		stmt_done(st);
		arena_free(a);
		return -1;
	}
	rc = read_policy_rows(s, a, st, out, what);
	if (rc) {
		arena_free(a);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->priv = a;
	return id && !out->n ? 1 : 0;
}

int pr_store_policy_versions(struct pr_store *s, struct pr_policy_list *out)
{
	return policy_query(s, 0, out);
}

int pr_store_get_policy_version(struct pr_store *s, int64_t id, struct pr_policy_list *out)
{
	if (id <= 0) {
		memset(out, 0, sizeof(*out));
		return 1;
	}
	return policy_query(s, id, out);
}

void pr_policy_list_free(struct pr_policy_list *l)
{
	if (l) {
		arena_free(l->priv);
		memset(l, 0, sizeof(*l));
	}
}

/* ---- the timeline: every recorded event ---- */

/* The key of the last event passed on, to drop its repeats. */
struct tl_last {
	bool set;
	struct pr_event_rec e;
	char *kind, *path;
};

static bool tl_repeat(const struct tl_last *l, const struct pr_event_rec *e)
{
	return l->set && same_event(&l->e, e);
}

static int tl_remember(struct tl_last *l, const struct pr_event_rec *e)
{
	char *kind = strdup(e->kind), *path = strdup(e->path);

	if (!kind || !path) {
		free(kind);
		free(path);
		return -1;
	}
	free(l->kind);
	free(l->path);
	l->e = *e;
	l->e.kind = l->kind = kind;
	l->e.path = l->path = path;
	l->set = true;
	return 0;
}

static sqlite3_stmt *timeline_stmt(struct pr_store *s, uint32_t pid, uint64_t start_boot,
				   bool rev)
{
	/* [reverse][version 3][all, pid, process] */
	static const enum stmt_id ids[2][2][3] = {
		{ { ST_TIMELINE_V2, ST_TIMELINE_PID_V2, ST_TIMELINE_PROC_V2 },
		  { ST_TIMELINE, ST_TIMELINE_PID, ST_TIMELINE_PROC } },
		{ { ST_TIMELINE_V2_REV, ST_TIMELINE_PID_V2_REV, ST_TIMELINE_PROC_V2_REV },
		  { ST_TIMELINE_REV, ST_TIMELINE_PID_REV, ST_TIMELINE_PROC_REV } },
	};

	return stmt_get(s, ids[rev][has_follow(s)][!pid ? 0 : !start_boot ? 1 : 2]);
}

static long timeline_walk(struct pr_store *s, sqlite3_stmt *st, pr_event_cb cb, void *arg)
{
	const char *what = "timeline";
	struct tl_last last = { 0 };
	struct arena a = { 0 };
	struct pr_event_rec e;
	long n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		arena_reset(&a);
		memset(&e, 0, sizeof(e));
		if (read_event(&a, st, &e)) {
			set_err(s, "%s: out of memory", what);
			n = -1;
			break;
		}
		if (tl_repeat(&last, &e))
			continue;
		if (tl_remember(&last, &e)) {
			set_err(s, "%s: out of memory", what);
			n = -1;
			break;
		}
		n++;
		if (cb && cb(&e, sqlite3_column_int64(st, EVENT_NCOLS + 1), arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_err(s, what);
		n = -1;
	}
	free(last.kind);
	free(last.path);
	arena_release(&a);
	return n;
}

static long timeline(struct pr_store *s, uint64_t since, uint64_t until, uint32_t pid,
		     uint64_t start_boot, bool rev, pr_event_cb cb, void *arg)
{
	sqlite3_stmt *st;
	long n;
	int rc;

	if (s->timeline) {
		set_err(s, "timeline: called from its own callback");
		return -1;
	}
	if (!(st = timeline_stmt(s, pid, start_boot, rev)))
		return -1;
	rc = sqlite3_bind_int64(st, 1, clamp_time(since));
	rc = rc ?: sqlite3_bind_int64(st, 2, until ? clamp_time(until) : INT64_MAX);
	if (pid)
		rc = rc ?: sqlite3_bind_int64(st, 3, pid);
	if (pid && start_boot)
		rc = rc ?: sqlite3_bind_int64(st, 4, u2i(start_boot));
	if (bind_check(s, rc, "timeline")) {
		stmt_done(st);
		return -1;
	}
	s->timeline = true;
	n = timeline_walk(s, st, cb, arg);
	s->timeline = false;
	stmt_done(st);
	return n;
}

long pr_store_timeline(struct pr_store *s, uint64_t since, uint64_t until, uint32_t pid,
		       uint64_t start_boot, pr_event_cb cb, void *arg)
{
	return timeline(s, since, until, pid, start_boot, false, cb, arg);
}

long pr_store_timeline_rev(struct pr_store *s, uint64_t since, uint64_t until, uint32_t pid,
			   uint64_t start_boot, pr_event_cb cb, void *arg)
{
	return timeline(s, since, until, pid, start_boot, true, cb, arg);
}

/* ---- network: flows and packets (writing) ---- */

void pr_store_set_segment_bytes(struct pr_store *s, uint64_t bytes)
{
	s->seg_bytes = bytes ? bytes : PR_SEGMENT_BYTES_DEFAULT;
}

void pr_store_pcap_recovery(struct pr_store *s, struct pr_pcap_recovery *out)
{
	*out = s->recovery;
}

int pr_store_add_flow(struct pr_store *s, const struct pr_flow_rec *f)
{
	sqlite3_stmt *st;
	char what[64];
	int rc = SQLITE_OK;

	if (require_write(s, "add flow"))
		return -1;
	if (!f || !f->flow_id) {
		set_err(s, "add flow: %s", f ? "flow id 0 is reserved (no flow)" : "no flow");
		return -1;
	}
	snprintf(what, sizeof(what), "add flow %" PRIu64, f->flow_id);
	if (!(st = stmt_get(s, ST_INS_FLOW)))
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, u2i(f->flow_id));
	rc = rc ?: sqlite3_bind_int64(st, 2, f->incident_id);
	rc = rc ?: sqlite3_bind_int64(st, 3, u2i(f->time));
	rc = rc ?: bind_name(st, 4, f->role);
	rc = rc ?: bind_name(st, 5, f->protocol);
	rc = rc ?: bind_name(st, 6, f->local);
	rc = rc ?: sqlite3_bind_int64(st, 7, f->lport);
	rc = rc ?: bind_name(st, 8, f->remote);
	rc = rc ?: sqlite3_bind_int64(st, 9, f->rport);
	rc = rc ?: sqlite3_bind_int64(st, 10, f->pid);
	rc = rc ?: sqlite3_bind_int64(st, 11, u2i(f->start_boot));
	rc = rc ?: bind_bytes(st, 12, f->exe);
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	return exec_chained(s, st, what, "flow", u2i(f->flow_id));
}

/* DIR/pcap: created 0700 on first use, never a symlink, ours alone. */
static int pcapdir_ensure(struct pr_store *s)
{
	char err[PR_ERR_MAX];

	if (s->pcapdir_ok)
		return 0;
	if (mkdir(s->pcapdir, 0700) && errno != EEXIST) {
		set_err(s, "%s: cannot create: %s", s->pcapdir, strerror(errno));
		return -1;
	}
	if (check_dir(s->pcapdir, err, sizeof(err))) {
		set_err(s, "%s", err);
		return -1;
	}
	s->pcapdir_ok = true;
	return 0;
}

static int segment_open(struct pr_store *s)
{
	int rc = -2;

	if (pcapdir_ensure(s))
		return -1;
	/* a file left by a rolled-back or foreign writer: take the next id */
	for (int tries = 0; rc == -2 && tries < 64; tries++)
		rc = pr_seg_create(&s->seg, s->pcapdir, s->seg_next++, s->err, sizeof(s->err));
	return rc ? -1 : 0;
}

/* Closed: the row, the file's SHA-256 and its chain record, all or nothing. */
static int segment_row_closed(struct pr_store *s, int64_t id, uint64_t bytes)
{
	if (with_savepoint_begin(s))
		return -1;
	if (exec_3int(s, ST_CLOSE_SEGMENT, id, u2i(bytes), 0, 2, "pcap segment: close") ||
	    pr_chain_segment(s, id) ||
	    run_simple(s, ST_SP_WRITE_RELEASE, "pcap segment: close")) {
		with_savepoint_undo(s);
		return -1;
	}
	return 0;
}

/* Finish the open segment (rename to seg-<id>.pcap) and mark it closed. */
static int segment_close(struct pr_store *s)
{
	int64_t id = s->seg.id;
	uint64_t bytes = s->seg.bytes;

	if (pr_seg_finish(&s->seg, s->pcapdir, s->err, sizeof(s->err)))
		return -1;
	/* outside a transaction this is its own; the next start fixes a miss */
	return segment_row_closed(s, id, bytes);
}

/* After a failed write: finish it as it is, keep the first error. */
static void segment_abandon(struct pr_store *s)
{
	char keep[PR_ERR_MAX];

	memcpy(keep, s->err, sizeof(keep));
	segment_close(s);
	memcpy(s->err, keep, sizeof(keep));
}

static int insert_packet(struct pr_store *s, const struct pr_packet_rec *p, uint64_t off,
			 const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_INS_PACKET);
	int rc = SQLITE_OK;

	if (!st)
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, u2i(p->flow_id));
	rc = rc ?: sqlite3_bind_int64(st, 2, u2i(p->time));
	rc = rc ?: sqlite3_bind_int64(st, 3, s->seg.id);
	rc = rc ?: sqlite3_bind_int64(st, 4, u2i(off));
	rc = rc ?: sqlite3_bind_int64(st, 5, p->caplen);
	rc = rc ?: sqlite3_bind_int64(st, 6, p->len);
	rc = rc ?: sqlite3_bind_int64(st, 7, p->dir);
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	return stmt_exec(s, st, what);
}

static int put_segment_row(struct pr_store *s, size_t n, uint64_t first, uint64_t last)
{
	sqlite3_stmt *st = stmt_get(s, ST_PUT_SEGMENT);
	int rc = SQLITE_OK;

	if (!st)
		return -1;
	rc = rc ?: sqlite3_bind_int64(st, 1, s->seg.id);
	rc = rc ?: sqlite3_bind_int64(st, 2, u2i(s->seg.bytes));
	rc = rc ?: sqlite3_bind_int64(st, 3, (int64_t)n);
	rc = rc ?: sqlite3_bind_int64(st, 4, clamp_time(first));
	rc = rc ?: sqlite3_bind_int64(st, 5, clamp_time(last));
	if (bind_check(s, rc, "pcap segment")) {
		stmt_done(st);
		return -1;
	}
	return stmt_exec(s, st, "pcap segment");
}

/* *file_failed: the segment file is in an unknown state (an I/O error);
 * after an SQL error it is sound (records nobody indexes are harmless). */
static int write_packets(struct pr_store *s, const struct pr_packet_rec *p, size_t n,
			 bool *file_failed)
{
	uint64_t off, first = UINT64_MAX, last = 0;
	int64_t first_row = 0;
	char what[64];

	for (size_t i = 0; i < n; i++) {
		first = p[i].time < first ? p[i].time : first;
		last = p[i].time > last ? p[i].time : last;
	}
	/* the row first: packets refer to it */
	if (put_segment_row(s, n, first, last))
		return -1;
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "add packets: flow %" PRIu64, p[i].flow_id);
		if (pr_seg_append(&s->seg, &p[i], &off, s->err, sizeof(s->err))) {
			*file_failed = true;
			return -1;
		}
		if (insert_packet(s, &p[i], off, what))
			return -1;
		if (i == 0)
			first_row = sqlite3_last_insert_rowid(s->db);
	}
	if (pr_seg_flush(&s->seg, s->err, sizeof(s->err))) {
		*file_failed = true;
		return -1;
	}
	if (exec_3int(s, ST_SEGMENT_BYTES, s->seg.id, u2i(s->seg.bytes), 0, 2, "pcap segment"))
		return -1;
	if (pr_chain_add(s, "packets", first_row, 0, (int64_t)n))
		return -1;
	if (s->seg.bytes < s->seg_bytes)
		return 0;
	/* rotation: inside the savepoint, so a failure undoes the rows too */
	return segment_close(s);
}

static int check_packets(struct pr_store *s, const struct pr_packet_rec *p, size_t n)
{
	if (n && !p) {
		set_err(s, "add packets: no packets");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i].caplen > PR_STORE_SNAPLEN || p[i].caplen > p[i].len ||
		    (p[i].caplen && !p[i].data) || !p[i].flow_id || p[i].dir > 1) {
			set_err(s, "add packets: flow %" PRIu64 " packet %zu: bad record (caplen %u, "
				"len %u, dir %u)", p[i].flow_id, i, p[i].caplen, p[i].len, p[i].dir);
			return -1;
		}
	}
	return 0;
}

int pr_store_add_packets(struct pr_store *s, const struct pr_packet_rec *p, size_t n)
{
	bool file_failed = false;

	if (require_write(s, "add packets") || check_packets(s, p, n))
		return -1;
	if (!n)
		return 0;
	if (!s->seg.id && segment_open(s))
		return -1;
	if (with_savepoint_begin(s))
		return -1;
	if (write_packets(s, p, n, &file_failed) ||
	    run_simple(s, ST_SP_WRITE_RELEASE, "add packets: release savepoint")) {
		with_savepoint_undo(s);
		if (s->seg.id && file_failed)
			segment_abandon(s);
		return -1;
	}
	return 0;
}

/* ---- network: start-up recovery of DIR/pcap (WRITE mode) ---- */

static int segment_state(struct pr_store *s, int64_t id, bool *found)
{
	sqlite3_stmt *st = stmt_get(s, ST_SEGMENT_STATE);
	int rc;

	*found = false;
	if (!st)
		return -1;
	if (bind_check(s, sqlite3_bind_int64(st, 1, id), "pcap recovery")) {
		stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_err(s, "pcap recovery");
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* One leftover .seg-<id>.pcap.part: indexed ones are finished (renamed,
 * closed), the others are nobody's and go. */
static int recover_part(struct pr_store *s, int dfd, const char *name, int64_t id)
{
	char done[64];
	struct stat st;
	bool found;

	if (segment_state(s, id, &found))
		return -1;
	if (!found) {
		if (unlinkat(dfd, name, 0) && errno != ENOENT) {
			set_err(s, "%s/%s: cannot remove: %s", s->pcapdir, name, strerror(errno));
			return -1;
		}
		s->recovery.removed++;
		return 0;
	}
	snprintf(done, sizeof(done), "seg-%" PRId64 ".pcap", id);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) || renameat(dfd, name, dfd, done)) {
		set_err(s, "%s/%s: cannot finish: %s", s->pcapdir, name, strerror(errno));
		return -1;
	}
	s->recovery.closed++;
	return segment_row_closed(s, id, (uint64_t)st.st_size);
}

static int recover_scan(struct pr_store *s, DIR *d, int64_t *max_id)
{
	struct dirent *e;
	bool part;
	int64_t id;

	while ((errno = 0, e = readdir(d))) {
		id = pr_seg_parse_name(e->d_name, &part);
		if (id < 0)
			continue; /* not ours: never touched */
		*max_id = id > *max_id ? id : *max_id;
		if (part && recover_part(s, dirfd(d), e->d_name, id))
			return -1;
	}
	if (errno) {
		set_err(s, "%s: readdir: %s", s->pcapdir, strerror(errno));
		return -1;
	}
	return 0;
}

static int recover_record(struct pr_store *s)
{
	struct timespec ts;
	char detail[128];

	if (!s->recovery.closed && !s->recovery.removed)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(detail, sizeof(detail), "closed %u segment(s) left open, removed %u "
		 "unindexed temporary file(s)", s->recovery.closed, s->recovery.removed);
	return pr_store_add_run(s, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
				"pcap-recovery", detail);
}

static int recover_rows(struct pr_store *s, int64_t *max_id)
{
	sqlite3_stmt *st = stmt_get(s, ST_MAX_SEGMENT);
	int64_t v;

	if (!st || (v = stmt_int64(s, st, "pcap recovery")) < 0)
		return -1;
	*max_id = v > *max_id ? v : *max_id;
	/* open rows without a .part left: the file was renamed before a crash */
	if (!(st = stmt_get(s, ST_CLOSE_OPEN_SEGMENTS)) || stmt_exec(s, st, "pcap recovery"))
		return -1;
	s->recovery.closed += (unsigned int)sqlite3_changes(s->db);
	return 0;
}

static int pcap_recover_tx(struct pr_store *s, int64_t *max_id)
{
	DIR *d = opendir(s->pcapdir);
	int rc;

	if (!d && errno != ENOENT) {
		set_err(s, "%s: %s", s->pcapdir, strerror(errno));
		return -1;
	}
	if (d && pcapdir_ensure(s)) {
		closedir(d);
		return -1;
	}
	rc = d ? recover_scan(s, d, max_id) : 0;
	if (d)
		closedir(d);
	return rc ?: recover_rows(s, max_id) ?: recover_record(s);
}

/* Start-up: never append to a segment a crash left; finish it instead. */
static int pcap_recover(struct pr_store *s)
{
	int64_t max_id = 0;

	if (exec_sql(s, "BEGIN IMMEDIATE", "pcap recovery"))
		return -1;
	if (pcap_recover_tx(s, &max_id) || exec_sql(s, "COMMIT", "pcap recovery")) {
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	s->seg_next = max_id + 1;
	return 0;
}

/* ---- network: flows and packets (reading) ---- */

/* Reads segment records for the readers: one segment open at a time. */
struct pkt_reader {
	struct pr_seg_reader r;
	uint8_t *buf;
};

static int pkt_reader_init(struct pr_store *s, struct pkt_reader *pr, const char *what)
{
	memset(pr, 0, sizeof(*pr));
	pr->buf = malloc(PR_STORE_SNAPLEN);
	if (!pr->buf) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

static void pkt_reader_done(struct pkt_reader *pr)
{
	pr_seg_reader_close(&pr->r);
	free(pr->buf);
	pr->buf = NULL;
}

/* Reads "k.flow_id, PKT_COLS" of the current row into p and its bytes. */
static int pkt_read_row(struct pr_store *s, struct pkt_reader *pr, sqlite3_stmt *st,
			struct pr_packet_rec *p)
{
	int64_t seg = sqlite3_column_int64(st, 2), off = sqlite3_column_int64(st, 3);
	int64_t caplen = sqlite3_column_int64(st, 4), len = sqlite3_column_int64(st, 5);
	const unsigned char *state = sqlite3_column_text(st, 7);
	bool open = state && !strcmp((const char *)state, "open");

	memset(p, 0, sizeof(*p));
	p->flow_id = (uint64_t)sqlite3_column_int64(st, 0);
	p->time = (uint64_t)sqlite3_column_int64(st, 1);
	p->dir = (uint8_t)sqlite3_column_int64(st, 6);
	if (seg <= 0 || off < 0 || caplen < 0 || caplen > PR_STORE_SNAPLEN || len < caplen ||
	    len > UINT32_MAX) {
		set_err(s, "pcap segment %" PRId64 " offset %" PRId64 ": damaged index row "
			"(caplen %" PRId64 ", len %" PRId64 ")", seg, off, caplen, len);
		return -1;
	}
	p->caplen = (uint32_t)caplen;
	p->len = (uint32_t)len;
	if (pr->r.id != seg &&
	    pr_seg_reader_open(&pr->r, s->pcapdir, seg, open, s->err, sizeof(s->err)))
		return -1;
	if (pr_seg_read(&pr->r, (uint64_t)off, p, pr->buf, s->err, sizeof(s->err)))
		return -1;
	p->data = pr->buf;
	return 0;
}

/* The TCP/UDP payload of a raw IP packet as captured: 0 with its offset
 * and length, -1 when the headers are not all there (or not TCP/UDP). */
static int l4_payload(const uint8_t *d, size_t cap, size_t *off, size_t *len)
{
	size_t end, l4, hl;
	uint8_t proto;

	if (cap < 20)
		return -1;
	if (d[0] >> 4 == 4) {
		l4 = (size_t)(d[0] & 0xf) * 4;
		if (l4 < 20 || ((d[6] & 0x1f) << 8 | d[7]))
			return -1; /* bad header, or a later fragment */
		end = (size_t)(d[2] << 8 | d[3]);
		proto = d[9];
	} else if (d[0] >> 4 == 6 && cap >= 40) {
		l4 = 40;
		end = 40 + (size_t)(d[4] << 8 | d[5]);
		proto = d[6];
		/* hop-by-hop, routing, destination options, first fragment */
		for (int i = 0; i < 8 && (proto == 0 || proto == 43 || proto == 60 || proto == 44); i++) {
			if (l4 + 8 > cap || (proto == 44 && ((d[l4 + 2] << 8 | d[l4 + 3]) & 0xfff8)))
				return -1;
			hl = proto == 44 ? 8 : ((size_t)d[l4 + 1] + 1) * 8;
			proto = d[l4];
			l4 += hl;
		}
	} else {
		return -1;
	}
	if (!end || end > cap)
		end = cap; /* 0: segmentation offload; beyond: the snippet ends first */
	if (proto == 6 && l4 + 20 <= end)
		hl = (size_t)(d[l4 + 12] >> 4) * 4;
	else if (proto == 17)
		hl = 8;
	else
		return -1;
	if (hl < 8 || l4 + hl > end)
		return -1;
	*off = l4 + hl;
	*len = end - *off;
	return 0;
}

#define PR_HEAD_SCAN_MAX 64 /* packets looked at for a flow's first payload bytes */

static int flow_head(struct pr_store *s, struct arena *a, struct pkt_reader *pr,
		     struct pr_flow_rec *f, const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_FLOW_PACKETS);
	uint8_t head[PR_FLOW_HEAD_MAX];
	struct pr_packet_rec p;
	size_t n = 0, off, len;
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_bind_int64(st, 1, u2i(f->flow_id));
	rc = rc ?: sqlite3_bind_int64(st, 2, PR_HEAD_SCAN_MAX);
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	while (n < sizeof(head) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pkt_read_row(s, pr, st, &p)) {
			stmt_done(st);
			return -1;
		}
		if (l4_payload(p.data, p.caplen, &off, &len) || !len)
			continue;
		len = len < sizeof(head) - n ? len : sizeof(head) - n;
		memcpy(head + n, p.data + off, len);
		n += len;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_err(s, what);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	f->head = (const uint8_t *)arena_memdup(a, head, n);
	f->head_len = n;
	if (!f->head) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

static int read_flow(struct arena *a, sqlite3_stmt *st, struct pr_flow_rec *f)
{
	f->flow_id = (uint64_t)sqlite3_column_int64(st, 0);
	f->incident_id = sqlite3_column_int64(st, 1);
	f->time = (uint64_t)sqlite3_column_int64(st, 2);
	f->role = col_name(a, st, 3);
	f->protocol = col_name(a, st, 4);
	f->local = col_name(a, st, 5);
	f->lport = (uint16_t)sqlite3_column_int64(st, 6);
	f->remote = col_name(a, st, 7);
	f->rport = (uint16_t)sqlite3_column_int64(st, 8);
	f->pid = (uint32_t)sqlite3_column_int64(st, 9);
	f->start_boot = (uint64_t)sqlite3_column_int64(st, 10);
	f->exe = col_bytes(a, st, 11);
	f->packets = (uint64_t)sqlite3_column_int64(st, 12);
	f->bytes = (uint64_t)sqlite3_column_int64(st, 13);
	f->head = (const uint8_t *)"";
	return f->role && f->protocol && f->local && f->remote && f->exe ? 0 : -1;
}

static int collect_flows(struct pr_store *s, struct arena *a, int64_t iid, struct vec *v,
			 const char *what)
{
	sqlite3_stmt *st = stmt_get(s, ST_GET_FLOWS);
	struct pr_flow_rec *f;
	int rc;

	if (!st)
		return -1;
	if (bind_check(s, sqlite3_bind_int64(st, 1, iid), what)) {
		stmt_done(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(f = vec_push(v)) || read_flow(a, st, f)) {
			set_err(s, "%s: out of memory", what);
			stmt_done(st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE)
		db_err(s, what);
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The incident's flows into a; heads read from the segments when asked. */
static int load_flows(struct pr_store *s, struct arena *a, int64_t iid, bool heads,
		      struct pr_flow_rec **out, size_t *nout)
{
	struct vec v = { .size = sizeof(struct pr_flow_rec) };
	struct pkt_reader pr;
	char what[64];
	bool oom;
	int rc;

	*out = NULL;
	*nout = 0;
	if (!has_network(s))
		return 0;
	snprintf(what, sizeof(what), "incident %" PRId64 ": flows", iid);
	rc = collect_flows(s, a, iid, &v, what);
	if (rc == 0 && heads && v.n) {
		rc = pkt_reader_init(s, &pr, what);
		for (size_t i = 0; rc == 0 && i < v.n; i++)
			rc = flow_head(s, a, &pr, (struct pr_flow_rec *)v.v + i, what);
		pkt_reader_done(&pr);
	}
	if (rc) {
		free(v.v);
		return -1;
	}
	*nout = v.n;
	*out = vec_finish(&v, a, &oom);
	if (oom)
		set_err(s, "%s: out of memory", what);
	return oom ? -1 : 0;
}

int pr_store_incident_flows(struct pr_store *s, int64_t incident_id, struct pr_flow_list *out)
{
	struct arena *a = arena_new();
	int rc;

	memset(out, 0, sizeof(*out));
	if (!a) {
		set_err(s, "incident %" PRId64 ": flows: out of memory", incident_id);
		return -1;
	}
	if (read_begin(s)) {
		arena_free(a);
		return -1;
	}
	rc = load_flows(s, a, incident_id, true, &out->v, &out->n);
	read_end(s);
	if (rc) {
		arena_free(a);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->priv = a;
	return 0;
}

void pr_flow_list_free(struct pr_flow_list *l)
{
	if (!l)
		return;
	arena_free(l->priv);
	memset(l, 0, sizeof(*l));
}

static int cmp_flow_id(const void *a, const void *b)
{
	const struct pr_flow_rec *x = a, *y = b;

	return x->flow_id < y->flow_id ? -1 : x->flow_id > y->flow_id;
}

struct pkt_walk {
	struct pr_flow_rec *flows; /* sorted by flow_id */
	size_t nflows;
	struct pkt_reader pr;
	pr_packet_cb cb;
	void *arg;
};

static long walk_packets(struct pr_store *s, sqlite3_stmt *st, struct pkt_walk *w,
			 const char *what)
{
	struct pr_flow_rec key, *f;
	struct pr_packet_rec p;
	long n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pkt_read_row(s, &w->pr, st, &p))
			return -1;
		key.flow_id = p.flow_id;
		f = bsearch(&key, w->flows, w->nflows, sizeof(key), cmp_flow_id);
		if (!f) {
			set_err(s, "%s: flow %" PRIu64 " vanished while reading", what, p.flow_id);
			return -1;
		}
		n++;
		if (w->cb && w->cb(&p, f, w->arg))
			return n;
	}
	if (rc != SQLITE_DONE) {
		db_err(s, what);
		return -1;
	}
	return n;
}

static long incident_packets(struct pr_store *s, struct arena *a, int64_t iid,
			     struct pkt_walk *w, const char *what)
{
	sqlite3_stmt *st;
	long n;

	if (load_flows(s, a, iid, false, &w->flows, &w->nflows))
		return -1;
	if (!w->nflows)
		return 0;
	qsort(w->flows, w->nflows, sizeof(*w->flows), cmp_flow_id);
	if (!(st = stmt_get(s, ST_INC_PACKETS)))
		return -1;
	if (bind_check(s, sqlite3_bind_int64(st, 1, iid), what)) {
		stmt_done(st);
		return -1;
	}
	if (pkt_reader_init(s, &w->pr, what)) {
		stmt_done(st);
		return -1;
	}
	n = walk_packets(s, st, w, what);
	stmt_done(st);
	pkt_reader_done(&w->pr);
	return n;
}

long pr_store_incident_packets(struct pr_store *s, int64_t incident_id, pr_packet_cb cb,
			       void *arg)
{
	struct pkt_walk w = { .cb = cb, .arg = arg };
	struct arena a = { 0 };
	char what[64];
	long n;

	if (!has_network(s))
		return 0;
	snprintf(what, sizeof(what), "incident %" PRId64 ": packets", incident_id);
	if (read_begin(s))
		return -1;
	n = incident_packets(s, &a, incident_id, &w, what);
	read_end(s);
	arena_release(&a);
	return n;
}

/* ---- processes ---- */

/* Appends the rows of a prepared, bound statement ("id, PROC_COLS"). */
static int collect_procs(struct pr_store *s, struct arena *a, sqlite3_stmt *st,
			 struct vec *v, const char *what)
{
	struct pr_proc_rec *p;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(p = vec_push(v))) {
			set_err(s, "%s: out of memory", what);
			stmt_done(st);
			return -1;
		}
		if (read_proc_with_id(s, a, st, 0, p, what)) {
			stmt_done(st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE)
		db_err(s, what);
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int bind_ident(struct pr_store *s, sqlite3_stmt *st, uint32_t pid,
		      uint64_t start_boot, const char *what)
{
	int rc = sqlite3_bind_int64(st, 1, pid);

	rc = rc ?: sqlite3_bind_int64(st, 2, u2i(start_boot));
	if (bind_check(s, rc, what)) {
		stmt_done(st);
		return -1;
	}
	return 0;
}

/* Finishes a proc list from v; on failure frees everything. */
static int proc_list_finish(struct pr_store *s, struct arena *a, struct vec *v,
			    int rc, struct pr_proc_list *out, const char *what)
{
	bool oom = false;
	size_t n = v->n;

	if (rc == 0)
		out->v = vec_finish(v, a, &oom);
	free(v->v);
	v->v = NULL;
	if (rc || oom) {
		if (oom)
			set_err(s, "%s: out of memory", what);
		arena_free(a);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->n = n;
	out->priv = a;
	return 0;
}

static int proc_list_start(struct pr_store *s, struct pr_proc_list *out,
			   struct arena **a, const char *what)
{
	memset(out, 0, sizeof(*out));
	*a = arena_new();
	if (!*a) {
		set_err(s, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

int pr_store_find_processes(struct pr_store *s, uint32_t pid, uint64_t start_boot,
			    struct pr_proc_list *out)
{
	struct vec v = { .size = sizeof(struct pr_proc_rec) };
	const char *what = "find processes";
	sqlite3_stmt *st;
	struct arena *a;
	int rc = -1;

	if (proc_list_start(s, out, &a, what))
		return -1;
	if (start_boot == 0) {
		st = stmt_get(s, ST_FIND_PROC_PID);
		if (st && !bind_check(s, sqlite3_bind_int64(st, 1, pid), what))
			rc = collect_procs(s, a, st, &v, what);
		else if (st)
			stmt_done(st);
	} else {
		st = stmt_get(s, ST_FIND_PROC);
		if (st && !bind_ident(s, st, pid, start_boot, what))
			rc = collect_procs(s, a, st, &v, what);
	}
	return proc_list_finish(s, a, &v, rc, out, what);
}

static bool seen_row(const struct vec *v, int64_t id)
{
	const struct pr_proc_rec *p = v->v;

	for (size_t i = 0; i < v->n; i++)
		if (p[i].id == id)
			return true;
	return false;
}

/* Follows (ppid, pstart_boot) links. Stops at a process not recorded, at a
 * row already seen (a cycle in a damaged store) or after PR_LINEAGE_MAX. */
static int walk_lineage(struct pr_store *s, struct arena *a, struct vec *v,
			uint32_t pid, uint64_t start_boot, const char *what)
{
	for (int steps = 0; steps < PR_LINEAGE_MAX; steps++) {
		sqlite3_stmt *st = stmt_get(s, ST_FIND_PROC);
		struct vec one = { .size = sizeof(struct pr_proc_rec) };
		struct pr_proc_rec *p;

		if (!st || bind_ident(s, st, pid, start_boot, what))
			return -1;
		if (collect_procs(s, a, st, &one, what)) {
			free(one.v);
			return -1;
		}
		if (one.n == 0 || seen_row(v, ((struct pr_proc_rec *)one.v)->id)) {
			free(one.v);
			return 0;
		}
		if (!(p = vec_push(v))) {
			free(one.v);
			set_err(s, "%s: out of memory", what);
			return -1;
		}
		*p = *(struct pr_proc_rec *)one.v;
		free(one.v);
		if (p->ppid == 0 && p->pstart_boot == 0)
			return 0;
		pid = p->ppid;
		start_boot = p->pstart_boot;
	}
	return 0;
}

int pr_store_process_lineage(struct pr_store *s, uint32_t pid, uint64_t start_boot,
			     struct pr_proc_list *out)
{
	struct vec v = { .size = sizeof(struct pr_proc_rec) };
	const char *what = "process lineage";
	struct arena *a;
	int rc;

	if (proc_list_start(s, out, &a, what))
		return -1;
	if (read_begin(s))
		return proc_list_finish(s, a, &v, -1, out, what);
	rc = walk_lineage(s, a, &v, pid, start_boot, what);
	read_end(s);
	return proc_list_finish(s, a, &v, rc, out, what);
}

int pr_store_process_children(struct pr_store *s, uint32_t pid, uint64_t start_boot,
			      struct pr_proc_list *out)
{
	struct vec v = { .size = sizeof(struct pr_proc_rec) };
	const char *what = "process children";
	sqlite3_stmt *st;
	struct arena *a;
	int rc = -1;

	if (proc_list_start(s, out, &a, what))
		return -1;
	st = stmt_get(s, ST_PROC_CHILDREN);
	if (st && !bind_ident(s, st, pid, start_boot, what))
		rc = collect_procs(s, a, st, &v, what);
	return proc_list_finish(s, a, &v, rc, out, what);
}

void pr_proc_list_free(struct pr_proc_list *l)
{
	if (!l)
		return;
	arena_free(l->priv);
	memset(l, 0, sizeof(*l));
}

/* ---- stats ---- */

static int count_rows(struct pr_store *s, enum stmt_id id, uint64_t *out)
{
	sqlite3_stmt *st = stmt_get(s, id);
	int64_t n;

	if (!st)
		return -1;
	n = stmt_int64(s, st, "stats");
	if (n < 0)
		return -1;
	*out = (uint64_t)n;
	return 0;
}

int pr_store_max_incident_id(struct pr_store *s, int64_t *id)
{
	uint64_t n;

	if (count_rows(s, ST_MAX_INCIDENT_ID, &n))
		return -1;
	*id = (int64_t)n;
	return 0;
}

static int read_losses(struct pr_store *s, struct arena *a, struct pr_stats *out)
{
	sqlite3_stmt *st = stmt_get(s, ST_LOSSES);

	if (!st)
		return -1;
	return collect_losses(s, a, st, &out->losses, &out->nlosses, "stats: losses");
}

int pr_store_stats(struct pr_store *s, struct pr_stats *out)
{
	struct arena *a;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(a = arena_new())) {
		set_err(s, "stats: out of memory");
		return -1;
	}
	if (read_begin(s)) {
		arena_free(a);
		return -1;
	}
	rc = count_rows(s, ST_COUNT_INCIDENTS, &out->incidents);
	rc = rc ?: count_rows(s, ST_COUNT_PROCS, &out->processes);
	rc = rc ?: count_rows(s, ST_COUNT_EVENTS, &out->events);
	if (has_network(s)) {
		rc = rc ?: count_rows(s, ST_COUNT_FLOWS, &out->flows);
		rc = rc ?: count_rows(s, ST_COUNT_PACKETS, &out->packets);
		rc = rc ?: count_rows(s, ST_COUNT_SEGMENTS, &out->pcap_segments);
		rc = rc ?: count_rows(s, ST_SUM_SEGMENT_BYTES, &out->pcap_bytes);
	}
	rc = rc ?: read_losses(s, a, out);
	read_end(s);
	if (rc) {
		arena_free(a);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->priv = a;
	return 0;
}

void pr_stats_free(struct pr_stats *st)
{
	if (!st)
		return;
	arena_free(st->priv);
	memset(st, 0, sizeof(*st));
}

/* ---- checks ---- */

int pr_store_check(struct pr_store *s, int full)
{
	sqlite3_stmt *st;
	const char *sql = full ? "PRAGMA integrity_check(1)" : "PRAGMA quick_check(1)";
	const unsigned char *r;
	int rc, bad = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(s, "check");
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = sqlite3_column_text(st, 0);
		if (!r || strcmp((const char *)r, "ok")) {
			set_err(s, "check: %s", r ? (const char *)r : "(no answer)");
			bad = 1;
		}
	} else {
		db_err(s, "check");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return -1;
	return bad;
}

/* ---- accessors for schema/prune.c (schema/store_int.h) ---- */

struct sqlite3 *pr_store_sqlite(struct pr_store *s)
{
	return s->db;
}

const char *pr_store_boot_id(struct pr_store *s)
{
	return s->boot_id;
}

uint64_t pr_store_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *pr_store_dir(struct pr_store *s)
{
	return s->dir;
}

const char *pr_store_pcap_dir(struct pr_store *s)
{
	return s->pcapdir;
}

int pr_store_is_writer(struct pr_store *s)
{
	return s->mode == PR_STORE_WRITE;
}

int64_t pr_store_open_segment(struct pr_store *s)
{
	return s->seg.id;
}

void pr_store_segment_next_min(struct pr_store *s, int64_t next)
{
	if (s->seg_next < next)
		s->seg_next = next;
}

void pr_store_set_error(struct pr_store *s, const char *msg)
{
	set_err(s, "%s", msg);
}
