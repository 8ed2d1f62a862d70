// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The disk budget's prune steps (schema/prune.c): closed vs open
 * incidents, cascade completeness, segment files, ids never reused, prune
 * records, the start-up sweep. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "schema/prune.h"
#include "schema/store.h"

#define S_NS 1000000000ull

struct fx {
	char tmp[64];
	char dir[128];
	char err[512];
	struct pr_store *s;
	uint64_t now;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct timespec ts;

	assert_non_null(fx);
	strcpy(fx->tmp, "/tmp/polrec-test-prune.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(fx->dir, sizeof(fx->dir), "%s/store", fx->tmp);
	if (pr_store_open(&fx->s, fx->dir, PR_STORE_WRITE, fx->err, sizeof(fx->err)))
		fail_msg("open: %s", fx->err);
	pr_store_set_segment_bytes(fx->s, 4096); /* a segment every few packets */
	clock_gettime(CLOCK_REALTIME, &ts);
	fx->now = (uint64_t)ts.tv_sec * S_NS + (uint64_t)ts.tv_nsec;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pr_store_close(fx->s);
	nftw(fx->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct pr_proc_rec proc(uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart)
{
	static const char argv[] = "sh\0-c\0x";

	return (struct pr_proc_rec){
		.pid = pid, .ppid = ppid, .start_boot = start, .pstart_boot = pstart,
		.start_time = 1700000000000000000ull + start, .user = "u", .exe = "/bin/sh",
		.argv = argv, .argv_len = sizeof(argv) - 1, .argc = 3, .cwd = "/",
		.cgroup = "/", .container_id = "", .sha256 = "",
	};
}

/* An incident of its own process (pid), with a flow and packets when
 * flow != 0. time and follow_until in epoch ns. */
static int64_t add(struct fx *fx, uint32_t pid, uint64_t time, uint64_t follow_until,
		   uint64_t flow)
{
	struct pr_proc_rec lin[2] = { proc(pid, pid * 10, 1, 1), proc(1, 1, 0, 0) };
	struct pr_event_rec ev[2] = {
		{ .time = time - 1, .kind = "exec", .pid = pid, .start_boot = pid * 10,
		  .path = "/bin/sh", .path2 = "", .detail = "" },
		{ .time = time, .kind = "write", .pid = pid, .start_boot = pid * 10,
		  .path = "/etc/x", .path2 = "", .detail = "", .mark = PR_MARK_VIOLATION },
	};
	struct pr_net_rec net = { .direction = "egress", .protocol = "udp", .src = "127.0.0.1",
				  .sport = 1, .dst = "127.0.0.2", .dport = 2, .result = "ok",
				  .flow_id = flow };
	struct pr_incident_rec inc = {
		.time = time, .policy = "p", .rule = "files.protect", .severity = "high",
		.kind = flow ? "network" : "file", .action = flow ? "send" : "write",
		.path = "/etc/x", .expected = "", .actual = "", .proc = lin[0],
		.follow_until = follow_until, .net = flow ? &net : NULL,
	};
	int64_t id;

	assert_int_equal(pr_store_begin(fx->s), 0);
	id = pr_store_add_incident(fx->s, &inc, lin, 2, ev, 2);
	assert_true(id > 0);
	if (flow) {
		uint8_t data[100] = { 0x45 };
		struct pr_flow_rec f = { .flow_id = flow, .incident_id = id, .time = time,
					 .role = "violation", .protocol = "udp", .local = "127.0.0.1",
					 .lport = 1, .remote = "127.0.0.2", .rport = 2, .pid = pid,
					 .start_boot = pid * 10, .exe = "/bin/sh" };
		struct pr_packet_rec p[20];

		for (int i = 0; i < 20; i++)
			p[i] = (struct pr_packet_rec){ .flow_id = flow, .time = time + i, .len = 100,
						       .caplen = 100, .dir = 1, .data = data };
		assert_int_equal(pr_store_add_flow(fx->s, &f), 0);
		assert_int_equal(pr_store_add_packets(fx->s, p, 20), 0);
	}
	assert_int_equal(pr_store_commit(fx->s), 0);
	return id;
}

static int64_t count(struct fx *fx, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[256];
	int64_t v = -1;

	snprintf(path, sizeof(path), "%s/polrec.db", fx->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static size_t seg_files(struct fx *fx)
{
	struct pr_store_usage u;

	assert_int_equal(pr_store_usage(fx->s, &u), 0);
	return (size_t)u.pcap_files;
}

static int prune(struct fx *fx, enum pr_prune_reason r, size_t max, struct pr_prune_result *res)
{
	struct pr_prune_req req = { .reason = r, .now = fx->now, .grace_ns = S_NS, .max = max };

	return pr_store_prune(fx->s, &req, res);
}

static void test_closed_only(void **state)
{
	struct fx *fx = *state;
	struct pr_prune_result res;
	int64_t a, b, c, d;

	a = add(fx, 100, fx->now - 100 * S_NS, fx->now - 70 * S_NS, 0);    /* closed */
	b = add(fx, 101, fx->now - 90 * S_NS, fx->now + 60 * S_NS, 0);     /* follow running */
	c = add(fx, 102, fx->now - 2 * 3600 * S_NS, 0, 0);                 /* unknown, > 1 h */
	d = add(fx, 103, fx->now - 60 * S_NS, 0, 0);                       /* unknown, < 1 h */
	assert_int_equal(prune(fx, PR_PRUNE_SIZE, 10, &res), 1);
	assert_int_equal(res.incidents, 2);
	assert_int_equal(res.first_id, a);
	assert_int_equal(res.last_id, c);
	assert_int_equal(count(fx, "SELECT count(*) FROM incidents"), 2);
	assert_int_equal(count(fx, "SELECT min(id) FROM incidents"), b);
	assert_int_equal(count(fx, "SELECT max(id) FROM incidents"), d);
	/* nothing closed is left */
	assert_int_equal(prune(fx, PR_PRUNE_SIZE, 10, &res), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM prunes"), 1);
}

static void test_oldest_first_and_ids(void **state)
{
	struct fx *fx = *state;
	struct pr_prune_result res;
	int64_t last = 0;

	for (uint32_t i = 0; i < 10; i++)
		last = add(fx, 200 + i, fx->now - (100 - i) * S_NS, fx->now - (90 - i) * S_NS, 0);
	assert_int_equal(prune(fx, PR_PRUNE_AGE, 3, &res), 1);
	assert_int_equal(res.incidents, 3);
	assert_int_equal(res.first_id, 1);
	assert_int_equal(res.last_id, 3);
	/* bytes counts whole pages freed (and segment files): small rows may free none */
	/* prune everything, then a new incident gets a fresh id */
	while (prune(fx, PR_PRUNE_SIZE, 4, &res) == 1)
		;
	assert_int_equal(count(fx, "SELECT count(*) FROM incidents"), 0);
	assert_int_equal(add(fx, 300, fx->now, fx->now, 0), last + 1);
	assert_int_equal(count(fx, "SELECT sum(incidents) FROM prunes"), 10);
	assert_int_equal(count(fx, "SELECT count(*) FROM prunes WHERE reason = 'age'"), 1);
}

static void test_cascade_complete(void **state)
{
	struct fx *fx = *state;
	struct pr_prune_result res;
	int64_t keep;

	/* a packet row no flow owns (its incident was never written), old,
	 * in the oldest segment */
	{
		uint8_t data[40] = { 0x45 };
		struct pr_packet_rec p = { .flow_id = 0x9999, .time = fx->now - 200 * S_NS, .len = 40,
					   .caplen = 40, .dir = 0, .data = data };

		assert_int_equal(pr_store_begin(fx->s), 0);
		assert_int_equal(pr_store_add_packets(fx->s, &p, 1), 0);
		assert_int_equal(pr_store_commit(fx->s), 0);
	}
	add(fx, 400, fx->now - 100 * S_NS, fx->now - 90 * S_NS, 0x1001);
	add(fx, 401, fx->now - 99 * S_NS, fx->now - 89 * S_NS, 0x1002);
	keep = add(fx, 402, fx->now - 10 * S_NS, fx->now + 100 * S_NS, 0x1003);
	assert_int_equal(prune(fx, PR_PRUNE_SIZE, 10, &res), 1);
	assert_int_equal(res.incidents, 2);
	assert_true(res.packets >= 40);
	/* nothing the pruned incidents owned is left */
	assert_int_equal(count(fx, "SELECT count(*) FROM proc_images WHERE incident_id != "
			      "(SELECT max(id) FROM incidents)"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM incident_lineage WHERE incident_id NOT IN "
			      "(SELECT id FROM incidents)"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM incident_events WHERE incident_id NOT IN "
			      "(SELECT id FROM incidents)"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM incident_network WHERE incident_id NOT IN "
			      "(SELECT id FROM incidents)"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM flows"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM packets WHERE flow_id != 4099"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM packets WHERE flow_id = 4099"), 20);
	/* processes: the kept incident's (402 and pid 1) stay, 400 and 401 went */
	assert_int_equal(count(fx, "SELECT count(*) FROM processes WHERE pid IN (400, 401)"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM processes WHERE pid IN (402, 1)"), 2);
	assert_int_equal(count(fx, "SELECT count(*) FROM incidents"), 1);
	assert_int_equal(count(fx, "SELECT id FROM incidents"), keep);
	{
		struct pr_incident_full *f = NULL;

		assert_int_equal(pr_store_get_incident(fx->s, keep, &f), 0);
		assert_int_equal(f->nflows, 1);
		assert_int_equal(f->flows[0].packets, 20);
		pr_incident_full_free(f);
	}
	assert_int_equal(pr_store_check(fx->s, 1), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

static void test_segments_only_when_empty(void **state)
{
	struct fx *fx = *state;
	struct pr_prune_result res;
	size_t before;

	/* 20 packets of 116 bytes per incident: segments of 4 KiB rotate, the
	 * last one of the old incident also holds the start of the next */
	add(fx, 500, fx->now - 100 * S_NS, fx->now - 90 * S_NS, 0x2001);
	add(fx, 501, fx->now - 99 * S_NS, fx->now + 100 * S_NS, 0x2002);
	before = seg_files(fx);
	assert_true(before >= 1);
	assert_int_equal(prune(fx, PR_PRUNE_SIZE, 10, &res), 1);
	/* every remaining packet row points into a file that exists */
	assert_int_equal(count(fx, "SELECT count(*) FROM packets WHERE segment_id NOT IN "
			      "(SELECT id FROM pcap_segments)"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM pcap_segments g WHERE NOT EXISTS "
			      "(SELECT 1 FROM packets k WHERE k.segment_id = g.id) AND state = 'closed'"), 0);
	assert_int_equal(seg_files(fx), (size_t)count(fx, "SELECT count(*) FROM pcap_segments"));
	assert_int_equal(seg_files(fx), before - res.segments);
	/* the kept incident's packets still read back from their files */
	{
		struct pr_flow_list l = { 0 };

		assert_int_equal(pr_store_incident_flows(fx->s, 2, &l), 0);
		assert_int_equal(l.n, 1);
		assert_int_equal(l.v[0].packets, 20);
		pr_flow_list_free(&l);
	}
	assert_int_equal(pr_store_incident_packets(fx->s, 2, NULL, NULL), 20);
}

static void test_pcap_only_and_sweep(void **state)
{
	struct fx *fx = *state;
	struct pr_prune_result res;
	struct pr_budget_info bi;
	char path[256];
	unsigned removed;
	FILE *f;

	add(fx, 600, fx->now - 100 * S_NS, fx->now - 90 * S_NS, 0x3001);
	add(fx, 601, fx->now - 99 * S_NS, fx->now - 89 * S_NS, 0);
	assert_int_equal(prune(fx, PR_PRUNE_PCAP_SIZE, 10, &res), 1);
	assert_int_equal(res.incidents, 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM incidents"), 2);
	assert_int_equal(count(fx, "SELECT count(*) FROM packets"), 0);
	assert_int_equal(prune(fx, PR_PRUNE_PCAP_SIZE, 10, &res), 0);
	/* a segment file without a row (a crash after the prune's commit) */
	snprintf(path, sizeof(path), "%s/pcap/seg-777.pcap", fx->dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	assert_int_equal(pr_store_sweep_segments(fx->s, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(pr_store_budget_info(fx->s, &bi), 0);
	assert_true(bi.available);
	assert_int_equal(bi.prunes, 1);
	assert_int_equal(bi.by_reason[PR_PRUNE_PCAP_SIZE], 1);
	assert_string_equal(bi.last_reason, "pcap-size");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_closed_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oldest_first_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_only_when_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_only_and_sweep, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
