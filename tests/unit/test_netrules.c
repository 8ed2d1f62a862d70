// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The network compiler: map contents, the LPM lookup, the judge the BPF
 * side mirrors, and the verdict texts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "recorder/netrules.h"
#include "recorder/policy.h"

#define HDR "---\napiVersion: polrec.dev/v1\nkind: Expectation\n"
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define NA PR_NJ_NOT_ALLOWED
#define DN PR_NJ_DENIED

struct fix {
	struct pr_policy *p;
	struct pr_netrules *r;
};

static struct fix load_len(const char *yaml, size_t len)
{
	struct fix f = { 0 };
	char err[512];

	if (pr_policy_parse(yaml, len, "t.yaml", &f.p, err, sizeof(err)) ||
	    pr_netrules_compile(f.p, &f.r, err, sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
	return f;
}

static struct fix load(const char *yaml)
{
	return load_len(yaml, strlen(yaml));
}

static void unload(struct fix *f)
{
	pr_netrules_free(f->r);
	pr_policy_free(f->p);
}

static void compile_err(const char *yaml, const char *want)
{
	struct pr_netrules *r = (struct pr_netrules *)1;
	struct pr_policy *p = NULL;
	char err[512];

	if (pr_policy_parse(yaml, strlen(yaml), "t.yaml", &p, err, sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
	assert_int_equal(pr_netrules_compile(p, &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_string_equal(err, want);
	pr_policy_free(p);
}

/* "10.1.2.3" or "::1" -> family 4/6 and the address bytes. */
static uint8_t addr_of(const char *s, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1)
		return 4;
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	return 6;
}

static int jg(const struct fix *f, unsigned i, enum pr_net_op op, uint8_t proto,
	      const char *addr, uint16_t rport, uint16_t lport)
{
	uint8_t a[16];
	uint8_t fam = addr_of(addr, a);

	return pr_netrules_judge(f->r, i, op, proto, fam, a, rport, lport);
}

/* egress to remote addr:port */
static int eg(const struct fix *f, uint8_t proto, const char *addr, uint16_t port)
{
	int v = jg(f, 0, PR_NOP_CONNECT, proto, addr, port, 40000);

	/* a UDP send is judged like a connect */
	assert_int_equal(jg(f, 0, PR_NOP_SEND, proto, addr, port, 40000), v);
	return v;
}

/* ---- egress ---- */

static void test_egress_allow(void **state)
{
	struct fix f = load(HDR "metadata: {name: web}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network:\n"
			    "    egress:\n"
			    "      - to: [127.0.0.1/32, '::1/128']\n"
			    "        ports: [5432/tcp, 8000-8100/tcp, 53/udp]\n"
			    "  record: {snaplen: 512, follow: 2m}\n");
	const struct pr_net_key *k = &f.r->keys[0];

	assert_int_equal(f.r->nexps, 1);
	assert_int_equal(f.r->exp_of[0], 0);
	assert_int_equal(f.r->netidx[0], 0);
	assert_int_equal(f.r->exps[0].flags, PR_NE_EGRESS);
	assert_int_equal(f.r->exps[0].snaplen, 512);
	assert_int_equal(f.r->exps[0].follow_ns, 120000000000ull);
	assert_int_equal(f.r->nentries, 2);
	/* the key layout the kernel's LPM trie needs */
	assert_int_equal(k->prefixlen, 32 + 32);
	assert_int_equal(k->exp, 0);
	assert_int_equal(k->table, PR_NT_EGRESS);
	assert_int_equal(k->family, 4);
	assert_int_equal(k->pad, 0);
	assert_memory_equal(k->addr, ((uint8_t[16]){ 127, 0, 0, 1 }), 16);
	assert_int_equal(f.r->keys[1].prefixlen, 32 + 128);
	assert_int_equal(f.r->keys[1].family, 6);
	assert_int_equal(f.r->keys[1].addr[15], 1);
	/* both entries share one port set, merged and sorted (tcp 6 < udp 17) */
	assert_int_equal(f.r->vals[0].portset, f.r->vals[1].portset);
	{
		const struct pr_portset *s = &f.r->portsets[f.r->vals[0].portset];

		assert_int_equal(s->any, 0);
		assert_int_equal(s->n, 3);
		assert_int_equal(s->r[0].proto, TCP);
		assert_int_equal(s->r[0].lo, 5432);
		assert_int_equal(s->r[1].lo, 8000);
		assert_int_equal(s->r[1].hi, 8100);
		assert_int_equal(s->r[2].proto, UDP);
	}

	assert_int_equal(eg(&f, TCP, "127.0.0.1", 5432), 0);
	assert_int_equal(eg(&f, TCP, "127.0.0.1", 5433), NA);
	assert_int_equal(eg(&f, TCP, "127.0.0.1", 8000), 0);
	assert_int_equal(eg(&f, TCP, "127.0.0.1", 8100), 0);
	assert_int_equal(eg(&f, TCP, "127.0.0.1", 7999), NA);
	assert_int_equal(eg(&f, TCP, "127.0.0.1", 8101), NA);
	assert_int_equal(eg(&f, UDP, "127.0.0.1", 53), 0);
	assert_int_equal(eg(&f, TCP, "127.0.0.1", 53), NA);    /* protocol */
	assert_int_equal(eg(&f, UDP, "127.0.0.1", 5432), NA);
	assert_int_equal(eg(&f, TCP, "127.0.0.2", 5432), NA);  /* CIDR */
	assert_int_equal(eg(&f, TCP, "::1", 8050), 0);
	assert_int_equal(eg(&f, TCP, "::2", 8050), NA);
	assert_int_equal(eg(&f, TCP, "::ffff:127.0.0.1", 5432), NA); /* the kernel reports mapped as v4 */
	/* ingress is not restricted */
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "1.2.3.4", 1, 22), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 22), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_BIND, UDP, "0.0.0.0", 0, 53), 0);
	unload(&f);
}

/* LPM answers with the longest match only: entries carry the union. */
static void test_nested_union(void **state)
{
	struct fix f = load(HDR "metadata: {name: n}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network:\n"
			    "    egress:\n"
			    "      - {to: 10.1.0.0/16, ports: 443/tcp}\n"
			    "      - {to: 10.0.0.0/8, ports: 80/tcp}\n"
			    "      - {to: 10.1.2.0/24, ports: 444/tcp}\n"
			    "      - {to: 10.1.2.3, ports: 1-79/tcp}\n");
	uint8_t a[16];
	const struct pr_portset *s;

	assert_int_equal(eg(&f, TCP, "10.1.2.3", 80), 0);
	assert_int_equal(eg(&f, TCP, "10.1.2.3", 443), 0);
	assert_int_equal(eg(&f, TCP, "10.1.2.3", 444), 0);
	assert_int_equal(eg(&f, TCP, "10.1.2.3", 1), 0);
	assert_int_equal(eg(&f, TCP, "10.1.2.3", 81), NA);
	assert_int_equal(eg(&f, TCP, "10.1.2.4", 79), NA);
	assert_int_equal(eg(&f, TCP, "10.1.2.4", 444), 0);
	assert_int_equal(eg(&f, TCP, "10.1.9.9", 444), NA);
	assert_int_equal(eg(&f, TCP, "10.1.9.9", 443), 0);
	assert_int_equal(eg(&f, TCP, "10.2.0.1", 443), NA);
	assert_int_equal(eg(&f, TCP, "10.2.0.1", 80), 0);
	assert_int_equal(eg(&f, TCP, "11.0.0.1", 80), NA);
	/* 1-79 and 80 are adjacent: merged into one range */
	addr_of("10.1.2.3", a);
	s = pr_netrules_lookup(f.r, 0, PR_NT_EGRESS, 4, a);
	assert_non_null(s);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->r[0].lo, 1);
	assert_int_equal(s->r[0].hi, 80);
	assert_int_equal(s->r[1].lo, 443);
	assert_int_equal(s->r[1].hi, 444);
	addr_of("11.0.0.1", a);
	assert_null(pr_netrules_lookup(f.r, 0, PR_NT_EGRESS, 4, a));
	assert_null(pr_netrules_lookup(f.r, 0, PR_NT_INGRESS, 4, a));
	assert_null(pr_netrules_lookup(f.r, 1, PR_NT_EGRESS, 4, a));
	assert_null(pr_netrules_lookup(f.r, 0, (enum pr_net_table)7, 4, a));
	assert_null(pr_netrules_lookup(f.r, 0, PR_NT_EGRESS, 5, a));
	assert_null(pr_netrules_lookup(f.r, 0, PR_NT_EGRESS, 4, NULL));
	unload(&f);
}

