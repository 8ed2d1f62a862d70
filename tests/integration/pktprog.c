// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pktprog: feed the cgroup_skb packet programs (cgroup_skb__egress,
 * cgroup_skb__ingress) well-formed and malformed frames with
 * BPF_PROG_TEST_RUN and check, record by record, what they put in the
 * events ring buffer.
 *
 * The skeleton is opened and loaded as is; nothing is attached. Flows are
 * put in the captures map by hand. For cgroup_skb, test_run takes an
 * Ethernet frame: the kernel sets skb->protocol from the ethertype and the
 * program sees the packet from the network header.
 *
 * Exit: 0 pass, 1 fail, 77 skip (only with POLREC_SKIP_BPF_TESTS=1 when
 * BPF is not available; otherwise a missing BPF is a failure).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probes/events.h"
#include "polrec.skel.h"

#define ETH_HLEN_	14
#define ETH_P_IP_	0x0800
#define ETH_P_IPV6_	0x86dd
#define ETH_P_ARP_	0x0806
#define ETH_P_8021Q_	0x8100
#define IPPROTO_HOPOPTS_	0
#define IPPROTO_TCP_	6
#define IPPROTO_UDP_	17
#define IPPROTO_ROUTING_	43
#define IPPROTO_FRAGMENT_	44
#define IPPROTO_AH_	51
#define IPPROTO_NONE_	59
#define IPPROTO_DSTOPTS_	60

#define FRAME_MAX	3072
#define RECS_MAX	8

/* ---- assert helpers ---- */

static int cases, failed_cases;
static bool case_failed;
static const char *case_name;

static void case_begin(const char *name)
{
	case_name = name;
	case_failed = false;
}

static void case_end(void)
{
	cases++;
	if (case_failed)
		failed_cases++;
	printf("%s %s\n", case_failed ? "FAIL" : "ok  ", case_name);
	fflush(stdout);
}

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	case_failed = true;
	fprintf(stdout, "    %s: ", case_name);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

#define CHECK(cond, ...)			\
	do {					\
		if (!(cond))			\
			fail(__VA_ARGS__);	\
	} while (0)

/* ---- frames ---- */

struct frame {
	uint8_t b[FRAME_MAX];
	size_t n;
};

static void put(struct frame *f, const void *p, size_t n)
{
	if (f->n + n > sizeof(f->b)) {
		fprintf(stderr, "pktprog: frame too long\n");
		exit(1);
	}
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put8(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(f, b, 2);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void set16(struct frame *f, size_t off, uint16_t v)
{
	f->b[off] = v >> 8;
	f->b[off + 1] = v & 0xff;
}

static void put_zero(struct frame *f, size_t n)
{
	while (n--)
		put8(f, 0);
}

static void put_payload(struct frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, (uint8_t)(i * 7 + 3));
}

static void eth(struct frame *f, uint16_t type)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	f->n = 0;
	put(f, dst, 6);
	put(f, src, 6);
	put16(f, type);
}

/* IPv4 header without options; ip4_done() fills length and checksum. */
static size_t ip4(struct frame *f, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		  uint16_t frag_off)
{
	size_t off = f->n;

	put8(f, 0x45);
	put8(f, 0);
	put16(f, 0);            /* total length */
	put16(f, 0x1234);       /* id */
	put16(f, frag_off);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);            /* checksum */
	put(f, src, 4);
	put(f, dst, 4);
	return off;
}

static void ip4_done(struct frame *f, size_t off)
{
	uint32_t sum = 0;
	size_t hl = (f->b[off] & 0xf) * 4;

	set16(f, off + 2, f->n - off);
	set16(f, off + 10, 0);
	for (size_t i = 0; i + 1 < hl && off + i + 1 < f->n; i += 2)
		sum += (f->b[off + i] << 8) | f->b[off + i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	set16(f, off + 10, ~sum & 0xffff);
}

static size_t ip6(struct frame *f, const uint8_t *src, const uint8_t *dst, uint8_t nexthdr)
{
	size_t off = f->n;

	put32(f, 0x60000000);
	put16(f, 0);            /* payload length */
	put8(f, nexthdr);
	put8(f, 64);
	put(f, src, 16);
	put(f, dst, 16);
	return off;
}

static void ip6_done(struct frame *f, size_t off)
{
	set16(f, off + 4, f->n - off - 40);
}

/* Hop-by-hop, routing or destination options: (len8 + 1) * 8 bytes. */
static void ext6(struct frame *f, uint8_t nexthdr, uint8_t len8)
{
	put8(f, nexthdr);
	put8(f, len8);
	put_zero(f, (len8 + 1) * 8 - 2);  /* Pad1 options */
}

static void frag6(struct frame *f, uint8_t nexthdr, uint16_t offset8, bool more)
{
	put8(f, nexthdr);
	put8(f, 0);
	put16(f, (offset8 << 3) | (more ? 1 : 0));
	put32(f, 0xabcdef01);
}

/* Authentication header with an ICV of icv bytes (multiple of 4). */
static void ah6(struct frame *f, uint8_t nexthdr, uint8_t icv)
{
	put8(f, nexthdr);
	put8(f, (12 + icv) / 4 - 2);
	put16(f, 0);
	put32(f, 0x100);        /* SPI */
	put32(f, 1);            /* sequence */
	put_zero(f, icv);
}

static void tcp(struct frame *f, uint16_t sport, uint16_t dport, size_t payload)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1000);         /* seq */
	put32(f, 2000);         /* ack */
	put8(f, 5 << 4);
	put8(f, payload ? 0x18 : 0x10);
	put16(f, 65535);
	put16(f, 0);            /* checksum: not verified on this path */
	put16(f, 0);
	put_payload(f, payload);
}

