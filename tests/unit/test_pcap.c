// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Packets end to end: real IPv4/TCP and IPv6/UDP packets built here are
 * stored (across segment rotations), exported as pcap and pcapng by polq's
 * code, read back with libpcap and, when tshark is installed, checked with
 * tshark. The built polq binary ($POLQ) is run for the command's contract:
 * exit codes, refusing to overwrite, stdout, empty captures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "query/export.h"
#include "schema/store.h"

#define T0 1795686086000000000ull /* 2026-11-26T09:41:26Z */
#define NPKT 12

struct pkt {
	uint8_t b[2048];
	size_t len;          /* on the wire */
	size_t caplen;       /* stored */
	struct pr_packet_rec rec;
};

static struct {
	char tmp[64];
	char dir[128];
	struct pkt p[NPKT];
	int64_t iid, empty_iid;
	bool have_tshark;
} g;

/* ---- packet building ---- */

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* IPv4 + TCP (PSH|ACK) carrying payload, checksums right. */
static size_t build_tcp4(uint8_t *b, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, const void *payload, size_t plen)
{
	size_t len = 20 + 20 + plen;
	uint8_t ph[12];
	uint32_t sum;

	memset(b, 0, len);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)len);
	put16(b + 4, 0x1234);
	b[6] = 0x40; /* DF */
	b[8] = 64;
	b[9] = 6;
	assert_int_equal(inet_pton(AF_INET, src, b + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, b + 16), 1);
	put16(b + 10, fold(sum16(b, 20, 0)));
	put16(b + 20, sport);
	put16(b + 22, dport);
	put16(b + 24, 0x0100); /* seq */
	b[28 + 3] = 1;         /* ack */
	b[32] = 5 << 4;
	b[33] = 0x18;
	put16(b + 34, 64240);
	memcpy(b + 40, payload, plen);
	memcpy(ph, b + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (uint16_t)(20 + plen));
	sum = sum16(ph, 12, 0);
	put16(b + 36, fold(sum16(b + 20, 20 + plen, sum)));
	return len;
}

/* IPv6 + UDP carrying payload, checksum right. */
static size_t build_udp6(uint8_t *b, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, const void *payload, size_t plen)
{
	size_t ulen = 8 + plen;
	uint8_t ph[40];
	uint32_t sum;

	memset(b, 0, 40 + ulen);
	b[0] = 0x60;
	put16(b + 4, (uint16_t)ulen);
	b[6] = 17;
	b[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, b + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, b + 24), 1);
	put16(b + 40, sport);
	put16(b + 42, dport);
	put16(b + 44, (uint16_t)ulen);
	memcpy(b + 48, payload, plen);
	memset(ph, 0, sizeof(ph));
	memcpy(ph, b + 8, 32);
	put16(ph + 34, (uint16_t)ulen);
	ph[39] = 17;
	sum = sum16(ph, 40, 0);
	put16(b + 46, fold(sum16(b + 40, ulen, sum)));
	return 40 + ulen;
}

static const char http_get[] = "GET /secret HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n";

/* Even packets: flow 42 (TCP/IPv4), odd: flow 43 (UDP/IPv6). Packet 4
 * is big and cut to 128 bytes (snaplen), like the recorder does. */
static void build_packets(void)
{
	static char big[1200];

	memset(big, 'A', sizeof(big));
	for (int i = 0; i < NPKT; i++) {
		struct pkt *p = &g.p[i];
		char udp[32];

		if (i % 2 == 0 && i == 4) {
			p->len = build_tcp4(p->b, "127.0.0.1", 40000, "10.0.0.2", 80, big, sizeof(big));
		} else if (i % 2 == 0) {
			p->len = build_tcp4(p->b, i == 2 ? "10.0.0.2" : "127.0.0.1", i == 2 ? 80 : 40000,
					    i == 2 ? "127.0.0.1" : "10.0.0.2", i == 2 ? 40000 : 80,
					    i == 0 ? http_get : "", i == 0 ? strlen(http_get) : 0);
		} else {
			snprintf(udp, sizeof(udp), "ping %d \x01\x02", i);
			p->len = build_udp6(p->b, "::1", 5353, "fd00::2", 5000, udp, strlen(udp));
		}
		p->caplen = p->len > 128 ? 128 : p->len;
		p->rec = (struct pr_packet_rec){
			.flow_id = i % 2 ? 43 : 42,
			/* odd packets stored first but earlier in time: export sorts */
			.time = T0 + (uint64_t)i * 1000003 + (i == 7 ? 999999999ull : 0),
			.len = (uint32_t)p->len, .caplen = (uint32_t)p->caplen,
			.dir = i == 2 ? 0 : 1, .data = p->b,
		};
	}
}