static void test_rule_without_ports_or_to(void **state)
{
	struct fix f = load(HDR "metadata: {name: a}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network: {egress: [{to: 10.0.0.0/8}]}\n"
			    HDR "metadata: {name: b}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network: {egress: [{ports: 443/tcp}, {to: [], ports: 53/udp}]}\n");
	uint8_t a[16];

	assert_int_equal(eg(&f, TCP, "10.9.9.9", 1), 0);
	assert_int_equal(eg(&f, UDP, "10.9.9.9", 65535), 0);
	assert_int_equal(eg(&f, TCP, "11.0.0.0", 80), NA);
	addr_of("10.9.9.9", a);
	assert_true(pr_netrules_lookup(f.r, 0, PR_NT_EGRESS, 4, a)->any);

	/* no `to` (or `to: []`): 0.0.0.0/0 and ::/0 */
	assert_int_equal(f.r->nentries, 1 + 2);
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "192.0.2.1", 443, 0), 0);
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "2001:db8::1", 443, 0), 0);
	assert_int_equal(jg(&f, 1, PR_NOP_SEND, UDP, "2001:db8::1", 53, 0), 0);
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "192.0.2.1", 80, 0), NA);
	assert_int_equal(jg(&f, 1, PR_NOP_SEND, TCP, "192.0.2.1", 53, 0), NA);
	assert_int_equal(f.r->keys[1].prefixlen, 32);
	assert_int_equal(f.r->keys[1].family, 4);
	assert_int_equal(f.r->keys[2].prefixlen, 32);
	assert_int_equal(f.r->keys[2].family, 6);
	unload(&f);
}

static void test_egress_deny(void **state)
{
	struct fix f = load(HDR "metadata: {name: host-wide}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network:\n"
			    "    egressDeny:\n"
			    "      - {to: 127.66.0.0/16, ports: 4444/tcp}\n"
			    "      - {to: '2001:db8:66::/48'}\n"
			    HDR "metadata: {name: both}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network:\n"
			    "    egress: [{to: 127.0.0.0/8}]\n"
			    "    egressDeny: [{to: 127.66.0.0/16, ports: 4444/tcp}]\n"
			    HDR "metadata: {name: empty-deny}\n"
			    "spec: {subjects: [{all: true}], network: {egressDeny: []}}\n");

	assert_int_equal(f.r->exps[0].flags, PR_NE_DENY);
	assert_int_equal(f.r->exps[1].flags, PR_NE_DENY | PR_NE_EGRESS);
	assert_int_equal(f.r->exps[2].flags, 0);      /* nothing denied */
	/* deny only: egress not restricted otherwise */
	assert_int_equal(eg(&f, TCP, "1.2.3.4", 80), 0);
	assert_int_equal(eg(&f, TCP, "127.66.1.1", 4444), DN);
	assert_int_equal(eg(&f, UDP, "127.66.1.1", 4444), 0);
	assert_int_equal(eg(&f, TCP, "127.66.1.1", 4445), 0);
	assert_int_equal(eg(&f, TCP, "127.67.1.1", 4444), 0);
	assert_int_equal(eg(&f, UDP, "2001:db8:66:1::1", 9), DN);
	assert_int_equal(eg(&f, UDP, "2001:db8:67::1", 9), 0);
	/* deny wins over allow */
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "127.66.1.1", 4444, 0), DN);
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "127.66.1.1", 4443, 0), 0);
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "10.0.0.1", 4443, 0), NA);
	/* deny is egress only */
	assert_int_equal(jg(&f, 1, PR_NOP_ACCEPT, TCP, "127.66.1.1", 1, 4444), 0);
	assert_int_equal(jg(&f, 2, PR_NOP_CONNECT, TCP, "127.66.1.1", 4444, 0), 0);
	unload(&f);
}

static void test_ipv6(void **state)
{
	struct fix f = load(HDR "metadata: {name: v6}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network:\n"
			    "    egress:\n"
			    "      - {to: '::1/128', ports: 80/tcp}\n"
			    "      - {to: '::/0', ports: 443/tcp}\n"
			    "      - {to: '2001:db8::/32'}\n"
			    "      - {to: '2001:db8:0:1::/64', ports: 22/tcp}\n");

	assert_int_equal(eg(&f, TCP, "::1", 80), 0);
	assert_int_equal(eg(&f, TCP, "::1", 443), 0);         /* from ::/0 */
	assert_int_equal(eg(&f, TCP, "::1", 22), NA);
	assert_int_equal(eg(&f, TCP, "::2", 80), NA);
	assert_int_equal(eg(&f, TCP, "::2", 443), 0);
	assert_int_equal(eg(&f, UDP, "2001:db8::5", 9), 0);
	assert_int_equal(eg(&f, UDP, "2001:db8:0:1::5", 9), 0); /* any, inherited */
	assert_int_equal(eg(&f, UDP, "2001:db9::5", 9), NA);
	assert_int_equal(eg(&f, TCP, "1.2.3.4", 443), NA);    /* ::/0 is not IPv4 */
	assert_int_equal(eg(&f, TCP, "ff02::1", 443), 0);
	assert_int_equal(f.r->keys[0].prefixlen, 32 + 0);     /* sorted by prefix */
	unload(&f);
}