static void udp(struct frame *f, uint16_t sport, uint16_t dport, size_t payload)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + payload);
	put16(f, 0);
	put_payload(f, payload);
}

/* ---- addresses and flows ---- */

static const uint8_t H4[4] = { 10, 0, 0, 1 };          /* this host */
static const uint8_t R4[4] = { 192, 0, 2, 7 };         /* a remote */
static const uint8_t R4H[4] = { 198, 51, 100, 9 };     /* half-key remote */
static const uint8_t R4I[4] = { 198, 51, 100, 10 };    /* half key, ingress only */
static const uint8_t H6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t R6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const uint8_t R6H[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x99, [15] = 3 };
static const uint8_t ZERO[16];

struct flow {
	uint64_t id;
	uint32_t tgid;
	uint64_t start;
	uint32_t snaplen;
};

/* E: the host sends (key local = source), I: the key seen by ingress for
 * the same frame (local = destination). Distinct ids check the orientation. */
static const struct flow V4TCP_E = { 101, 1001, 5000000101ull, 64 };
static const struct flow V4TCP_I = { 102, 1002, 5000000102ull, 64 };
static const struct flow V4UDP_E = { 111, 1011, 5000000111ull, 64 };
static const struct flow V4UDP_I = { 112, 1012, 5000000112ull, 16 };
static const struct flow V6UDP_E = { 201, 2001, 5000000201ull, 128 };
static const struct flow V6UDP_I = { 202, 2002, 5000000202ull, 32 };
static const struct flow V6TCP_E = { 301, 3001, 5000000301ull, 64 };
static const struct flow V6TCP_I = { 302, 3002, 5000000302ull, PR_SNAPLEN_MAX };
static const struct flow UNTIL_PAST = { 801, 8001, 5000000801ull, 64 };
static const struct flow UNTIL_FUTURE = { 802, 8002, 5000000802ull, 64 };
static const struct flow HALF4 = { 501, 5001, 5000000501ull, 64 };
static const struct flow HALF4I = { 601, 6001, 5000000601ull, 64 };
static const struct flow HALF6 = { 701, 7001, 5000000701ull, 48 };

static struct polrec *skel;
static struct ring_buffer *rb;
static int captures_fd;

static void flow_key(struct pr_flow_key *k, int family, uint8_t proto, const uint8_t *laddr,
		     uint16_t lport, const uint8_t *raddr, uint16_t rport)
{
	size_t alen = family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	k->lport = lport;
	k->rport = rport;
	memcpy(k->laddr, laddr, alen);
	memcpy(k->raddr, raddr, alen);
}

