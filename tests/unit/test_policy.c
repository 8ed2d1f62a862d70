// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The policy parser: the model it builds and the errors it gives. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "recorder/policy.h"

#define HDR "apiVersion: polrec.dev/v1\nkind: Expectation\n"

static struct pr_policy *parse_ok(const char *yaml)
{
	struct pr_policy *p = NULL;
	char err[512];

	if (pr_policy_parse(yaml, strlen(yaml), "p.yaml", &p, err, sizeof(err))) {
		print_error("unexpected error: %s\n", err);
		fail();
	}
	assert_non_null(p);
	return p;
}

static void parse_err_len(const char *yaml, size_t len, const char *want)
{
	struct pr_policy *p = (struct pr_policy *)1;
	char err[512];

	assert_int_equal(pr_policy_parse(yaml, len, "p.yaml", &p, err, sizeof(err)), -1);
	assert_null(p);
	assert_string_equal(err, want);
}

static void parse_err(const char *yaml, const char *want)
{
	parse_err_len(yaml, strlen(yaml), want);
}

static char *data_path(const char *name)
{
	const char *dir = getenv("POLREC_TEST_DATA");
	char *path;

	assert_non_null(dir);
	assert_true(asprintf(&path, "%s/policy/%s", dir, name) > 0);
	return path;
}

/* ---- the model ---- */

static void test_design_example(void **state)
{
	char *path = data_path("web.yaml");
	struct pr_policy *p = NULL;
	const struct pr_expectation *e;
	char err[512];

	assert_int_equal(pr_policy_load_file(path, &p, err, sizeof(err)), 0);
	assert_string_equal(p->source_name, path);
	assert_int_equal(p->n, 2);
	e = &p->exps[0];
	assert_string_equal(e->name, "web-tier");
	assert_int_equal(e->severity, PR_SEV_HIGH);
	assert_int_equal(e->line, 2);           /* the document's mapping */
	assert_int_equal(e->col, 1);
	assert_int_equal(e->nsubjects, 2);
	assert_int_equal(e->subjects[0].exe.n, 2);
	assert_string_equal(e->subjects[0].exe.v[1], "/opt/app/bin/*");
	assert_int_equal(e->subjects[0].nuids, 1);
	assert_int_equal(e->subjects[0].uids[0], 33);
	assert_string_equal(e->subjects[0].cgroup.v[0], "/system.slice/nginx.service");
	assert_null(e->subjects[0].descendants_of);
	assert_int_equal(e->subjects[0].line, 9);
	assert_int_equal(e->subjects[0].col, 7);
	assert_non_null(e->subjects[1].descendants_of);
	assert_string_equal(e->subjects[1].descendants_of->exe.v[0], "/usr/sbin/sshd");
	assert_int_equal(e->nexcept, 1);
	assert_string_equal(e->except[0].exe.v[0], "/usr/bin/dpkg");
	assert_true(e->has_exec_allow);
	assert_string_equal(e->exec_allow.v[0], "/usr/bin/gzip");
	assert_int_equal(e->exec_deny.n, 2);
	assert_true(e->has_write_allow);
	assert_string_equal(e->write_allow.v[0], "/var/log/nginx/**");
	assert_string_equal(e->protect.v[0], "/etc/**");
	assert_true(e->has_network);
	assert_int_equal(e->egress.n, 1);
	assert_int_equal(e->egress.v[0].nto, 2);
	assert_int_equal(e->egress.v[0].to[0].family, AF_INET);
	assert_int_equal(e->egress.v[0].to[0].prefix, 32);
	assert_int_equal(e->egress.v[0].to[1].family, AF_INET6);
	assert_int_equal(e->egress.v[0].to[1].addr[15], 1);
	assert_int_equal(e->egress.v[0].nports, 3);
	assert_int_equal(e->egress.v[0].ports[1].lo, 8000);
	assert_int_equal(e->egress.v[0].ports[1].hi, 8100);
	assert_int_equal(e->egress.v[0].ports[2].proto, IPPROTO_UDP);
	assert_int_equal(e->ingress.v[0].nto, 0);
	assert_int_equal(e->ingress.v[0].ports[1].lo, 443);
	assert_int_equal(e->egress_deny.v[0].to[0].prefix, 16);
	assert_true(e->has_egress);
	assert_true(e->has_ingress);
	assert_true(e->has_egress_deny);
	assert_int_equal(e->snaplen, 256);
	assert_int_equal(e->follow_ns, 30000000000ull);

	/* defaults, and a scalar taken as a one-element list */
	e = &p->exps[1];
	assert_string_equal(e->name, "no-tmp-exec");
	assert_int_equal(e->severity, PR_SEV_MEDIUM);
	assert_true(e->subjects[0].all);
	assert_int_equal(e->exec_deny.n, 1);
	assert_string_equal(e->exec_deny.v[0], "/tmp/**");
	assert_false(e->has_exec_allow);
	assert_false(e->has_write_allow);
	assert_false(e->has_network);
	assert_false(e->has_egress);
	assert_false(e->has_ingress);
	assert_false(e->has_egress_deny);
	assert_int_equal(e->snaplen, PR_POLICY_DEFAULT_SNAPLEN);
	assert_int_equal(e->follow_ns, PR_POLICY_DEFAULT_FOLLOW_NS);
	pr_policy_free(p);
	free(path);
}

