-- SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
-- polrec store, schema version 1.
--
-- Applied by pr_store_open (WRITE mode) inside one transaction, which then
-- sets PRAGMA user_version = 1. Do not put BEGIN/COMMIT here.
--
-- Conventions:
--  * times are INTEGER ns since the Unix epoch; *_boot columns are
--    CLOCK_BOOTTIME ns (process identity), stored as the int64 bit pattern
--    of the uint64 value.
--  * bytes that come from the system (user names, paths, argv, cwd, cgroup,
--    container ids, free-text details) are BLOBs, bound with
--    sqlite3_bind_blob, so they round-trip byte-exact (newlines, invalid
--    UTF-8). Compare them with blobs: x'2f6574632f706173737764', not text.
--  * names from a fixed vocabulary or from the policy file (policy, rule,
--    severity, kind, action, stage, what, sha256) are TEXT, so plain SQL
--    like  WHERE severity = 'high'  works.
--  * argv is a zstd frame (pr_blob_pack) of the NUL-separated arguments;
--    argv_len is its decompressed length.

PRAGMA application_id = 1886350450;  -- 'polr'

-- Every process the recorder has written, one row per (pid, start_boot).
-- The parent at creation is (ppid, pstart_boot). A later image (exec)
-- replaces exe/argv/who in place: this table is "the latest we know".
CREATE TABLE processes (
	id           INTEGER PRIMARY KEY,
	pid          INTEGER NOT NULL,
	start_boot   INTEGER NOT NULL,
	ppid         INTEGER NOT NULL,
	pstart_boot  INTEGER NOT NULL,
	start_time   INTEGER NOT NULL,
	uid          INTEGER NOT NULL,
	gid          INTEGER NOT NULL,
	loginuid     INTEGER NOT NULL,
	sessionid    INTEGER NOT NULL,
	user         BLOB NOT NULL,
	exe          BLOB NOT NULL,
	argv         BLOB NOT NULL,
	argv_len     INTEGER NOT NULL,
	argc         INTEGER NOT NULL,
	flags        INTEGER NOT NULL,
	cwd          BLOB NOT NULL,
	cgroup_id    INTEGER NOT NULL,
	cgroup       BLOB NOT NULL,
	container_id BLOB NOT NULL,
	sha256       TEXT NOT NULL,
	exit_time    INTEGER NOT NULL DEFAULT 0,   -- 0 while running
	exit_code    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (pid, start_boot)                   -- also serves lookups by pid
);
CREATE INDEX processes_parent ON processes (ppid, pstart_boot);

-- AUTOINCREMENT: an incident id is a reference that leaves the host
-- (exports, tickets); it is never reused, even after pruning.
CREATE TABLE incidents (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	time          INTEGER NOT NULL,
	policy        TEXT NOT NULL,
	rule          TEXT NOT NULL,
	severity      TEXT NOT NULL,
	kind          TEXT NOT NULL,
	action        TEXT NOT NULL,
	path          BLOB NOT NULL,
	expected      BLOB NOT NULL,
	actual        BLOB NOT NULL,
	-- the violator as it was at the violation; set in the same transaction
	-- right after the row is inserted, NULL only in a damaged store
	proc_image_id INTEGER REFERENCES proc_images (id),
	lost_events   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incidents_time ON incidents (time);
CREATE INDEX incidents_policy ON incidents (policy, time);
CREATE INDEX incidents_image ON incidents (proc_image_id);

-- Process snapshots owned by one incident: what exe/argv/who were at the
-- violation, never changed by later writes to processes.
CREATE TABLE proc_images (
	id           INTEGER PRIMARY KEY,
	incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	process_id   INTEGER REFERENCES processes (id) ON DELETE SET NULL,
	pid          INTEGER NOT NULL,
	start_boot   INTEGER NOT NULL,
	ppid         INTEGER NOT NULL,
	pstart_boot  INTEGER NOT NULL,
	start_time   INTEGER NOT NULL,
	uid          INTEGER NOT NULL,
	gid          INTEGER NOT NULL,
	loginuid     INTEGER NOT NULL,
	sessionid    INTEGER NOT NULL,
	user         BLOB NOT NULL,
	exe          BLOB NOT NULL,
	argv         BLOB NOT NULL,
	argv_len     INTEGER NOT NULL,
	argc         INTEGER NOT NULL,
	flags        INTEGER NOT NULL,
	cwd          BLOB NOT NULL,
	cgroup_id    INTEGER NOT NULL,
	cgroup       BLOB NOT NULL,
	container_id BLOB NOT NULL,
	sha256       TEXT NOT NULL,
	exit_time    INTEGER NOT NULL,
	exit_code    INTEGER NOT NULL
);
CREATE INDEX proc_images_incident ON proc_images (incident_id);
CREATE INDEX proc_images_process ON proc_images (process_id);

-- depth 0 = the violator, depth n-1 = the oldest known ancestor.
CREATE TABLE incident_lineage (
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	depth       INTEGER NOT NULL,
	image_id    INTEGER NOT NULL REFERENCES proc_images (id),
	PRIMARY KEY (incident_id, depth)
) WITHOUT ROWID;
CREATE INDEX incident_lineage_image ON incident_lineage (image_id);

-- Context events of an incident; seq is the order the recorder gave.
CREATE TABLE incident_events (
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL,
	time        INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	pid         INTEGER NOT NULL,
	start_boot  INTEGER NOT NULL,
	path        BLOB NOT NULL,
	path2       BLOB NOT NULL,
	detail      BLOB NOT NULL,
	PRIMARY KEY (incident_id, seq)
) WITHOUT ROWID;
-- an incident's timeline also reads the violator's earlier events
CREATE INDEX incident_events_process ON incident_events (pid, start_boot, time);

-- count events of kind were dropped in [from_time, to_time] at stage.
CREATE TABLE losses (
	id        INTEGER PRIMARY KEY,
	from_time INTEGER NOT NULL,
	to_time   INTEGER NOT NULL,
	stage     TEXT NOT NULL,
	kind      TEXT NOT NULL,
	count     INTEGER NOT NULL
);
CREATE INDEX losses_time ON losses (from_time);

-- Recorder lifecycle: start, stop, policy reload, ...
CREATE TABLE runs (
	id     INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	what   TEXT NOT NULL,
	detail BLOB NOT NULL
);
CREATE INDEX runs_time ON runs (time);