/* ---- the store ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int64_t add_incident(struct pr_store *s, uint64_t t)
{
	static const char argv[] = "curl\0http://10.0.0.2/secret";
	static const struct pr_net_rec net = {
		.direction = "egress", .protocol = "tcp", .src = "127.0.0.1", .sport = 40000,
		.dst = "10.0.0.2", .dport = 80, .result = "ok", .flow_id = 42,
	};
	struct pr_proc_rec p = {
		.pid = 1234, .ppid = 1, .start_boot = 5000, .pstart_boot = 10,
		.start_time = t - 1000, .user = "root", .exe = "/usr/bin/curl", .argv = argv,
		.argv_len = sizeof(argv), .argc = 2, .cwd = "/", .cgroup = "", .container_id = "",
		.sha256 = "",
	};
	struct pr_incident_rec inc = {
		.time = t, .policy = "web-tier", .rule = "network.egress", .severity = "high",
		.kind = "network", .action = "connect", .path = "10.0.0.2:80",
		.expected = "egress to 127.0.0.1/32", .actual = "connect to 10.0.0.2:80",
		.proc = p, .net = &net,
	};
	int64_t id = pr_store_add_incident(s, &inc, &p, 1, NULL, 0);

	if (id < 0)
		fail_msg("add incident: %s", pr_store_errmsg(s));
	return id;
}

static void add_flow(struct pr_store *s, int64_t iid, uint64_t fid, const char *role,
		     const char *proto, const char *local, uint16_t lport, const char *remote,
		     uint16_t rport)
{
	struct pr_flow_rec f = {
		.flow_id = fid, .incident_id = iid, .time = T0, .role = role, .protocol = proto,
		.local = local, .lport = lport, .remote = remote, .rport = rport, .pid = 1234,
		.start_boot = 5000, .exe = "/usr/bin/curl",
	};

	if (pr_store_add_flow(s, &f))
		fail_msg("add flow: %s", pr_store_errmsg(s));
}

static int setup(void **state)
{
	struct pr_packet_rec recs[NPKT];
	struct pr_store *s;
	char err[512];

	strcpy(g.tmp, "/tmp/polrec-test-pcap.XXXXXX");
	assert_non_null(mkdtemp(g.tmp));
	snprintf(g.dir, sizeof(g.dir), "%s/store", g.tmp);
	build_packets();
	if (pr_store_open(&s, g.dir, PR_STORE_WRITE, err, sizeof(err)))
		fail_msg("open: %s", err);
	pr_store_set_segment_bytes(s, 100); /* rotate after every batch */
	assert_int_equal(pr_store_begin(s), 0);
	g.iid = add_incident(s, T0);
	add_flow(s, g.iid, 42, "violation", "tcp", "127.0.0.1", 40000, "10.0.0.2", 80);
	add_flow(s, g.iid, 43, "follow", "udp", "::1", 5353, "fd00::2", 5000);
	g.empty_iid = add_incident(s, T0 + 5);
	/* stored in an order unlike time order, in batches of three */
	for (int i = 0; i < NPKT; i++)
		recs[i] = g.p[(i * 5) % NPKT].rec;
	for (int i = 0; i < NPKT; i += 3)
		if (pr_store_add_packets(s, recs + i, 3))
			fail_msg("add packets: %s", pr_store_errmsg(s));
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);
	g.have_tshark = system("command -v tshark >/dev/null 2>&1") == 0;
	*state = &g;
	return 0;
}

