-- SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
-- polrec store, schema version 2: the network side of incidents, the flows
-- whose packets were kept, and the index of those packets in pcap segments.
--
-- Applied by pr_store_open (WRITE mode) after 001, inside the same
-- migration transaction, which then sets PRAGMA user_version = 2. Do not
-- put BEGIN/COMMIT here.
--
-- Conventions (see 001): times are INTEGER ns since the epoch, *_boot are
-- CLOCK_BOOTTIME ns, uint64 values (flow ids) are stored as the int64 bit
-- pattern. exe comes from the system: BLOB. Vocabulary (direction, protocol,
-- role, result, state) is TEXT. Addresses are TEXT: polrecd formats them
-- with inet_ntop, so they are ASCII and  WHERE dst = '10.0.0.2'  works.
--
-- Packet bytes are not in the database: each packet is one record of a
-- classic pcap file DIR/pcap/seg-<segment_id>.pcap (.seg-<id>.pcap.part
-- while the segment is written), found at byte offset "offset".

-- The network side of an incident of kind 'network'.
CREATE TABLE incident_network (
	incident_id INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
	direction   TEXT NOT NULL,              -- egress | ingress
	protocol    TEXT NOT NULL,              -- tcp | udp
	src         TEXT NOT NULL,
	sport       INTEGER NOT NULL,
	dst         TEXT NOT NULL,
	dport       INTEGER NOT NULL,
	result      TEXT NOT NULL,              -- ok, in-progress, ECONNREFUSED, ...
	flow_id     INTEGER NOT NULL DEFAULT 0  -- the violating flow, 0 when none captured
);

-- A flow whose packets belong to an incident (flow ids are unique in the
-- store: the recorder guarantees it).
CREATE TABLE flows (
	flow_id     INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	time        INTEGER NOT NULL,           -- first seen
	role        TEXT NOT NULL,              -- violation | follow
	protocol    TEXT NOT NULL,
	local       TEXT NOT NULL,
	lport       INTEGER NOT NULL,
	remote      TEXT NOT NULL,
	rport       INTEGER NOT NULL,
	pid         INTEGER NOT NULL,
	start_boot  INTEGER NOT NULL,
	exe         BLOB NOT NULL
);
CREATE INDEX flows_incident ON flows (incident_id, time);

-- pcap segment files. 'open': being written (.seg-<id>.pcap.part), or left
-- by a crash until the next start closes it. bytes = file size known to the
-- index; first_time/last_time bound the packets' times.
CREATE TABLE pcap_segments (
	id         INTEGER PRIMARY KEY,
	state      TEXT NOT NULL CHECK (state IN ('open', 'closed')),
	bytes      INTEGER NOT NULL,
	packets    INTEGER NOT NULL,
	first_time INTEGER NOT NULL,
	last_time  INTEGER NOT NULL
);

-- One row per stored packet; rowid order is the order the recorder gave
-- (ties in time keep it). caplen bytes at offset + 16 in the segment;
-- len is the original length on the wire. dir: 0 ingress, 1 egress.
-- flow_id is not a foreign key: a flow's first packets (the SYN) reach the
-- writer before the connection event that names the flow's incident.
CREATE TABLE packets (
	flow_id    INTEGER NOT NULL,
	time       INTEGER NOT NULL,
	segment_id INTEGER NOT NULL REFERENCES pcap_segments (id),
	offset     INTEGER NOT NULL,
	caplen     INTEGER NOT NULL,
	len        INTEGER NOT NULL,
	dir        INTEGER NOT NULL
);
CREATE INDEX packets_flow ON packets (flow_id, time);
-- pruning finds segments no packet refers to any more
CREATE INDEX packets_segment ON packets (segment_id);
