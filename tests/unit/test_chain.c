// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Tamper evidence: the hash chain, polq verify's messages for each kind of
 * tampering (done with raw SQL on the database file), signed checkpoints,
 * prune records, incident bundles. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "query/bundle.h"
#include "schema/chain.h"
#include "schema/store.h"

struct fx {
	char tmp[64];
	char dir[128];
	char err[1024];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->tmp, "/tmp/polrec-test-chain.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(fx->dir, sizeof(fx->dir), "%s/store", fx->tmp);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	nftw(fx->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct pr_proc_rec proc(uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart,
			       const char *exe)
{
	static const char argv[] = "sh\0-c\0echo hi\0";

	return (struct pr_proc_rec){
		.pid = pid, .ppid = ppid, .start_boot = start, .pstart_boot = pstart,
		.start_time = 1700000000000000000ull + start, .uid = 0, .user = "root",
		.exe = exe, .argv = argv, .argv_len = sizeof(argv) - 1, .argc = 3,
		.cwd = "/", .cgroup = "/", .container_id = "", .sha256 = "",
	};
}

static const struct pr_net_rec test_net = {
	.direction = "egress", .protocol = "tcp", .src = "127.0.0.1", .sport = 40000,
	.dst = "127.66.0.1", .dport = 4444, .result = "ok", .flow_id = 77,
};

static int64_t add_inc(struct pr_store *s, uint64_t t, const char *path, bool net)
{
	struct pr_proc_rec lin[3] = {
		proc(300, 3000, 200, 2000, "/usr/bin/dash"),
		proc(200, 2000, 1, 10, "/usr/sbin/sshd"),
		proc(1, 10, 0, 0, "/sbin/init"),
	};
	struct pr_event_rec ev[3] = {
		{ .time = t - 2, .kind = "exec", .pid = 300, .start_boot = 3000,
		  .path = "/usr/bin/dash" },
		{ .time = t - 1, .kind = "write", .pid = 300, .start_boot = 3000, .path = "/tmp/x",
		  .detail = "flags=O_WRONLY" },
		{ .time = t, .kind = net ? "connect" : "write", .pid = 300, .start_boot = 3000,
		  .path = path, .mark = PR_MARK_VIOLATION },
	};
	struct pr_incident_rec inc = {
		.time = t, .policy = "p", .rule = net ? "network.egressDeny" : "files.protect",
		.severity = "high", .kind = net ? "network" : "file",
		.action = net ? "connect" : "write", .path = path, .expected = "nothing",
		.actual = "something", .proc = lin[0], .net = net ? &test_net : NULL,
	};
	int64_t id = pr_store_add_incident(s, &inc, lin, 3, ev, 3);

	if (id < 0)
		fail_msg("add incident: %s", pr_store_errmsg(s));
	return id;
}

static uint8_t pkt[3][60];

/* chain: 1 genesis, 2 incident 1, 3 loss 1, 4 run 1, 5 incident 2,
 * 6 flow 77, 7 packets 1-3, 8 append to incident 1, 9 incident 3,
 * 10 segment 1 (closed when the store closes) */