static void test_values(void **state)
{
	struct pr_policy *p = parse_ok(
		"---\n"
		"---\n" HDR
		"metadata: {name: a.b_c-1}\n"
		"spec:\n"
		"  severity: critical\n"
		"  subjects:\n"
		"    - uid: 0\n"
		"      exe: /usr/bin/*\n"
		"    - {uid: [4294967294, 1000], cgroup: '/user.slice/**'}\n"
		"    - descendantsOf: {descendantsOf: {exe: ['**/sshd']}}\n"
		"  except: []\n"
		"  exec: {allow: []}\n"
		"  files: {writeAllow: [], protect: ['/etc/[!.]*']}\n"
		"  record: {snaplen: 4096, follow: 500ms}\n"
		"...\n");
	const struct pr_expectation *e = &p->exps[0];

	assert_int_equal(p->n, 1);
	assert_string_equal(e->name, "a.b_c-1");
	assert_int_equal(e->severity, PR_SEV_CRITICAL);
	assert_int_equal(e->line, 3);
	assert_int_equal(e->nsubjects, 3);
	assert_int_equal(e->subjects[0].uids[0], 0);
	assert_string_equal(e->subjects[0].exe.v[0], "/usr/bin/*");
	assert_int_equal(e->subjects[1].nuids, 2);
	assert_int_equal(e->subjects[1].uids[0], 4294967294u);
	assert_string_equal(e->subjects[1].cgroup.v[0], "/user.slice/**");
	assert_string_equal(e->subjects[2].descendants_of->descendants_of->exe.v[0], "**/sshd");
	assert_int_equal(e->nexcept, 0);
	assert_true(e->has_exec_allow);
	assert_int_equal(e->exec_allow.n, 0);
	assert_true(e->has_write_allow);
	assert_int_equal(e->write_allow.n, 0);
	assert_int_equal(e->snaplen, 4096);
	assert_int_equal(e->follow_ns, 500000000ull);
	pr_policy_free(p);

	p = parse_ok(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {follow: 1h}}\n");
	assert_int_equal(p->exps[0].follow_ns, 3600000000000ull);
	pr_policy_free(p);
	p = parse_ok(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {follow: 2m}}\n");
	assert_int_equal(p->exps[0].follow_ns, 120000000000ull);
	pr_policy_free(p);
}

static void test_severity_names(void **state)
{
	enum pr_severity s;

	assert_string_equal(pr_severity_name(PR_SEV_LOW), "low");
	assert_string_equal(pr_severity_name(PR_SEV_CRITICAL), "critical");
	assert_string_equal(pr_severity_name((enum pr_severity)42), "unknown");
	assert_int_equal(pr_severity_parse("medium", &s), 0);
	assert_int_equal(s, PR_SEV_MEDIUM);
	assert_int_equal(pr_severity_parse("HIGH", &s), -1);
	assert_int_equal(pr_severity_parse("", &s), -1);
}

