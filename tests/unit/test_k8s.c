// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Kubernetes NetworkPolicy documents: the model the parser builds, its
 * errors (file:line:column), the compiled rules (ipBlock except, endPort)
 * and the additive judging of several NetworkPolicies. */
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

#include "recorder/netrules.h"
#include "recorder/policy.h"

#define NP "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
#define UID "6f1c2a9e-0d4b-4c57-9e1f-3b2a8c7d5e40"
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define NA PR_NJ_NOT_ALLOWED

static struct pr_policy *parse_ok(const char *yaml)
{
	struct pr_policy *p = NULL;
	char err[512];

	if (pr_policy_parse(yaml, strlen(yaml), "np.yaml", &p, err, sizeof(err))) {
		print_error("unexpected error: %s\n", err);
		fail();
	}
	assert_non_null(p);
	return p;
}

static void parse_err(const char *yaml, const char *want)
{
	struct pr_policy *p = (struct pr_policy *)1;
	char err[512];

	assert_int_equal(pr_policy_parse(yaml, strlen(yaml), "np.yaml", &p, err, sizeof(err)), -1);
	assert_null(p);
	assert_string_equal(err, want);
}

static void cidr_is(const struct pr_net_cidr *c, const char *text, unsigned prefix)
{
	char a[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(c->family, c->addr, a, sizeof(a)));
	assert_string_equal(a, text);
	assert_int_equal(c->prefix, prefix);
}

static void ports_are(const struct pr_net_ports *p, unsigned lo, unsigned hi, unsigned proto)
{
	assert_int_equal(p->lo, lo);
	assert_int_equal(p->hi, hi);
	assert_int_equal(p->proto, proto);
}

/* What `kubectl get networkpolicy -o yaml` prints, plus our annotations. */
static const char full[] =
	NP
	"metadata:\n"
	"  name: web-egress\n"
	"  namespace: shop\n"
	"  uid: 0b7d6a3c-1111-2222-3333-444455556666\n"
	"  resourceVersion: \"12345\"\n"
	"  generation: 2\n"
	"  creationTimestamp: \"2026-11-26T09:00:00Z\"\n"
	"  labels: {app: web}\n"
	"  annotations:\n"
	"    kubectl.kubernetes.io/last-applied-configuration: |\n"
	"      {\"apiVersion\":\"networking.k8s.io/v1\"}\n"
	"    polrec.dev/cgroup: \"/kubepods.slice/a/**, /system.slice/web.service\"\n"
	"    polrec.dev/severity: high\n"
	"    polrec.dev/follow: 10s\n"
	"    polrec.dev/snaplen: \"512\"\n"
	"  managedFields:\n"
	"  - manager: kubectl\n"
	"    fieldsV1: {f:spec: {f:podSelector: {}}}\n"
	"spec:\n"
	"  podSelector:\n"
	"    matchLabels: {app: web}\n"
	"  policyTypes: [Ingress, Egress]\n"
	"  ingress:\n"
	"  - from:\n"
	"    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.0/24]}\n"
	"    - ipBlock: {cidr: \"fd00::/8\"}\n"
	"    ports:\n"
	"    - port: 443\n"
	"    - {protocol: UDP, port: 53}\n"
	"  egress:\n"
	"  - to:\n"
	"    - ipBlock:\n"
	"        cidr: 127.0.0.0/8\n"
	"        except:\n"
	"        - 127.0.0.66/32\n"
	"    ports:\n"
	"    - {protocol: TCP, port: 1000, endPort: 2000}\n"
	"    - {protocol: UDP}\n"
	"    - {protocol: SCTP, port: 9}\n"
	"  - {}\n"
	"status: {}\n";