static void build(struct fx *fx)
{
	struct pr_store *s;
	struct pr_flow_rec f = {
		.flow_id = 77, .time = 2000, .role = "violation", .protocol = "tcp",
		.local = "127.0.0.1", .lport = 40000, .remote = "127.66.0.1", .rport = 4444,
		.pid = 300, .start_boot = 3000, .exe = "/usr/bin/curl",
	};
	struct pr_packet_rec p[3];
	struct pr_event_rec later[2] = {
		{ .time = 1500, .kind = "exec", .pid = 301, .start_boot = 3010,
		  .path = "/usr/bin/curl" },
		{ .time = 1600, .kind = "write", .pid = 300, .start_boot = 3000,
		  .path = "/etc/passwd", .mark = PR_MARK_JOINED },
	};

	if (pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)))
		fail_msg("open: %s", fx->err);
	assert_int_equal(pr_store_begin(s), 0);
	assert_int_equal(add_inc(s, 1000, "/etc/shadow", false), 1);
	assert_int_equal(pr_store_add_loss(s, 900, 950, "kernel-ringbuf", "file", 12), 0);
	assert_int_equal(pr_store_add_run(s, 800, "start", "polrecd test"), 0);
	assert_int_equal(pr_store_commit(s), 0);

	assert_int_equal(pr_store_begin(s), 0);
	assert_int_equal(add_inc(s, 2000, "tcp 127.0.0.1:40000 -> 127.66.0.1:4444", true), 2);
	f.incident_id = 2;
	assert_int_equal(pr_store_add_flow(s, &f), 0);
	for (int i = 0; i < 3; i++) {
		memset(pkt[i], 0, sizeof(pkt[i]));
		pkt[i][0] = 0x45;
		pkt[i][3] = 60;
		pkt[i][9] = 6;
		pkt[i][32] = 5 << 4;
		memcpy(pkt[i] + 40, "GET / HTTP/1.0", 14);
		p[i] = (struct pr_packet_rec){ .flow_id = 77, .time = 2000 + (uint64_t)i,
					       .len = 60, .caplen = 60, .dir = 1, .data = pkt[i] };
	}
	assert_int_equal(pr_store_add_packets(s, p, 3), 0);
	assert_int_equal(pr_store_append_events(s, 1, later, 2), 0);
	assert_int_equal(pr_store_commit(s), 0);

	assert_int_equal(pr_store_begin(s), 0);
	assert_int_equal(add_inc(s, 3000, "/etc/hosts", false), 3);
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);
}

static struct pr_store *open_read(struct fx *fx)
{
	struct pr_store *s;

	if (pr_store_open(&s, fx->dir, PR_STORE_READ, fx->err, sizeof(fx->err)))
		fail_msg("open: %s", fx->err);
	return s;
}

/* verify: rc, and the message when rc is 1 */
static int verify(struct fx *fx, const struct pr_checkpoint *cp, bool full,
		  struct pr_verify_result *r)
{
	struct pr_verify_opts o = { .full = full, .cp = cp, .cp_name = "CP" };
	struct pr_store *s = open_read(fx);
	int rc = pr_chain_verify(s, &o, r);

	if (rc < 0)
		fail_msg("verify: %s", pr_store_errmsg(s));
	pr_store_close(s);
	return rc;
}

static void expect_bad(struct fx *fx, const struct pr_checkpoint *cp, const char *msg)
{
	struct pr_verify_result r;

	assert_int_equal(verify(fx, cp, false, &r), 1);
	if (strcmp(r.msg, msg))
		fail_msg("verify said [%s], want [%s]", r.msg, msg);
}

static void sql(struct fx *fx, const char *q)
{
	char path[256];
	sqlite3 *db;
	char *msg = NULL;

	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
	sqlite3_close(db);
}

/* ---- tests ---- */

static void test_clean_chain(void **state)
{
	struct fx *fx = *state;
	struct pr_verify_result r;

	build(fx);
	assert_int_equal(verify(fx, NULL, true, &r), 0);
	assert_int_equal(r.records, 10);
	assert_int_equal(r.head_seq, 10);
	assert_int_equal(r.segments_checked, 1);
	assert_int_equal(strlen(r.store_id), 32);
	assert_int_equal(r.from_version, 0);
	/* the kinds, in order */
	sql(fx, "CREATE TABLE t AS SELECT group_concat(kind, ',') AS k FROM"
	    " (SELECT kind FROM chain ORDER BY seq)");
	{
		char path[256];
		sqlite3 *db;
		sqlite3_stmt *st;

		snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
		assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), 0);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT k FROM t", -1, &st, NULL), 0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
				    "genesis,incident,loss,run,incident,flow,packets,append,"
				    "incident,segment");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static void test_flip_byte(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "UPDATE incidents SET path = CAST(replace(CAST(path AS TEXT), 'shadow', 'shadoW')"
	    " AS BLOB) WHERE id = 1");
	expect_bad(fx, NULL, "chain record 2 (incident 1): content changed");
}