static void test_default_policy(void **state)
{
	struct pr_policy *p = NULL;
	struct pr_compiled *c = NULL;
	char err[512];

	assert_int_equal(strlen(pr_default_policy_yaml), pr_default_policy_len);
	if (pr_policy_parse(pr_default_policy_yaml, pr_default_policy_len, "<default>", &p,
			    err, sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
	assert_true(p->n >= 5);
	assert_string_equal(p->exps[0].name, "system-trees-unchanged");
	assert_int_equal(pr_policy_compile(p, &c, err, sizeof(err)), 0);
	assert_true(c->nrules > 20);
	pr_compiled_free(c);
	pr_policy_free(p);
}

/* ---- errors: exact text and position ---- */

static void test_err_unknown_keys(void **state)
{
	char *path = data_path("typo.yaml");
	struct pr_policy *p = NULL;
	char err[512], want[600];

	assert_int_equal(pr_policy_load_file(path, &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "%s:7:5: unknown key \"wirteAllow\" in files (expected writeAllow or protect)",
		 path);
	assert_string_equal(err, want);
	free(path);

	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}]}\nspek: {}\n",
		  "p.yaml:5:1: unknown key \"spek\" in the document (expected apiVersion, kind, metadata or spec)");
	parse_err(HDR "metadata: {name: x, labels: {}}\n",
		  "p.yaml:3:21: unknown key \"labels\" in metadata (expected name)");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subject: []\n",
		  "p.yaml:5:3: unknown key \"subject\" in spec (expected severity, subjects, except, exec, files, network, record or recorder)");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects:\n  - exe: [/x]\n    user: 1\n",
		  "p.yaml:7:5: unknown key \"user\" in a subject (expected exe, uid, cgroup, descendantsOf or all)");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], exec: {alow: []}}\n",
		  "p.yaml:4:40: unknown key \"alow\" in exec (expected allow or deny)");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], network: {egres: []}}\n",
		  "p.yaml:4:43: unknown key \"egres\" in network (expected egress, ingress or egressDeny)");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], network: {egress: [{port: []}]}}\n",
		  "p.yaml:4:53: unknown key \"port\" in egress rule (expected to, except or ports)");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {snap: 1}}\n",
		  "p.yaml:4:42: unknown key \"snap\" in record (expected snaplen or follow)");
	/* a non-scalar key */
	parse_err(HDR "metadata: {name: x}\nspec: {[a]: 1}\n",
		  "p.yaml:4:8: expected a key in spec, found a list");
}

static void test_err_types(void **state)
{
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: {all: true}\n",
		  "p.yaml:5:13: expected a list of subjects for subjects, found a mapping");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [all]\n",
		  "p.yaml:5:14: expected a subject (a mapping with exe, uid, cgroup, descendantsOf or all), found \"all\"");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects:\n    - uid: [root]\n",
		  "p.yaml:6:13: expected a user id (an integer 0 to 4294967294), found \"root\"");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects:\n    - uid: -1\n",
		  "p.yaml:6:12: expected a user id (an integer 0 to 4294967294), found \"-1\"");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects:\n    - uid: 4294967295\n",
		  "p.yaml:6:12: expected a user id (an integer 0 to 4294967294), found \"4294967295\"");
	parse_err(HDR "metadata: {name: x}\nspec:\n  severity: hgh\n  subjects: [{all: true}]\n",
		  "p.yaml:5:13: unknown severity \"hgh\" (expected low, medium, high or critical)");
	parse_err(HDR "metadata: {name: x}\nspec:\n  severity: [high]\n",
		  "p.yaml:5:13: expected a severity (low, medium, high or critical), found a list");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{exe: {a: b}}]\n",
		  "p.yaml:5:20: expected a path glob or a list of them, found a mapping");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{exe: [[/a]]}]\n",
		  "p.yaml:5:21: expected a path glob, found a list");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{exe: }]\n",
		  "p.yaml:5:20: expected a path glob or a list of them, found an empty value");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: false}]\n",
		  "p.yaml:5:20: expected true for all, found \"false\" (leave all out to select by exe, uid or cgroup)");
	parse_err(HDR "metadata: {name: x}\nspec: [a]\n",
		  "p.yaml:4:7: expected a mapping for spec, found a list");
	parse_err(HDR "metadata: x\n",
		  "p.yaml:3:11: expected a mapping for metadata (name), found \"x\"");
	parse_err("- a\n- b\n",
		  "p.yaml:1:1: expected a mapping with apiVersion, kind, metadata and spec, found a list");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {snaplen: 0}}\n",
		  "p.yaml:4:51: expected snaplen as an integer 1 to 4096, found \"0\"");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {snaplen: 4097}}\n",
		  "p.yaml:4:51: expected snaplen as an integer 1 to 4096, found \"4097\"");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {snaplen: 65535}}\n",
		  "p.yaml:4:51: expected snaplen as an integer 1 to 4096, found \"65535\"");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {snaplen: -1}}\n",
		  "p.yaml:4:51: expected snaplen as an integer 1 to 4096, found \"-1\"");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {follow: 2h}}\n",
		  "p.yaml:4:50: expected a duration such as 500ms, 30s, 2m or 1h (at most 1h), found \"2h\"");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [{all: true}], record: {follow: 30}}\n",
		  "p.yaml:4:50: expected a duration such as 500ms, 30s, 2m or 1h (at most 1h), found \"30\"");
}