static int add_capture_until(const struct pr_flow_key *k, const struct flow *fl, uint64_t until)
{
	struct pr_capture c = {
		.flow_id = fl->id, .until = until, .tgid = fl->tgid,
		.start = fl->start, .snaplen = fl->snaplen,
	};

	if (bpf_map_update_elem(captures_fd, k, &c, BPF_NOEXIST)) {
		fprintf(stderr, "pktprog: captures update: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int add_capture(const struct pr_flow_key *k, const struct flow *fl)
{
	return add_capture_until(k, fl, 0);
}

/* both orientations of one flow */
static int add_flow(int family, uint8_t proto, const uint8_t *haddr, uint16_t hport,
		    const uint8_t *raddr, uint16_t rport, const struct flow *e,
		    const struct flow *i)
{
	struct pr_flow_key k;

	flow_key(&k, family, proto, haddr, hport, raddr, rport);
	if (add_capture(&k, e))
		return -1;
	flow_key(&k, family, proto, raddr, rport, haddr, hport);
	return add_capture(&k, i);
}

/* ---- running and reading back ---- */

struct rec {
	size_t size;
	union {
		struct pr_pkt p;
		uint8_t raw[sizeof(struct pr_pkt) + PR_SNAPLEN_MAX + 64];
	};
};

static struct rec recs[RECS_MAX];
static int nrecs, nrecs_over;

static int on_rec(void *ctx, void *data, size_t size)
{
	if (nrecs >= RECS_MAX) {
		nrecs_over++;
		return 0;
	}
	recs[nrecs].size = size;
	memcpy(recs[nrecs].raw, data, size < sizeof(recs[0].raw) ? size : sizeof(recs[0].raw));
	nrecs++;
	return 0;
}

static void drain(void)
{
	nrecs = nrecs_over = 0;
	ring_buffer__consume(rb);
}

static const char *dir_name(int dir)
{
	return dir == PR_PKT_EGRESS ? "egress" : "ingress";
}

/* Run one program on f; fills recs. false when the program did not run.
 * *refused (when not NULL) tells a frame the kernel would not take: for
 * cgroup_skb, test_run rejects (EINVAL) an IPv4 or IPv6 frame shorter than
 * the fixed network header, which the stack never hands to the program. */
static bool run(int dir, const struct frame *f, bool *refused)
{
	struct bpf_program *prog = dir == PR_PKT_EGRESS ? skel->progs.cgroup_skb__egress :
				   skel->progs.cgroup_skb__ingress;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->n,
		    .repeat = 1);
	int err;

	drain(); /* nothing left from before */
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err && errno == EINVAL && refused) {
		*refused = true;
		return false;
	}
	if (err) {
		fail("%s: test_run: %s", dir_name(dir), strerror(errno));
		return false;
	}
	CHECK(opts.retval == 1, "%s: retval %u, want 1 (never drop)", dir_name(dir), opts.retval);
	drain(); /* what this run produced */
	return true;
}

/* The length the IP header gives: total length, or 40 + payload length. */
static uint32_t ip_total_len(const struct frame *f)
{
	const uint8_t *ip = f->b + ETH_HLEN_;

	if ((ip[0] >> 4) == 6)
		return 40 + ((ip[4] << 8) | ip[5]);
	return (ip[2] << 8) | ip[3];
}

/* Check the records of one run: exactly one for want, or none. */
static void check_recs(int dir, const struct frame *f, const struct flow *want)
{
	const uint8_t *ip = f->b + ETH_HLEN_;
	uint32_t len, caplen;
	const struct pr_pkt *p;

	if (!want) {
		CHECK(nrecs == 0, "%s: %d record(s), want none (first: flow %llu caplen %u)",
		      dir_name(dir), nrecs + nrecs_over,
		      nrecs ? (unsigned long long)recs[0].p.flow_id : 0ull,
		      nrecs ? recs[0].p.caplen : 0);
		return;
	}
	if (nrecs != 1) {
		fail("%s: %d record(s), want 1 for flow %llu", dir_name(dir), nrecs + nrecs_over,
		     (unsigned long long)want->id);
		return;
	}
	p = &recs[0].p;
	len = ip_total_len(f);
	caplen = len < want->snaplen ? len : want->snaplen;
	CHECK(p->h.type == PR_EV_PKT, "%s: type %u", dir_name(dir), p->h.type);
	CHECK(p->h.size == sizeof(*p) + caplen, "%s: h.size %u, want %zu", dir_name(dir),
	      p->h.size, sizeof(*p) + caplen);
	CHECK(recs[0].size >= sizeof(*p) + caplen, "%s: ring record %zu bytes", dir_name(dir),
	      recs[0].size);
	CHECK(p->h.time != 0, "%s: h.time 0", dir_name(dir));
	CHECK(p->h.flags == 0, "%s: h.flags %#x", dir_name(dir), p->h.flags);
	CHECK(p->h.tgid == want->tgid, "%s: h.tgid %u, want %u", dir_name(dir), p->h.tgid,
	      want->tgid);
	CHECK(p->h.start == want->start, "%s: h.start %llu, want %llu", dir_name(dir),
	      (unsigned long long)p->h.start, (unsigned long long)want->start);
	CHECK(p->flow_id == want->id, "%s: flow_id %llu, want %llu", dir_name(dir),
	      (unsigned long long)p->flow_id, (unsigned long long)want->id);
	CHECK(p->dir == dir, "%s: dir %u", dir_name(dir), p->dir);
	CHECK(p->pad == 0, "%s: pad %u", dir_name(dir), p->pad);
	CHECK(p->len == len, "%s: len %u, want %u (IP total length)", dir_name(dir), p->len, len);
	CHECK(p->caplen == caplen, "%s: caplen %u, want %u", dir_name(dir), p->caplen, caplen);
	if (p->caplen == caplen && recs[0].size >= sizeof(*p) + caplen)
		CHECK(!memcmp(p->data, ip, caplen), "%s: data differs from the IP packet",
		      dir_name(dir));
}

/* One case: f through both programs, with the flow each must record. */
static void check_frame(const char *name, const struct frame *f, const struct flow *egress,
			const struct flow *ingress)
{
	case_begin(name);
	if (run(PR_PKT_EGRESS, f, NULL))
		check_recs(PR_PKT_EGRESS, f, egress);
	if (run(PR_PKT_INGRESS, f, NULL))
		check_recs(PR_PKT_INGRESS, f, ingress);
	case_end();
}

/* A frame cut inside the network header: no record, or refused by the
 * kernel before the program runs (said on the case's line). */
static void check_short(const char *name, const struct frame *f)
{
	char buf[160];
	bool refused = false;

	case_begin(name);
	if (run(PR_PKT_EGRESS, f, &refused))
		check_recs(PR_PKT_EGRESS, f, NULL);
	if (run(PR_PKT_INGRESS, f, &refused))
		check_recs(PR_PKT_INGRESS, f, NULL);
	if (refused) {
		snprintf(buf, sizeof(buf), "%s (test_run refuses the frame: EINVAL, not run)",
			 name);
		case_name = buf;
	}
	case_end();
}

/* ---- frame makers ---- */

static void v4tcp(struct frame *f, const uint8_t *src, uint16_t sport, const uint8_t *dst,
		  uint16_t dport, size_t payload)
{
	size_t ip;

	eth(f, ETH_P_IP_);
	ip = ip4(f, src, dst, IPPROTO_TCP_, 0x4000 /* DF */);
	tcp(f, sport, dport, payload);
	ip4_done(f, ip);
}

static void v6tcp_ext(struct frame *f, const uint8_t *exts, int n, size_t payload)
{
	size_t ip;

	eth(f, ETH_P_IPV6_);
	ip = ip6(f, H6, R6, n ? exts[0] : IPPROTO_TCP_);
	for (int i = 0; i < n; i++) {
		uint8_t next = i + 1 < n ? exts[i + 1] : IPPROTO_TCP_;

		switch (exts[i]) {
		case IPPROTO_FRAGMENT_:
			frag6(f, next, 0, true);
			break;
		case IPPROTO_AH_:
			ah6(f, next, 12);
			break;
		default:
			ext6(f, next, i & 1);
			break;
		}
	}
	tcp(f, 41000, 443, payload);
	ip6_done(f, ip);
}

/* ---- cases ---- */

static void ipv4_cases(void)
{
	struct frame f;
	size_t ip;

	v4tcp(&f, H4, 40000, R4, 80, 100);
	check_frame("ipv4 tcp, longer than snaplen", &f, &V4TCP_E, &V4TCP_I);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	check_frame("ipv4 tcp, shorter than snaplen", &f, &V4TCP_E, &V4TCP_I);

	v4tcp(&f, H4, 40000, R4, 80, 64 - 40);
	check_frame("ipv4 tcp, exactly snaplen", &f, &V4TCP_E, &V4TCP_I);

	v4tcp(&f, H4, 40000, R4, 80, 0);
	check_frame("ipv4 tcp, zero-length payload", &f, &V4TCP_E, &V4TCP_I);

	v4tcp(&f, R4, 80, H4, 40000, 30);
	check_frame("ipv4 tcp, reverse direction", &f, &V4TCP_I, &V4TCP_E);

	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_UDP_, 0);
	udp(&f, 5000, 53, 40);
	ip4_done(&f, ip);
	check_frame("ipv4 udp", &f, &V4UDP_E, &V4UDP_I);

	/* ihl 6: one option word (NOP NOP NOP EOL) */
	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_TCP_, 0);
	f.b[ip] = 0x46;
	put32(&f, 0x01010100);
	tcp(&f, 40000, 80, 5);
	ip4_done(&f, ip);
	check_frame("ipv4 with options (ihl 6)", &f, &V4TCP_E, &V4TCP_I);

	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_TCP_, 0x2000 /* MF, offset 0 */);
	tcp(&f, 40000, 80, 20);
	ip4_done(&f, ip);
	check_frame("ipv4 first fragment (MF, offset 0)", &f, &V4TCP_E, &V4TCP_I);

	/* what follows the header looks like the flow's ports */
	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_TCP_, 185 /* offset 1480 */);
	tcp(&f, 40000, 80, 20);
	ip4_done(&f, ip);
	check_frame("ipv4 non-first fragment", &f, NULL, NULL);

	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_TCP_, 0x2000 | 185);
	tcp(&f, 40000, 80, 20);
	ip4_done(&f, ip);
	check_frame("ipv4 middle fragment (MF, offset 1480)", &f, NULL, NULL);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	f.b[ETH_HLEN_] = 0x44;
	check_frame("ipv4 ihl 4", &f, NULL, NULL);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	f.b[ETH_HLEN_] = 0x40;
	check_frame("ipv4 ihl 0", &f, NULL, NULL);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	f.b[ETH_HLEN_] = 0x65;
	check_frame("ipv4 ethertype, version 6", &f, NULL, NULL);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	f.n = ETH_HLEN_ + 10;
	check_short("ipv4 header cut at 10 bytes", &f);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	f.n = ETH_HLEN_ + 19;
	check_short("ipv4 header cut at 19 bytes", &f);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	f.n = ETH_HLEN_ + 20;
	check_frame("ipv4 tcp, no tcp header", &f, NULL, NULL);

	v4tcp(&f, H4, 40000, R4, 80, 10);
	f.n = ETH_HLEN_ + 23;
	check_frame("ipv4 tcp header cut before the ports end", &f, NULL, NULL);

	eth(&f, ETH_P_IP_);
	check_short("ethernet header only (ipv4)", &f);

	eth(&f, ETH_P_IPV6_);
	check_short("ethernet header only (ipv6)", &f);

	eth(&f, 0x88b5);
	check_frame("ethernet header only (ethertype 0x88b5)", &f, NULL, NULL);

	/* ihl 15: the header claims 60 bytes of a 40-byte packet */
	v4tcp(&f, H4, 40000, R4, 80, 0);
	f.b[ETH_HLEN_] = 0x4f;
	check_frame("ipv4 ihl 15 past the end", &f, NULL, NULL);

	v4tcp(&f, H4, 40001, R4, 80, 10);
	check_frame("ipv4 tcp, other flow (port)", &f, NULL, NULL);

	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_UDP_, 0);
	udp(&f, 40000, 80, 10);
	ip4_done(&f, ip);
	check_frame("ipv4 udp on a tcp flow's ports", &f, NULL, NULL);

	/* VLAN: the inner frame is the captured flow */
	eth(&f, ETH_P_8021Q_);
	put16(&f, 100);
	put16(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_TCP_, 0);
	tcp(&f, 40000, 80, 10);
	ip4_done(&f, ip);
	check_frame("vlan-tagged ipv4 tcp (0x8100)", &f, NULL, NULL);

	/* ARP request whose addresses are the flow's */
	eth(&f, ETH_P_ARP_);
	put16(&f, 1);
	put16(&f, ETH_P_IP_);
	put8(&f, 6);
	put8(&f, 4);
	put16(&f, 1);
	put_zero(&f, 6);
	put(&f, H4, 4);
	put_zero(&f, 6);
	put(&f, R4, 4);
	check_frame("arp (0x0806)", &f, NULL, NULL);
}

