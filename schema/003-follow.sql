-- SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
-- polrec store, schema version 3: the flight recorder. An incident keeps
-- the recent activity of the violator's family (not only the violator's),
-- goes on collecting events during its follow window after it was
-- written, and a later violation by the same process within that window
-- joins it instead of opening a new incident.
--
-- Applied by pr_store_open (WRITE mode) after 002, inside the same
-- migration transaction, which then sets PRAGMA user_version = 3. Do not
-- put BEGIN/COMMIT here. Conventions as in 001.

-- What an event is to its incident: 0 context (before or after), 1 the
-- incident's violating event, 2 a later violation that joined the
-- incident. Rows of older versions read as 0.
ALTER TABLE incident_events ADD COLUMN
	mark INTEGER NOT NULL DEFAULT 0 CHECK (mark IN (0, 1, 2));

-- End of the follow window (epoch ns; 0 = unknown), and how many
-- violations the incident holds: 1 + the joined ones.
ALTER TABLE incidents ADD COLUMN follow_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN violations INTEGER NOT NULL DEFAULT 1;

-- polq timeline scans every recorded event by time.
CREATE INDEX incident_events_time ON incident_events (time);
-- an incident's gaps: loss records overlapping its window
CREATE INDEX losses_to ON losses (to_time);