static void test_err_required(void **state)
{
	parse_err(HDR "metadata: {name: x}\nspec:\n  severity: low\n",
		  "p.yaml:5:3: missing key \"subjects\" in spec (expected a list of subjects, e.g. [{all: true}])");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: []\n",
		  "p.yaml:5:13: empty subjects list (expected at least one subject, e.g. {all: true})");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{}]\n",
		  "p.yaml:5:14: empty subject (expected at least one of exe, uid, cgroup, descendantsOf or all)");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{exe: []}]\n",
		  "p.yaml:5:20: empty list (expected at least a path glob)");
	parse_err(HDR "metadata: {}\nspec: {subjects: [{all: true}]}\n",
		  "p.yaml:3:11: missing key \"name\" in metadata");
	parse_err("kind: Expectation\nmetadata: {name: x}\nspec: {subjects: [{all: true}]}\n",
		  "p.yaml:1:1: missing key \"apiVersion\" in the document (expected apiVersion, kind, metadata and spec)");
	parse_err(HDR "metadata: {name: x}\n",
		  "p.yaml:1:1: missing key \"spec\" in the document (expected apiVersion, kind, metadata and spec)");
}

static void test_err_header_and_names(void **state)
{
	parse_err("apiVersion: polrec.dev/v2\n",
		  "p.yaml:1:13: unsupported apiVersion \"polrec.dev/v2\" (expected polrec.dev/v1)");
	parse_err("apiVersion: polrec.dev/v1\nkind: Policy\n",
		  "p.yaml:2:7: unsupported kind \"Policy\" (expected Expectation, or NetworkPolicy with apiVersion networking.k8s.io/v1)");
	parse_err(HDR "metadata: {name: web tier}\n",
		  "p.yaml:3:18: invalid name \"web tier\" (expected 1 to 128 letters, digits, '-', '_' or '.')");
	parse_err(HDR "metadata: {name: a}\nspec: {subjects: [{all: true}]}\n---\n" HDR
		  "metadata: {name: a}\n",
		  "p.yaml:8:18: duplicate expectation name \"a\" (already used by the document at line 1)");
	parse_err(HDR "kind: Expectation\n",
		  "p.yaml:3:1: duplicate key \"kind\" in the document (first at line 2 column 1); is a --- missing between two documents?");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{uid: 1, uid: 2}]\n",
		  "p.yaml:5:23: duplicate key \"uid\" in a subject (first at line 5 column 15)");
}

static void test_err_globs(void **state)
{
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n  files: {protect: ['/etc/[ab']}\n",
		  "p.yaml:6:21: invalid pattern \"/etc/[ab\": unterminated character class '[' (write [[] for a literal '[')");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n  files: {protect: ['']}\n",
		  "p.yaml:6:21: invalid pattern \"\": empty pattern");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{exe: usr/bin/x}]\n",
		  "p.yaml:5:20: invalid pattern \"usr/bin/x\": pattern must be absolute (start with '/' or '**')");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{exe: \"/a\\0b\"}]\n",
		  "p.yaml:5:20: invalid pattern \"/a\\x00b\": pattern contains a NUL byte");
}