/* ---- ingress ---- */

static void test_ingress(void **state)
{
	struct fix f = load(HDR "metadata: {name: srv}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network:\n"
			    "    ingress:\n"
			    "      - {from: [192.168.0.0/16, 'fe80::/10'], ports: 22/tcp}\n"
			    "      - {ports: [80/tcp, 443/tcp]}\n"
			    HDR "metadata: {name: dns}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network: {ingress: [{from: 127.0.0.0/8, ports: 53/udp}], egress: [{}]}\n"
			    HDR "metadata: {name: closed}\n"
			    "spec: {subjects: [{all: true}], network: {ingress: []}}\n");
	const struct pr_portset *serve = &f.r->portsets[f.r->exps[0].serve];

	assert_int_equal(f.r->exps[0].flags, PR_NE_INGRESS);
	assert_int_equal(serve->n, 3);
	/* accept: the peer's address and the local port */
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "192.168.1.1", 51000, 22), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "fe80::1", 51000, 22), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "10.0.0.1", 51000, 22), NA);
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "10.0.0.1", 51000, 80), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "2001:db8::1", 22, 443), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "192.168.1.1", 22, 81), NA);
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, UDP, "192.168.1.1", 51000, 22), NA);
	/* listen/bind: the serve set, whatever the address */
	assert_int_equal(jg(&f, 0, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 22), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_LISTEN, TCP, "::", 0, 80), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 8080), NA);
	assert_int_equal(jg(&f, 0, PR_NOP_BIND, UDP, "0.0.0.0", 0, 53), NA);
	assert_int_equal(jg(&f, 0, PR_NOP_BIND, TCP, "0.0.0.0", 0, 443), 0);
	/* a TCP bind alone is not serving: judged at listen */
	assert_int_equal(jg(&f, 0, PR_NOP_BIND, TCP, "0.0.0.0", 0, 9), 0);
	/* an expectation with only ingress does not restrict egress */
	assert_int_equal(jg(&f, 0, PR_NOP_CONNECT, TCP, "203.0.113.9", 25, 0), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_SEND, UDP, "203.0.113.9", 25, 0), 0);

	assert_int_equal(jg(&f, 1, PR_NOP_BIND, UDP, "0.0.0.0", 0, 53), 0);
	assert_int_equal(jg(&f, 1, PR_NOP_ACCEPT, UDP, "127.0.0.9", 1, 53), 0);
	assert_int_equal(jg(&f, 1, PR_NOP_ACCEPT, UDP, "10.0.0.9", 1, 53), NA);
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "10.0.0.9", 1, 0), 0); /* egress: [{}] */

	/* ingress: [] closes everything */
	assert_int_equal(jg(&f, 2, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 22), NA);
	assert_int_equal(jg(&f, 2, PR_NOP_ACCEPT, TCP, "127.0.0.1", 1, 22), NA);
	assert_int_equal(jg(&f, 2, PR_NOP_CONNECT, TCP, "127.0.0.1", 1, 0), 0);
	assert_int_equal(f.r->portsets[f.r->exps[2].serve].n, 0);
	assert_int_equal(f.r->portsets[f.r->exps[2].serve].any, 0);
	/* unknown op or index: no verdict */
	assert_int_equal(jg(&f, 2, (enum pr_net_op)99, TCP, "127.0.0.1", 1, 22), 0);
	assert_int_equal(jg(&f, 3, PR_NOP_LISTEN, TCP, "127.0.0.1", 1, 22), 0);
	unload(&f);
}

static void test_egress_empty(void **state)
{
	struct fix f = load(HDR "metadata: {name: offline}\n"
			    "spec: {subjects: [{all: true}], network: {egress: []}}\n");

	assert_int_equal(f.r->nentries, 0);
	assert_int_equal(f.r->exps[0].flags, PR_NE_EGRESS);
	assert_int_equal(eg(&f, TCP, "127.0.0.1", 80), NA);
	assert_int_equal(eg(&f, UDP, "::1", 53), NA);
	assert_int_equal(jg(&f, 0, PR_NOP_ACCEPT, TCP, "127.0.0.1", 1, 22), 0);
	assert_int_equal(jg(&f, 0, PR_NOP_LISTEN, TCP, "127.0.0.1", 0, 22), 0);
	unload(&f);
}

/* Network indexes: the expectations with a network section, in order. */
static void test_network_indexes(void **state)
{
	struct fix f = load(HDR "metadata: {name: a}\nspec: {subjects: [{all: true}], exec: {deny: /x}}\n"
			    HDR "metadata: {name: b}\nspec: {subjects: [{all: true}], network: {egress: [{to: 10.0.0.0/8}]}, record: {snaplen: 4096, follow: 1s}}\n"
			    HDR "metadata: {name: c}\nspec: {subjects: [{all: true}]}\n"
			    HDR "metadata: {name: d}\nspec: {subjects: [{all: true}], network: {}}\n");

	assert_int_equal(f.r->nexps, 2);
	assert_int_equal(f.r->netidx[0], -1);
	assert_int_equal(f.r->netidx[1], 0);
	assert_int_equal(f.r->netidx[2], -1);
	assert_int_equal(f.r->netidx[3], 1);
	assert_int_equal(f.r->exp_of[0], 1);
	assert_int_equal(f.r->exp_of[1], 3);
	assert_int_equal(f.r->exps[0].snaplen, 4096);
	assert_int_equal(f.r->exps[0].follow_ns, 1000000000ull);
	assert_int_equal(f.r->exps[1].flags, 0);
	assert_int_equal(f.r->exps[1].snaplen, PR_POLICY_DEFAULT_SNAPLEN);
	assert_true(f.r->exps[1].serve < f.r->nportsets);
	assert_int_equal(f.r->keys[0].exp, 0);
	assert_int_equal(jg(&f, 1, PR_NOP_CONNECT, TCP, "1.1.1.1", 1, 0), 0);
	assert_int_equal(jg(&f, 1, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 1), 0);
	unload(&f);
}

