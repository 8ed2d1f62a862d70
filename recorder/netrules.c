// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The network compiler: the network sections of a policy into the
 * contents of the kernel's net_exps, net_rules (LPM trie) and
 * net_portsets maps, plus a user-space lookup and judge that answer
 * exactly as the BPF side does (pr_netrules_judge is the contract).
 *
 * An LPM trie answers with the longest matching prefix only. A rule for
 * 10.0.0.0/8 80/tcp and one for 10.1.0.0/16 443/tcp must still allow
 * 10.1.2.3:80, so the entry of a CIDR C carries the union of the ports of
 * every rule (of the same expectation and list) whose CIDR contains C.
 * Because the CIDRs containing C form a chain, that union is the ports of
 * the rules listing C itself plus the union already computed for the
 * nearest shorter CIDR present: with the entries of a list sorted by
 * prefix length, one hash probe per prefix length finds it, and the cost
 * is linear in the CIDRs (times the prefix lengths present).
 *
 * Choices:
 * - A rule without `to`/`from` (or with an empty list) is 0.0.0.0/0 and
 *   ::/0; without `ports` (or `ports: []`) every port of every protocol.
 * - A port set holds at most PR_NET_PORTS_MAX merged ranges (overlapping
 *   or adjacent ranges of a protocol merge). One rule listing more is an
 *   error at the rule, as is a union that needs more; so is the serve set
 *   (the union of the ingress ports, for listen and bind).
 * - Identical port sets are stored once. Every network expectation gets a
 *   serve set, empty when it has no ingress rule.
 * - A CIDR of an unknown family is skipped (the parser never makes one);
 *   host bits are masked again. Nothing here trusts the policy's sizes.
 * - A rule's `except` CIDRs (a NetworkPolicy ipBlock's except) take
 *   addresses away from that rule only. Each except CIDR is an entry too,
 *   so the entry an LPM lookup finds for an address is the longest of all
 *   rule and except CIDRs holding it, and the right value for the entry X
 *   is the union of the ports of the rules with a CIDR containing X and
 *   no except containing X. A union over the nearest parent cannot
 *   subtract, so in a list with any except each entry walks its chain of
 *   containing entries (one probe per prefix length present) and the
 *   items found there: linear in the entries times (prefix lengths +
 *   items on the chain); lists without except keep the cheap path.
 * - A NetworkPolicy's (e->k8s) serve set is "any": Kubernetes ingress
 *   rules allow or refuse traffic, not listening on a port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "recorder/netrules.h"

_Static_assert(PR_POLICY_MAX_SNAPLEN == PR_SNAPLEN_MAX,
	       "record.snaplen's limit is the kernel's per-packet copy limit");
_Static_assert(sizeof(struct pr_net_key) == 24, "pr_net_key is hashed as three words");
_Static_assert(PR_NET_EXPS_MAX <= 256, "pr_net_key.exp is a byte");

#define NTABLES 3
#define RULE_TEXT_MAX 256              /* bytes of one rule in an expected text */

static const char *const table_names[NTABLES] = {
	[PR_NT_EGRESS] = "network.egress",
	[PR_NT_INGRESS] = "network.ingress",
	[PR_NT_EGRESS_DENY] = "network.egressDeny",
};

struct pr_netrules_index {
	uint32_t *slots;               /* entry index + 1, 0 = free; linear probing */
	size_t cap;                    /* power of two, > 2 * entries */
	/* bit L: some entry of prefix length L, per (exp, table, family 4/6) */
	uint64_t lens[PR_NET_EXPS_MAX][NTABLES][2][3];
};

/* ---- addresses and keys ---- */