static void test_full_document(void **state)
{
	struct pr_policy *p = parse_ok(full);
	const struct pr_expectation *e = &p->exps[0];
	const struct pr_net_rule *r;

	(void)state;
	assert_int_equal(p->n, 1);
	assert_string_equal(e->name, "NetworkPolicy/shop/web-egress");
	assert_string_equal(e->k8s_ref, "shop/web-egress");
	assert_true(e->k8s);
	assert_int_equal(e->severity, PR_SEV_HIGH);
	assert_int_equal(e->follow_ns, 10ull * 1000000000ull);
	assert_int_equal(e->snaplen, 512);
	assert_int_equal(e->line, 1);
	/* the subject: the annotation's globs */
	assert_int_equal(e->nsubjects, 1);
	assert_int_equal(e->subjects[0].cgroup.n, 2);
	assert_string_equal(e->subjects[0].cgroup.v[0], "/kubepods.slice/a/**");
	assert_string_equal(e->subjects[0].cgroup.v[1], "/system.slice/web.service");
	assert_int_equal(e->subjects[0].line, 14);
	assert_int_equal(e->subjects[0].col, 5);
	assert_true(e->has_network && e->has_ingress && e->has_egress);
	assert_false(e->has_egress_deny);
	/* one rule per peer, sharing the ports */
	assert_int_equal(e->ingress.n, 2);
	r = &e->ingress.v[0];
	assert_int_equal(r->nto, 1);
	cidr_is(&r->to[0], "10.0.0.0", 8);
	assert_int_equal(r->nexcept, 2);
	cidr_is(&r->except[0], "10.1.0.0", 16);
	cidr_is(&r->except[1], "10.2.3.0", 24);
	assert_int_equal(r->nports, 2);
	ports_are(&r->ports[0], 443, 443, TCP); /* protocol defaults to TCP */
	ports_are(&r->ports[1], 53, 53, UDP);
	assert_int_equal(r->line, 27);
	assert_int_equal(r->col, 23);
	r = &e->ingress.v[1];
	cidr_is(&r->to[0], "fd00::", 8);
	assert_int_equal(r->nexcept, 0);
	assert_int_equal(r->nports, 2);
	assert_int_equal(e->egress.n, 2);
	r = &e->egress.v[0];
	cidr_is(&r->to[0], "127.0.0.0", 8);
	assert_int_equal(r->nexcept, 1);
	cidr_is(&r->except[0], "127.0.0.66", 32);
	assert_int_equal(r->nports, 3);
	ports_are(&r->ports[0], 1000, 2000, TCP);
	ports_are(&r->ports[1], 1, 65535, UDP);  /* no port: all of the protocol */
	ports_are(&r->ports[2], 9, 9, IPPROTO_SCTP);
	/* `- {}`: any peer, any port */
	r = &e->egress.v[1];
	assert_int_equal(r->nto, 0);
	assert_int_equal(r->nports, 0);
	assert_int_equal(r->line, 42);
	assert_int_equal(r->col, 5);
	pr_policy_free(p);
}

static const char *netpol(char *buf, size_t len, const char *name, const char *ann,
			  const char *spec)
{
	snprintf(buf, len, NP "metadata:\n  name: %s\n  annotations: {%s}\nspec:\n%s", name, ann,
		 spec);
	return buf;
}

static void test_policy_types(void **state)
{
	const char *cg = "polrec.dev/cgroup: /t";
	struct pr_policy *p;
	char y[1024];

	(void)state;
	/* no policyTypes, no egress: Ingress only, and no rule = deny all */
	p = parse_ok(netpol(y, sizeof(y), "a", cg, "  podSelector: {}\n"));
	assert_true(p->exps[0].has_ingress);
	assert_int_equal(p->exps[0].ingress.n, 0);
	assert_false(p->exps[0].has_egress);
	assert_string_equal(p->exps[0].name, "NetworkPolicy/default/a");
	pr_policy_free(p);
	/* an egress rule adds Egress */
	p = parse_ok(netpol(y, sizeof(y), "a", cg, "  egress: [{}]\n"));
	assert_true(p->exps[0].has_ingress && p->exps[0].has_egress);
	assert_int_equal(p->exps[0].egress.n, 1);
	pr_policy_free(p);
	/* an empty egress list does not (Kubernetes looks at its rules) */
	p = parse_ok(netpol(y, sizeof(y), "a", cg, "  egress: []\n"));
	assert_false(p->exps[0].has_egress);
	pr_policy_free(p);
	/* a direction outside policyTypes: its rules are ignored */
	p = parse_ok(netpol(y, sizeof(y), "a", cg,
			    "  policyTypes: [Egress]\n  ingress: [{}]\n  egress: [{}]\n"));
	assert_false(p->exps[0].has_ingress);
	assert_int_equal(p->exps[0].ingress.n, 0);
	assert_true(p->exps[0].has_egress);
	pr_policy_free(p);
	/* listed without rules: deny all that way */
	p = parse_ok(netpol(y, sizeof(y), "a", cg, "  policyTypes: [Ingress, Egress]\n"));
	assert_true(p->exps[0].has_ingress && p->exps[0].has_egress);
	assert_int_equal(p->exps[0].ingress.n + p->exps[0].egress.n, 0);
	pr_policy_free(p);
	/* null lists read as absent, as Kubernetes reads them */
	p = parse_ok(netpol(y, sizeof(y), "a", cg, "  ingress:\n  - from:\n    ports:\n"));
	assert_int_equal(p->exps[0].ingress.n, 1);
	assert_int_equal(p->exps[0].ingress.v[0].nto + p->exps[0].ingress.v[0].nports, 0);
	pr_policy_free(p);
}

