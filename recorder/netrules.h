/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The network section of a policy compiled into the contents of the
 * kernel's maps (net_exps, net_rules LPM trie, net_portsets; layouts in
 * probes/events.h, "network") and a user-space judge with exactly the
 * semantics the BPF side implements: pr_netrules_judge is the reference.
 */
#ifndef POLREC_NETRULES_H
#define POLREC_NETRULES_H

#include <stddef.h>
#include <stdint.h>

#include "probes/events.h"
#include "recorder/policy.h"

struct pr_netrules_index;

struct pr_netrules {
	size_t nexps;                         /* network indexes used, <= PR_NET_EXPS_MAX */
	size_t exp_of[PR_NET_EXPS_MAX];       /* network index -> index in policy->exps */
	int *netidx;                          /* [policy->n]: exps index -> network index or -1 */
	struct pr_net_exp exps[PR_NET_EXPS_MAX]; /* flags, serve portset, snaplen, follow_ns */
	struct pr_net_key *keys;              /* LPM entries for the kernel's net_rules map */
	struct pr_net_val *vals;
	size_t nentries;
	struct pr_portset *portsets;          /* the kernel's net_portsets array, deduplicated */
	size_t nportsets;
	struct pr_netrules_index *idx;        /* private: the user-space lookup */
};

/* Compile the network sections of p. On error returns -1 with one line in
 * err ("FILE:LINE:COL: expectation \"NAME\": ..."); *out is NULL then. */
int pr_netrules_compile(const struct pr_policy *p, struct pr_netrules **out, char *err,
			size_t errlen);
void pr_netrules_free(struct pr_netrules *r);

/* 1 if the set has (proto, port): s->any, or a range of proto holds port. */
int pr_portset_has(const struct pr_portset *s, uint8_t proto, uint16_t port);

/* Longest-prefix match as the kernel's LPM trie does it; NULL when no entry
 * (or when an argument is out of range). family is 4 or 6; an IPv4 address
 * is in addr[0..3]. Cost: one hash probe per prefix length present in the
 * (expectation, table, family), never a walk of the rules. */
const struct pr_portset *pr_netrules_lookup(const struct pr_netrules *r, unsigned netidx,
					    enum pr_net_table t, uint8_t family,
					    const uint8_t addr[16]);

/* Judge one connection against network index netidx:
 * - CONNECT, SEND (egress): with PR_NE_DENY, a hit of (proto, rport) in
 *   lookup(EGRESS_DENY, raddr) is PR_NJ_DENIED; else with PR_NE_EGRESS a
 *   miss in lookup(EGRESS, raddr) is PR_NJ_NOT_ALLOWED.
 * - ACCEPT: with PR_NE_INGRESS, a miss of (proto, lport) in
 *   lookup(INGRESS, raddr = the peer) is PR_NJ_NOT_ALLOWED.
 * - LISTEN, and BIND of a UDP socket (a TCP bind alone is a client
 *   choosing its port): with PR_NE_INGRESS, a miss of (proto, lport) in
 *   the serve set is PR_NJ_NOT_ALLOWED.
 * Otherwise (and for an unknown op or index) 0. */
enum { PR_NJ_NOT_ALLOWED = 1, PR_NJ_DENIED = 2 };
int pr_netrules_judge(const struct pr_netrules *r, unsigned netidx, enum pr_net_op op,
		      uint8_t proto, uint8_t family, const uint8_t raddr[16], uint16_t rport,
		      uint16_t lport);

/* NetworkPolicies (PR_NE_K8S) are additive, as in Kubernetes: of the
 * network indexes in mask, those that are NetworkPolicies selecting the
 * process for the direction of op (egress: connect, send; ingress:
 * accept) are judged together. Returns their mask when every one of them
 * refuses the traffic, 0 when one allows it (or none applies). Listen and
 * bind are never judged for them. pr_netrules_judge still answers for one
 * index alone; the kernel applies the same union (net_decide). */
uint64_t pr_netrules_k8s_refused(const struct pr_netrules *r, uint64_t mask, enum pr_net_op op,
				 uint8_t proto, uint8_t family, const uint8_t raddr[16],
				 uint16_t rport, uint16_t lport);

/* The rule an incident names: "network.egress", "network.ingress" or
 * "network.egressDeny" ("network" for anything else). The op is needed: a
 * NOT_ALLOWED verdict is egress or ingress depending on it. */
const char *pr_netrules_rule_name(enum pr_net_op op, int why);

/* What was expected, for the incident, in buf (always NUL-terminated when
 * len > 0, cut with "(N more rules)" when the rules do not fit):
 * - egress/ingress not allowed: the rules of that list, those whose CIDR
 *   holds the address first, each "CIDR[,CIDR] PORT[,PORT]" ("any" for a
 *   missing list), "; " between rules, e.g.
 *   "network.egress: 127.0.0.1/32 5432/tcp,8000-8100/tcp; ::1/128 any (3 more rules)";
 *   "network.egress: nothing allowed" for `egress: []`;
 * - listen/bind not allowed: "network.ingress: ports 80/tcp,443/tcp";
 * - denied: the deny rules that matched, with only their matching CIDRs:
 *   "network.egressDeny: 127.66.0.0/16 4444/tcp". */
void pr_netrules_expected(const struct pr_netrules *r, const struct pr_policy *p,
			  unsigned netidx, enum pr_net_op op, int why, uint8_t proto,
			  uint8_t family, const uint8_t raddr[16], uint16_t rport, uint16_t lport,
			  char *buf, size_t len);

#endif /* POLREC_NETRULES_H */