static void ipv6_cases(void)
{
	static const uint8_t hbh_dst[] = { IPPROTO_HOPOPTS_, IPPROTO_DSTOPTS_ };
	static const uint8_t frag[] = { IPPROTO_FRAGMENT_ };
	static const uint8_t hbh_frag[] = { IPPROTO_HOPOPTS_, IPPROTO_FRAGMENT_ };
	static const uint8_t ah[] = { IPPROTO_AH_ };
	static const uint8_t six[] = { IPPROTO_HOPOPTS_, IPPROTO_DSTOPTS_, IPPROTO_ROUTING_,
				       IPPROTO_FRAGMENT_, IPPROTO_AH_, IPPROTO_DSTOPTS_ };
	static const uint8_t seven[] = { IPPROTO_HOPOPTS_, IPPROTO_DSTOPTS_, IPPROTO_ROUTING_,
					 IPPROTO_FRAGMENT_, IPPROTO_AH_, IPPROTO_DSTOPTS_,
					 IPPROTO_DSTOPTS_ };
	struct frame f;
	size_t ip;

	eth(&f, ETH_P_IPV6_);
	ip = ip6(&f, H6, R6, IPPROTO_UDP_);
	udp(&f, 5353, 53, 20);
	ip6_done(&f, ip);
	check_frame("ipv6 udp", &f, &V6UDP_E, &V6UDP_I);

	eth(&f, ETH_P_IPV6_);
	ip = ip6(&f, H6, R6, IPPROTO_UDP_);
	udp(&f, 5353, 53, 500);
	ip6_done(&f, ip);
	check_frame("ipv6 udp, longer than snaplen", &f, &V6UDP_E, &V6UDP_I);

	v6tcp_ext(&f, NULL, 0, 100);
	check_frame("ipv6 tcp", &f, &V6TCP_E, &V6TCP_I);

	v6tcp_ext(&f, NULL, 0, 0);
	check_frame("ipv6 tcp, zero-length payload", &f, &V6TCP_E, &V6TCP_I);

	v6tcp_ext(&f, hbh_dst, 2, 30);
	check_frame("ipv6 hop-by-hop + dest-options + tcp", &f, &V6TCP_E, &V6TCP_I);

	v6tcp_ext(&f, ah, 1, 30);
	check_frame("ipv6 authentication header + tcp", &f, &V6TCP_E, &V6TCP_I);

	v6tcp_ext(&f, frag, 1, 30);
	check_frame("ipv6 first fragment (offset 0, M)", &f, &V6TCP_E, &V6TCP_I);

	v6tcp_ext(&f, hbh_frag, 2, 30);
	check_frame("ipv6 hop-by-hop + first fragment", &f, &V6TCP_E, &V6TCP_I);

	/* non-first fragment: what follows looks like the flow's ports */
	eth(&f, ETH_P_IPV6_);
	ip = ip6(&f, H6, R6, IPPROTO_FRAGMENT_);
	frag6(&f, IPPROTO_TCP_, 181, true);
	tcp(&f, 41000, 443, 30);
	ip6_done(&f, ip);
	check_frame("ipv6 non-first fragment", &f, NULL, NULL);

	eth(&f, ETH_P_IPV6_);
	ip = ip6(&f, H6, R6, IPPROTO_FRAGMENT_);
	frag6(&f, IPPROTO_TCP_, 1, false);
	tcp(&f, 41000, 443, 30);
	ip6_done(&f, ip);
	check_frame("ipv6 last fragment (offset 8)", &f, NULL, NULL);

	v6tcp_ext(&f, six, 6, 10);
	check_frame("ipv6 six extension headers + tcp", &f, &V6TCP_E, &V6TCP_I);

	v6tcp_ext(&f, seven, 7, 10);
	check_frame("ipv6 seven extension headers + tcp (not walked)", &f, NULL, NULL);

	/* dest-options claiming 101 * 8 bytes in a ~100-byte packet */
	eth(&f, ETH_P_IPV6_);
	ip = ip6(&f, H6, R6, IPPROTO_DSTOPTS_);
	put8(&f, IPPROTO_TCP_);
	put8(&f, 100);
	put_zero(&f, 6);
	tcp(&f, 41000, 443, 30);
	ip6_done(&f, ip);
	check_frame("ipv6 extension header length past the end", &f, NULL, NULL);

	/* hop-by-hop cut inside its first two bytes */
	v6tcp_ext(&f, hbh_dst, 2, 0);
	f.n = ETH_HLEN_ + 40 + 1;
	check_frame("ipv6 extension header cut at 1 byte", &f, NULL, NULL);

	eth(&f, ETH_P_IPV6_);
	ip = ip6(&f, H6, R6, IPPROTO_NONE_);
	ip6_done(&f, ip);
	check_frame("ipv6 no next header", &f, NULL, NULL);

	v6tcp_ext(&f, NULL, 0, 10);
	f.n = ETH_HLEN_ + 30;
	check_short("ipv6 header cut at 30 bytes", &f);

	v6tcp_ext(&f, NULL, 0, 10);
	f.n = ETH_HLEN_ + 40 + 3;
	check_frame("ipv6 tcp header cut before the ports end", &f, NULL, NULL);

	v6tcp_ext(&f, NULL, 0, 10);
	f.b[ETH_HLEN_] = 0x40;
	check_frame("ipv6 ethertype, version 4", &f, NULL, NULL);

	eth(&f, ETH_P_IPV6_);
	ip = ip6(&f, H6, R6, IPPROTO_TCP_);
	tcp(&f, 41000, 444, 10);
	ip6_done(&f, ip);
	check_frame("ipv6 tcp, other flow (port)", &f, NULL, NULL);
}

