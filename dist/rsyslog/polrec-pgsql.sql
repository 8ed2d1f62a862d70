-- The PostgreSQL side of polrec-imfile-pgsql.conf: one row per OCSF finding
-- line that rsyslog read from polrecd's --ocsf-stream.
--
--   psql -v ON_ERROR_STOP=1 -d polrec -f polrec-pgsql.sql
--   psql -d polrec -c "ALTER ROLE polrec_ingest PASSWORD 'SECRET'"
--
-- PostgreSQL 14 or newer (Debian 12 has 15).
--
-- rsyslog inserts (sender, source_file, line) only; the trigger below turns
-- the line into jsonb and fills the extracted columns. It never refuses a
-- line: one that is not JSON (a line over 4 MiB cut by rsyslog, a torn
-- write) is kept with finding NULL and the parser's message in ingest_error,
-- because a refused INSERT would be retried forever and stall every finding
-- queued behind it. Find them with: SELECT * FROM polrec_findings WHERE
-- finding IS NULL.
--
-- The same line delivered again (rsyslog re-reading after a crash, a
-- re-sent queue) is not a second row: line_sha256 is unique and the
-- duplicate only increments copies.

BEGIN;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'polrec_ingest') THEN
		CREATE ROLE polrec_ingest LOGIN;
	END IF;
END
$$;
-- What stdsql escaping relies on, whatever the server's default.
ALTER ROLE polrec_ingest SET standard_conforming_strings = on;

CREATE TABLE IF NOT EXISTS polrec_findings (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	received_at  timestamptz NOT NULL DEFAULT now(),
	sender       text NOT NULL,         -- rsyslog's host name of the shipper
	source_file  text NOT NULL,         -- the stream file it was read from
	line         text NOT NULL,         -- the line exactly as shipped
	line_sha256  bytea NOT NULL,        -- of line (UTF-8): de-duplication key
	copies       integer NOT NULL DEFAULT 1,
	finding      jsonb,                 -- line parsed; NULL when it is not JSON
	ingest_error text,                  -- why finding or a column is NULL
	-- extracted from finding, for indexes and quick filters
	finding_uid  text,                  -- finding_info.uid: the incident
	title        text,                  -- finding_info.title
	class_uid    integer,               -- 2004 Detection Finding
	severity_id  smallint,
	event_time   timestamptz,           -- time (ms since the epoch)
	device       text                   -- device.hostname
);

CREATE UNIQUE INDEX IF NOT EXISTS polrec_findings_line_sha256 ON polrec_findings (line_sha256);
CREATE INDEX IF NOT EXISTS polrec_findings_uid ON polrec_findings (finding_uid);
CREATE INDEX IF NOT EXISTS polrec_findings_time ON polrec_findings (event_time);
-- containment (@>) and jsonpath (@?, @@) queries on the whole finding
CREATE INDEX IF NOT EXISTS polrec_findings_finding ON polrec_findings USING gin (finding jsonb_path_ops);

CREATE OR REPLACE FUNCTION polrec_findings_ingest() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.line_sha256 := sha256(convert_to(NEW.line, 'UTF8'));
	BEGIN
		NEW.finding := NEW.line::jsonb;
	EXCEPTION WHEN others THEN
		NEW.finding := NULL;
		NEW.ingest_error := 'not JSON: ' || SQLERRM;
		RETURN NEW;
	END;
	-- A field of an unexpected type leaves its column NULL (and says so);
	-- the finding itself is kept.
	BEGIN
		NEW.finding_uid := NEW.finding #>> '{finding_info,uid}';
		NEW.title := NEW.finding #>> '{finding_info,title}';
		NEW.device := NEW.finding #>> '{device,hostname}';
		NEW.class_uid := (NEW.finding ->> 'class_uid')::integer;
		NEW.severity_id := (NEW.finding ->> 'severity_id')::smallint;
		NEW.event_time := to_timestamp((NEW.finding ->> 'time')::numeric / 1000);
	EXCEPTION WHEN others THEN
		NEW.ingest_error := 'extracting columns: ' || SQLERRM;
	END;
	RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER polrec_findings_ingest BEFORE INSERT ON polrec_findings
	FOR EACH ROW EXECUTE FUNCTION polrec_findings_ingest();

-- rsyslog may insert, and on a duplicate bump copies; nothing else.
REVOKE ALL ON polrec_findings FROM polrec_ingest;
GRANT INSERT (sender, source_file, line) ON polrec_findings TO polrec_ingest;
GRANT SELECT (line_sha256, copies), UPDATE (copies) ON polrec_findings TO polrec_ingest;

COMMIT;
