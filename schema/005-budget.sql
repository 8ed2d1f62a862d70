-- SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
-- polrec store, schema version 5: the disk budget. polrecd prunes the
-- oldest closed incidents (with everything they own) to hold
-- --max-store-size, --max-age and --max-pcap-size, and to make room on a
-- full disk; each prune step leaves a record here, and the budget row says
-- what the limits are and whether the disk is full (polq stats).
--
-- Applied by pr_store_open (WRITE mode) after 004, inside the same
-- migration transaction, which then sets PRAGMA user_version = 5. Do not
-- put BEGIN/COMMIT here. Conventions as in 001.

-- One row per prune step (one transaction). reason: size | age |
-- disk-full | pcap-size (pcap-size removes only packets: incidents counts
-- the incidents whose packets went, which stay). first_id/last_id: the
-- smallest and largest incident id removed (0 when none); ids are never
-- reused. bytes: freed database pages plus segment files removed.
CREATE TABLE prunes (
	id        INTEGER PRIMARY KEY,
	time      INTEGER NOT NULL,
	reason    TEXT NOT NULL CHECK (reason IN ('size', 'age', 'disk-full', 'pcap-size')),
	incidents INTEGER NOT NULL,
	first_id  INTEGER NOT NULL,
	last_id   INTEGER NOT NULL,
	packets   INTEGER NOT NULL,
	segments  INTEGER NOT NULL,
	processes INTEGER NOT NULL,
	bytes     INTEGER NOT NULL
);
CREATE INDEX prunes_time ON prunes (time);

-- The recorder's budget (one row, id 1), written when polrecd starts and
-- when the disk-full state changes. Limits: 0 = unlimited; max_age in ns.
-- disk_full_since: epoch ns since writes fail for lack of space, 0 when
-- writing normally. max_segment: the largest pcap segment id a prune
-- removed (segment ids are never reused).
CREATE TABLE budget (
	id              INTEGER PRIMARY KEY CHECK (id = 1),
	max_store_size  INTEGER NOT NULL DEFAULT 0,
	max_age         INTEGER NOT NULL DEFAULT 0,
	max_pcap_size   INTEGER NOT NULL DEFAULT 0,
	disk_full_since INTEGER NOT NULL DEFAULT 0,
	max_segment     INTEGER NOT NULL DEFAULT 0,
	updated         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO budget (id) VALUES (1);