/* Identical port sets are stored once. */
static void test_dedup(void **state)
{
	struct fix f = load(HDR "metadata: {name: a}\n"
			    "spec:\n"
			    "  subjects: [{all: true}]\n"
			    "  network:\n"
			    "    egress:\n"
			    "      - {to: [10.0.0.0/24, 10.0.1.0/24], ports: [80/tcp, 443/tcp]}\n"
			    "      - {to: [10.0.2.0/24], ports: [443/tcp, 80/tcp, 80/tcp]}\n"
			    "      - {to: [10.0.3.0/24, 10.0.3.0/24], ports: [443/tcp, 80-80/tcp]}\n"
			    "    ingress: [{ports: [443/tcp, 80/tcp]}]\n");

	/* four egress CIDRs, 0.0.0.0/0 and ::/0 for the ingress rule */
	assert_int_equal(f.r->nentries, 6);
	/* the six entries and the serve set: one set */
	assert_int_equal(f.r->nportsets, 1);
	assert_int_equal(f.r->portsets[0].n, 2);
	assert_int_equal(f.r->exps[0].serve, 0);
	unload(&f);
}

/* ---- limits ---- */

static void test_too_many_exps(void **state)
{
	size_t cap = 80 * 128, o = 0;
	char *y = malloc(cap), want[256];
	struct fix f;

	assert_non_null(y);
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(y + o, cap - o,
				      HDR "metadata: {name: n%d}\nspec: {subjects: [{all: true}], network: {}}\n",
				      i);
	/* each document is 5 lines; the 65th starts its mapping at line 64 * 5 + 2 */
	snprintf(want, sizeof(want),
		 "t.yaml:%d:1: expectation \"n64\": more than 64 expectations have a network section (the kernel judges at most 64)",
		 64 * 5 + 2);
	compile_err(y, want);
	/* 64 fit, with documents without network anywhere */
	o = 0;
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(y + o, cap - o,
				      HDR "metadata: {name: n%d}\nspec: {subjects: [{all: true}]%s}\n",
				      i, i % 10 == 3 ? "" : ", network: {egress: []}");
	f = load(y);
	assert_int_equal(f.r->nexps, 63);
	assert_int_equal(f.r->exp_of[62], 69);
	unload(&f);
	free(y);
}

static void test_too_many_ports(void **state)
{
	char y[4096], ports[1024];
	size_t o = 0;
	struct fix f;

	/* 33 single ports, none adjacent: 33 ranges in one rule */
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%d/tcp", i ? ", " : "",
				      1000 + 2 * i);
	snprintf(y, sizeof(y), HDR "metadata: {name: p}\nspec:\n  subjects: [{all: true}]\n"
		 "  network:\n    egress:\n      - {to: 10.0.0.0/8, ports: [%s]}\n", ports);
	compile_err(y, "t.yaml:9:9: expectation \"p\": network.egress rule lists 33 port ranges (after merging overlapping ones), more than 32");

	/* 33 adjacent ports merge into one range */
	o = 0;
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%d/tcp", i ? ", " : "",
				      1000 + i);
	snprintf(y, sizeof(y), HDR "metadata: {name: p}\nspec:\n  subjects: [{all: true}]\n"
		 "  network:\n    egress:\n      - {to: 10.0.0.0/8, ports: [%s]}\n", ports);
	f = load(y);
	assert_int_equal(f.r->portsets[f.r->vals[0].portset].n, 1);
	unload(&f);

	/* 20 + 20 ranges: each rule fits, the union for the /16 does not */
	{
		char a[512], b[512];
		size_t oa = 0, ob = 0;

		for (int i = 0; i < 20; i++) {
			oa += (size_t)snprintf(a + oa, sizeof(a) - oa, "%s%d/udp", i ? "," : "",
					       100 + 4 * i);
			ob += (size_t)snprintf(b + ob, sizeof(b) - ob, "%s%d/udp", i ? "," : "",
					       102 + 4 * i);
		}
		snprintf(y, sizeof(y), HDR "metadata: {name: u}\nspec:\n  subjects: [{all: true}]\n"
			 "  network:\n    egress:\n      - {to: 10.0.0.0/8, ports: [%s]}\n"
			 "      - {to: [10.2.0.0/16, 10.1.0.0/16], ports: [%s]}\n", a, b);
		compile_err(y, "t.yaml:10:9: expectation \"u\": network.egress: the ports allowed for 10.1.0.0/16 (with those of every rule whose CIDR contains it) need 40 port ranges, more than 32");
		/* side by side, not nested: fine */
		snprintf(y, sizeof(y), HDR "metadata: {name: u}\nspec:\n  subjects: [{all: true}]\n"
			 "  network:\n    egress:\n      - {to: 10.0.0.0/16, ports: [%s]}\n"
			 "      - {to: 10.1.0.0/16, ports: [%s]}\n", a, b);
		f = load(y);
		unload(&f);
		/* the serve set is the union of all ingress ports */
		snprintf(y, sizeof(y), HDR "metadata: {name: s}\nspec:\n  subjects: [{all: true}]\n"
			 "  network:\n    ingress:\n      - {from: 10.0.0.0/16, ports: [%s]}\n"
			 "      - {from: 10.1.0.0/16, ports: [%s]}\n", a, b);
		compile_err(y, "t.yaml:9:9: expectation \"s\": network.ingress: the ports of all ingress rules (what a subject may listen or bind on) need 40 port ranges, more than 32");
	}
}

/* More LPM entries than the kernel map holds (built in memory: a policy
 * file that large is over PR_POLICY_MAX_BYTES). */