static void test_change_lineage(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "UPDATE proc_images SET exe = x'2f62696e2f78' WHERE id ="
	    " (SELECT image_id FROM incident_lineage WHERE incident_id = 2 AND depth = 1)");
	expect_bad(fx, NULL, "chain record 5 (incident 2): content changed");
}

static void test_change_event_and_violations(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "UPDATE incident_events SET detail = x'00' WHERE incident_id = 1 AND seq = 4");
	expect_bad(fx, NULL, "chain record 8 (events 3-4 of incident 1): content changed");
}

static void test_violations_changed(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "UPDATE incidents SET violations = 5 WHERE id = 1");
	expect_bad(fx, NULL, "chain record 2 (incident 1): content changed (violations does not "
		   "match its joined events)");
}

static void test_delete_incident(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "DELETE FROM incidents WHERE id = 3");
	expect_bad(fx, NULL, "chain record 9 (incident 3): record missing (deleted)");
}

static void test_delete_chain_row(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "DELETE FROM chain WHERE seq = 4");
	expect_bad(fx, NULL, "chain record 4 missing (deleted)");
}

static void test_delete_chain_row_renumbered(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "DELETE FROM chain WHERE seq = 4; UPDATE chain SET seq = seq - 1 WHERE seq > 4");
	expect_bad(fx, NULL, "chain record 4 (incident 2) does not follow chain record 3 "
		   "(a record was removed, inserted or rewritten)");
}

static void test_insert_incident(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "INSERT INTO incidents (id, time, policy, rule, severity, kind, action, path,"
	    " expected, actual) VALUES (2, 1, 'p', 'r', 'low', 'file', 'write', x'2f78', x'', x'')"
	    " ON CONFLICT DO NOTHING;"
	    "INSERT INTO incidents (time, policy, rule, severity, kind, action, path, expected,"
	    " actual) VALUES (1500, 'p', 'files.protect', 'low', 'file', 'write', x'2f78', x'', x'')");
	expect_bad(fx, NULL, "incident 4 not in the chain (inserted, or the chain's tail was cut)");
}

static void test_insert_incident_and_chain_row(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "INSERT INTO incidents (time, policy, rule, severity, kind, action, path, expected,"
	    " actual) VALUES (1500, 'p', 'files.protect', 'low', 'file', 'write', x'2f78', x'', x'');"
	    "INSERT INTO chain (seq, time, kind, ref, first_row, nrows, content, prev, hash)"
	    " SELECT 11, 5, 'incident', 4, 0, 0, zeroblob(32), hash, randomblob(32)"
	    " FROM chain WHERE seq = 10");
	expect_bad(fx, NULL, "chain record 11 (incident 4): content changed");
}

static void test_insert_event(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "INSERT INTO incident_events (incident_id, seq, time, kind, pid, start_boot, path,"
	    " path2, detail, mark) VALUES (2, 9, 2100, 'exec', 300, 3000, x'2f78', x'', x'', 0)");
	expect_bad(fx, NULL, "incident 2: event 9 not in the chain (inserted)");
}

static void test_swap_chain_rows(void **state)
{
	struct fx *fx = *state;

	build(fx);
	sql(fx, "CREATE TEMP TABLE a AS SELECT * FROM chain WHERE seq = 5;"
	    "CREATE TEMP TABLE b AS SELECT * FROM chain WHERE seq = 6;"
	    "UPDATE chain SET (time, kind, ref, first_row, nrows, content, prev, hash) ="
	    " (SELECT time, kind, ref, first_row, nrows, content, prev, hash FROM b) WHERE seq = 5;"
	    "UPDATE chain SET (time, kind, ref, first_row, nrows, content, prev, hash) ="
	    " (SELECT time, kind, ref, first_row, nrows, content, prev, hash FROM a) WHERE seq = 6;");
	expect_bad(fx, NULL, "chain records 5 and 6 out of order");
}