static int teardown(void **state)
{
	if (getenv("POLREC_TEST_KEEP")) {
		printf("kept %s\n", g.tmp);
		return 0;
	}
	nftw(g.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static struct pr_store *open_read(void)
{
	struct pr_store *s;
	char err[512];

	if (pr_store_open(&s, g.dir, PR_STORE_READ, err, sizeof(err)))
		fail_msg("open: %s", err);
	return s;
}

/* The packets in the order an export must have them. */
static void sorted(const struct pkt **out)
{
	for (int i = 0; i < NPKT; i++)
		out[i] = &g.p[i];
	for (int i = 1; i < NPKT; i++)
		for (int j = i; j > 0 && out[j]->rec.time < out[j - 1]->rec.time; j--) {
			const struct pkt *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
}

static void export_file(const char *path, enum pr_export_format fmt, long want)
{
	struct pr_store *s = open_read();
	char err[512];
	FILE *f = fopen(path, "wb");
	long n;

	assert_non_null(f);
	n = pr_export_incident(s, want ? g.iid : g.empty_iid, f, fmt, err, sizeof(err));
	if (n < 0)
		fail_msg("export: %s", err);
	assert_int_equal(n, want);
	pr_store_close(s);
}

/* Read path back with libpcap: count, order, caplen/len, time, bytes. */
static void check_capture(const char *path, int want)
{
	char err[PCAP_ERRBUF_SIZE];
	const struct pkt *order[NPKT];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
							     err);
	int n = 0, rc;

	if (!pc)
		fail_msg("%s: %s", path, err);
	assert_int_equal(pcap_datalink(pc), DLT_RAW);
	assert_int_equal(pcap_snapshot(pc), 65535);
	sorted(order);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		assert_true(n < want);
		assert_int_equal(h->caplen, order[n]->caplen);
		assert_int_equal(h->len, order[n]->len);
		assert_int_equal((uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
				 order[n]->rec.time);
		assert_memory_equal(data, order[n]->b, h->caplen);
		n++;
	}
	assert_int_equal(rc, PCAP_ERROR_BREAK);
	assert_int_equal(n, want);
	pcap_close(pc);
}

static void test_pcap_roundtrip(void **state)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/out.pcap", g.tmp);
	export_file(path, PR_EXPORT_PCAP, NPKT);
	check_capture(path, NPKT);
}

static void test_pcapng_roundtrip(void **state)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/out.pcapng", g.tmp);
	export_file(path, PR_EXPORT_PCAPNG, NPKT);
	check_capture(path, NPKT);
}

static void test_empty_captures(void **state)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/empty.pcap", g.tmp);
	export_file(path, PR_EXPORT_PCAP, 0);
	check_capture(path, 0);
	snprintf(path, sizeof(path), "%s/empty.pcapng", g.tmp);
	export_file(path, PR_EXPORT_PCAPNG, 0);
	check_capture(path, 0);
}

static void test_segments_rotated(void **state)
{
	struct pr_stats st;
	struct pr_store *s = open_read();
	char path[256];
	struct stat sb;

	assert_int_equal(pr_store_stats(s, &st), 0);
	assert_true(st.packets == NPKT);
	assert_true(st.flows == 2);
	if (st.pcap_segments < 3)
		fail_msg("%llu segments", (unsigned long long)st.pcap_segments);
	assert_true(st.pcap_bytes > 24 * st.pcap_segments);
	for (uint64_t i = 1; i <= st.pcap_segments; i++) {
		snprintf(path, sizeof(path), "%s/pcap/seg-%llu.pcap", g.dir, (unsigned long long)i);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0600);
	}
	snprintf(path, sizeof(path), "%s/pcap", g.dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	pr_stats_free(&st);
	pr_store_close(s);
}