static void test_pod_uid(void **state)
{
	static const char *const in[] = {
		"/kubepods/burstable/pod" UID,
		"/kubepods/burstable/pod" UID "/0123abcd",
		"/kubepods/pod" UID "/0123abcd",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		"6f1c2a9e_0d4b_4c57_9e1f_3b2a8c7d5e40.slice",
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		"6f1c2a9e_0d4b_4c57_9e1f_3b2a8c7d5e40.slice/cri-containerd-0123.scope",
		"/kubepods.slice/kubepods-pod6f1c2a9e_0d4b_4c57_9e1f_3b2a8c7d5e40.slice/x.scope",
	};
	static const char *const out[] = {
		"/kubepods/burstable/pod6f1c2a9e-0d4b-4c57-9e1f-3b2a8c7d5e41",
		"/kubepods/burstable/pod" UID "x",
		"/system.slice/pod" UID ".service",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		"6f1c2a9e_0d4b_4c57_9e1f_3b2a8c7d5e41.slice",
		"/",
	};
	struct pr_proc_view v = { .exe = "/usr/bin/x", .uid = 0 };
	struct pr_subject_ctx ctx = { 0 };
	struct pr_policy *p;
	char y[1024];

	(void)state;
	/* upper case is accepted and matched in the kubelet's lower case */
	p = parse_ok(netpol(y, sizeof(y), "a",
			    "polrec.dev/pod-uid: 6F1C2A9E-0D4B-4C57-9E1F-3B2A8C7D5E40", ""));
	assert_int_equal(p->exps[0].subjects[0].cgroup.n, 2);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		v.cgroup = in[i];
		ctx.self = v;
		if (!pr_expectation_applies(&p->exps[0], &ctx)) {
			print_error("%s should be the pod's\n", in[i]);
			fail();
		}
	}
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		v.cgroup = out[i];
		ctx.self = v;
		if (pr_expectation_applies(&p->exps[0], &ctx)) {
			print_error("%s should not be the pod's\n", out[i]);
			fail();
		}
	}
	pr_policy_free(p);
}

static void test_mixed_with_expectations(void **state)
{
	static const char y[] =
		"apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata: {name: e}\n"
		"spec: {subjects: [{all: true}], network: {egress: [{to: 10.0.0.0/8, except: 10.9.0.0/16}]}}\n"
		"---\n"
		/* keys in any order: kind and apiVersion last */
		"metadata: {name: a, namespace: ns, annotations: {polrec.dev/cgroup: /t}}\n"
		"spec: {egress: [{}]}\n"
		"kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
		"---\n"
		NP "metadata: {name: a, namespace: other, annotations: {polrec.dev/cgroup: /t}}\n";
	struct pr_policy *p = parse_ok(y);

	(void)state;
	assert_int_equal(p->n, 3);
	assert_string_equal(p->exps[0].name, "e");
	assert_false(p->exps[0].k8s);
	assert_int_equal(p->exps[0].egress.v[0].nexcept, 1);
	assert_string_equal(p->exps[1].name, "NetworkPolicy/ns/a");
	assert_true(p->exps[1].k8s);
	assert_int_equal(p->exps[1].line, 6);
	assert_string_equal(p->exps[2].name, "NetworkPolicy/other/a");
	pr_policy_free(p);
}