static bool key_get(const struct pr_flow_key *k, struct pr_capture *c)
{
	return bpf_map_lookup_elem(captures_fd, k, c) == 0;
}

static void check_capture_is(const char *what, const struct pr_flow_key *k,
			     const struct flow *want)
{
	struct pr_capture c;

	if (!key_get(k, &c)) {
		fail("%s: not in the captures map", what);
		return;
	}
	CHECK(c.flow_id == want->id && c.tgid == want->tgid && c.start == want->start &&
	      c.snaplen == want->snaplen && c.until == 0,
	      "%s: entry {flow %llu tgid %u start %llu snaplen %u until %llu}, want flow %llu",
	      what, (unsigned long long)c.flow_id, c.tgid, (unsigned long long)c.start,
	      c.snaplen, (unsigned long long)c.until, (unsigned long long)want->id);
}

static void half_key_cases(void)
{
	struct pr_flow_key half, full;
	struct pr_capture c;
	struct frame out, in;
	size_t ip;

	/* IPv4 TCP: registered at connect() before the local port was bound */
	flow_key(&half, 4, IPPROTO_TCP_, ZERO, 0, R4H, 443);
	flow_key(&full, 4, IPPROTO_TCP_, H4, 45555, R4H, 443);
	v4tcp(&out, H4, 45555, R4H, 443, 0);
	v4tcp(&in, R4H, 443, H4, 45555, 20);

	case_begin("half key: ipv4 egress tcp completes the key");
	if (add_capture(&half, &HALF4)) {
		fail("cannot insert the half key");
	} else {
		CHECK(!key_get(&full, &c), "full key present before any packet");
		if (run(PR_PKT_EGRESS, &out, NULL))
			check_recs(PR_PKT_EGRESS, &out, &HALF4);
		check_capture_is("full key after the egress packet", &full, &HALF4);
	}
	case_end();

	check_frame("half key: completed flow, next egress packet", &out, &HALF4, NULL);
	check_frame("half key: completed flow, reply", &in, NULL, &HALF4);

	/* ingress never uses the half key */
	flow_key(&half, 4, IPPROTO_TCP_, ZERO, 0, R4I, 443);
	flow_key(&full, 4, IPPROTO_TCP_, H4, 46000, R4I, 443);
	v4tcp(&in, R4I, 443, H4, 46000, 20);
	case_begin("half key: ingress does not use it");
	if (add_capture(&half, &HALF4I)) {
		fail("cannot insert the half key");
	} else {
		if (run(PR_PKT_INGRESS, &in, NULL))
			check_recs(PR_PKT_INGRESS, &in, NULL);
		CHECK(!key_get(&full, &c), "ingress packet completed the half key");
		check_capture_is("half key after the ingress packet", &half, &HALF4I);
	}
	case_end();

	/* IPv6 UDP, the same */
	flow_key(&half, 6, IPPROTO_UDP_, ZERO, 0, R6H, 53);
	flow_key(&full, 6, IPPROTO_UDP_, H6, 33333, R6H, 53);
	eth(&out, ETH_P_IPV6_);
	ip = ip6(&out, H6, R6H, IPPROTO_UDP_);
	udp(&out, 33333, 53, 60);
	ip6_done(&out, ip);
	eth(&in, ETH_P_IPV6_);
	ip = ip6(&in, R6H, H6, IPPROTO_UDP_);
	udp(&in, 53, 33333, 60);
	ip6_done(&in, ip);

	case_begin("half key: ipv6 ingress before egress is not captured");
	if (add_capture(&half, &HALF6)) {
		fail("cannot insert the half key");
	} else {
		if (run(PR_PKT_INGRESS, &in, NULL))
			check_recs(PR_PKT_INGRESS, &in, NULL);
		CHECK(!key_get(&full, &c), "ingress packet completed the half key");
	}
	case_end();

	case_begin("half key: ipv6 egress udp completes the key");
	if (run(PR_PKT_EGRESS, &out, NULL))
		check_recs(PR_PKT_EGRESS, &out, &HALF6);
	check_capture_is("full key after the egress packet", &full, &HALF6);
	if (run(PR_PKT_INGRESS, &in, NULL))
		check_recs(PR_PKT_INGRESS, &in, &HALF6);
	case_end();
}

