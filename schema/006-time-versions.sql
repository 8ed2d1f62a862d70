-- SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
-- polrec store, schema version 6: boot time and boot id on every record,
-- and the policy versions that judged the incidents.
--
-- Applied by pr_store_open (WRITE mode) after 005, inside the same
-- migration transaction, which then sets PRAGMA user_version = 6. Do not
-- put BEGIN/COMMIT here. Conventions as in 001.
--
-- boot_id: the kernel's boot id (/proc/sys/kernel/random/boot_id) of the
-- boot the record was written in. boot_time: CLOCK_BOOTTIME ns; for an
-- incident, of the violating event (the kernel's own timestamp); for the
-- other records, of the moment the recorder wrote them. Wall times (time,
-- from_time, ...) are derived from boot time once per recorder start, so
-- a stepped wall clock never reorders records of one boot: order by id,
-- or by (boot_id, boot_time). Rows written before version 6 have NULL
-- here, and their chain content is unchanged (schema/chain.c adds a
-- section only for rows that have these columns set).

-- Every policy version that was in force: one row per distinct content
-- (sha256 over the policy's sources, as polrecd logs it), written when
-- polrecd starts or a reload is accepted; loading the same content again
-- reuses the row (the runs table says when each load happened). text is
-- the policy as it was read (zstd blob, schema/blob.c), so `polq policies
-- ID` shows exactly what judged an incident.
CREATE TABLE policy_versions (
	id           INTEGER PRIMARY KEY,
	time         INTEGER NOT NULL,          -- first loaded (epoch ns)
	boot_id      TEXT NOT NULL,
	boot_time    INTEGER NOT NULL,
	sha256       TEXT NOT NULL UNIQUE,      -- 64 hex digits
	source       BLOB NOT NULL,             -- file names, or "(default)"
	expectations INTEGER NOT NULL,
	text         BLOB NOT NULL              -- zstd blob of the policy text
);

ALTER TABLE incidents ADD COLUMN boot_id TEXT;
ALTER TABLE incidents ADD COLUMN boot_time INTEGER;
-- the policy version in force when the incident was judged
ALTER TABLE incidents ADD COLUMN policy_version INTEGER REFERENCES policy_versions (id);
ALTER TABLE losses ADD COLUMN boot_id TEXT;
ALTER TABLE losses ADD COLUMN boot_time INTEGER;
ALTER TABLE runs ADD COLUMN boot_id TEXT;
ALTER TABLE runs ADD COLUMN boot_time INTEGER;
ALTER TABLE prunes ADD COLUMN boot_id TEXT;
ALTER TABLE prunes ADD COLUMN boot_time INTEGER;

-- polq policies counts the incidents of each version
CREATE INDEX incidents_policy_version ON incidents (policy_version);