static void test_err_network(void **state)
{
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {egress: [{to: 10.0.0.1/8}]}\n",
		  "p.yaml:6:27: invalid CIDR \"10.0.0.1/8\": host bits set after the prefix (did you mean \"10.0.0.0/8\"?) (expected e.g. \"10.0.0.0/8\" or \"::1/128\")");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {egress: [{to: [10.0.0.0/33]}]}\n",
		  "p.yaml:6:28: invalid CIDR \"10.0.0.0/33\": prefix length must be 0 to 32 (expected e.g. \"10.0.0.0/8\" or \"::1/128\")");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {egress: [{to: [example.com]}]}\n",
		  "p.yaml:6:28: invalid CIDR \"example.com\": not an IPv4 or IPv6 address (expected e.g. \"10.0.0.0/8\" or \"::1/128\")");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [{ports: [80]}]}\n",
		  "p.yaml:6:32: invalid port \"80\": missing protocol (expected PORT/PROTO or LOW-HIGH/PROTO, e.g. \"443/tcp\", \"8000-8100/tcp\", \"53/udp\")");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [{ports: [9000-8000/tcp]}]}\n",
		  "p.yaml:6:32: invalid port \"9000-8000/tcp\": range is backwards (expected PORT/PROTO or LOW-HIGH/PROTO, e.g. \"443/tcp\", \"8000-8100/tcp\", \"53/udp\")");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [{ports: [0/sctp]}]}\n",
		  "p.yaml:6:32: invalid port \"0/sctp\": protocol must be tcp or udp (expected PORT/PROTO or LOW-HIGH/PROTO, e.g. \"443/tcp\", \"8000-8100/tcp\", \"53/udp\")");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {egress: {to: []}}\n",
		  "p.yaml:6:21: expected a list of rules for egress, found a mapping");
}

/* has_* tell a present key (an empty list allows nothing) from a missing
 * one; ingress rules keep `from` in pr_net_rule.to. */
static void test_network_model(void **state)
{
	struct pr_policy *p = parse_ok(
		HDR "metadata: {name: a}\n"
		"spec:\n"
		"  subjects: [{all: true}]\n"
		"  network:\n"
		"    egress: []\n"
		"    ingress:\n"
		"      - from: [192.168.0.0/16, 'fe80::/10']\n"
		"        ports: 22/tcp\n"
		"      - ports: [53/udp]\n"
		"---\n" HDR "metadata: {name: b}\n"
		"spec: {subjects: [{all: true}], network: {egressDeny: [{to: 10.0.0.0/8}]}}\n"
		"---\n" HDR "metadata: {name: c}\n"
		"spec: {subjects: [{all: true}], network: {}, record: {snaplen: 1}}\n");
	const struct pr_expectation *e = &p->exps[0];

	assert_true(e->has_network);
	assert_true(e->has_egress);
	assert_int_equal(e->egress.n, 0);
	assert_true(e->has_ingress);
	assert_false(e->has_egress_deny);
	assert_int_equal(e->ingress.n, 2);
	assert_int_equal(e->ingress.v[0].nto, 2);
	assert_int_equal(e->ingress.v[0].to[0].family, AF_INET);
	assert_int_equal(e->ingress.v[0].to[0].prefix, 16);
	assert_int_equal(e->ingress.v[0].to[1].family, AF_INET6);
	assert_int_equal(e->ingress.v[0].to[1].addr[0], 0xfe);
	assert_int_equal(e->ingress.v[0].to[1].addr[1], 0x80);
	assert_int_equal(e->ingress.v[0].ports[0].lo, 22);
	assert_int_equal(e->ingress.v[0].line, 9);
	assert_int_equal(e->ingress.v[0].col, 9);
	assert_int_equal(e->ingress.v[1].nto, 0);
	assert_int_equal(e->ingress.v[1].ports[0].proto, IPPROTO_UDP);

	e = &p->exps[1];
	assert_true(e->has_network);
	assert_false(e->has_egress);
	assert_false(e->has_ingress);
	assert_true(e->has_egress_deny);
	assert_int_equal(e->egress_deny.v[0].to[0].prefix, 8);

	e = &p->exps[2];
	assert_true(e->has_network);
	assert_false(e->has_egress || e->has_ingress || e->has_egress_deny);
	assert_int_equal(e->snaplen, 1);
	pr_policy_free(p);
}

/* `to` in ingress and `from` in egress/egressDeny: an error at the key
 * that says which key to use. */
