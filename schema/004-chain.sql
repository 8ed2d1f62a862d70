-- SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
-- polrec store, schema version 4: tamper evidence. Every record the store
-- layer writes (incident, appended events, flow, packet index rows, closed
-- pcap segment, loss, run, prune) gets a row in a hash chain, written in the
-- same transaction as the record; `polq verify` recomputes it.
--
-- Applied by pr_store_open (WRITE mode) after 003, inside the same
-- migration transaction, which then sets PRAGMA user_version = 4; the store
-- layer (schema/chain.c) then writes the genesis record (chain seq 1).
-- Do not put BEGIN/COMMIT here. Conventions as in 001.
--
-- hash = SHA-256("polrec-chain-v1" header: seq, time, kind, ref, first_row,
-- nrows, then prev, then content), content = SHA-256 of the record's
-- canonical bytes (see schema/chain.c). Records in a store migrated from
-- versions 1-3 that are older than the genesis record are NOT covered:
-- chain_genesis says which ids predate the chain.

CREATE TABLE chain (
	seq       INTEGER PRIMARY KEY,          -- 1, 2, 3, ... without gaps
	time      INTEGER NOT NULL,             -- when the record was chained (epoch ns)
	kind      TEXT NOT NULL,                -- genesis incident append flow packets segment loss run prune
	ref       INTEGER NOT NULL,             -- the row id in its own table (packets: the first rowid)
	first_row INTEGER NOT NULL DEFAULT 0,   -- incident/append: the first event seq covered
	nrows     INTEGER NOT NULL DEFAULT 0,   -- incident/append: events covered; packets: rows
	content   BLOB NOT NULL,                -- SHA-256 of the canonical bytes (as written)
	prev      BLOB NOT NULL,                -- hash of seq - 1 (32 zero bytes for seq 1)
	hash      BLOB NOT NULL,
	-- the seq of the prune record that removed the record's rows (0: not
	-- pruned); covered by that prune record's content, not by this hash
	gone      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chain_ref ON chain (kind, ref);

-- The genesis record's content: the store's random id and, for stores
-- migrated from versions 1-3, the largest ids written before the chain
-- began (rows up to those ids are not covered).
CREATE TABLE chain_genesis (
	id           INTEGER PRIMARY KEY,
	store_id     TEXT NOT NULL,             -- 32 hex digits
	from_version INTEGER NOT NULL,          -- 0 for a new store
	max_incident INTEGER NOT NULL,
	max_loss     INTEGER NOT NULL,
	max_run      INTEGER NOT NULL,
	max_packet   INTEGER NOT NULL,          -- packets rowid
	max_segment  INTEGER NOT NULL
);

-- SHA-256 (64 hex) of a closed segment's file, '' while open or when it
-- was closed without one (crash recovery of a segment renamed just before
-- the crash, or closed before version 4).
ALTER TABLE pcap_segments ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';
