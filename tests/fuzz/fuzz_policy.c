// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_policy: the policy language (recorder/policy.h). The input is a
 * policy file: pr_policy_parse, then on success pr_policy_compile,
 * pr_netrules_compile, and the judges on a few fixed processes and
 * connections, so globs, CIDRs and port sets from the input are exercised.
 *
 * Checks: parse errors are one non-empty line (README: "Errors name file,
 * line and column"); a parsed policy compiles or fails with one line; a
 * policy that parses is never judged into more verdicts than asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/netrules.h"
#include "recorder/policy.h"
#include "tests/fuzz/fuzz_common.h"

static void check_err(const char *what, const char *err)
{
	if (!err[0] || strchr(err, '\n')) {
		fprintf(stderr, "fuzz: %s: error is not one non-empty line: \"%s\"\n", what, err);
		abort();
	}
}

static void judge_files(const struct pr_policy *p, const struct pr_compiled *c)
{
	static const char *const paths[] = { "/etc/shadow", "/usr/bin/dash", "/tmp/x/y",
					     "/", "/var/log/nginx/a.log", "/etc" };
	static const struct pr_proc_view anc[] = {
		{ "/usr/sbin/sshd", 0, "/system.slice/ssh.service" },
		{ "/sbin/init", 0, NULL },
	};
	struct pr_subject_ctx ctx = {
		.self = { "/usr/sbin/nginx", 33, "/system.slice/nginx.service" },
		.ancestors = anc, .nancestors = 2,
	};
	struct pr_verdict v[4];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (pr_judge_exec(c, &ctx, paths[i], v, 4) > 4 ||
		    pr_judge_write(c, &ctx, paths[i], v, 4) > 4)
			abort();
		for (size_t k = 0; k < p->n; k++)
			pr_expectation_applies(&p->exps[k], &ctx);
	}
}

static void judge_net(const struct pr_policy *p, const struct pr_netrules *nr)
{
	char buf[512];

	for (unsigned idx = 0; idx < nr->nexps; idx++) {
		static const uint8_t a4[16] = { 127, 66, 0, 1 };
		static const uint8_t a6[16] = { [15] = 1 };
		for (int op = PR_NOP_CONNECT; op <= PR_NOP_LISTEN; op++) {
			int why4 = pr_netrules_judge(nr, idx, op, 6, 4, a4, 4444, 80);
			int why6 = pr_netrules_judge(nr, idx, op, 17, 6, a6, 53, 5353);

			pr_netrules_expected(nr, p, idx, op, why4, 6, 4, a4, 4444, 80, buf,
					     sizeof(buf));
			if (!memchr(buf, '\0', sizeof(buf)))
				abort();
			pr_netrules_expected(nr, p, idx, op, why6, 17, 6, a6, 53, 5353, buf,
					     sizeof(buf));
			if (!memchr(buf, '\0', sizeof(buf)))
				abort();
			pr_netrules_rule_name(op, why4);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pr_policy *p = NULL;
	struct pr_compiled *c = NULL;
	struct pr_netrules *nr = NULL;
	char err[1024];

	memset(err, 0, sizeof(err));
	if (pr_policy_parse((const char *)data, size, "fuzz.yaml", &p, err, sizeof(err))) {
		check_err("pr_policy_parse", err);
		return 0;
	}
	if (!p)
		abort();
	err[0] = '\0';
	if (pr_policy_compile(p, &c, err, sizeof(err))) {
		check_err("pr_policy_compile", err);
		pr_policy_free(p);
		return 0;
	}
	judge_files(p, c);
	err[0] = '\0';
	if (pr_netrules_compile(p, &nr, err, sizeof(err))) {
		check_err("pr_netrules_compile", err);
		if (nr)
			abort(); /* "*out is NULL then" */
	} else {
		judge_net(p, nr);
		pr_netrules_free(nr);
	}
	pr_compiled_free(c);
	pr_policy_free(p);
	return 0;
}