static void test_recorder_guard(void **state)
{
	struct pr_policy *p = NULL;
	char err[512];
	const char *ok = "apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata: {name: g}\n"
			 "spec:\n  subjects: [{all: true}]\n  recorder: {signals: true, ptrace: false}\n";

	assert_int_equal(pr_policy_parse(ok, strlen(ok), "p.yaml", &p, err, sizeof(err)), 0);
	assert_int_equal(p->exps[0].guard_signals, 1);
	assert_int_equal(p->exps[0].guard_ptrace, 0);
	pr_policy_free(p);
	parse_err("apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata: {name: g}\n"
		  "spec:\n  subjects: [{all: true}]\n  recorder: {signals: yes}\n",
		  "p.yaml:6:23: expected true or false for signals, found \"yes\"");
	parse_err("apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata: {name: g}\n"
		  "spec:\n  subjects: [{all: true}]\n  recorder: {kill: true}\n",
		  "p.yaml:6:14: unknown key \"kill\" in recorder (expected signals or ptrace)");
}

static void test_err_network_from_to(void **state)
{
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [{to: [10.0.0.0/8]}]}\n",
		  "p.yaml:6:24: `to` is not a key of an ingress rule: ingress rules match the peer with `from` and the local port with `ports`");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network:\n    ingress:\n      - ports: [80/tcp]\n        to: 10.0.0.1\n",
		  "p.yaml:9:9: `to` is not a key of an ingress rule: ingress rules match the peer with `from` and the local port with `ports`");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {egress: [{ports: 80/tcp, from: [10.0.0.0/8]}]}\n",
		  "p.yaml:6:38: `from` is not a key of an egress rule: egress rules match the destination with `to` and its port with `ports`");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {egressDeny: [{from: 10.0.0.0/8}]}\n",
		  "p.yaml:6:27: `from` is not a key of an egressDeny rule: egressDeny rules match the destination with `to` and its port with `ports`");
	/* the misplaced key is not offered in the list of expected keys */
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [{form: []}]}\n",
		  "p.yaml:6:24: unknown key \"form\" in ingress rule (expected from, except or ports)");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {egressDeny: [{tu: []}]}\n",
		  "p.yaml:6:27: unknown key \"tu\" in egressDeny rule (expected to, except or ports)");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [80/tcp]}\n",
		  "p.yaml:6:23: expected an ingress rule (a mapping with from, except, ports), found \"80/tcp\"");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [{from: [10.0.0.0/8], from: []}]}\n",
		  "p.yaml:6:44: duplicate key \"from\" in ingress rule (first at line 6 column 24)");
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{all: true}]\n"
		  "  network: {ingress: [{from: [10.0.0.1/8]}]}\n",
		  "p.yaml:6:31: invalid CIDR \"10.0.0.1/8\": host bits set after the prefix (did you mean \"10.0.0.0/8\"?) (expected e.g. \"10.0.0.0/8\" or \"::1/128\")");
}

static void test_err_yaml(void **state)
{
	static const char nul[] = "apiVersion: polrec.dev/v1\nkind: \0\x01\x1b[31m";

	parse_err(HDR "metadata: {name: x\n",
		  "p.yaml:4:1: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 3 column 11)");
	parse_err("apiVersion: 'abc\n",
		  "p.yaml:2:1: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 1 column 13)");
	parse_err("apiVersion: x\n\tkind: x\n",
		  "p.yaml:2:1: invalid YAML: found a tab character that violates indentation (while scanning a plain scalar at line 1 column 13)");
	/* NUL and escape bytes: one line, no raw control bytes */
	parse_err_len(nul, sizeof(nul) - 1,
		      "p.yaml:2:7: invalid YAML: control characters are not allowed (byte or character 0x00)");
	parse_err("apiVersion: \x80\n",
		  "p.yaml:1:13: invalid YAML: invalid leading UTF-8 octet (byte or character 0x80)");
}