static void test_swap_incidents(void **state)
{
	struct fx *fx = *state;

	build(fx);
	/* reorder two incident rows: swap their ids */
	sql(fx, "UPDATE incidents SET id = -1 WHERE id = 1; UPDATE incidents SET id = 1 WHERE id = 3;"
	    "UPDATE incidents SET id = 3 WHERE id = -1");
	expect_bad(fx, NULL, "chain record 2 (incident 1): content changed");
}

static void test_packets_and_segment(void **state)
{
	struct fx *fx = *state;
	struct pr_verify_result r;
	char path[256];
	int fd;

	build(fx);
	sql(fx, "UPDATE packets SET len = 61 WHERE rowid = 2");
	expect_bad(fx, NULL, "chain record 7 (packet rows 1-3): content changed");
	teardown(state);
	setup(state);
	fx = *state;
	build(fx);
	/* the file: only --full rehashes it */
	snprintf(path, sizeof(path), "%s/pcap/seg-1.pcap", fx->dir);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 50), 1);
	close(fd);
	assert_int_equal(verify(fx, NULL, false, &r), 0);
	assert_int_equal(verify(fx, NULL, true, &r), 1);
	assert_non_null(strstr(r.msg, "pcap segment 1 ("));
	assert_non_null(strstr(r.msg, "): file changed (its SHA-256 is not the one chained)"));
}

/* ---- checkpoints ---- */