static void capture_off_cases(void)
{
	struct frame f;

	skel->bss->capture_on = 0;
	v4tcp(&f, H4, 40000, R4, 80, 10);
	check_frame("capture_on = 0: ipv4 tcp of a captured flow", &f, NULL, NULL);
	v6tcp_ext(&f, NULL, 0, 10);
	check_frame("capture_on = 0: ipv6 tcp of a captured flow", &f, NULL, NULL);
	skel->bss->capture_on = 1;
	v4tcp(&f, H4, 40000, R4, 80, 10);
	check_frame("capture_on = 1 again: captured", &f, &V4TCP_E, &V4TCP_I);
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* egress-only captures that end (until, boot ns) */
static void until_cases(void)
{
	struct pr_flow_key k;
	struct frame f;
	size_t ip;

	flow_key(&k, 4, IPPROTO_UDP_, H4, 6000, R4, 53);
	if (add_capture_until(&k, &UNTIL_PAST, boot_ns() - 1000000000ull))
		return;
	flow_key(&k, 4, IPPROTO_UDP_, H4, 6001, R4, 53);
	if (add_capture_until(&k, &UNTIL_FUTURE, boot_ns() + 3600000000000ull))
		return;

	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_UDP_, 0);
	udp(&f, 6000, 53, 10);
	ip4_done(&f, ip);
	check_frame("capture ended (until in the past)", &f, NULL, NULL);

	eth(&f, ETH_P_IP_);
	ip = ip4(&f, H4, R4, IPPROTO_UDP_, 0);
	udp(&f, 6001, 53, 10);
	ip4_done(&f, ip);
	check_frame("capture not ended yet (until in the future)", &f, &UNTIL_FUTURE, NULL);
}