static void test_err_anchors(void **state)
{
	parse_err(HDR "metadata: &m {name: x}\n",
		  "p.yaml:3:11: anchors and aliases are not supported (found anchor &m)");
	parse_err(HDR "metadata: *m\n",
		  "p.yaml:3:11: anchors and aliases are not supported (found alias *m)");
	parse_err(HDR "metadata: {name: x}\nspec: {subjects: [&s {all: true}]}\n",
		  "p.yaml:4:19: anchors and aliases are not supported (found anchor &s)");
	/* the billion laughs stop at the first anchor */
	parse_err(HDR "metadata: {name: x}\nspec:\n  subjects: [{exe: &a [/a, /a]}, {exe: [*a, *a]}]\n",
		  "p.yaml:5:20: anchors and aliases are not supported (found anchor &a)");
}

static void test_err_empty(void **state)
{
	const char *want = "p.yaml:1:1: no expectations found (expected one or more YAML documents with kind: Expectation)";

	parse_err("", want);
	parse_err("# only a comment\n\n# and another\n", want);
	parse_err("---\n...\n---\n", want);
	parse_err_len(NULL, 0, want);
}

/* Nesting is refused past PR_POLICY_MAX_DEPTH levels (the document's
 * mapping is level 1, spec 2, subjects 3, each descendantsOf one more). */
static void test_err_depth(void **state)
{
	static const char pre[] = HDR "metadata: {name: x}\nspec: {subjects: [";
	static const char lvl[] = "{descendantsOf: ";
	char buf[2048], want[128];
	size_t o = 0;

	o += (size_t)snprintf(buf, sizeof(buf), "%s", pre);
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", lvl);
	snprintf(want, sizeof(want), "p.yaml:4:%zu: nesting deeper than 32 levels",
		 strlen("spec: {subjects: [") + 29 * strlen(lvl) + 1);
	parse_err(buf, want);
}

static void test_err_size(void **state)
{
	size_t len = 20u << 20;
	char *big = malloc(len);
	char path[] = "/tmp/polrec-policy-XXXXXX", err[512], want[600];
	struct pr_policy *p = NULL;
	int fd;

	memset(big, '#', len);
	parse_err_len(big, len,
		      "p.yaml: policy is 20971520 bytes, larger than the limit of 16777216 bytes");
	free(big);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
	assert_int_equal(pr_policy_load_file(path, &p, err, sizeof(err)), -1);
	assert_null(p);
	snprintf(want, sizeof(want),
		 "%s: policy is 20971520 bytes, larger than the limit of 16777216 bytes", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_int_equal(pr_policy_load_file("/nonexistent/p.yaml", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/p.yaml: cannot open: No such file or directory");
	assert_int_equal(pr_policy_load_file("/", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "/: not a regular file");
}

/* Garbage of every kind: -1 or 0, one printable line, no crash, no leak. */
static void test_garbage(void **state)
{
	unsigned seed = 12345;
	char buf[4096], err[256];

	for (int round = 0; round < 2000; round++) {
		struct pr_policy *p = NULL;
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			static const char alpha[] = "ab:-[]{}&*!|>'\"#\n \t,?%@`\\\0\x80\xff";

			buf[i] = round % 2 ? (char)rand_r(&seed)
					   : alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		}
		if (pr_policy_parse(buf, len, "g", &p, err, sizeof(err)) == 0) {
			pr_policy_free(p);
			continue;
		}
		assert_null(p);
		assert_true(strncmp(err, "g:", 2) == 0);
		for (const char *s = err; *s; s++)
			assert_true(*s >= 0x20 && *s < 0x7f);
	}
}

static void test_small_err_buffer(void **state)
{
	struct pr_policy *p = NULL;
	char err[8];

	assert_int_equal(pr_policy_parse("x: [", 4, "p.yaml", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "p.yaml:");
	assert_int_equal(pr_policy_parse("x: [", 4, "p.yaml", &p, NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_severity_names),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_err_unknown_keys),
		cmocka_unit_test(test_err_types),
		cmocka_unit_test(test_err_required),
		cmocka_unit_test(test_err_header_and_names),
		cmocka_unit_test(test_err_globs),
		cmocka_unit_test(test_err_network),
		cmocka_unit_test(test_network_model),
		cmocka_unit_test(test_err_network_from_to),
		cmocka_unit_test(test_recorder_guard),
		cmocka_unit_test(test_err_yaml),
		cmocka_unit_test(test_err_anchors),
		cmocka_unit_test(test_err_empty),
		cmocka_unit_test(test_err_depth),
		cmocka_unit_test(test_err_size),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_small_err_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