static void test_errors(void **state)
{
	const char *cg = "polrec.dev/cgroup: /t";
	char y[1024];

	(void)state;
	parse_err(NP "metadata:\n  name: a\nspec:\n  podSelector: {matchLabels: {app: web}}\n",
		  "np.yaml:4:3: a NetworkPolicy needs the annotation polrec.dev/cgroup or polrec.dev/pod-uid: polrec cannot evaluate podSelector (the subject is the processes of a cgroup or of a pod)");
	parse_err(netpol(y, sizeof(y), "a", cg,
			 "  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: db}}\n"),
		  "np.yaml:9:7: \"podSelector\" peers cannot be evaluated by polrec: the host does not know pods' or namespaces' labels (use ipBlock with the peers' CIDRs instead)");
	parse_err(netpol(y, sizeof(y), "a", cg,
			 "  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      namespaceSelector: {}\n"),
		  "np.yaml:10:7: \"namespaceSelector\" peers cannot be evaluated by polrec: the host does not know pods' or namespaces' labels (use ipBlock with the peers' CIDRs instead)");
	parse_err(netpol(y, sizeof(y), "a", cg, "  egress:\n  - ports:\n    - port: http\n"),
		  "np.yaml:9:13: named port \"http\" cannot be resolved on the host: polrec does not see the pod's container ports (give the port number)");
	parse_err(netpol(y, sizeof(y), "a", cg, "  egress:\n  - ports:\n    - port: 70000\n"),
		  "np.yaml:9:13: port \"70000\" out of range (expected 1 to 65535)");
	parse_err(netpol(y, sizeof(y), "a", cg,
			 "  egress:\n  - ports:\n    - {protocol: TCP, endPort: 2000}\n"),
		  "np.yaml:9:23: endPort needs port (the first port of the range)");
	parse_err(netpol(y, sizeof(y), "a", cg,
			 "  egress:\n  - ports:\n    - {port: 3000, endPort: 2000}\n"),
		  "np.yaml:9:20: endPort 2000 is below port 3000");
	parse_err(netpol(y, sizeof(y), "a", cg,
			 "  egress:\n  - ports:\n    - {protocol: ICMP}\n"),
		  "np.yaml:9:18: unknown protocol \"ICMP\" (expected TCP, UDP or SCTP)");
	parse_err(netpol(y, sizeof(y), "a", cg,
			 "  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}\n"),
		  "np.yaml:9:44: except is not strictly inside the ipBlock's cidr 10.0.0.0/8 (Kubernetes requires a strict subset)");
	parse_err(netpol(y, sizeof(y), "a", cg,
			 "  egress:\n  - to:\n    - ipBlock: {except: [10.1.0.0/16]}\n"),
		  "np.yaml:9:16: missing key \"cidr\" in ipBlock");
	parse_err(netpol(y, sizeof(y), "a", cg, "  egress:\n  - to:\n    - {}\n"),
		  "np.yaml:9:7: empty peer (expected ipBlock)");
	parse_err(netpol(y, sizeof(y), "a", cg, "  policyTypes: [Ingress, egress]\n"),
		  "np.yaml:7:26: unknown policy type \"egress\" (expected Ingress or Egress)");
	parse_err(netpol(y, sizeof(y), "a", "polrec.dev/cgroups: /t", ""),
		  "np.yaml:5:17: unknown annotation \"polrec.dev/cgroups\" (expected polrec.dev/cgroup, polrec.dev/pod-uid, polrec.dev/severity, polrec.dev/follow or polrec.dev/snaplen)");
	parse_err(netpol(y, sizeof(y), "a", "polrec.dev/pod-uid: 1234", ""),
		  "np.yaml:5:37: invalid pod UID \"1234\" in polrec.dev/pod-uid (expected the pod's metadata.uid, e.g. \"6f1c2a9e-0d4b-4c57-9e1f-3b2a8c7d5e40\")");
	parse_err(netpol(y, sizeof(y), "a", "polrec.dev/cgroup: ' , '", ""),
		  "np.yaml:5:36: polrec.dev/cgroup lists no cgroup (expected cgroup v2 path globs separated by commas or newlines)");
	parse_err(netpol(y, sizeof(y), "a", "polrec.dev/cgroup: 'x/y'", ""),
		  "np.yaml:5:36: invalid cgroup pattern \"x/y\" in polrec.dev/cgroup: pattern must be absolute (start with '/' or '**') (expected cgroup v2 paths as on the host, e.g. \"/kubepods.slice/**\")");
	parse_err(netpol(y, sizeof(y), "a", "polrec.dev/cgroup: /t, polrec.dev/severity: dire", ""),
		  "np.yaml:5:61: unknown severity \"dire\" in polrec.dev/severity (expected low, medium, high or critical)");
	parse_err(netpol(y, sizeof(y), "Web", cg, ""),
		  "np.yaml:4:9: invalid NetworkPolicy name \"Web\" (expected a DNS subdomain: 1 to 253 lower-case letters, digits, '-' or '.')");
	parse_err("apiVersion: polrec.dev/v1\nkind: NetworkPolicy\nmetadata: {name: a}\n",
		  "np.yaml:1:13: unsupported apiVersion \"polrec.dev/v1\" (expected networking.k8s.io/v1)");
	parse_err("kind: NetworkPolicy\nmetadata: {name: a}\n",
		  "np.yaml:1:1: missing key \"apiVersion\" in the NetworkPolicy (expected apiVersion, kind, metadata and spec)");
	parse_err(NP "metadata: {name: a, annotations: {polrec.dev/cgroup: /t}}\n---\n"
		  NP "metadata: {name: a, annotations: {polrec.dev/cgroup: /u}}\n",
		  "np.yaml:7:18: duplicate NetworkPolicy default/a (already defined by the document at line 1)");
	parse_err(netpol(y, sizeof(y), "a", cg, "  egres: []\n"),
		  "np.yaml:7:3: unknown key \"egres\" in spec (expected podSelector, policyTypes, ingress or egress)");
}