static void drops_case(void)
{
	int ncpus = libbpf_num_possible_cpus();
	uint32_t key = PR_EV_PKT;
	uint64_t *v, sum = 0;

	case_begin("no packet event counted as dropped");
	if (ncpus <= 0) {
		fail("libbpf_num_possible_cpus: %d", ncpus);
	} else {
		v = calloc(ncpus, sizeof(*v));
		if (!v || bpf_map_lookup_elem(bpf_map__fd(skel->maps.drops), &key, v)) {
			fail("drops lookup: %s", strerror(errno));
		} else {
			for (int i = 0; i < ncpus; i++)
				sum += v[i];
			CHECK(sum == 0, "%llu PR_EV_PKT drops", (unsigned long long)sum);
		}
		free(v);
	}
	case_end();
}

/* ---- main ---- */

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool bpf_available(void)
{
	return geteuid() == 0 && libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SKB, NULL) == 1;
}

/* No BPF: skip when allowed, otherwise fail. */
static int no_bpf(const char *what)
{
	const char *skip = getenv("POLREC_SKIP_BPF_TESTS");

	if (skip && !strcmp(skip, "1") && !bpf_available()) {
		printf("SKIP pktprog: BPF not available (%s)\n", what);
		return 77;
	}
	printf("FAIL pktprog: %s\n", what);
	return 1;
}