static void make_keys(struct fx *fx, const char *name, char *priv, char *pub)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	FILE *f;

	sprintf(priv, "%s/%s.pem", fx->tmp, name);
	sprintf(pub, "%s/%s.pub.pem", fx->tmp, name);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
	assert_non_null(f = fopen(priv, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_non_null(f = fopen(pub, "w"));
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
}

static void take_checkpoint(struct fx *fx, const char *priv, const char *file)
{
	struct pr_verify_result r;
	struct pr_checkpoint cp = { 0 };
	char *text;
	FILE *f;

	assert_int_equal(verify(fx, NULL, false, &r), 0);
	memcpy(cp.store_id, r.store_id, 33);
	cp.seq = r.head_seq;
	memcpy(cp.hash, r.head_hash, 32);
	cp.time = 42;
	text = pr_checkpoint_make(&cp, fx->dir, priv, fx->err, sizeof(fx->err));
	if (!text)
		fail_msg("checkpoint: %s", fx->err);
	assert_non_null(f = fopen(file, "w"));
	fputs(text, f);
	fclose(f);
	free(text);
}

static void test_checkpoint_truncation(void **state)
{
	struct fx *fx = *state;
	char priv[256], pub[256], priv2[256], pub2[256], file[256];
	struct pr_checkpoint cp;
	struct pr_verify_result r;

	build(fx);
	make_keys(fx, "k", priv, pub);
	make_keys(fx, "other", priv2, pub2);
	snprintf(file, sizeof(file), "%s/cp", fx->tmp);
	take_checkpoint(fx, priv, file);
	assert_int_equal(pr_checkpoint_read(file, pub, &cp, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(cp.seq, 10);
	assert_int_equal(verify(fx, &cp, false, &r), 0);
	/* the wrong key */
	assert_int_equal(pr_checkpoint_read(file, pub2, &cp, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "bad signature"));
	/* cut the tail (incident 3 and the segment) consistently: the chain alone
	 * cannot tell, the checkpoint can */
	sql(fx, "DELETE FROM chain WHERE seq >= 9; DELETE FROM incident_events WHERE incident_id = 3;"
	    "DELETE FROM incident_lineage WHERE incident_id = 3;"
	    "DELETE FROM proc_images WHERE incident_id = 3; DELETE FROM incidents WHERE id = 3");
	assert_int_equal(verify(fx, NULL, false, &r), 0);
	assert_int_equal(r.head_seq, 8);
	assert_int_equal(pr_checkpoint_read(file, pub, &cp, fx->err, sizeof(fx->err)), 0);
	expect_bad(fx, &cp, "the chain ends at 8 but checkpoint CP says 10 (truncated)");
}

static void test_checkpoint_rewrite_and_forgery(void **state)
{
	struct fx *fx = *state;
	char priv[256], pub[256], file[256], text[4096];
	struct pr_checkpoint cp;
	size_t n;
	FILE *f;

	build(fx);
	make_keys(fx, "k", priv, pub);
	snprintf(file, sizeof(file), "%s/cp", fx->tmp);
	take_checkpoint(fx, priv, file);
	assert_int_equal(pr_checkpoint_read(file, pub, &cp, fx->err, sizeof(fx->err)), 0);
	/* a chain rewritten from record 10 on (hash recomputed by hand would be
	 * the same trick): its record 10 is not the one signed */
	sql(fx, "UPDATE chain SET hash = randomblob(32) WHERE seq = 10");
	expect_bad(fx, &cp, "chain record 10 (pcap segment 1): chain row changed");
	/* an edited checkpoint fails its signature */
	assert_non_null(f = fopen(file, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	*strstr(text, "seq 10") = 'S';
	assert_non_null(f = fopen(file, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(pr_checkpoint_read(file, pub, &cp, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "bad signature"));
}

/* ---- prune ---- */

static void test_prune_record(void **state)
{
	struct fx *fx = *state;
	struct pr_verify_result r;
	struct pr_store *s;

	build(fx);
	/* a prune removes incident 1 with its events, and the loss */
	if (pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)))
		fail_msg("open: %s", fx->err);
	assert_int_equal(pr_store_begin(s), 0);
	{
		char *msg = NULL;

		if (sqlite3_exec(pr_store__db(s),
				 "DELETE FROM incident_events WHERE incident_id = 1;"
				 "DELETE FROM incident_lineage WHERE incident_id = 1;"
				 "UPDATE incidents SET proc_image_id = NULL WHERE id = 1;"
				 "DELETE FROM proc_images WHERE incident_id = 1;"
				 "DELETE FROM incidents WHERE id = 1; DELETE FROM losses WHERE id = 1",
				 NULL, NULL, &msg))
			fail_msg("prune: %s", msg);
	}
	assert_int_equal(pr_store_chain_prune(s, 0), 0);
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);
	assert_int_equal(verify(fx, NULL, false, &r), 0);
	assert_int_equal(r.pruned, 3); /* incident 1, its append, the loss */
	/* claiming another record was pruned changes the prune record */
	sql(fx, "UPDATE chain SET gone = (SELECT seq FROM chain WHERE kind = 'prune') WHERE seq = 4;"
	    "DELETE FROM runs WHERE id = 1");
	expect_bad(fx, NULL, "chain record 11 (prune 0): content changed");
}

/* ---- bundles ---- */

static void test_bundle(void **state)
{
	struct fx *fx = *state;
	struct pr_store *s;
	char dir[256], path[300], msg[512];
	int files, records, fd;

	build(fx);
	snprintf(dir, sizeof(dir), "%s/bundle", fx->tmp);
	s = open_read(fx);
	assert_int_equal(pr_bundle_write(s, 2, dir, false, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(pr_bundle_write(s, 2, dir, false, fx->err, sizeof(fx->err)), 2);
	assert_int_equal(pr_bundle_write(s, 99, dir, true, fx->err, sizeof(fx->err)), 1);
	assert_int_equal(pr_bundle_write(s, 2, dir, true, fx->err, sizeof(fx->err)), 0);
	pr_store_close(s);
	assert_int_equal(pr_bundle_verify(dir, &files, &records, msg, sizeof(msg)), 0);
	assert_int_equal(files, 4);
	assert_int_equal(records, 2); /* incident 2 and its flow */
	/* a changed file */
	snprintf(path, sizeof(path), "%s/incident.pcap", dir);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "Z", 1, 30), 1);
	close(fd);
	assert_int_equal(pr_bundle_verify(dir, &files, &records, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "incident.pcap: SHA-256 differs from MANIFEST (changed)");
	/* a removed file */
	unlink(path);
	assert_int_equal(pr_bundle_verify(dir, &files, &records, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "incident.pcap: missing (deleted)");
	/* a symlink instead of the directory is refused */
	snprintf(path, sizeof(path), "%s/link", fx->tmp);
	assert_int_equal(symlink(dir, path), 0);
	assert_int_equal(pr_bundle_verify(path, &files, &records, msg, sizeof(msg)), -1);
	s = open_read(fx);
	assert_int_equal(pr_bundle_write(s, 2, path, true, fx->err, sizeof(fx->err)), -1);
	pr_store_close(s);
}

/* ---- schema 6: boot time, boot id, policy versions ---- */

static const char sha_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char sha_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char pol_text[] = "apiVersion: polrec.dev/v1\nkind: Expectation\n"
			       "metadata: {name: \"x\x1b[2J\"}\n";

/* chain: 1 genesis, 2 policy a, 3 incident 1 (a), 4 policy b, 5 incident 2
 * (b), 6 run, 7 incident 3 (unknown version) */
static void build_versions(struct fx *fx)
{
	struct pr_proc_rec lin[1] = { proc(300, 3000, 1, 10, "/usr/bin/dash") };
	struct pr_incident_rec inc = {
		.time = 1000, .policy = "p", .rule = "files.protect", .severity = "high",
		.kind = "file", .action = "write", .path = "/etc/x", .expected = "nothing",
		.actual = "something", .proc = lin[0], .boot_time = 123456789012,
		.policy_sha256 = sha_a,
	};
	struct pr_store *s;

	if (pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)))
		fail_msg("open: %s", fx->err);
	assert_int_equal(pr_store_schema_version(s), 6);
	assert_int_equal(pr_store_begin(s), 0);
	assert_int_equal(pr_store_add_policy_version(s, 900, sha_a, "/etc/polrec/a.yaml", 2,
						     pol_text, sizeof(pol_text) - 1), 1);
	/* the same content again is the same version */
	assert_int_equal(pr_store_add_policy_version(s, 950, sha_a, "/etc/polrec/a.yaml", 2,
						     pol_text, sizeof(pol_text) - 1), 1);
	/* not a digest */
	assert_int_equal(pr_store_add_policy_version(s, 950, "abc", "x", 1, "x", 1), -1);
	assert_int_equal(pr_store_add_policy_version(s, 950, sha_a + 1, "x", 1, "x", 1), -1);
	assert_int_equal(pr_store_add_incident(s, &inc, lin, 1, NULL, 0), 1);
	assert_int_equal(pr_store_add_policy_version(s, 1100, sha_b, "(default)", 5, "b: 1\n", 5),
			 2);
	inc.time = 1200;
	inc.policy_sha256 = sha_b;
	inc.boot_time = 0; /* now */
	assert_int_equal(pr_store_add_incident(s, &inc, lin, 1, NULL, 0), 2);
	assert_int_equal(pr_store_add_run(s, 1300, "reload", "x"), 0);
	inc.time = 1400;
	inc.policy_sha256 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
	assert_int_equal(pr_store_add_incident(s, &inc, lin, 1, NULL, 0), 3);
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);
}

static void test_policy_versions(void **state)
{
	struct fx *fx = *state;
	struct pr_incident_full *f;
	struct pr_policy_list l;
	struct pr_verify_result r;
	struct pr_store *s;
	char bid[64] = "";
	FILE *b;

	build_versions(fx);
	assert_int_equal(verify(fx, NULL, true, &r), 0);
	assert_int_equal(r.records, 7);
	b = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(b);
	assert_non_null(fgets(bid, sizeof(bid), b));
	fclose(b);
	bid[strcspn(bid, "\n")] = '\0';

	s = open_read(fx);
	assert_int_equal(pr_store_get_incident(s, 1, &f), 0);
	assert_string_equal(f->inc.boot_id, bid);
	assert_true(f->inc.boot_time == 123456789012ull);
	assert_int_equal(f->inc.policy_version, 1);
	assert_string_equal(f->inc.policy_sha256, sha_a);
	pr_incident_full_free(f);
	assert_int_equal(pr_store_get_incident(s, 2, &f), 0);
	assert_int_equal(f->inc.policy_version, 2);
	assert_true(f->inc.boot_time > 0); /* the writer's boot clock */
	pr_incident_full_free(f);
	/* a version the store never got is named by nothing, not by a guess */
	assert_int_equal(pr_store_get_incident(s, 3, &f), 0);
	assert_int_equal(f->inc.policy_version, 0);
	assert_null(f->inc.policy_sha256);
	pr_incident_full_free(f);

	assert_int_equal(pr_store_policy_versions(s, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].sha256, sha_a);
	assert_string_equal(l.v[0].source, "/etc/polrec/a.yaml");
	assert_int_equal(l.v[0].expectations, 2);
	assert_int_equal(l.v[0].incidents, 1);
	assert_true(l.v[0].time == 900);
	assert_null(l.v[0].text); /* the list has no text */
	assert_int_equal(l.v[1].incidents, 1);
	pr_policy_list_free(&l);
	assert_int_equal(pr_store_get_policy_version(s, 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].text_len, sizeof(pol_text) - 1);
	assert_memory_equal(l.v[0].text, pol_text, sizeof(pol_text) - 1);
	pr_policy_list_free(&l);
	assert_int_equal(pr_store_get_policy_version(s, 9, &l), 1);
	assert_int_equal(pr_store_get_policy_version(s, -1, &l), 1);
	pr_store_close(s);
}

/* The boot section, the version reference and the policy text are all
 * covered by the chain. */
static void test_boot_and_version_tampered(void **state)
{
	struct fx *fx = *state;

	build_versions(fx);
	sql(fx, "UPDATE incidents SET boot_time = boot_time + 1 WHERE id = 1");
	expect_bad(fx, NULL, "chain record 3 (incident 1): content changed");
	sql(fx, "UPDATE incidents SET boot_time = boot_time - 1 WHERE id = 1");
	sql(fx, "UPDATE incidents SET policy_version = 1 WHERE id = 2");
	expect_bad(fx, NULL, "chain record 5 (incident 2): content changed");
	sql(fx, "UPDATE incidents SET policy_version = 2 WHERE id = 2");
	sql(fx, "UPDATE runs SET boot_id = 'x' WHERE id = 1");
	expect_bad(fx, NULL, "chain record 6 (run 1): content changed");
	sql(fx, "UPDATE runs SET boot_id = NULL, boot_time = NULL WHERE id = 1");
	expect_bad(fx, NULL, "chain record 6 (run 1): content changed");
}

static void test_policy_text_tampered(void **state)
{
	struct fx *fx = *state;

	build_versions(fx);
	sql(fx, "UPDATE policy_versions SET expectations = 3 WHERE id = 1");
	expect_bad(fx, NULL, "chain record 2 (policy 1): content changed");
	sql(fx, "UPDATE policy_versions SET expectations = 2 WHERE id = 1");
	sql(fx, "DELETE FROM policy_versions WHERE id = 2");
	expect_bad(fx, NULL, "chain record 4 (policy 2): record missing (deleted)");
}

/* A policy version or a prune row added behind the recorder's back (it
 * would show in polq policies / stats as history) is caught. */
static void test_inserted_policy_and_prune(void **state)
{
	struct fx *fx = *state;

	build_versions(fx);
	sql(fx, "INSERT INTO policy_versions (id, time, boot_id, boot_time, sha256, source,"
	    " expectations, text) VALUES (9, 1, 'b', 1, 'cccc', 'x', 1, x'')");
	expect_bad(fx, NULL, "policy version 9 not in the chain (inserted, or the chain's tail was cut)");
	sql(fx, "DELETE FROM policy_versions WHERE id = 9");
	sql(fx, "INSERT INTO prunes (time, reason, incidents, first_id, last_id, packets, segments,"
	    " processes, bytes) VALUES (1, 'age', 0, 0, 0, 0, 0, 0, 0)");
	expect_bad(fx, NULL, "prune record 1 not in the chain (inserted, or the chain's tail was cut)");
}

/* A store written at schema 5 (tests/data/store-v5): migrated to 6, its
 * records keep the content they were chained with, and new records chain
 * on after them. */
static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;

	if (!in)
		fail_msg("%s: %s (POLREC_TEST_DATA)", from, strerror(errno));
	out = fopen(to, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static void test_migrated_v5_chain(void **state)
{
	struct fx *fx = *state;
	const char *data = getenv("POLREC_TEST_DATA");
	struct pr_proc_rec lin[1] = { proc(300, 3000, 1, 10, "/usr/bin/dash") };
	struct pr_incident_rec inc = {
		.time = 2000000000000000000ull, .policy = "p", .rule = "files.protect",
		.severity = "high", .kind = "file", .action = "write", .path = "/etc/x",
		.expected = "nothing", .actual = "something", .proc = lin[0],
		.policy_sha256 = sha_a,
	};
	struct pr_verify_result r;
	struct pr_incident_full *f;
	struct pr_store *s;
	char from[512], to[512];

	assert_non_null(data);
	snprintf(from, sizeof(from), "%s/store-v5/polrec.db", data);
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	snprintf(to, sizeof(to), "%s/polrec.db", fx->dir);
	copy_file(from, to);
	assert_int_equal(chmod(to, 0600), 0);

	s = open_read(fx);
	assert_int_equal(pr_store_schema_version(s), 5);
	pr_store_close(s);
	assert_int_equal(verify(fx, NULL, true, &r), 0);
	assert_int_equal(r.records, 13);

	if (pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)))
		fail_msg("open: %s", fx->err);
	assert_int_equal(pr_store_schema_version(s), 6);
	pr_store_close(s);
	assert_int_equal(verify(fx, NULL, true, &r), 0);
	assert_int_equal(r.records, 13);
	/* an old incident reads without boot or version */
	s = open_read(fx);
	assert_int_equal(pr_store_get_incident(s, 4, &f), 0);
	assert_null(f->inc.boot_id);
	assert_int_equal(f->inc.policy_version, 0);
	pr_incident_full_free(f);
	pr_store_close(s);

	if (pr_store_open(&s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)))
		fail_msg("open: %s", fx->err);
	assert_int_equal(pr_store_begin(s), 0);
	assert_true(pr_store_add_policy_version(s, 1, sha_a, "x", 1, "x", 1) > 0);
	assert_true(pr_store_add_incident(s, &inc, lin, 1, NULL, 0) > 4);
	assert_int_equal(pr_store_add_run(s, 3, "start", "again"), 0);
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);
	assert_int_equal(verify(fx, NULL, true, &r), 0);
	assert_int_equal(r.records, 16);
	/* an old prune record is still checked against its row */
	sql(fx, "UPDATE prunes SET bytes = bytes + 1 WHERE id = 1");
	assert_int_equal(verify(fx, NULL, false, &r), 1);
	assert_non_null(strstr(r.msg, "(prune"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_lineage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_event_and_violations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_violations_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_incident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_chain_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_chain_row_renumbered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_incident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_incident_and_chain_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_chain_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_incidents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packets_and_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_rewrite_and_forgery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_and_version_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_text_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrated_v5_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inserted_policy_and_prune, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