static void test_too_many_entries(void **state)
{
	size_t n = PR_NET_RULES_MAX + 1;
	struct pr_net_cidr *to = calloc(n, sizeof(*to));
	struct pr_net_rule rule = { .to = to, .nto = n, .line = 7, .col = 5 };
	struct pr_expectation e = {
		.name = (char *)"big", .has_network = 1, .has_egress = 1,
		.egress = { &rule, 1 },
	};
	struct pr_policy p = { .exps = &e, .n = 1, .source_name = (char *)"m.yaml" };
	struct pr_netrules *r = NULL;
	char err[512];

	assert_non_null(to);
	for (size_t i = 0; i < n; i++) {
		to[i].family = AF_INET;
		to[i].prefix = 32;
		to[i].addr[0] = 10;
		to[i].addr[1] = (uint8_t)(i >> 16);
		to[i].addr[2] = (uint8_t)(i >> 8);
		to[i].addr[3] = (uint8_t)i;
	}
	assert_int_equal(pr_netrules_compile(&p, &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_string_equal(err, "m.yaml:7:5: expectation \"big\": the network rules need more than 1048576 map entries (one per distinct CIDR of each list of each expectation)");
	/* one fewer fits */
	rule.nto = n - 1;
	assert_int_equal(pr_netrules_compile(&p, &r, err, sizeof(err)), 0);
	assert_int_equal(r->nentries, PR_NET_RULES_MAX);
	pr_netrules_free(r);
	free(to);
}

/* A policy no parser makes: nothing crashes, nothing is trusted. */
static void test_hostile_model(void **state)
{
	struct pr_net_cidr to[] = {
		{ .family = 99, .prefix = 8 },
		{ .family = AF_INET, .prefix = 200 },
		{ .family = AF_INET6, .prefix = 129 },
		{ .family = AF_INET, .prefix = 8, .addr = { 10, 255, 255, 255 } },
	};
	struct pr_net_ports ports[] = {
		{ .lo = 10, .hi = 5, .proto = TCP },
		{ .lo = 0, .hi = 65535, .proto = UDP },
		{ .lo = 1, .hi = 1, .proto = 99 },
	};
	struct pr_net_rule rule = { .to = to, .nto = 4, .ports = ports, .nports = 3 };
	struct pr_expectation e = {
		.has_network = 1, .has_egress = 1, .has_ingress = 1,
		.egress = { &rule, 1 }, .ingress = { &rule, 1 }, .egress_deny = { &rule, 1 },
		.snaplen = 1u << 30,
	};
	struct pr_policy p = { .exps = &e, .n = 1 };
	struct pr_policy empty = { 0 };
	struct pr_netrules *r = NULL;
	struct fix f;
	char err[512], buf[64];
	uint8_t a[16];

	assert_int_equal(pr_netrules_compile(&p, &r, err, sizeof(err)), 0);
	f.r = r;
	assert_int_equal(r->exps[0].snaplen, PR_SNAPLEN_MAX);
	assert_int_equal(r->nentries, 3);                     /* one valid CIDR per table */
	assert_int_equal(jg(&f, 0, PR_NOP_CONNECT, UDP, "10.1.1.1", 0, 0), DN);
	assert_int_equal(jg(&f, 0, PR_NOP_CONNECT, TCP, "10.1.1.1", 7, 0), NA);
	assert_int_equal(jg(&f, 0, PR_NOP_CONNECT, 99, "10.1.1.1", 1, 0), DN);
	assert_int_equal(jg(&f, 0, PR_NOP_BIND, UDP, "0.0.0.0", 0, 9), 0);
	pr_netrules_expected(r, &p, 0, PR_NOP_CONNECT, NA, TCP, 4, NULL, 7, 0, buf, sizeof(buf));
	assert_int_equal(pr_netrules_judge(r, 0, PR_NOP_CONNECT, TCP, 4, NULL, 7, 0), NA);
	pr_netrules_free(r);

	assert_int_equal(pr_netrules_compile(&empty, &r, err, sizeof(err)), 0);
	assert_int_equal(r->nexps, 0);
	memset(a, 0, sizeof(a));
	assert_int_equal(pr_netrules_judge(r, 0, PR_NOP_CONNECT, TCP, 4, a, 1, 0), 0);
	pr_netrules_free(r);
	assert_int_equal(pr_netrules_compile(NULL, &r, err, sizeof(err)), 0);
	pr_netrules_free(r);
	pr_netrules_free(NULL);
	assert_int_equal(pr_netrules_judge(NULL, 0, PR_NOP_CONNECT, TCP, 4, a, 1, 0), 0);
	assert_false(pr_portset_has(NULL, TCP, 1));
	pr_netrules_expected(NULL, NULL, 0, PR_NOP_CONNECT, NA, TCP, 4, a, 1, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* ---- the brute-force reference ---- */

static int ref_in(const struct pr_net_cidr *c, uint8_t fam, const uint8_t *a)
{
	if ((c->family == AF_INET) != (fam == 4))
		return 0;
	for (unsigned bit = 0; bit < c->prefix; bit++) {
		unsigned x = (a[bit / 8] >> (7 - bit % 8)) & 1;
		unsigned y = (c->addr[bit / 8] >> (7 - bit % 8)) & 1;

		if (x != y)
			return 0;
	}
	return 1;
}

static int ref_port(const struct pr_net_rule *ru, uint8_t proto, uint16_t port)
{
	if (!ru->nports)
		return 1;
	for (size_t i = 0; i < ru->nports; i++)
		if (ru->ports[i].proto == proto && port >= ru->ports[i].lo &&
		    port <= ru->ports[i].hi)
			return 1;
	return 0;
}

/* allowed if ANY rule whose CIDR contains the address (and none of whose
 * except CIDRs does) has the port */
static int ref_any(const struct pr_net_rules *l, uint8_t proto, uint8_t fam, const uint8_t *a,
		   uint16_t port)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct pr_net_rule *ru = &l->v[i];
		int in = ru->nto == 0;

		for (size_t j = 0; j < ru->nto && !in; j++)
			in = ref_in(&ru->to[j], fam, a);
		for (size_t j = 0; j < ru->nexcept && in; j++)
			in = !ref_in(&ru->except[j], fam, a);
		if (in && ref_port(ru, proto, port))
			return 1;
	}
	return 0;
}

static int ref_judge(const struct pr_expectation *e, enum pr_net_op op, uint8_t proto,
		     uint8_t fam, const uint8_t *ra, uint16_t rport, uint16_t lport)
{
	switch (op) {
	case PR_NOP_CONNECT:
	case PR_NOP_SEND:
		if (ref_any(&e->egress_deny, proto, fam, ra, rport))
			return DN;
		if (e->has_egress && !ref_any(&e->egress, proto, fam, ra, rport))
			return NA;
		return 0;
	case PR_NOP_ACCEPT:
		return e->has_ingress && !ref_any(&e->ingress, proto, fam, ra, lport) ? NA : 0;
	case PR_NOP_BIND:
		if (proto != IPPROTO_UDP)
			return 0; /* TCP is judged at listen */
		/* fall through */
	case PR_NOP_LISTEN:
		for (size_t i = 0; i < e->ingress.n; i++)
			if (ref_port(&e->ingress.v[i], proto, lport))
				return 0;
		return e->has_ingress ? NA : 0;
	}
	return 0;
}

/* ---- randomized: the compiled judge against the reference ---- */

static unsigned rnd(unsigned *seed, unsigned n)
{
	return (unsigned)rand_r(seed) % n;
}

/* Addresses from a small space, so CIDRs nest and queries hit them. */
static uint8_t rand_addr(unsigned *seed, uint8_t a[16], int near)
{
	uint8_t fam = rnd(seed, 2) ? 4 : 6;

	memset(a, 0, 16);
	if (near == 2) {
		for (int i = 0; i < 16; i++)
			a[i] = (uint8_t)rnd(seed, 256);
		if (fam == 4)
			memset(a + 4, 0, 12);
		return fam;
	}
	if (fam == 4) {
		a[0] = 10;
		a[1] = (uint8_t)rnd(seed, 4 + !near);
		a[2] = (uint8_t)rnd(seed, 8);
		a[3] = (uint8_t)rnd(seed, 8);
		return 4;
	}
	a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
	a[5] = (uint8_t)rnd(seed, 4 + !near);
	a[7] = (uint8_t)rnd(seed, 8);
	a[15] = (uint8_t)rnd(seed, 8);
	return 6;
}

static size_t rand_cidr(unsigned *seed, char *buf, size_t len)
{
	char t[INET6_ADDRSTRLEN];
	uint8_t a[16];
	uint8_t fam = rand_addr(seed, a, 1);
	unsigned max = fam == 4 ? 32 : 128;
	unsigned prefix = rnd(seed, 100) ? (fam == 4 ? 14 + rnd(seed, 19) : 40 + rnd(seed, 89))
					: rnd(seed, max + 1);

	for (unsigned bit = prefix; bit < max; bit++)
		a[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, t, sizeof(t));
	return (size_t)snprintf(buf, len, "'%s/%u'", t, prefix);
}

/* Ports start at 15 values per protocol: a union never needs more than
 * 30 ranges, so every random policy compiles. */
static size_t rand_ports(unsigned *seed, char *buf, size_t len)
{
	unsigned n = 1 + rnd(seed, 3);
	size_t o = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned a = 1 + rnd(seed, 15), b = a + rnd(seed, 3);
		unsigned lo = a * 4000, hi = (b > 15 ? 15 : b) * 4000 + rnd(seed, 100);

		if (rnd(seed, 3) == 0)
			hi = lo;
		o += (size_t)snprintf(buf + o, len - o, "%s%u-%u/%s", i ? ", " : "", lo, hi,
				      rnd(seed, 2) ? "tcp" : "udp");
	}
	return o;
}

static int rand_excepts;                /* rules get except lists */

/* A CIDR inside c: its address with a longer prefix. */
static size_t rand_inside(unsigned *seed, char *buf, size_t len, const char *c)
{
	char t[64], *slash;
	uint8_t a[16] = { 0 };
	unsigned prefix, max;
	int af;

	snprintf(t, sizeof(t), "%s", c + 1);   /* '10.1.0.0/16' without quotes */
	slash = strchr(t, '/');
	*slash = '\0';
	af = strchr(t, ':') ? AF_INET6 : AF_INET;
	max = af == AF_INET ? 32 : 128;
	assert_int_equal(inet_pton(af, t, a), 1);
	prefix = (unsigned)atoi(slash + 1);
	if (prefix >= max)
		return (size_t)snprintf(buf, len, "%s", c);
	prefix += 1 + rnd(seed, max - prefix);
	for (unsigned bit = 0; bit < max; bit++) {
		uint8_t m = (uint8_t)(0x80u >> (bit % 8));

		if (bit >= prefix)
			a[bit / 8] &= (uint8_t)~m;
		else if (bit >= (unsigned)atoi(slash + 1) && rnd(seed, 4) == 0)
			a[bit / 8] ^= m;
	}
	inet_ntop(af, a, t, sizeof(t));
	return (size_t)snprintf(buf, len, "'%s/%u'", t, prefix);
}

static size_t rand_rule(unsigned *seed, char *buf, size_t len, const char *key)
{
	size_t o = (size_t)snprintf(buf, len, "      - {");
	char first[64] = "";

	int has_to = rnd(seed, 150) != 0;

	if (has_to) {
		unsigned n = 1 + rnd(seed, 3);

		o += (size_t)snprintf(buf + o, len - o, "%s: [", key);
		for (unsigned i = 0; i < n; i++) {
			o += (size_t)snprintf(buf + o, len - o, "%s", i ? ", " : "");
			if (!i)
				rand_cidr(seed, first, sizeof(first));
			o += i ? rand_cidr(seed, buf + o, len - o)
			       : (size_t)snprintf(buf + o, len - o, "%s", first);
		}
		o += (size_t)snprintf(buf + o, len - o, "]%s", "");
	}
	/* excepts inside the first CIDR (as an ipBlock has them), or anywhere */
	if (rand_excepts && rnd(seed, 3) == 0) {
		unsigned n = 1 + rnd(seed, 3);

		o += (size_t)snprintf(buf + o, len - o, "%sexcept: [", o > 9 ? ", " : "");
		for (unsigned i = 0; i < n; i++) {
			o += (size_t)snprintf(buf + o, len - o, "%s", i ? ", " : "");
			o += first[0] && rnd(seed, 4) ? rand_inside(seed, buf + o, len - o, first)
						      : rand_cidr(seed, buf + o, len - o);
		}
		o += (size_t)snprintf(buf + o, len - o, "]");
	}
	if (!has_to || rnd(seed, 40)) {
		o += (size_t)snprintf(buf + o, len - o, "%sports: [", o > 9 ? ", " : "");
		o += rand_ports(seed, buf + o, len - o);
		o += (size_t)snprintf(buf + o, len - o, "]");
	}
	o += (size_t)snprintf(buf + o, len - o, "}\n");
	return o;
}

static char *rand_policy(unsigned *seed, size_t *len)
{
	static const struct { const char *key, *to; unsigned n; } lists[] = {
		{ "egress", "to", 700 }, { "ingress", "from", 350 }, { "egressDeny", "to", 40 },
	};
	size_t cap = 4u << 20, o = 0;
	char *y = malloc(cap);

	assert_non_null(y);
	for (int e = 0; e < 4; e++) {
		o += (size_t)snprintf(y + o, cap - o,
				      HDR "metadata: {name: r%d}\nspec:\n  subjects: [{all: true}]\n  network:\n",
				      e);
		for (size_t l = 0; l < 3; l++) {
			/* r3 has no egress (deny only); r2 has an empty ingress */
			if ((e == 3 && l == 0) || (e == 1 && l == 2))
				continue;
			o += (size_t)snprintf(y + o, cap - o, "    %s:%s\n", lists[l].key,
					      e == 2 && l == 1 ? " []" : "");
			if (e == 2 && l == 1)
				continue;
			for (unsigned i = 0; i < lists[l].n; i++)
				o += rand_rule(seed, y + o, cap - o, lists[l].to);
		}
	}
	assert_true(o < cap);
	*len = o;
	return y;
}

static uint16_t rand_port(unsigned *seed)
{
	if (rnd(seed, 5) == 0)
		return (uint16_t)rnd(seed, 65536);
	return (uint16_t)((1 + rnd(seed, 15)) * 4000 + rnd(seed, 123) - 3);
}

static void random_vs_reference(unsigned seed, int excepts)
{
	unsigned counts[3] = { 0 };
	size_t len, queries = 100000, nexcept = 0;
	char *y;
	struct fix f;
	size_t rules = 0;

	rand_excepts = excepts;
	y = rand_policy(&seed, &len);
	f = load_len(y, len);
	for (size_t i = 0; i < f.p->n; i++) {
		const struct pr_net_rules *l[3] = { &f.p->exps[i].egress, &f.p->exps[i].ingress,
						    &f.p->exps[i].egress_deny };

		for (int k = 0; k < 3; k++) {
			rules += l[k]->n;
			for (size_t j = 0; j < l[k]->n; j++)
				nexcept += l[k]->v[j].nexcept;
		}
	}
	assert_int_equal(f.r->nexps, 4);
	for (size_t q = 0; q < queries; q++) {
		unsigned i = rnd(&seed, 4);
		enum pr_net_op op = (enum pr_net_op)(1 + rnd(&seed, 5));
		uint8_t proto = rnd(&seed, 2) ? TCP : UDP, a[16];
		uint8_t fam = rand_addr(&seed, a, rnd(&seed, 10) == 0 ? 2 : rnd(&seed, 2));
		uint16_t rport = rand_port(&seed), lport = rand_port(&seed);
		int want = ref_judge(&f.p->exps[f.r->exp_of[i]], op, proto, fam, a, rport, lport);
		int got = pr_netrules_judge(f.r, i, op, proto, fam, a, rport, lport);

		if (got != want) {
			char t[INET6_ADDRSTRLEN];

			inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, t, sizeof(t));
			print_error("query %zu: exp %u op %d proto %u %s rport %u lport %u: got %d, want %d\n",
				    q, i, op, proto, t, rport, lport, got, want);
			fail();
		}
		counts[got]++;
	}
	print_message("random: %zu rules (%zu except CIDRs), %zu entries, %zu port sets; %zu queries: %u fine, %u not allowed, %u denied\n",
		      rules, nexcept, f.r->nentries, f.r->nportsets, queries, counts[0],
		      counts[NA], counts[DN]);
	assert_true(excepts ? nexcept > 1000 : nexcept == 0);
	/* the test means something only if every verdict is common */
	assert_true(rules > 3000);
	assert_true(f.r->nportsets > 300);
	assert_true(counts[0] > queries / 10);
	assert_true(counts[NA] > queries / 10);
	assert_true(counts[DN] > queries / 100);
	unload(&f);
	free(y);
	rand_excepts = 0;
}