/* ---- tshark ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* stderr without tshark's note about running as root (not about the file). */
static void assert_no_warning(const char *errpath)
{
	char *e = slurp(errpath), *line, *save = NULL;

	for (line = strtok_r(e, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strstr(line, "Running as user \"root\""))
			fail_msg("tshark warned: %s", line);
	free(e);
}

static char *tshark(const char *file, const char *args)
{
	char cmd[1024], out[256], err[256];
	int rc;

	snprintf(out, sizeof(out), "%s/tshark.out", g.tmp);
	snprintf(err, sizeof(err), "%s/tshark.err", g.tmp);
	snprintf(cmd, sizeof(cmd), "tshark -n -r '%s' %s >'%s' 2>'%s'", file, args, out, err);
	rc = system(cmd);
	if (!WIFEXITED(rc) || WEXITSTATUS(rc)) {
		char *e = slurp(err);

		fail_msg("%s: exit %d: %s", cmd, WEXITSTATUS(rc), e);
	}
	assert_no_warning(err);
	return slurp(out);
}

static void test_tshark(void **state)
{
	static const char fields[] =
		"-T fields -E separator=, -e frame.len -e frame.cap_len -e ip.dst -e ipv6.dst "
		"-e tcp.dstport -e udp.dstport -e frame.comment -e frame.packet_flags_direction";
	char pcap[256], pcapng[256], want[512];
	const struct pkt *order[NPKT];
	char *out, *line, *save = NULL;
	int n = 0;

	if (!g.have_tshark) {
		printf("tshark is not installed: tshark checks skipped\n");
		skip();
	}
	snprintf(pcap, sizeof(pcap), "%s/ts.pcap", g.tmp);
	snprintf(pcapng, sizeof(pcapng), "%s/ts.pcapng", g.tmp);
	export_file(pcap, PR_EXPORT_PCAP, NPKT);
	export_file(pcapng, PR_EXPORT_PCAPNG, NPKT);

	/* the summary: both protocols are dissected, the HTTP request seen */
	out = tshark(pcap, "");
	assert_non_null(strstr(out, "127.0.0.1 → 10.0.0.2"));
	assert_non_null(strstr(out, "::1 → fd00::2"));
	assert_non_null(strstr(out, "GET /secret HTTP/1.1"));
	free(out);
	free(tshark(pcapng, "-V"));

	sorted(order);
	out = tshark(pcapng, fields);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		const struct pkt *p = order[n];
		bool v4 = p->rec.flow_id == 42;
		uint16_t dport = v4 ? (p->b[22] << 8 | p->b[23]) : 5000;

		assert_true(n < NPKT);
		snprintf(want, sizeof(want), "%zu,%zu,%s,%s,%s,%s,incident %lld pid 1234 exe "
			 "/usr/bin/curl flow %llu (%s),0x%08x",
			 p->len, p->caplen, v4 ? (p->rec.dir ? "10.0.0.2" : "127.0.0.1") : "",
			 v4 ? "" : "fd00::2", v4 ? (dport == 80 ? "80" : "40000") : "",
			 v4 ? "" : "5000", (long long)g.iid, (unsigned long long)p->rec.flow_id,
			 v4 ? "violation" : "follow", p->rec.dir ? 2 : 1);
		assert_string_equal(line, want);
	}
	assert_int_equal(n, NPKT);
	free(out);

	/* classic pcap: same lengths, no comments */
	out = tshark(pcap, "-T fields -E separator=, -e frame.len -e frame.cap_len");
	save = NULL;
	n = 0;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		snprintf(want, sizeof(want), "%zu,%zu", order[n]->len, order[n]->caplen);
		assert_string_equal(line, want);
	}
	assert_int_equal(n, NPKT);
	free(out);
}

/* ---- the polq command ---- */

static int polq(const char *args, const char *out_path, const char *err_path)
{
	const char *bin = getenv("POLQ");
	char cmd[1024];
	int rc;

	snprintf(cmd, sizeof(cmd), "'%s' --store '%s' %s >'%s' 2>'%s' </dev/null", bin, g.dir,
		 args, out_path, err_path);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	return WEXITSTATUS(rc);
}

static void assert_one_err_line(const char *path, const char *needle)
{
	char *e = slurp(path);
	char *nl = strchr(e, '\n');

	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	if (!strstr(e, needle))
		fail_msg("stderr \"%s\" lacks \"%s\"", e, needle);
	free(e);
}

