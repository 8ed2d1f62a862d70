// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Subjects, the compiled rule table and the exec/write judges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/policy.h"

#define HDR "---\napiVersion: polrec.dev/v1\nkind: Expectation\n"

struct fix {
	struct pr_policy *p;
	struct pr_compiled *c;
};

static struct fix load(const char *yaml)
{
	struct fix f = { 0 };
	char err[512];

	if (pr_policy_parse(yaml, strlen(yaml), "t.yaml", &f.p, err, sizeof(err)) ||
	    pr_policy_compile(f.p, &f.c, err, sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
	return f;
}

static void unload(struct fix *f)
{
	pr_compiled_free(f->c);
	pr_policy_free(f->p);
}

static struct pr_proc_view view(const char *exe, uint32_t uid, const char *cgroup)
{
	return (struct pr_proc_view){ .exe = exe, .uid = uid, .cgroup = cgroup };
}

static const struct pr_proc_view init_proc = { "/usr/lib/systemd/systemd", 0, "/init.scope" };

static const char web_policy[] =
	HDR
	"metadata: {name: web-no-shell}\n"
	"spec:\n"
	"  severity: critical\n"
	"  subjects: [{exe: [/usr/sbin/nginx]}]\n"
	"  exec: {deny: [/bin/*sh, /usr/bin/*sh]}\n"
	HDR
	"metadata: {name: etc}\n"
	"spec:\n"
	"  subjects: [{all: true}]\n"
	"  except:\n"
	"    - exe: [/usr/bin/dpkg]\n"
	"    - descendantsOf: {exe: [/usr/bin/dpkg]}\n"
	"  files: {protect: [/etc/**]}\n"
	HDR
	"metadata: {name: web-writes}\n"
	"spec:\n"
	"  subjects: [{uid: [33], cgroup: [/system.slice/nginx.service]}]\n"
	"  files: {writeAllow: [/var/log/nginx/**, /var/cache/nginx/**], protect: [/var/www/**]}\n"
	HDR
	"metadata: {name: ssh-sessions}\n"
	"spec:\n"
	"  severity: low\n"
	"  subjects: [{descendantsOf: {exe: [/usr/sbin/sshd]}}]\n"
	"  exec: {allow: [/usr/bin/*, /usr/local/bin/*]}\n";

static void test_compile(void **state)
{
	struct fix f = load(web_policy);
	const struct pr_compiled *c = f.c;
	static const struct {
		enum pr_rule_kind kind;
		size_t exp;
		const char *pattern;
		size_t prefix_len;
		const char *expected;
	} want[] = {
		{ PR_RULE_EXEC_DENY, 0, "/bin/*sh", 5, "exec.deny /bin/*sh" },
		{ PR_RULE_EXEC_DENY, 0, "/usr/bin/*sh", 9, "exec.deny /usr/bin/*sh" },
		{ PR_RULE_PROTECT, 1, "/etc/**", 5, "files.protect /etc/**" },
		{ PR_RULE_WRITE_ALLOW, 2, "/var/log/nginx/**", 15, "files.writeAllow /var/log/nginx/**" },
		{ PR_RULE_WRITE_ALLOW, 2, "/var/cache/nginx/**", 17, "files.writeAllow /var/cache/nginx/**" },
		{ PR_RULE_PROTECT, 2, "/var/www/**", 9, "files.protect /var/www/**" },
		{ PR_RULE_EXEC_ALLOW, 3, "/usr/bin/*", 9, "exec.allow /usr/bin/*" },
		{ PR_RULE_EXEC_ALLOW, 3, "/usr/local/bin/*", 15, "exec.allow /usr/local/bin/*" },
	};

	assert_ptr_equal(c->policy, f.p);
	assert_int_equal(c->nrules, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < c->nrules; i++) {
		assert_int_equal(c->rules[i].kind, want[i].kind);
		assert_int_equal(c->rules[i].exp, want[i].exp);
		assert_string_equal(c->rules[i].pattern, want[i].pattern);
		assert_int_equal(c->rules[i].prefix_len, want[i].prefix_len);
		assert_string_equal(c->rules[i].expected, want[i].expected);
	}
	assert_int_equal(c->first_rule[0], 0);
	assert_int_equal(c->first_rule[1], 2);
	assert_int_equal(c->first_rule[2], 3);
	assert_int_equal(c->first_rule[3], 6);
	assert_int_equal(c->first_rule[4], 8);
	assert_null(c->exec_allow_expected[0]);
	assert_string_equal(c->write_allow_expected[2],
			    "files.writeAllow: /var/log/nginx/**, /var/cache/nginx/**");
	assert_string_equal(c->exec_allow_expected[3], "exec.allow: /usr/bin/*, /usr/local/bin/*");
	assert_string_equal(pr_rule_kind_name(PR_RULE_EXEC_ALLOW), "exec.allow");
	assert_string_equal(pr_rule_kind_name(PR_RULE_EXEC_DENY), "exec.deny");
	assert_string_equal(pr_rule_kind_name(PR_RULE_WRITE_ALLOW), "files.writeAllow");
	assert_string_equal(pr_rule_kind_name(PR_RULE_PROTECT), "files.protect");
	unload(&f);
}

/* A policy built by hand is checked too. */
static void test_compile_bad_pattern(void **state)
{
	char *pats[] = { "/etc/[x" };
	struct pr_subject all = { .all = 1 };
	struct pr_expectation e = {
		.name = "hand", .subjects = &all, .nsubjects = 1,
		.protect = { pats, 1 }, .line = 3, .col = 1,
	};
	struct pr_policy p = { .exps = &e, .n = 1, .source_name = "hand.yaml" };
	struct pr_compiled *c = (struct pr_compiled *)1;
	char err[256];

	assert_int_equal(pr_policy_compile(&p, &c, err, sizeof(err)), -1);
	assert_null(c);
	assert_string_equal(err, "hand.yaml:3:1: expectation hand: invalid files.protect pattern "
				 "\"/etc/[x\": unterminated character class '[' (write [[] for a literal '[')");
}

static void test_nginx_shell(void **state)
{
	struct fix f = load(web_policy);
	struct pr_proc_view anc[] = { view("/usr/sbin/nginx", 0, NULL), init_proc };
	struct pr_subject_ctx ctx = { view("/usr/sbin/nginx", 33, "/system.slice/nginx.service"),
				      anc, 2 };
	struct pr_verdict v[8];

	assert_int_equal(pr_judge_exec(f.c, &ctx, "/bin/sh", v, 8), 1);
	assert_ptr_equal(v[0].exp, &f.p->exps[0]);
	assert_string_equal(v[0].exp->name, "web-no-shell");
	assert_int_equal(v[0].exp->severity, PR_SEV_CRITICAL);
	assert_int_equal(v[0].kind, PR_RULE_EXEC_DENY);
	assert_string_equal(v[0].expected, "exec.deny /bin/*sh");
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/usr/bin/dash", v, 8), 1);
	assert_string_equal(v[0].expected, "exec.deny /usr/bin/*sh");
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/usr/bin/gzip", v, 8), 0);
	/* the exec is judged against the image that runs it: a shell started
	 * by the shell nginx started is not nginx spawning a shell */
	ctx.self = view("/usr/bin/dash", 33, "/system.slice/nginx.service");
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/usr/bin/bash", v, 8), 0);
	unload(&f);
}

static void test_protect_and_except(void **state)
{
	struct fix f = load(web_policy);
	struct pr_proc_view anc[] = { view("/usr/bin/dpkg", 0, NULL),
				      view("/usr/bin/apt", 0, NULL), init_proc };
	struct pr_subject_ctx ctx = { view("/usr/bin/vim.basic", 0, NULL), anc + 2, 1 };
	struct pr_verdict v[8];

	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc/passwd", v, 8), 1);
	assert_string_equal(v[0].exp->name, "etc");
	assert_int_equal(v[0].kind, PR_RULE_PROTECT);
	assert_string_equal(v[0].expected, "files.protect /etc/**");
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc", v, 8), 1);   /* the root too */
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etcetera", v, 8), 0);
	assert_int_equal(pr_judge_write(f.c, &ctx, "/home/u/x", v, 8), 0);
	/* dpkg itself, and a maintainer script it runs */
	ctx.self = view("/usr/bin/dpkg", 0, NULL);
	ctx.ancestors = anc + 1;
	ctx.nancestors = 2;
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc/passwd", v, 8), 0);
	ctx.self = view("/usr/bin/dash", 0, NULL);
	ctx.ancestors = anc;
	ctx.nancestors = 3;
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc/passwd", v, 8), 0);
	/* no exec rules in "etc": an exec is not judged by it */
	ctx.ancestors = anc + 2;
	ctx.nancestors = 1;
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/etc/init.d/x", v, 8), 0);
	unload(&f);
}

/* Found by fuzz_policy: a literal pattern ending in '/' ("/etc/") and the
 * path without it ("/etc") made the matcher read one byte past the path. */
static void test_literal_trailing_slash(void **state)
{
	static const char pol[] =
		"apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata: {name: slash}\n"
		"spec:\n  subjects: [{all: true}]\n  files:\n    protect: [/etc/, /tmp/**]\n";
	struct fix f = load(pol);
	struct pr_subject_ctx ctx = { view("/usr/bin/vim.basic", 0, NULL), NULL, 0 };
	struct pr_verdict v[8];
	/* exactly as long as the path, nothing after it to read by mistake */
	char *etc = strdup("/etc"), *tmp = strdup("/tmp");

	assert_int_equal(pr_judge_write(f.c, &ctx, etc, v, 8), 0);
	assert_int_equal(pr_judge_write(f.c, &ctx, tmp, v, 8), 1);   // the tmp glob holds "/tmp"
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc/x", v, 8), 0);
	free(etc);
	free(tmp);
	unload(&f);
}

static void test_uid_cgroup_write_allow(void **state)
{
	struct fix f = load(web_policy);
	struct pr_subject_ctx ctx = { view("/usr/sbin/nginx", 33, "/system.slice/nginx.service"),
				      &init_proc, 1 };
	struct pr_verdict v[8];

	assert_int_equal(pr_judge_write(f.c, &ctx, "/var/log/nginx/access.log", v, 8), 0);
	assert_int_equal(pr_judge_write(f.c, &ctx, "/var/cache/nginx/a/b", v, 8), 0);
	/* a write-allow miss */
	assert_int_equal(pr_judge_write(f.c, &ctx, "/tmp/x", v, 8), 1);
	assert_string_equal(v[0].exp->name, "web-writes");
	assert_int_equal(v[0].kind, PR_RULE_WRITE_ALLOW);
	assert_string_equal(v[0].expected,
			    "files.writeAllow: /var/log/nginx/**, /var/cache/nginx/**");
	/* protect wins over the allow miss, one verdict per expectation */
	assert_int_equal(pr_judge_write(f.c, &ctx, "/var/www/index.php", v, 8), 1);
	assert_int_equal(v[0].kind, PR_RULE_PROTECT);
	assert_string_equal(v[0].expected, "files.protect /var/www/**");
	/* two expectations broken by one write, in policy order */
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc/nginx/nginx.conf", v, 8), 2);
	assert_string_equal(v[0].exp->name, "etc");
	assert_string_equal(v[1].exp->name, "web-writes");
	assert_int_equal(v[1].kind, PR_RULE_WRITE_ALLOW);
	/* ... and max bounds what is written */
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc/nginx/nginx.conf", v, 1), 1);
	assert_string_equal(v[0].exp->name, "etc");
	assert_int_equal(pr_judge_write(f.c, &ctx, "/etc/nginx/nginx.conf", v, 0), 0);
	/* uid and cgroup AND together */
	ctx.self.uid = 0;
	assert_int_equal(pr_judge_write(f.c, &ctx, "/tmp/x", v, 8), 0);
	ctx.self.uid = 33;
	ctx.self.cgroup = "/system.slice/apache2.service";
	assert_int_equal(pr_judge_write(f.c, &ctx, "/tmp/x", v, 8), 0);
	ctx.self.cgroup = NULL;
	assert_int_equal(pr_judge_write(f.c, &ctx, "/tmp/x", v, 8), 0);
	unload(&f);
}

static void test_descendants_of_sshd(void **state)
{
	struct fix f = load(web_policy);
	struct pr_proc_view anc[] = { view("/usr/bin/bash", 1000, NULL),
				      view("/usr/sbin/sshd", 0, NULL), init_proc };
	struct pr_subject_ctx ctx = { view("/usr/bin/python3.11", 1000, NULL), anc, 3 };
	struct pr_verdict v[8];

	assert_int_equal(pr_judge_exec(f.c, &ctx, "/usr/bin/ls", v, 8), 0);
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/opt/evil/run", v, 8), 1);
	assert_string_equal(v[0].exp->name, "ssh-sessions");
	assert_int_equal(v[0].kind, PR_RULE_EXEC_ALLOW);
	assert_string_equal(v[0].expected, "exec.allow: /usr/bin/*, /usr/local/bin/*");
	/* sshd itself is not its own descendant */
	ctx.self = anc[1];
	ctx.ancestors = anc + 2;
	ctx.nancestors = 1;
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/opt/evil/run", v, 8), 0);
	/* no lineage at all */
	ctx.ancestors = NULL;
	ctx.nancestors = 5;
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/opt/evil/run", v, 8), 0);
	unload(&f);
}

static void test_subject_match(void **state)
{
	struct fix f = load(
		HDR "metadata: {name: s}\n"
		"spec:\n"
		"  subjects:\n"
		"    - all: true\n"
		"    - {exe: [/usr/bin/*], uid: [0, 1000]}\n"
		"    - descendantsOf: {exe: /usr/sbin/cron, descendantsOf: {exe: /usr/lib/systemd/systemd}}\n"
		"    - {cgroup: '/user.slice/**'}\n");
	const struct pr_expectation *e = &f.p->exps[0];
	struct pr_proc_view anc[] = { view("/usr/bin/dash", 0, NULL), view("/usr/sbin/cron", 0, NULL),
				      view("/usr/sbin/cron", 0, NULL), init_proc };
	struct pr_subject_ctx ctx = { view("/usr/bin/id", 1000, "/user.slice/user-1000.slice/session-2.scope"),
				      anc, 4 };

	assert_true(pr_subject_match(&e->subjects[0], &ctx));
	assert_true(pr_subject_match(&e->subjects[1], &ctx));
	assert_true(pr_subject_match(&e->subjects[2], &ctx));
	assert_true(pr_subject_match(&e->subjects[3], &ctx));
	ctx.self.uid = 33;
	assert_false(pr_subject_match(&e->subjects[1], &ctx));
	ctx.self.exe = NULL;
	ctx.self.uid = 0;
	assert_false(pr_subject_match(&e->subjects[1], &ctx));
	ctx.self.cgroup = "/system.slice/cron.service";
	assert_false(pr_subject_match(&e->subjects[3], &ctx));
	/* nested descendantsOf: cron, with systemd above it */
	ctx.nancestors = 3;
	assert_false(pr_subject_match(&e->subjects[2], &ctx));
	ctx.nancestors = 4;
	ctx.ancestors = anc + 1;
	ctx.nancestors = 3;
	assert_true(pr_subject_match(&e->subjects[2], &ctx));
	ctx.ancestors = anc + 3;
	ctx.nancestors = 1;
	assert_false(pr_subject_match(&e->subjects[2], &ctx));
	assert_true(pr_expectation_applies(e, &ctx));   /* all: true */
	assert_false(pr_subject_match(NULL, &ctx));
	unload(&f);
}

static void test_exec_allow_lists(void **state)
{
	struct fix f = load(
		HDR "metadata: {name: nothing}\n"
		"spec: {subjects: [{uid: 1}], exec: {allow: []}}\n"
		HDR "metadata: {name: many}\n"
		"spec:\n"
		"  subjects: [{uid: 1}]\n"
		"  exec:\n"
		"    allow: [/usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,\n"
		"            /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2,\n"
		"            /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3,\n"
		"            /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4,\n"
		"            /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5,\n"
		"            /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6]\n"
		"    deny: [/usr/bin/nc*]\n");
	struct pr_subject_ctx ctx = { view("/usr/bin/bash", 1, NULL), NULL, 0 };
	struct pr_verdict v[8];

	assert_int_equal(pr_judge_exec(f.c, &ctx, "/usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", v, 8), 1);
	assert_string_equal(v[0].exp->name, "nothing");
	assert_string_equal(v[0].expected, "exec.allow: [] (nothing is allowed)");
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/usr/bin/ls", v, 8), 2);
	assert_string_equal(v[1].expected,
			    "exec.allow: /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1, "
			    "/usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2, "
			    "/usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3, ... (3 more)");
	assert_true(strlen(v[1].expected) < 256);
	/* deny wins over the allow miss */
	assert_int_equal(pr_judge_exec(f.c, &ctx, "/usr/bin/ncat", v, 8), 2);
	assert_int_equal(v[1].kind, PR_RULE_EXEC_DENY);
	assert_string_equal(v[1].expected, "exec.deny /usr/bin/nc*");
	assert_int_equal(pr_judge_exec(f.c, NULL, "/usr/bin/ncat", v, 8), 0);
	assert_int_equal(pr_judge_exec(f.c, &ctx, NULL, v, 8), 0);
	unload(&f);
}

/* The shipped policy does what its comments say. */
static void test_default_policy(void **state)
{
	struct pr_policy *p = NULL;
	struct pr_compiled *c = NULL;
	char err[512];
	struct pr_verdict v[8];
	struct pr_proc_view dpkg_anc[] = { view("/usr/bin/dpkg", 0, "/user.slice"),
					   view("/usr/bin/apt", 0, "/user.slice"), init_proc };
	struct pr_proc_view php_anc[] = { view("/usr/sbin/php-fpm8.2", 33, "/system.slice/php8.2-fpm.service"),
					  init_proc };
	struct pr_subject_ctx ctx = { view("/usr/bin/vim.basic", 0, "/user.slice/user-0.slice/session-1.scope"),
				      &init_proc, 1 };

	assert_int_equal(pr_policy_parse(pr_default_policy_yaml, pr_default_policy_len, "<default>",
					 &p, err, sizeof(err)), 0);
	assert_int_equal(pr_policy_compile(p, &c, err, sizeof(err)), 0);

	assert_int_equal(pr_judge_write(c, &ctx, "/etc/passwd", v, 8), 1);
	assert_string_equal(v[0].exp->name, "system-trees-unchanged");
	assert_int_equal(v[0].exp->severity, PR_SEV_HIGH);
	assert_int_equal(pr_judge_write(c, &ctx, "/etc/cron.d/evil", v, 8), 2);
	assert_string_equal(v[1].exp->name, "cron-unchanged");
	assert_int_equal(pr_judge_write(c, &ctx, "/root/.ssh/authorized_keys", v, 8), 1);
	assert_string_equal(v[0].exp->name, "ssh-keys-unchanged");
	assert_int_equal(pr_judge_write(c, &ctx, "/home/bob/.ssh/authorized_keys", v, 8), 1);
	assert_int_equal(pr_judge_write(c, &ctx, "/home/bob/.ssh/known_hosts", v, 8), 0);
	assert_int_equal(pr_judge_write(c, &ctx, "/var/log/syslog", v, 8), 0);
	assert_int_equal(pr_judge_exec(c, &ctx, "/tmp/payload", v, 8), 1);
	assert_string_equal(v[0].exp->name, "no-exec-from-tmp");
	assert_int_equal(pr_judge_exec(c, &ctx, "/dev/shm/x", v, 8), 1);
	assert_int_equal(pr_judge_exec(c, &ctx, "/usr/bin/bash", v, 8), 0);

	/* a maintainer script under dpkg, and ldconfig, may write /etc */
	ctx.self = view("/usr/bin/dash", 0, "/user.slice");
	ctx.ancestors = dpkg_anc;
	ctx.nancestors = 3;
	assert_int_equal(pr_judge_write(c, &ctx, "/etc/passwd", v, 8), 0);
	assert_int_equal(pr_judge_write(c, &ctx, "/etc/cron.d/php", v, 8), 0);
	ctx.self = view("/usr/sbin/ldconfig", 0, "/system.slice/ldconfig.service");
	ctx.ancestors = &init_proc;
	ctx.nancestors = 1;
	assert_int_equal(pr_judge_write(c, &ctx, "/etc/ld.so.cache", v, 8), 0);
	/* a container's /etc is its own */
	ctx.self = view("/usr/bin/dash", 0, "/system.slice/docker-0123abcd.scope");
	assert_int_equal(pr_judge_write(c, &ctx, "/etc/nginx/conf.d/x.conf", v, 8), 0);

	/* web daemons and their children spawning shells */
	ctx.self = view("/usr/sbin/nginx", 33, "/system.slice/nginx.service");
	assert_int_equal(pr_judge_exec(c, &ctx, "/usr/bin/dash", v, 8), 1);
	assert_string_equal(v[0].exp->name, "no-shell-from-network-daemons");
	assert_int_equal(v[0].exp->severity, PR_SEV_CRITICAL);
	assert_string_equal(v[0].expected, "exec.deny /usr/bin/dash");
	ctx.self = view("/usr/bin/python3.11", 33, "/system.slice/php8.2-fpm.service");
	ctx.ancestors = php_anc;
	ctx.nancestors = 2;
	assert_int_equal(pr_judge_exec(c, &ctx, "/bin/bash", v, 8), 1);
	assert_int_equal(pr_judge_exec(c, &ctx, "/usr/bin/convert", v, 8), 0);
	pr_compiled_free(c);
	pr_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_compile_bad_pattern),
		cmocka_unit_test(test_nginx_shell),
		cmocka_unit_test(test_protect_and_except),
		cmocka_unit_test(test_literal_trailing_slash),
		cmocka_unit_test(test_uid_cgroup_write_allow),
		cmocka_unit_test(test_descendants_of_sshd),
		cmocka_unit_test(test_subject_match),
		cmocka_unit_test(test_exec_allow_lists),
		cmocka_unit_test(test_default_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