/* ---- compiled ---- */

static int judge(const struct pr_netrules *r, unsigned i, enum pr_net_op op, uint8_t proto,
		 const char *addr, uint16_t rport, uint16_t lport)
{
	uint8_t a[16] = { 0 };

	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	return pr_netrules_judge(r, i, op, proto, 4, a, rport, lport);
}

static uint64_t refused(const struct pr_netrules *r, uint64_t mask, enum pr_net_op op,
			uint8_t proto, const char *addr, uint16_t rport, uint16_t lport)
{
	uint8_t a[16] = { 0 };

	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	return pr_netrules_k8s_refused(r, mask, op, proto, 4, a, rport, lport);
}

static void compile(const char *yaml, struct pr_policy **p, struct pr_netrules **r)
{
	char err[512];

	*p = parse_ok(yaml);
	if (pr_netrules_compile(*p, r, err, sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
}

static void test_except_and_end_port(void **state)
{
	struct pr_policy *p;
	struct pr_netrules *r;
	char text[512];
	uint8_t a[16] = { 127, 0, 0, 66 };

	(void)state;
	compile(NP "metadata: {name: t, annotations: {polrec.dev/cgroup: /t}}\n"
		"spec:\n  egress:\n  - to: [{ipBlock: {cidr: 127.0.0.0/8, except: [127.0.0.66/32, 127.1.0.0/16]}}]\n"
		"    ports: [{port: 1000, endPort: 2000}]\n"
		"  - to: [{ipBlock: {cidr: 127.1.2.0/24}}]\n    ports: [{port: 7}]\n"
		"  ingress:\n  - ports: [{port: 80}]\n",
		&p, &r);
	assert_int_equal(r->exps[0].flags, PR_NE_EGRESS | PR_NE_INGRESS | PR_NE_K8S);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.0.0.1", 1000, 0), 0);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.0.0.1", 2000, 0), 0);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.0.0.1", 2001, 0), NA);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.0.0.1", 999, 0), NA);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, UDP, "127.0.0.1", 1500, 0), NA);
	/* in an except: not this rule's */
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.0.0.66", 1500, 0), NA);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.0.0.67", 1500, 0), 0);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.1.9.9", 1500, 0), NA);
	/* inside the except, another rule's CIDR still allows its port */
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.1.2.3", 7, 0), 0);
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.1.2.3", 1500, 0), NA);
	/* ingress: accept judged, listen and bind never for a NetworkPolicy */
	assert_int_equal(judge(r, 0, PR_NOP_ACCEPT, TCP, "10.0.0.1", 5555, 80), 0);
	assert_int_equal(judge(r, 0, PR_NOP_ACCEPT, TCP, "10.0.0.1", 5555, 81), NA);
	assert_int_equal(judge(r, 0, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 81), 0);
	assert_int_equal(judge(r, 0, PR_NOP_BIND, UDP, "0.0.0.0", 0, 81), 0);
	pr_netrules_expected(r, p, 0, PR_NOP_CONNECT, NA, TCP, 4, a, 1500, 40000, text,
			     sizeof(text));
	assert_string_equal(text,
			    "network.egress: 127.0.0.0/8 except 127.0.0.66/32,127.1.0.0/16 1000-2000/tcp; 127.1.2.0/24 7/tcp");
	pr_netrules_free(r);
	pr_policy_free(p);
}