static void test_polq_command(void **state)
{
	char args[512], out[256], err[256], file[256], link[256];
	struct stat st;
	char *o;

	if (!getenv("POLQ")) {
		printf("POLQ is not set: polq command checks skipped\n");
		skip();
	}
	snprintf(out, sizeof(out), "%s/polq.out", g.tmp);
	snprintf(err, sizeof(err), "%s/polq.err", g.tmp);
	snprintf(file, sizeof(file), "%s/cli.pcap", g.tmp);

	snprintf(args, sizeof(args), "pcap %lld -o '%s'", (long long)g.iid, file);
	assert_int_equal(polq(args, out, err), 0);
	check_capture(file, NPKT);
	assert_int_equal(stat(file, &st), 0);
	/* exists: refused, kept */
	assert_int_equal(polq(args, out, err), 2);
	assert_one_err_line(err, "exists (use --force");
	check_capture(file, NPKT);
	snprintf(args, sizeof(args), "pcap %lld -o '%s' --pcapng --force", (long long)g.iid, file);
	assert_int_equal(polq(args, out, err), 0);
	check_capture(file, NPKT);
	/* a symlink is not followed without --force */
	snprintf(link, sizeof(link), "%s/link.pcap", g.tmp);
	assert_int_equal(symlink(file, link), 0);
	snprintf(args, sizeof(args), "pcap %lld -o '%s'", (long long)g.iid, link);
	assert_int_equal(polq(args, out, err), 2);

	/* stdout */
	snprintf(args, sizeof(args), "pcap %lld --pcapng -o -", (long long)g.iid);
	assert_int_equal(polq(args, out, err), 0);
	check_capture(out, NPKT);

	/* no such incident: 1, nothing written */
	snprintf(file, sizeof(file), "%s/none.pcap", g.tmp);
	snprintf(args, sizeof(args), "pcap 999 -o '%s'", file);
	assert_int_equal(polq(args, out, err), 1);
	assert_one_err_line(err, "no incident 999");
	assert_int_equal(access(file, F_OK), -1);

	/* no packets: a valid empty capture, said on stderr, 0 */
	snprintf(args, sizeof(args), "pcap %lld -o '%s'", (long long)g.empty_iid, file);
	assert_int_equal(polq(args, out, err), 0);
	assert_one_err_line(err, "no stored packets");
	check_capture(file, 0);

	/* usage */
	assert_int_equal(polq("pcap 1", out, err), 2);
	assert_one_err_line(err, "-o FILE is required");
	assert_int_equal(polq("pcap x -o f", out, err), 2);
	assert_int_equal(polq("pcap -o f", out, err), 2);
	assert_int_equal(polq("pcap 1 2 -o f", out, err), 2);
	assert_int_equal(polq("pcap 1 --bogus -o f", out, err), 2);
	assert_int_equal(polq("--json pcap 1 -o -", out, err), 2);
	o = slurp(out);
	assert_non_null(strstr(o, "{\"error\":"));
	free(o);

	/* show and stats of the same store */
	snprintf(args, sizeof(args), "show %lld", (long long)g.iid);
	assert_int_equal(polq(args, out, err), 0);
	o = slurp(out);
	assert_non_null(strstr(o, "  network:     egress tcp 127.0.0.1:40000 -> 10.0.0.2:80  ok\n"));
	assert_non_null(strstr(o, "flows:\n  tcp 127.0.0.1:40000 -> 10.0.0.2:80  violation  6 packets "));
	assert_non_null(strstr(o, "GET /secret HTTP/1.1..Host: 10.0.0.2....AAAA"));
	assert_non_null(strstr(o, "  udp [::1]:5353 -> [fd00::2]:5000  follow  6 packets "));
	free(o);
	assert_int_equal(polq("stats", out, err), 0);
	o = slurp(out);
	assert_non_null(strstr(o, "packets:     12\n"));
	assert_non_null(strstr(o, "flows:       2\n"));
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_roundtrip),
		cmocka_unit_test(test_pcapng_roundtrip),
		cmocka_unit_test(test_empty_captures),
		cmocka_unit_test(test_segments_rotated),
		cmocka_unit_test(test_tshark),
		cmocka_unit_test(test_polq_command),
	};

	return cmocka_run_group_tests_name("pcap", tests, setup, teardown);
}