static void test_random_vs_reference(void **state)
{
	random_vs_reference(20240601, 0);
}

/* The same with except lists: entries inside an except must drop that
 * rule's ports and keep every other rule's. */
static void test_random_except_vs_reference(void **state)
{
	random_vs_reference(20261126, 1);
}

/* ---- scale ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 rules of one CIDR each: every 256th a /24 over the hosts after it. */
static void test_100k_rules(void **state)
{
	size_t cap = PR_POLICY_MAX_BYTES, o = 0, n = 100000;
	char *y = malloc(cap), err[512];
	struct pr_policy *p = NULL;
	struct pr_netrules *r = NULL;
	double t0, t1;
	struct fix f;

	assert_non_null(y);
	o += (size_t)snprintf(y + o, cap - o, HDR "metadata: {name: big}\n"
			      "spec: {subjects: [{all: true}], network: {egress: [\n");
	for (size_t i = 0; i < n; i++) {
		unsigned b = (unsigned)(i >> 16) + 1, c = (i >> 8) & 255, d = i & 255;

		if (d == 0)
			o += (size_t)snprintf(y + o, cap - o, "{to: 10.%u.%u.0/24, ports: 443/tcp},\n",
					      b, c);
		else
			o += (size_t)snprintf(y + o, cap - o, "{to: 10.%u.%u.%u, ports: %u/tcp},\n",
					      b, c, d, 8000 + d % 100);
		assert_true(o < cap);
	}
	o += (size_t)snprintf(y + o, cap - o, "]}}\n");
	assert_true(o < cap);
	if (pr_policy_parse(y, o, "big.yaml", &p, err, sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
	t0 = now();
	assert_int_equal(pr_netrules_compile(p, &r, err, sizeof(err)), 0);
	t1 = now();
	print_message("100k rules (%zu bytes of YAML): compiled in %.3f s, %zu entries, %zu port sets\n",
		      o, t1 - t0, r->nentries, r->nportsets);
	assert_int_equal(r->nentries, n);
	f.p = p;
	f.r = r;
	assert_int_equal(eg(&f, TCP, "10.1.0.5", 8005), 0);
	assert_int_equal(eg(&f, TCP, "10.1.0.5", 443), 0);    /* from its /24 */
	assert_int_equal(eg(&f, TCP, "10.1.0.5", 8006), NA);
	assert_int_equal(eg(&f, TCP, "10.2.134.159", 8059), 0);
	/* the last /24 holds hosts .1 to .159 only */
	assert_int_equal(eg(&f, TCP, "10.2.134.200", 443), 0);
	assert_int_equal(eg(&f, TCP, "10.2.134.200", 8000), NA);
	assert_int_equal(eg(&f, TCP, "10.2.135.0", 443), NA);
	assert_int_equal(eg(&f, TCP, "10.3.0.1", 443), NA);
	unload(&f);
	free(y);
}

/* ---- verdict texts ---- */

static const char text_policy[] =
	HDR "metadata: {name: web}\n"
	"spec:\n"
	"  subjects: [{all: true}]\n"
	"  network:\n"
	"    egress:\n"
	"      - {to: [127.0.0.1/32], ports: [5432/tcp, 8000-8100/tcp]}\n"
	"      - {to: ['::1/128']}\n"
	"      - {to: [10.0.0.0/8], ports: [80/tcp]}\n"
	"      - {to: [10.1.0.0/16], ports: [443/tcp]}\n"
	"      - {to: [192.168.0.0/16], ports: [53/udp]}\n"
	"    ingress:\n"
	"      - {from: [192.168.0.0/16], ports: [22/tcp]}\n"
	"      - {ports: [80/tcp, 443/tcp]}\n"
	"    egressDeny:\n"
	"      - {to: [127.66.0.0/16, 127.67.0.0/16], ports: [4444/tcp]}\n"
	"      - {to: [10.9.0.0/16]}\n"
	HDR "metadata: {name: closed}\n"
	"spec: {subjects: [{all: true}], network: {egress: [], ingress: []}}\n";

/* The text for a query, with a canary after len bytes. */
static const char *expected(const struct fix *f, unsigned i, enum pr_net_op op, uint8_t proto,
			    const char *addr, uint16_t rport, uint16_t lport, size_t len)
{
	static char buf[1024];
	uint8_t a[16];
	uint8_t fam = addr_of(addr, a);
	int why = pr_netrules_judge(f->r, i, op, proto, fam, a, rport, lport);

	assert_true(len < sizeof(buf) - 64);
	memset(buf, 'Z', sizeof(buf));
	pr_netrules_expected(f->r, f->p, i, op, why, proto, fam, a, rport, lport, buf, len);
	for (size_t k = len; k < len + 64; k++)
		assert_int_equal(buf[k], 'Z');
	if (len)
		assert_true(strlen(buf) < len);
	return buf;
}

static void test_expected_text(void **state)
{
	struct fix f = load(text_policy);
	const char *head = "network.egress: 127.0.0.1/32 5432/tcp,8000-8100/tcp; ::1/128 any";

	assert_string_equal(pr_netrules_rule_name(PR_NOP_CONNECT, NA), "network.egress");
	assert_string_equal(pr_netrules_rule_name(PR_NOP_SEND, NA), "network.egress");
	assert_string_equal(pr_netrules_rule_name(PR_NOP_ACCEPT, NA), "network.ingress");
	assert_string_equal(pr_netrules_rule_name(PR_NOP_LISTEN, NA), "network.ingress");
	assert_string_equal(pr_netrules_rule_name(PR_NOP_BIND, NA), "network.ingress");
	assert_string_equal(pr_netrules_rule_name(PR_NOP_CONNECT, DN), "network.egressDeny");
	assert_string_equal(pr_netrules_rule_name(PR_NOP_CONNECT, 0), "network");

	/* not allowed: every rule, in policy order when none holds the address */
	assert_string_equal(expected(&f, 0, PR_NOP_CONNECT, TCP, "192.0.2.1", 9, 0, 512),
			    "network.egress: 127.0.0.1/32 5432/tcp,8000-8100/tcp; ::1/128 any; "
			    "10.0.0.0/8 80/tcp; 10.1.0.0/16 443/tcp; 192.168.0.0/16 53/udp");
	/* cut, with the count of what is left */
	assert_string_equal(expected(&f, 0, PR_NOP_CONNECT, TCP, "192.0.2.1", 9, 0,
				     strlen(head) + 40),
			    "network.egress: 127.0.0.1/32 5432/tcp,8000-8100/tcp; ::1/128 any (3 more rules)");
	/* the rules holding the address first */
	assert_string_equal(expected(&f, 0, PR_NOP_SEND, UDP, "10.1.2.3", 22, 0, 512),
			    "network.egress: 10.0.0.0/8 80/tcp; 10.1.0.0/16 443/tcp; "
			    "127.0.0.1/32 5432/tcp,8000-8100/tcp; ::1/128 any; 192.168.0.0/16 53/udp");
	/* denied: the matching deny rule and CIDR only */
	assert_string_equal(expected(&f, 0, PR_NOP_CONNECT, TCP, "127.66.1.1", 4444, 0, 512),
			    "network.egressDeny: 127.66.0.0/16 4444/tcp");
	assert_string_equal(expected(&f, 0, PR_NOP_CONNECT, UDP, "10.9.0.1", 1, 0, 512),
			    "network.egressDeny: 10.9.0.0/16 any");
	/* ingress */
	assert_string_equal(expected(&f, 0, PR_NOP_ACCEPT, TCP, "10.0.0.1", 40000, 22, 512),
			    "network.ingress: any 80/tcp,443/tcp; 192.168.0.0/16 22/tcp");
	assert_string_equal(expected(&f, 0, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 8080, 512),
			    "network.ingress: ports 22/tcp,80/tcp,443/tcp");
	assert_string_equal(expected(&f, 0, PR_NOP_BIND, UDP, "0.0.0.0", 0, 53, 512),
			    "network.ingress: ports 22/tcp,80/tcp,443/tcp");
	/* empty lists */
	assert_string_equal(expected(&f, 1, PR_NOP_CONNECT, TCP, "127.0.0.1", 80, 0, 512),
			    "network.egress: nothing allowed");
	assert_string_equal(expected(&f, 1, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 80, 512),
			    "network.ingress: nothing allowed");
	/* no verdict, no text */
	assert_string_equal(expected(&f, 0, PR_NOP_CONNECT, TCP, "10.1.2.3", 443, 0, 512), "");

	/* every small buffer: bounded, terminated, never past len */
	for (size_t len = 0; len < 200; len++) {
		expected(&f, 0, PR_NOP_CONNECT, TCP, "192.0.2.1", 9, 0, len);
		expected(&f, 0, PR_NOP_CONNECT, TCP, "127.66.1.1", 4444, 0, len);
		expected(&f, 0, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 8080, len);
		expected(&f, 1, PR_NOP_CONNECT, TCP, "127.0.0.1", 80, 0, len);
	}
	assert_string_equal(expected(&f, 0, PR_NOP_CONNECT, TCP, "192.0.2.1", 9, 0, 8),
			    "network");
	unload(&f);
}

/* A rule with more CIDRs or ports than fit is cut inside the rule. */
static void test_expected_long_rule(void **state)
{
	size_t cap = 1 << 16, o = 0;
	char *y = malloc(cap);
	const char *t;
	struct fix f;

	assert_non_null(y);
	o += (size_t)snprintf(y + o, cap - o, HDR "metadata: {name: long}\n"
			      "spec:\n  subjects: [{all: true}]\n  network:\n    egress:\n"
			      "      - to: [");
	for (int i = 0; i < 500; i++)
		o += (size_t)snprintf(y + o, cap - o, "%s10.%d.%d.0/24", i ? ", " : "", i / 250,
				      i % 250);
	o += (size_t)snprintf(y + o, cap - o, "]\n        ports: [");
	for (int i = 0; i < 30; i++)
		o += (size_t)snprintf(y + o, cap - o, "%s%d/tcp", i ? ", " : "", 10000 + 2 * i);
	snprintf(y + o, cap - o, "]\n");
	f = load(y);
	t = expected(&f, 0, PR_NOP_CONNECT, TCP, "10.0.0.1", 1, 0, 900);
	assert_true(strncmp(t, "network.egress: 10.0.0.0/24,10.0.1.0/24,", 40) == 0);
	assert_non_null(strstr(t, " more "));
	print_message("%s\n", t);
	assert_non_null(strstr(t, " 10000/tcp,10002/tcp,"));
	for (size_t len = 0; len < 400; len++)
		expected(&f, 0, PR_NOP_CONNECT, TCP, "10.0.0.1", 1, 0, len);
	unload(&f);
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_egress_allow),
		cmocka_unit_test(test_nested_union),
		cmocka_unit_test(test_rule_without_ports_or_to),
		cmocka_unit_test(test_egress_deny),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ingress),
		cmocka_unit_test(test_egress_empty),
		cmocka_unit_test(test_network_indexes),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_too_many_exps),
		cmocka_unit_test(test_too_many_ports),
		cmocka_unit_test(test_too_many_entries),
		cmocka_unit_test(test_hostile_model),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_random_except_vs_reference),
		cmocka_unit_test(test_100k_rules),
		cmocka_unit_test(test_expected_text),
		cmocka_unit_test(test_expected_long_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