static unsigned family_bits(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

/* AF_INET/AF_INET6 of the policy model to the kernel's 4/6; 0 if neither. */
static uint8_t family_of(const struct pr_net_cidr *c)
{
	if (c->family == AF_INET && c->prefix <= 32)
		return 4;
	if (c->family == AF_INET6 && c->prefix <= 128)
		return 6;
	return 0;
}

static void make_key(struct pr_net_key *k, unsigned exp, unsigned table, uint8_t family,
		     unsigned prefix, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + prefix;
	k->exp = (uint8_t)exp;
	k->table = (uint8_t)table;
	k->family = family;
	/* whole bytes, then the partial one; the rest stays zero */
	if (prefix > family_bits(family))
		prefix = family_bits(family);
	memcpy(k->addr, addr, prefix / 8);
	if (prefix % 8)
		k->addr[prefix / 8] = addr[prefix / 8] & pr_net_prefix_mask(prefix / 8, prefix);
}

static int addr_in(const struct pr_net_cidr *c, uint8_t family, const uint8_t *addr)
{
	if (family_of(c) != family)
		return 0;
	for (size_t i = 0; i < family_bits(family) / 8; i++)
		if ((addr[i] & pr_net_prefix_mask(i, c->prefix)) != c->addr[i])
			return 0;
	return 1;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static uint64_t key_hash(const struct pr_net_key *k)
{
	uint64_t w[3];

	memcpy(w, k, sizeof(w));
	return mix(w[0] ^ mix(w[1] ^ mix(w[2])));
}

static int bit_get(const uint64_t *bits, unsigned i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

/* ---- the key index ---- */

static long index_find(const struct pr_netrules *r, const struct pr_net_key *k)
{
	const struct pr_netrules_index *x = r->idx;

	for (size_t i = key_hash(k) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
		uint32_t e = x->slots[i];

		if (!e)
			return -1;
		if (!memcmp(&r->keys[e - 1], k, sizeof(*k)))
			return (long)e - 1;
	}
}

static void index_put(const struct pr_netrules *r, size_t e)
{
	const struct pr_netrules_index *x = r->idx;
	size_t i = key_hash(&r->keys[e]) & (x->cap - 1);

	while (x->slots[i])
		i = (i + 1) & (x->cap - 1);
	x->slots[i] = (uint32_t)e + 1;
}

/* Keep the table at most half full: room for one more entry. */
static int index_reserve(struct pr_netrules *r)
{
	struct pr_netrules_index *x = r->idx;
	uint32_t *old = x->slots;
	size_t need = (r->nentries + 1) * 2;

	if (need < x->cap)
		return 0;
	x->cap = x->cap ? x->cap * 2 : 1024;
	x->slots = calloc(x->cap, sizeof(*x->slots));
	if (!x->slots) {
		x->slots = old;
		x->cap /= 2;
		return -1;
	}
	free(old);
	for (size_t e = 0; e < r->nentries; e++)
		index_put(r, e);
	return 0;
}

/* ---- compile context and errors ---- */

struct rset {                          /* a rule's ports, normalized */
	size_t off;                    /* into cctx.pool */
	uint32_t n;
	int any;
};

struct item {                          /* one CIDR of one rule */
	struct pr_net_key key;
	uint32_t rule;
	uint32_t except;               /* 1: a CIDR of the rule's except list */
};

struct cctx {
	const struct pr_policy *p;
	struct pr_netrules *r;
	char *err;
	size_t errlen;
	size_t keys_cap, vals_cap, sets_cap;
	uint32_t *set_slots;           /* port set dedup: index + 1, 0 = free */
	size_t set_cap;
	struct pr_port_range *scratch;  /* a union being built */
	size_t scratch_cap;
	struct pr_port_range *pool;    /* the rsets of the current list */
	size_t pool_n, pool_cap;
	struct rset *rsets;
	struct item *items;
	size_t *runs;                  /* per entry of the current list: first item */
	/* lists with except: per rule, the walk (gen) that found a CIDR of it
	 * on the chain, and the one that found an except of it */
	uint32_t *in_gen, *ex_gen, gen;
	uint32_t *found;               /* rules found by this walk */
};

__attribute__((format(printf, 5, 6)))
static int cfail(struct cctx *c, const struct pr_expectation *e, int line, int col,
		 const char *fmt, ...)
{
	const char *src = e && e->source ? e->source :
			  c->p->source_name ? c->p->source_name : "<policy>";
	const char *name = e && e->name ? e->name : "?";
	char msg[512];
	va_list ap;

	if (!c->err || !c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(c->err, c->errlen, "%s:%d:%d: expectation \"%s\": %s", src, line, col,
			 name, msg);
	else
		snprintf(c->err, c->errlen, "%s: expectation \"%s\": %s", src, name, msg);
	return -1;
}

static int oom(struct cctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory compiling the network rules",
			 c->p->source_name ? c->p->source_name : "<policy>");
	return -1;
}

/* Make room for n elements of size in *arr (capacity *cap). */
static int reserve(struct cctx *c, void *arrp, size_t *cap, size_t n, size_t size)
{
	void **arr = arrp;
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (n <= *cap)
		return 0;
	while (ncap < n)
		ncap *= 2;
	p = reallocarray(*arr, ncap, size);
	if (!p)
		return oom(c);
	*arr = p;
	*cap = ncap;
	return 0;
}

static void cidr_text(char *buf, size_t len, const struct pr_net_cidr *c)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family_of(c) == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, (unsigned)c->prefix);
}

/* ---- port sets ---- */

static int range_cmp(const void *a, const void *b)
{
	const struct pr_port_range *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sort and merge overlapping or adjacent ranges of a protocol in place. */
static size_t ranges_normalize(struct pr_port_range *v, size_t n)
{
	size_t o = 0;

	if (n < 2)
		return n;
	qsort(v, n, sizeof(*v), range_cmp);
	for (size_t i = 0; i < n; i++) {
		struct pr_port_range *last = o ? &v[o - 1] : NULL;

		if (last && last->proto == v[i].proto && v[i].lo <= (uint32_t)last->hi + 1) {
			if (v[i].hi > last->hi)
				last->hi = v[i].hi;
			continue;
		}
		v[o++] = v[i];
	}
	return o;
}

static int scratch_add(struct cctx *c, size_t *n, const struct pr_port_range *v, size_t m)
{
	if (!m)
		return 0;
	if (reserve(c, &c->scratch, &c->scratch_cap, *n + m, sizeof(*v)))
		return -1;
	memcpy(c->scratch + *n, v, m * sizeof(*v));
	*n += m;
	return 0;
}

/* The ports of one rule as ranges, invalid ones (lo > hi) dropped. */
static int scratch_add_rule(struct cctx *c, size_t *n, const struct pr_net_rule *ru)
{
	if (reserve(c, &c->scratch, &c->scratch_cap, *n + ru->nports, sizeof(*c->scratch)))
		return -1;
	for (size_t i = 0; i < ru->nports; i++) {
		const struct pr_net_ports *p = &ru->ports[i];

		if (p->lo > p->hi)
			continue;
		c->scratch[(*n)++] = (struct pr_port_range){ .lo = p->lo, .hi = p->hi,
							     .proto = p->proto };
	}
	return 0;
}

static uint64_t set_hash(const struct pr_portset *s)
{
	const unsigned char *b = (const unsigned char *)s;
	size_t len = offsetof(struct pr_portset, r) + s->n * sizeof(s->r[0]);
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return mix(h);
}

static void set_put(struct cctx *c, size_t idx)
{
	size_t i = set_hash(&c->r->portsets[idx]) & (c->set_cap - 1);

	while (c->set_slots[i])
		i = (i + 1) & (c->set_cap - 1);
	c->set_slots[i] = (uint32_t)idx + 1;
}

static int set_slots_reserve(struct cctx *c)
{
	uint32_t *old = c->set_slots;
	size_t ocap = c->set_cap;

	if ((c->r->nportsets + 1) * 2 < c->set_cap)
		return 0;
	c->set_cap = ocap ? ocap * 2 : 1024;
	c->set_slots = calloc(c->set_cap, sizeof(*c->set_slots));
	if (!c->set_slots) {
		c->set_slots = old;
		c->set_cap = ocap;
		return oom(c);
	}
	free(old);
	for (size_t i = 0; i < c->r->nportsets; i++)
		set_put(c, i);
	return 0;
}

/* The index of a set equal to s (fully zeroed past s->n), added if new. */
static long set_intern(struct cctx *c, const struct pr_portset *s)
{
	struct pr_netrules *r = c->r;
	size_t i;

	if (set_slots_reserve(c))
		return -1;
	for (i = set_hash(s) & (c->set_cap - 1); c->set_slots[i]; i = (i + 1) & (c->set_cap - 1))
		if (!memcmp(&r->portsets[c->set_slots[i] - 1], s, sizeof(*s)))
			return (long)c->set_slots[i] - 1;
	if (reserve(c, &r->portsets, &c->sets_cap, r->nportsets + 1, sizeof(*s)))
		return -1;
	r->portsets[r->nportsets] = *s;
	c->set_slots[i] = (uint32_t)r->nportsets + 1;
	return (long)r->nportsets++;
}

/* Normalize scratch[0..n) (or take "any") into a set and intern it.
 * Returns the index, -2 when more than PR_NET_PORTS_MAX ranges remain
 * (*nout says how many), -1 on allocation failure. */
static long set_from_scratch(struct cctx *c, size_t n, int any, size_t *nout)
{
	struct pr_portset s;

	memset(&s, 0, sizeof(s));
	if (any) {
		s.any = 1;
	} else {
		n = ranges_normalize(c->scratch, n);
		*nout = n;
		if (n > PR_NET_PORTS_MAX)
			return -2;
		if (n)
			memcpy(s.r, c->scratch, n * sizeof(s.r[0]));
		s.n = (uint32_t)n;
	}
	return set_intern(c, &s);
}

/* ---- one list (egress, ingress or egressDeny) of one expectation ---- */

struct list {
	const struct pr_expectation *e;
	const struct pr_net_rules *rules;
	unsigned netidx;
	enum pr_net_table table;
	size_t first;                  /* its first entry in r->keys */
};

/* Normalize each rule's ports once, into c->pool. */
static int rules_normalize(struct cctx *c, const struct list *l)
{
	c->pool_n = 0;
	for (size_t j = 0; j < l->rules->n; j++) {
		const struct pr_net_rule *ru = &l->rules->v[j];
		struct rset *rs = &c->rsets[j];
		size_t n = 0;

		rs->any = ru->nports == 0;
		rs->off = c->pool_n;
		rs->n = 0;
		if (rs->any || !ru->nports)
			continue;
		if (scratch_add_rule(c, &n, ru))
			return -1;
		n = ranges_normalize(c->scratch, n);
		if (!n)
			continue;
		if (n > PR_NET_PORTS_MAX)
			return cfail(c, l->e, ru->line, ru->col,
				     "%s rule lists %zu port ranges (after merging overlapping ones), more than %u",
				     table_names[l->table], n, PR_NET_PORTS_MAX);
		if (reserve(c, &c->pool, &c->pool_cap, c->pool_n + n, sizeof(*c->pool)))
			return -1;
		memcpy(c->pool + c->pool_n, c->scratch, n * sizeof(*c->pool));
		c->pool_n += n;
		rs->n = (uint32_t)n;
	}
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int d;

	if (x->key.family != y->key.family)
		return x->key.family < y->key.family ? -1 : 1;
	if (x->key.prefixlen != y->key.prefixlen)
		return x->key.prefixlen < y->key.prefixlen ? -1 : 1;
	d = memcmp(x->key.addr, y->key.addr, sizeof(x->key.addr));
	if (d)
		return d;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->except < y->except ? -1 : x->except > y->except;
}

/* Every CIDR of every rule, sorted: shorter prefixes first in a family. */
static int items_build(struct cctx *c, const struct list *l, size_t *nitems)
{
	static const uint8_t zero[16];
	size_t n = 0, cap = 0;

	for (size_t j = 0; j < l->rules->n; j++)
		n += (l->rules->v[j].nto ? l->rules->v[j].nto : 2) + l->rules->v[j].nexcept;
	free(c->items);
	c->items = NULL;
	if (reserve(c, &c->items, &cap, n, sizeof(*c->items)))
		return -1;
	n = 0;
	for (size_t j = 0; j < l->rules->n; j++) {
		const struct pr_net_rule *ru = &l->rules->v[j];

		for (size_t k = 0; k < ru->nexcept; k++) {
			uint8_t fam = family_of(&ru->except[k]);

			if (!fam)
				continue;
			make_key(&c->items[n].key, l->netidx, l->table, fam, ru->except[k].prefix,
				 ru->except[k].addr);
			c->items[n].except = 1;
			c->items[n++].rule = (uint32_t)j;
		}
		if (!ru->nto) {
			make_key(&c->items[n].key, l->netidx, l->table, 4, 0, zero);
			c->items[n].except = 0;
			c->items[n++].rule = (uint32_t)j;
			make_key(&c->items[n].key, l->netidx, l->table, 6, 0, zero);
			c->items[n].except = 0;
			c->items[n++].rule = (uint32_t)j;
			continue;
		}
		for (size_t k = 0; k < ru->nto; k++) {
			uint8_t fam = family_of(&ru->to[k]);

			if (!fam)
				continue;
			make_key(&c->items[n].key, l->netidx, l->table, fam, ru->to[k].prefix,
				 ru->to[k].addr);
			c->items[n].except = 0;
			c->items[n++].rule = (uint32_t)j;
		}
	}
	if (n > 1)
		qsort(c->items, n, sizeof(*c->items), item_cmp);
	*nitems = n;
	return 0;
}

/* One entry per distinct CIDR; c->runs[k] = its first item. */
static int entries_add(struct cctx *c, const struct list *l, size_t nitems)
{
	struct pr_netrules *r = c->r;
	size_t runs_cap = 0;

	free(c->runs);
	c->runs = NULL;
	for (size_t i = 0; i < nitems; i++) {
		const struct pr_net_key *k = &c->items[i].key;
		uint64_t *lens;

		if (i && !memcmp(k, &c->items[i - 1].key, sizeof(*k)))
			continue;
		if (r->nentries >= PR_NET_RULES_MAX) {
			const struct pr_net_rule *ru = &l->rules->v[c->items[i].rule];

			return cfail(c, l->e, ru->line, ru->col,
				     "the network rules need more than %u map entries (one per distinct CIDR of each list of each expectation)",
				     PR_NET_RULES_MAX);
		}
		if (reserve(c, &r->keys, &c->keys_cap, r->nentries + 1, sizeof(*r->keys)) ||
		    reserve(c, &r->vals, &c->vals_cap, r->nentries + 1, sizeof(*r->vals)) ||
		    reserve(c, &c->runs, &runs_cap, r->nentries - l->first + 1, sizeof(*c->runs)))
			return -1;
		if (index_reserve(r))
			return oom(c);
		r->keys[r->nentries] = *k;
		r->vals[r->nentries].portset = 0;
		c->runs[r->nentries - l->first] = i;
		index_put(r, r->nentries);
		r->nentries++;
		lens = r->idx->lens[l->netidx][l->table][k->family == 6];
		lens[(k->prefixlen - 32) / 64] |= 1ull << ((k->prefixlen - 32) % 64);
	}
	return 0;
}

/* The entry of the longest CIDR strictly containing entry e, or -1. */
static long nearest_parent(const struct pr_netrules *r, const struct list *l, size_t e)
{
	const struct pr_net_key *k = &r->keys[e];
	const uint64_t *lens = r->idx->lens[l->netidx][l->table][k->family == 6];
	struct pr_net_key pk;

	for (unsigned len = k->prefixlen - 32; len-- > 0;) {
		long a;

		if (!bit_get(lens, len))
			continue;
		make_key(&pk, l->netidx, l->table, k->family, len, k->addr);
		a = index_find(r, &pk);
		if (a >= 0)
			return a;
	}
	return -1;
}

/* vals[e] = the port set of scratch[0..n) (or any); first names the rule
 * in an error. */
static int entry_set(struct cctx *c, const struct list *l, size_t e, size_t first, size_t n,
		     int any)
{
	struct pr_netrules *r = c->r;
	size_t nout = 0;
	long set;

	set = set_from_scratch(c, n, any, &nout);
	if (set == -2) {
		const struct pr_net_rule *ru = &l->rules->v[c->items[first].rule];
		struct pr_net_cidr cidr = { .family = r->keys[e].family == 4 ? AF_INET : AF_INET6,
					    .prefix = (uint8_t)(r->keys[e].prefixlen - 32) };
		char text[64];

		memcpy(cidr.addr, r->keys[e].addr, sizeof(cidr.addr));
		cidr_text(text, sizeof(text), &cidr);
		return cfail(c, l->e, ru->line, ru->col,
			     "%s: the ports allowed for %s (with those of every rule whose CIDR contains it) need %zu port ranges, more than %u",
			     table_names[l->table], text, nout, PR_NET_PORTS_MAX);
	}
	if (set < 0)
		return -1;
	r->vals[e].portset = (uint32_t)set;
	return 0;
}

/* In a list with except: the rules with a CIDR on the chain of entries
 * containing e (e included) and no except there; vals[e] = their ports. */
static int entry_value_except(struct cctx *c, const struct list *l, size_t e, size_t nitems)
{
	struct pr_netrules *r = c->r;
	const struct pr_net_key *k = &r->keys[e];
	const uint64_t *lens = r->idx->lens[l->netidx][l->table][k->family == 6];
	size_t nfound = 0, n = 0;
	struct pr_net_key pk;
	int any = 0;

	c->gen++;
	for (unsigned len = 0; len <= k->prefixlen - 32; len++) {
		long a;

		if (!bit_get(lens, len))
			continue;
		make_key(&pk, l->netidx, l->table, k->family, len, k->addr);
		a = index_find(r, &pk);
		if (a < (long)l->first)
			continue;
		for (size_t i = c->runs[a - l->first]; i < nitems; i++) {
			const struct item *it = &c->items[i];

			if (memcmp(&it->key, &pk, sizeof(pk)))
				break;
			if (it->except) {
				c->ex_gen[it->rule] = c->gen;
			} else if (c->in_gen[it->rule] != c->gen) {
				c->in_gen[it->rule] = c->gen;
				c->found[nfound++] = it->rule;
			}
		}
	}
	for (size_t i = 0; i < nfound && !any; i++) {
		const struct rset *rs = &c->rsets[c->found[i]];

		if (c->ex_gen[c->found[i]] == c->gen)
			continue;
		any = rs->any;
		if (!any && scratch_add(c, &n, c->pool + rs->off, rs->n))
			return -1;
	}
	return entry_set(c, l, e, c->runs[e - l->first], n, any);
}

/* vals[e] = the union of its own rules' ports and its nearest parent's. */
static int entry_value(struct cctx *c, const struct list *l, size_t e, size_t nitems)
{
	struct pr_netrules *r = c->r;
	size_t first = c->runs[e - l->first], n = 0;
	long parent = nearest_parent(r, l, e);
	int any = 0;

	if (parent >= 0) {
		const struct pr_portset *ps = &r->portsets[r->vals[parent].portset];

		any = ps->any;
		if (!any && scratch_add(c, &n, ps->r, ps->n))
			return -1;
	}
	for (size_t i = first; !any && i < nitems; i++) {
		const struct rset *rs = &c->rsets[c->items[i].rule];

		if (memcmp(&c->items[i].key, &c->items[first].key, sizeof(c->items[i].key)))
			break;
		any = rs->any;
		if (!any && scratch_add(c, &n, c->pool + rs->off, rs->n))
			return -1;
	}
	return entry_set(c, l, e, first, n, any);
}

static int has_except(const struct pr_net_rules *l)
{
	for (size_t j = 0; j < l->n; j++)
		if (l->v[j].nexcept)
			return 1;
	return 0;
}

static int list_compile(struct cctx *c, const struct list *l_in)
{
	struct list l = *l_in;
	int except = has_except(l.rules);
	size_t nitems;

	if (!l.rules->n)
		return 0;
	free(c->rsets);
	free(c->in_gen);
	free(c->ex_gen);
	free(c->found);
	c->in_gen = c->ex_gen = c->found = NULL;
	c->gen = 0;
	c->rsets = calloc(l.rules->n, sizeof(*c->rsets));
	if (!c->rsets)
		return oom(c);
	if (except) {
		c->in_gen = calloc(l.rules->n, sizeof(*c->in_gen));
		c->ex_gen = calloc(l.rules->n, sizeof(*c->ex_gen));
		c->found = calloc(l.rules->n, sizeof(*c->found));
		if (!c->in_gen || !c->ex_gen || !c->found)
			return oom(c);
	}
	l.first = c->r->nentries;
	if (rules_normalize(c, &l) || items_build(c, &l, &nitems) || entries_add(c, &l, nitems))
		return -1;
	for (size_t e = l.first; e < c->r->nentries; e++)
		if (except ? entry_value_except(c, &l, e, nitems) : entry_value(c, &l, e, nitems))
			return -1;
	return 0;
}

/* The ports a subject may listen or bind on: every ingress rule's. */
static int serve_compile(struct cctx *c, const struct pr_expectation *e, unsigned netidx)
{
	const struct pr_net_rules *in = &e->ingress;
	size_t n = 0, nout = 0;
	int any = e->k8s;
	long set;

	for (size_t j = 0; j < in->n && !any; j++) {
		any = in->v[j].nports == 0;
		if (!any && scratch_add_rule(c, &n, &in->v[j]))
			return -1;
	}
	set = set_from_scratch(c, n, any, &nout);
	if (set == -2)
		return cfail(c, e, in->v[0].line, in->v[0].col,
			     "network.ingress: the ports of all ingress rules (what a subject may listen or bind on) need %zu port ranges, more than %u",
			     nout, PR_NET_PORTS_MAX);
	if (set < 0)
		return -1;
	c->r->exps[netidx].serve = (uint32_t)set;
	return 0;
}

static int exp_compile(struct cctx *c, const struct pr_expectation *e, unsigned netidx)
{
	const struct pr_net_rules *lists[NTABLES] = {
		[PR_NT_EGRESS] = &e->egress,
		[PR_NT_INGRESS] = &e->ingress,
		[PR_NT_EGRESS_DENY] = &e->egress_deny,
	};
	struct pr_net_exp *x = &c->r->exps[netidx];

	x->flags = (e->has_egress ? PR_NE_EGRESS : 0) | (e->has_ingress ? PR_NE_INGRESS : 0) |
		   (e->egress_deny.n ? PR_NE_DENY : 0) | (e->k8s ? PR_NE_K8S : 0);
	x->snaplen = e->snaplen < PR_SNAPLEN_MAX ? e->snaplen : PR_SNAPLEN_MAX;
	x->follow_ns = e->follow_ns;
	for (unsigned t = 0; t < NTABLES; t++) {
		struct list l = { .e = e, .rules = lists[t], .netidx = netidx, .table = t };

		if (list_compile(c, &l))
			return -1;
	}
	return serve_compile(c, e, netidx);
}

/* Number the expectations that have a network section. */
static int number_exps(struct cctx *c)
{
	struct pr_netrules *r = c->r;

	for (size_t i = 0; i < c->p->n; i++) {
		const struct pr_expectation *e = &c->p->exps[i];

		r->netidx[i] = -1;
		if (!e->has_network)
			continue;
		if (r->nexps >= PR_NET_EXPS_MAX)
			return cfail(c, e, e->line, e->col,
				     "more than %u expectations have a network section (the kernel judges at most %u)",
				     PR_NET_EXPS_MAX, PR_NET_EXPS_MAX);
		r->netidx[i] = (int)r->nexps;
		r->exp_of[r->nexps++] = i;
	}
	return 0;
}

static int compile(struct cctx *c)
{
	struct pr_netrules *r = c->r;

	r->netidx = calloc(c->p->n ? c->p->n : 1, sizeof(*r->netidx));
	r->idx = calloc(1, sizeof(*r->idx));
	if (!r->netidx || !r->idx || index_reserve(r))
		return oom(c);
	if (number_exps(c))
		return -1;
	for (size_t i = 0; i < r->nexps; i++)
		if (exp_compile(c, &c->p->exps[r->exp_of[i]], (unsigned)i))
			return -1;
	return 0;
}

int pr_netrules_compile(const struct pr_policy *p, struct pr_netrules **out, char *err,
			size_t errlen)
{
	struct pr_policy none = { 0 };
	struct cctx c = { .p = p ? p : &none, .err = err, .errlen = errlen };
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	c.r = calloc(1, sizeof(*c.r));
	if (!c.r)
		return oom(&c);
	rc = compile(&c);
	free(c.set_slots);
	free(c.scratch);
	free(c.pool);
	free(c.rsets);
	free(c.items);
	free(c.runs);
	free(c.in_gen);
	free(c.ex_gen);
	free(c.found);
	if (rc) {
		pr_netrules_free(c.r);
		return -1;
	}
	*out = c.r;
	return 0;
}

void pr_netrules_free(struct pr_netrules *r)
{
	if (!r)
		return;
	if (r->idx)
		free(r->idx->slots);
	free(r->idx);
	free(r->netidx);
	free(r->keys);
	free(r->vals);
	free(r->portsets);
	free(r);
}

/* ---- lookup and judge ---- */

int pr_portset_has(const struct pr_portset *s, uint8_t proto, uint16_t port)
{
	if (!s)
		return 0;
	if (s->any)
		return 1;
	for (uint32_t i = 0; i < s->n && i < PR_NET_PORTS_MAX; i++)
		if (s->r[i].proto == proto && s->r[i].lo <= port && port <= s->r[i].hi)
			return 1;
	return 0;
}

const struct pr_portset *pr_netrules_lookup(const struct pr_netrules *r, unsigned netidx,
					    enum pr_net_table t, uint8_t family,
					    const uint8_t addr[16])
{
	const uint64_t *lens;
	struct pr_net_key k;

	if (!r || !r->idx || !addr || netidx >= r->nexps || (unsigned)t >= NTABLES ||
	    (family != 4 && family != 6))
		return NULL;
	lens = r->idx->lens[netidx][t][family == 6];
	for (unsigned len = family_bits(family) + 1; len-- > 0;) {
		long e;

		if (!bit_get(lens, len))
			continue;
		make_key(&k, netidx, t, family, len, addr);
		e = index_find(r, &k);
		if (e >= 0)
			return &r->portsets[r->vals[e].portset];
	}
	return NULL;
}

static int egress_judge(const struct pr_netrules *r, unsigned netidx, uint8_t proto,
			uint8_t family, const uint8_t *raddr, uint16_t rport)
{
	uint32_t flags = r->exps[netidx].flags;
	const struct pr_portset *s;

	if (flags & PR_NE_DENY) {
		s = pr_netrules_lookup(r, netidx, PR_NT_EGRESS_DENY, family, raddr);
		if (pr_portset_has(s, proto, rport))
			return PR_NJ_DENIED;
	}
	if (flags & PR_NE_EGRESS) {
		s = pr_netrules_lookup(r, netidx, PR_NT_EGRESS, family, raddr);
		if (!pr_portset_has(s, proto, rport))
			return PR_NJ_NOT_ALLOWED;
	}
	return 0;
}

int pr_netrules_judge(const struct pr_netrules *r, unsigned netidx, enum pr_net_op op,
		      uint8_t proto, uint8_t family, const uint8_t raddr[16], uint16_t rport,
		      uint16_t lport)
{
	const struct pr_net_exp *x;
	const struct pr_portset *s;

	if (!r || netidx >= r->nexps)
		return 0;
	x = &r->exps[netidx];
	switch (op) {
	case PR_NOP_CONNECT:
	case PR_NOP_SEND:
		return egress_judge(r, netidx, proto, family, raddr, rport);
	case PR_NOP_ACCEPT:
		if (!(x->flags & PR_NE_INGRESS))
			return 0;
		s = pr_netrules_lookup(r, netidx, PR_NT_INGRESS, family, raddr);
		return pr_portset_has(s, proto, lport) ? 0 : PR_NJ_NOT_ALLOWED;
	case PR_NOP_BIND:
		/* a TCP server is judged at listen; a TCP bind alone is a
		 * client choosing its source port */
		if (proto != IPPROTO_UDP)
			return 0;
		/* fall through */
	case PR_NOP_LISTEN:
		if (!(x->flags & PR_NE_INGRESS))
			return 0;
		s = x->serve < r->nportsets ? &r->portsets[x->serve] : NULL;
		return pr_portset_has(s, proto, lport) ? 0 : PR_NJ_NOT_ALLOWED;
	}
	return 0;
}

uint64_t pr_netrules_k8s_refused(const struct pr_netrules *r, uint64_t mask, enum pr_net_op op,
				 uint8_t proto, uint8_t family, const uint8_t raddr[16],
				 uint16_t rport, uint16_t lport)
{
	uint32_t dir = op == PR_NOP_ACCEPT ? PR_NE_INGRESS :
		       op == PR_NOP_CONNECT || op == PR_NOP_SEND ? PR_NE_EGRESS : 0;
	uint64_t refused = 0;

	if (!r || !dir)
		return 0;
	for (unsigned i = 0; i < r->nexps && i < 64; i++) {
		uint32_t f = r->exps[i].flags;

		if (!((mask >> i) & 1) || !(f & PR_NE_K8S) || !(f & dir))
			continue;
		if (!pr_netrules_judge(r, i, op, proto, family, raddr, rport, lport))
			return 0;
		refused |= 1ull << i;
	}
	return refused;
}

/* ---- verdict texts ---- */

const char *pr_netrules_rule_name(enum pr_net_op op, int why)
{
	if (why == PR_NJ_DENIED)
		return table_names[PR_NT_EGRESS_DENY];
	if (why != PR_NJ_NOT_ALLOWED)
		return "network";
	switch (op) {
	case PR_NOP_CONNECT:
	case PR_NOP_SEND:
		return table_names[PR_NT_EGRESS];
	case PR_NOP_ACCEPT:
	case PR_NOP_LISTEN:
	case PR_NOP_BIND:
		return table_names[PR_NT_INGRESS];
	}
	return "network";
}

/* A bounded string: an append fits whole (keeping `reserve` bytes free)
 * or is not made. */
struct sb {
	char *buf;
	size_t len, o;
};

static int sb_put(struct sb *b, size_t reserve_bytes, const char *s)
{
	size_t n = strlen(s);

	if (b->o + n + reserve_bytes + 1 > b->len)
		return -1;
	memcpy(b->buf + b->o, s, n + 1);
	b->o += n;
	return 0;
}

/* Append s even if only part fits; the builder is full after a cut. */
static void sb_put_cut(struct sb *b, const char *s)
{
	size_t n;

	if (b->o + 1 >= b->len)
		return;
	n = (size_t)snprintf(b->buf + b->o, b->len - b->o, "%s", s);
	b->o = n < b->len - b->o ? b->o + n : b->len - 1;
}

/* "+3 more" after a list that was cut (sep before it unless first). */
static void sb_more(struct sb *b, size_t more, const char *sep)
{
	char t[48];

	snprintf(t, sizeof(t), "%s+%zu more", sep, more);
	sb_put_cut(b, t);
}

#define MORE_RESERVE 32                /* ",+4294967295 more" / " (N more rules)" */

static int port_match(const struct pr_net_rule *ru, uint8_t proto, uint16_t port)
{
	if (!ru->nports)
		return 1;
	for (size_t i = 0; i < ru->nports; i++)
		if (ru->ports[i].proto == proto && ru->ports[i].lo <= port &&
		    port <= ru->ports[i].hi)
			return 1;
	return 0;
}

static int rule_has_addr(const struct pr_net_rule *ru, uint8_t family, const uint8_t *addr)
{
	for (size_t i = 0; i < ru->nexcept; i++)
		if (addr_in(&ru->except[i], family, addr))
			return 0;
	if (!ru->nto)
		return 1;
	for (size_t i = 0; i < ru->nto; i++)
		if (addr_in(&ru->to[i], family, addr))
			return 1;
	return 0;
}

static void ports_text(struct sb *b, const struct pr_net_ports *v, size_t n)
{
	const char *proto;
	char t[32];

	for (size_t i = 0; i < n; i++) {
		proto = v[i].proto == IPPROTO_TCP ? "tcp" : v[i].proto == IPPROTO_UDP ? "udp"
			: v[i].proto == IPPROTO_SCTP ? "sctp" : "?";
		if (v[i].lo == v[i].hi)
			snprintf(t, sizeof(t), "%s%u/%s", i ? "," : "", v[i].lo, proto);
		else
			snprintf(t, sizeof(t), "%s%u-%u/%s", i ? "," : "", v[i].lo, v[i].hi, proto);
		if (sb_put(b, MORE_RESERVE, t)) {
			sb_more(b, n - i, i ? "," : "");
			return;
		}
	}
}

/* " except CIDR[,CIDR]", leaving a third of the room to the ports. */
static void except_text(struct sb *b, const struct pr_net_rule *ru, size_t len)
{
	char t[INET6_ADDRSTRLEN + 8];
	size_t i;

	if (sb_put(b, MORE_RESERVE + len / 3, " except"))
		return;
	for (i = 0; i < ru->nexcept; i++) {
		t[0] = i ? ',' : ' ';
		cidr_text(t + 1, sizeof(t) - 1, &ru->except[i]);
		if (sb_put(b, MORE_RESERVE + len / 3, t))
			break;
	}
	if (i < ru->nexcept)
		sb_more(b, ru->nexcept - i, i ? "," : " ");
}

/* "CIDR[,CIDR] PORT[,PORT]"; with only_addr, only the CIDRs holding it. */
static void rule_text(char *buf, size_t len, const struct pr_net_rule *ru,
		      uint8_t family, const uint8_t *only_addr)
{
	struct sb b = { buf, len, 0 };
	size_t shown = 0, left = 0;
	char t[INET6_ADDRSTRLEN + 8];

	buf[0] = '\0';
	if (!ru->nto)
		sb_put(&b, 0, "any");
	for (size_t i = 0; i < ru->nto; i++) {
		if (only_addr && !addr_in(&ru->to[i], family, only_addr))
			continue;
		if (left) {
			left++;
			continue;
		}
		cidr_text(t + 1, sizeof(t) - 1, &ru->to[i]);
		t[0] = ',';
		/* leave a third of the room to the ports */
		if (sb_put(&b, MORE_RESERVE + len / 3, shown ? t : t + 1))
			left++;
		else
			shown++;
	}
	if (left)
		sb_more(&b, left, shown ? "," : "");
	if (ru->nexcept)
		except_text(&b, ru, len);
	if (sb_put(&b, MORE_RESERVE, " "))
		return;
	if (!ru->nports)
		sb_put(&b, 0, "any");
	ports_text(&b, ru->ports, ru->nports);
}

/* The rules of list l, those matching the address first. */
static void rules_text(struct sb *b, const struct pr_net_rules *l, uint8_t family,
		       const uint8_t *raddr)
{
	char t[RULE_TEXT_MAX + 2];
	size_t shown = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < l->n; i++) {
			const struct pr_net_rule *ru = &l->v[i];

			if (rule_has_addr(ru, family, raddr) != (pass == 0))
				continue;
			memcpy(t, "; ", 2);
			rule_text(t + 2, sizeof(t) - 2, ru, family, NULL);
			if (sb_put(b, MORE_RESERVE, shown ? t : t + 2))
				goto cut;
			shown++;
		}
	}
	return;
cut:
	snprintf(t, sizeof(t), " (%zu more rule%s)", l->n - shown, l->n - shown == 1 ? "" : "s");
	sb_put_cut(b, t);
}