/* Policies selecting the same process add up: traffic breaks them only
 * when none of those for its direction allows it. */
static void test_additive(void **state)
{
	static const char y[] =
		NP "metadata: {name: a, annotations: {polrec.dev/cgroup: /t}}\n"
		"spec: {egress: [{to: [{ipBlock: {cidr: 127.0.0.0/24}}], ports: [{port: 80}]}]}\n"
		"---\n"
		NP "metadata: {name: b, annotations: {polrec.dev/cgroup: /t}}\n"
		"spec: {egress: [{to: [{ipBlock: {cidr: 127.0.1.0/24}}], ports: [{port: 81}]}]}\n"
		"---\n"
		NP "metadata: {name: c, annotations: {polrec.dev/cgroup: /t}}\n"
		"spec: {ingress: [{ports: [{port: 22}]}]}\n"
		"---\n"
		"apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata: {name: e}\n"
		"spec: {subjects: [{all: true}], network: {egress: [{to: 127.0.0.0/24}]}}\n";
	struct pr_policy *p;
	struct pr_netrules *r;

	(void)state;
	compile(y, &p, &r);
	assert_int_equal(r->nexps, 4);
	/* each alone refuses what the other allows */
	assert_int_equal(judge(r, 0, PR_NOP_CONNECT, TCP, "127.0.1.1", 81, 0), NA);
	assert_int_equal(judge(r, 1, PR_NOP_CONNECT, TCP, "127.0.0.1", 80, 0), NA);
	/* together: allowed if one allows */
	assert_int_equal(refused(r, 0xf, PR_NOP_CONNECT, TCP, "127.0.1.1", 81, 0), 0);
	assert_int_equal(refused(r, 0xf, PR_NOP_CONNECT, TCP, "127.0.0.1", 80, 0), 0);
	/* none allows: both egress ones (c has no Egress, e is no NetworkPolicy) */
	assert_int_equal(refused(r, 0xf, PR_NOP_CONNECT, TCP, "127.0.2.1", 80, 0), 0x3);
	assert_int_equal(refused(r, 0xf, PR_NOP_SEND, UDP, "127.0.0.1", 80, 0), 0x3);
	/* only those selecting the process count */
	assert_int_equal(refused(r, 0x2, PR_NOP_CONNECT, TCP, "127.0.0.1", 80, 0), 0x2);
	assert_int_equal(refused(r, 0x8, PR_NOP_CONNECT, TCP, "127.0.2.1", 80, 0), 0);
	/* ingress: a and b are Ingress policies too (Kubernetes' default)
	 * that allow nothing; c allows port 22 */
	assert_int_equal(refused(r, 0xf, PR_NOP_ACCEPT, TCP, "127.0.0.1", 5000, 23), 0x7);
	assert_int_equal(refused(r, 0x3, PR_NOP_ACCEPT, TCP, "127.0.0.1", 5000, 22), 0x3);
	assert_int_equal(refused(r, 0xf, PR_NOP_ACCEPT, TCP, "127.0.0.1", 5000, 22), 0);
	assert_int_equal(refused(r, 0xf, PR_NOP_LISTEN, TCP, "0.0.0.0", 0, 23), 0);
	pr_netrules_free(r);
	pr_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_document),
		cmocka_unit_test(test_policy_types),
		cmocka_unit_test(test_pod_uid),
		cmocka_unit_test(test_mixed_with_expectations),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_except_and_end_port),
		cmocka_unit_test(test_additive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