static int setup_flows(void)
{
	if (add_flow(4, IPPROTO_TCP_, H4, 40000, R4, 80, &V4TCP_E, &V4TCP_I) ||
	    add_flow(4, IPPROTO_UDP_, H4, 5000, R4, 53, &V4UDP_E, &V4UDP_I) ||
	    add_flow(6, IPPROTO_UDP_, H6, 5353, R6, 53, &V6UDP_E, &V6UDP_I) ||
	    add_flow(6, IPPROTO_TCP_, H6, 41000, R6, 443, &V6TCP_E, &V6TCP_I))
		return -1;
	return 0;
}

int main(void)
{
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(quiet_print);
	if (!bpf_available() && !(getenv("POLREC_SKIP_BPF_TESTS") &&
				  !strcmp(getenv("POLREC_SKIP_BPF_TESTS"), "1")))
		fprintf(stderr, "pktprog: BPF does not look available (root? bpf(2)?)\n");

	skel = polrec__open();
	if (!skel)
		return no_bpf("polrec__open failed");
	err = polrec__load(skel);
	if (err) {
		char msg[128];

		snprintf(msg, sizeof(msg), "polrec__load failed: %s", strerror(-err));
		polrec__destroy(skel);
		return no_bpf(msg);
	}
	captures_fd = bpf_map__fd(skel->maps.captures);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_rec, NULL, NULL);
	if (!rb) {
		printf("FAIL pktprog: ring_buffer__new: %s\n", strerror(errno));
		polrec__destroy(skel);
		return 1;
	}
	if (setup_flows()) {
		printf("FAIL pktprog: cannot fill the captures map\n");
		ring_buffer__free(rb);
		polrec__destroy(skel);
		return 1;
	}
	skel->bss->capture_on = 1;

	ipv4_cases();
	ipv6_cases();
	half_key_cases();
	until_cases();
	capture_off_cases();
	drops_case();

	printf("pktprog: %d cases, %d passed, %d failed\n", cases, cases - failed_cases,
	       failed_cases);
	ring_buffer__free(rb);
	polrec__destroy(skel);
	return failed_cases ? 1 : 0;
}