/* The deny rules that matched, with only their CIDRs that hold raddr. */
static void deny_text(struct sb *b, const struct pr_net_rules *l, uint8_t proto,
		      uint8_t family, const uint8_t *raddr, uint16_t rport)
{
	char t[RULE_TEXT_MAX + 2];
	size_t shown = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct pr_net_rule *ru = &l->v[i];

		if (!rule_has_addr(ru, family, raddr) || !port_match(ru, proto, rport))
			continue;
		memcpy(t, "; ", 2);
		rule_text(t + 2, sizeof(t) - 2, ru, family, ru->nto ? raddr : NULL);
		if (sb_put(b, MORE_RESERVE, shown ? t : t + 2)) {
			sb_put_cut(b, " (more rules)");
			return;
		}
		shown++;
	}
}

static void serve_text(struct sb *b, const struct pr_portset *s)
{
	struct pr_net_ports v[PR_NET_PORTS_MAX];
	size_t n = s->n < PR_NET_PORTS_MAX ? s->n : PR_NET_PORTS_MAX;

	if (sb_put(b, 0, "ports "))
		return;
	if (s->any) {
		sb_put(b, 0, "any");
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (struct pr_net_ports){ s->r[i].lo, s->r[i].hi, s->r[i].proto };
	ports_text(b, v, n);
}

void pr_netrules_expected(const struct pr_netrules *r, const struct pr_policy *p,
			  unsigned netidx, enum pr_net_op op, int why, uint8_t proto,
			  uint8_t family, const uint8_t raddr[16], uint16_t rport, uint16_t lport,
			  char *buf, size_t len)
{
	static const uint8_t zero[16];
	const struct pr_expectation *e;
	struct sb b = { buf, len, 0 };
	const char *name = pr_netrules_rule_name(op, why);
	const struct pr_net_rules *l;

	if (!buf || !len)
		return;
	buf[0] = '\0';
	if (!r || !p || netidx >= r->nexps || r->exp_of[netidx] >= p->n || !why)
		return;
	e = &p->exps[r->exp_of[netidx]];
	raddr = raddr ? raddr : zero;
	/* in a tiny buffer, the start of the rule name still says something */
	if (sb_put(&b, 0, name) || sb_put(&b, 0, ": ")) {
		sb_put_cut(&b, name);
		return;
	}
	if (why == PR_NJ_DENIED) {
		deny_text(&b, &e->egress_deny, proto, family, raddr, rport);
		return;
	}
	l = name == table_names[PR_NT_EGRESS] ? &e->egress : &e->ingress;
	if (!l->n)
		sb_put(&b, 0, "nothing allowed");
	else if ((op == PR_NOP_LISTEN || op == PR_NOP_BIND) &&
		 r->exps[netidx].serve < r->nportsets)
		serve_text(&b, &r->portsets[r->exps[netidx].serve]);
	else
		rules_text(&b, l, family, raddr);
}
