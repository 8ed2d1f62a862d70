# The fleet path of the integration tests: a private PostgreSQL 15 cluster
# and an rsyslogd running the shipped dist/rsyslog/polrec-imfile-pgsql.conf
# with only its host, port and paths changed. Source it after lib.sh.
#
# Everything listens on 127.0.0.1 (a free high port) or a unix socket in a
# temp dir; cleanup stops rsyslogd and postgres by pid and removes the dirs.

: "${POLREC_SRC:?POLREC_SRC must point at the source tree}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DIST=$POLREC_SRC/dist/rsyslog
PGD=            # cluster, socket and certificate (owned by postgres)
PGPORT=
RSY_PID=
RSY_DIR=$WORK/rsyslog
RSY_ERR=$WORK/rsyslogd.stderr
RSY_LOG=$WORK/rsyslog-internal.log
STREAM=$WORK/ocsf.ndjson

fleet_cleanup() {
	if [ -n "$RSY_PID" ] && kill -0 "$RSY_PID" 2>/dev/null; then
		kill -TERM "$RSY_PID" 2>/dev/null || true
		wait "$RSY_PID" 2>/dev/null || true
	fi
	if [ -n "$PGD" ] && [ -f "$PGD/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w stop \
			>/dev/null 2>&1 || true
	fi
	[ -n "$PGD" ] && rm -rf "$PGD"
	return 0
}
# then lib.sh's cleanup (polrecd, BG_PIDS, $WORK) with the test's status
trap 'rc=$?; [ $rc -eq 0 ] || show_rsyslog_log; fleet_cleanup; set +e; (exit $rc); cleanup' EXIT

need_fleet_tools() {
	[ "$(id -u)" -eq 0 ] || die "the fleet tests start postgres as the postgres user and must run as root"
	local t
	for t in "$PGBIN/initdb" "$PGBIN/pg_ctl" "$PGBIN/psql" /usr/sbin/rsyslogd openssl; do
		command -v "$t" >/dev/null || die "$t missing (packages postgresql, rsyslog, openssl)"
	done
	local m
	for m in imfile ompgsql mmutf8fix; do
		[ -f "/usr/lib/x86_64-linux-gnu/rsyslog/$m.so" ] ||
			ls /usr/lib/*/rsyslog/"$m".so >/dev/null 2>&1 ||
			die "rsyslog module $m missing (packages rsyslog, rsyslog-pgsql)"
	done
	id postgres >/dev/null 2>&1 || die "no postgres user (package postgresql)"
}

# psql as the cluster's superuser over the unix socket; SQL on stdin,
# test values passed with -v NAME=VALUE and used as :'NAME'
pgq() {
	runuser -u postgres -- "$PGBIN/psql" -h "$PGD" -p "$PGPORT" -d "${PGDB:-polrec}" \
		-X -A -t -q -v ON_ERROR_STOP=1 "$@"
}

port_free() { ! ss -Htln "sport = :$1" | grep -q .; }

# pg_start: a TLS-only cluster on 127.0.0.1, a polrec database with the
# shipped schema, and a pgpass for rsyslog's role
pg_start() {
	need_fleet_tools
	PGD=$(mktemp -d /tmp/polrec-pg.XXXXXX)
	chown postgres: "$PGD"
	chmod 0700 "$PGD"
	runuser -u postgres -- "$PGBIN/initdb" -D "$PGD/data" -U postgres -E UTF8 \
		--locale=C.UTF-8 -A peer --auth-host=scram-sha-256 >"$WORK/initdb.log" 2>&1 ||
		{ cat "$WORK/initdb.log" >&2; die "initdb failed"; }
	# a self-signed certificate for 127.0.0.1: rsyslog checks it (verify-full)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1" -keyout "$PGD/server.key" \
		-out "$PGD/server.crt" >/dev/null 2>&1 || die "openssl req failed"
	chown postgres: "$PGD/server.key" "$PGD/server.crt"
	chmod 0600 "$PGD/server.key"
	cp "$PGD/server.crt" "$WORK/pgsql-ca.crt"
	cat >"$PGD/data/pg_hba.conf" <<-HBA
		local   all     postgres                        peer
		hostssl polrec  polrec_ingest   127.0.0.1/32    scram-sha-256
	HBA
	local _
	for _ in 1 2 3 4 5; do
		PGPORT=$((20000 + RANDOM % 40000))
		port_free "$PGPORT" || continue
		cat >>"$PGD/data/postgresql.conf" <<-CONF
			listen_addresses = '127.0.0.1'
			port = $PGPORT
			unix_socket_directories = '$PGD'
			ssl = on
			ssl_cert_file = '$PGD/server.crt'
			ssl_key_file = '$PGD/server.key'
			fsync = off
		CONF
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/postgres.log" \
			-w -t 60 start >/dev/null 2>&1 && break
		grep -q "could not bind" "$PGD/postgres.log" 2>/dev/null ||
			{ cat "$PGD/postgres.log" >&2; die "postgres did not start"; }
		PGPORT=
	done
	[ -n "$PGPORT" ] || die "no free port for postgres after 5 tries"
	PGDB=postgres pgq -c "CREATE DATABASE polrec" || die "CREATE DATABASE failed"
	pgq <"$DIST/polrec-pgsql.sql" || die "polrec-pgsql.sql failed"
	PGPASS_SECRET=$(openssl rand -hex 16)
	pgq -v pw="$PGPASS_SECRET" <<<"ALTER ROLE polrec_ingest PASSWORD :'pw';" ||
		die "setting the ingest password failed"
	(umask 077 && printf '127.0.0.1:%s:polrec:polrec_ingest:%s\n' "$PGPORT" "$PGPASS_SECRET" \
		>"$WORK/pgpass")
}

pg_stop() { # the sink goes away (the queue must hold what comes meanwhile)
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w stop >/dev/null ||
		die "pg_ctl stop failed"
}

pg_restart() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/postgres.log" \
		-w -t 60 start >/dev/null || die "postgres did not restart"
}

# The shipped config with the sink's host/port and this test's paths: every
# placeholder must be found (a renamed one would silently test defaults).
rsyslog_conf() {
	local out=$RSY_DIR/polrec-imfile-pgsql.conf s
	mkdir -p "$RSY_DIR/state" "$RSY_DIR/spool"
	chmod 0700 "$RSY_DIR"
	cp "$DIST/polrec-imfile-pgsql.conf" "$out"
	for s in "/var/log/polrec/ocsf.ndjson" "/var/lib/rsyslog-polrec" \
		"/var/spool/rsyslog-polrec" "@db.example.org:5432/" "/etc/polrec/pgpass" \
		"/etc/polrec/pgsql-ca.crt"; do
		grep -qF "$s" "$out" || die "shipped pgsql config lacks the placeholder $s"
	done
	sed -i -e "s|/var/log/polrec/ocsf.ndjson|$STREAM|" \
		-e "s|/var/lib/rsyslog-polrec|$RSY_DIR/state|" \
		-e "s|/var/spool/rsyslog-polrec|$RSY_DIR/spool|" \
		-e "s|@db.example.org:5432/|@127.0.0.1:$PGPORT/|" \
		-e "s|/etc/polrec/pgpass|$WORK/pgpass|" \
		-e "s|/etc/polrec/pgsql-ca.crt|$WORK/pgsql-ca.crt|" "$out"
	# the master config: the shipped file included as rsyslog.conf would,
	# plus a file for rsyslog's own messages (errors, suspensions), which
	# would otherwise go to the host's syslog socket
	cat >"$RSY_DIR/rsyslog.conf" <<-CONF
		global(processInternalMessages="on")
		include(file="$out")
		syslog.* action(type="omfile" file="$RSY_LOG")
	CONF
	rsyslogd -N1 -f "$RSY_DIR/rsyslog.conf" >"$WORK/rsyslog-check.log" 2>&1 ||
		{ cat "$WORK/rsyslog-check.log" >&2; die "rsyslogd -N1 refused the generated config"; }
}

rsyslog_start() {
	[ -f "$RSY_DIR/rsyslog.conf" ] || rsyslog_conf
	rsyslogd -n -f "$RSY_DIR/rsyslog.conf" -i "$RSY_DIR/rsyslogd.pid" >"$RSY_ERR" 2>&1 &
	RSY_PID=$!
	local _
	for _ in $(seq 1 100); do
		[ -s "$RSY_DIR/rsyslogd.pid" ] && return 0
		kill -0 "$RSY_PID" 2>/dev/null || { cat "$RSY_ERR" >&2; die "rsyslogd exited at start"; }
		sleep 0.1
	done
	die "rsyslogd wrote no pid file in 10 s"
}

rsyslog_stop() {
	kill -TERM "$RSY_PID"
	local rc=0
	wait "$RSY_PID" || rc=$?
	RSY_PID=
	[ "$rc" -eq 0 ] || die "rsyslogd exited with $rc on SIGTERM"
}

# wait_rows N [SECONDS]: until polrec_findings holds N rows (default 30 s)
# wait_rows N [SECS [WHERE]]: until N rows (that match WHERE) arrived
wait_rows() {
	local n=$1 secs=${2:-30} where=${3:-true} got=
	for _ in $(seq 1 $((secs * 5))); do
		got=$(pgq <<<"SELECT count(*) FROM polrec_findings WHERE $where;" 2>/dev/null || true)
		[ -n "$got" ] && [ "$got" -ge "$n" ] && return 0
		sleep 0.2
	done
	echo "polrec_findings has ${got:-?} rows, expected $n" >&2
	return 1
}

show_rsyslog_log() {
	[ -f "$RSY_ERR" ] || return 0
	echo "---- rsyslog ----" >&2
	tail -n 30 "$RSY_LOG" "$RSY_ERR" >&2 2>/dev/null || true
}
