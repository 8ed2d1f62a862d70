// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Subjects, the compiled rule table and the judges.
 *
 * A judge walks the expectations in policy order. For each it first looks
 * at the rules (a literal-prefix compare skips most of them before any
 * glob runs) and only when a verdict would follow asks whether the process
 * is a subject: rules are cheaper than lineage. Per expectation, a deny or
 * protect hit wins over an allow miss, and there is at most one verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/policy.h"

#define EXPECTED_MAX 256               /* bytes of an allow-list summary */

/* ---- subjects ---- */

static int globs_match(const struct pr_strlist *l, const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (pr_glob_match(l->v[i], s))
			return 1;
	return 0;
}

static int uid_in(const struct pr_subject *s, uint32_t uid)
{
	for (size_t i = 0; i < s->nuids; i++)
		if (s->uids[i] == uid)
			return 1;
	return 0;
}

/* Every key of s about the process itself (all, exe, uid, cgroup) holds. */
static int local_match(const struct pr_subject *s, const struct pr_proc_view *p)
{
	if (s->exe.n && !globs_match(&s->exe, p->exe))
		return 0;
	if (s->nuids && !uid_in(s, p->uid))
		return 0;
	if (s->cgroup.n && !globs_match(&s->cgroup, p->cgroup))
		return 0;
	return 1;
}

/*
 * descendantsOf: some ancestor matches the inner subject, judged with its
 * own ancestors. The nearest ancestor that matches the inner subject's own
 * keys is the only one worth recursing on: any farther one has a subset of
 * its ancestors. So nested descendantsOf cost O(depth * ancestors).
 */
static int match_from(const struct pr_subject *s, const struct pr_proc_view *self,
		      const struct pr_proc_view *anc, size_t nanc)
{
	const struct pr_subject *d = s->descendants_of;

	if (!local_match(s, self))
		return 0;
	if (!d)
		return 1;
	for (size_t i = 0; i < nanc; i++)
		if (local_match(d, &anc[i]))
			return match_from(d, &anc[i], anc + i + 1, nanc - i - 1);
	return 0;
}

/* A subject without any key matches nothing (the parser refuses it). */
int pr_subject_match(const struct pr_subject *s, const struct pr_subject_ctx *c)
{
	if (!s || !c)
		return 0;
	if (!s->all && !s->exe.n && !s->nuids && !s->cgroup.n && !s->descendants_of)
		return 0;
	return match_from(s, &c->self, c->ancestors, c->ancestors ? c->nancestors : 0);
}

int pr_expectation_applies(const struct pr_expectation *e, const struct pr_subject_ctx *c)
{
	int subject = 0;

	for (size_t i = 0; i < e->nsubjects && !subject; i++)
		subject = pr_subject_match(&e->subjects[i], c);
	if (!subject)
		return 0;
	for (size_t i = 0; i < e->nexcept; i++)
		if (pr_subject_match(&e->except[i], c))
			return 0;
	return 1;
}

/* ---- compiling ---- */

const char *pr_rule_kind_name(enum pr_rule_kind k)
{
	switch (k) {
	case PR_RULE_EXEC_ALLOW:
		return "exec.allow";
	case PR_RULE_EXEC_DENY:
		return "exec.deny";
	case PR_RULE_WRITE_ALLOW:
		return "files.writeAllow";
	case PR_RULE_PROTECT:
		return "files.protect";
	}
	return "unknown";
}

void pr_compiled_free(struct pr_compiled *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrules; i++)
		free((char *)c->rules[i].expected);
	for (size_t i = 0; c->policy && i < c->policy->n; i++) {
		if (c->exec_allow_expected)
			free(c->exec_allow_expected[i]);
		if (c->write_allow_expected)
			free(c->write_allow_expected[i]);
	}
	free(c->exec_allow_expected);
	free(c->write_allow_expected);
	free(c->first_rule);
	free(c->rules);
	free(c);
}

/* "exec.allow: /usr/bin/gzip, /usr/bin/tar, ... (3 more)", bounded. */
static char *allow_summary(enum pr_rule_kind k, const struct pr_strlist *l)
{
	char buf[EXPECTED_MAX];
	size_t o, i;

	o = (size_t)snprintf(buf, sizeof(buf), "%s:", pr_rule_kind_name(k));
	if (!l->n)
		snprintf(buf + o, sizeof(buf) - o, " [] (nothing is allowed)");
	for (i = 0; i < l->n; i++) {
		/* leave room for " ... (N more)" */
		if (o + strlen(l->v[i]) + 2 > sizeof(buf) - 24)
			break;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s %s", i ? "," : "", l->v[i]);
	}
	if (i < l->n)
		snprintf(buf + o, sizeof(buf) - o, "%s ... (%zu more)", i ? "," : "", l->n - i);
	return strdup(buf);
}

struct compile_ctx {
	const struct pr_policy *p;
	struct pr_compiled *out;
	char *err;
	size_t errlen;
};

static int add_rules(struct compile_ctx *cc, size_t ei, enum pr_rule_kind k,
		     const struct pr_strlist *l)
{
	const struct pr_expectation *e = &cc->p->exps[ei];

	for (size_t i = 0; i < l->n; i++) {
		struct pr_rule *r = &cc->out->rules[cc->out->nrules];
		const char *why = pr_glob_check(l->v[i]);
		size_t len;

		if (why) {
			snprintf(cc->err, cc->errlen, "%s:%d:%d: expectation %s: invalid %s pattern \"%s\": %s",
				 e->source ? e->source :
				 cc->p->source_name ? cc->p->source_name : "<policy>",
				 e->line, e->col, e->name ? e->name : "?",
				 pr_rule_kind_name(k), l->v[i], why);
			return -1;
		}
		len = strlen(pr_rule_kind_name(k)) + strlen(l->v[i]) + 2;
		r->expected = malloc(len);
		if (!r->expected) {
			snprintf(cc->err, cc->errlen, "out of memory");
			return -1;
		}
		snprintf((char *)r->expected, len, "%s %s", pr_rule_kind_name(k), l->v[i]);
		r->kind = k;
		r->exp = ei;
		r->pattern = l->v[i];
		r->prefix_len = pr_glob_prefix_len(l->v[i]);
		cc->out->nrules++;
	}
	return 0;
}

static int compile_expectation(struct compile_ctx *cc, size_t ei)
{
	const struct pr_expectation *e = &cc->p->exps[ei];
	struct pr_compiled *c = cc->out;

	c->first_rule[ei] = c->nrules;
	if (add_rules(cc, ei, PR_RULE_EXEC_ALLOW, &e->exec_allow) ||
	    add_rules(cc, ei, PR_RULE_EXEC_DENY, &e->exec_deny) ||
	    add_rules(cc, ei, PR_RULE_WRITE_ALLOW, &e->write_allow) ||
	    add_rules(cc, ei, PR_RULE_PROTECT, &e->protect))
		return -1;
	if (e->has_exec_allow &&
	    !(c->exec_allow_expected[ei] = allow_summary(PR_RULE_EXEC_ALLOW, &e->exec_allow)))
		goto oom;
	if (e->has_write_allow &&
	    !(c->write_allow_expected[ei] = allow_summary(PR_RULE_WRITE_ALLOW, &e->write_allow)))
		goto oom;
	return 0;
oom:
	snprintf(cc->err, cc->errlen, "out of memory");
	return -1;
}

int pr_policy_compile(const struct pr_policy *p, struct pr_compiled **out,
		      char *err, size_t errlen)
{
	char dummy[1];
	struct compile_ctx cc = { .p = p, .err = err ? err : dummy, .errlen = err ? errlen : 1 };
	struct pr_compiled *c;
	size_t total = 0;

	*out = NULL;
	if (cc.errlen)
		cc.err[0] = '\0';
	for (size_t i = 0; i < p->n; i++)
		total += p->exps[i].exec_allow.n + p->exps[i].exec_deny.n +
			 p->exps[i].write_allow.n + p->exps[i].protect.n;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto oom;
	c->policy = p;
	cc.out = c;
	c->rules = calloc(total ? total : 1, sizeof(*c->rules));
	c->first_rule = calloc(p->n + 1, sizeof(*c->first_rule));
	c->exec_allow_expected = calloc(p->n ? p->n : 1, sizeof(char *));
	c->write_allow_expected = calloc(p->n ? p->n : 1, sizeof(char *));
	if (!c->rules || !c->first_rule || !c->exec_allow_expected || !c->write_allow_expected)
		goto oom;
	for (size_t i = 0; i < p->n; i++) {
		if (compile_expectation(&cc, i)) {
			pr_compiled_free(c);
			return -1;
		}
	}
	c->first_rule[p->n] = c->nrules;
	*out = c;
	return 0;
oom:
	pr_compiled_free(c);
	snprintf(cc.err, cc.errlen, "out of memory");
	return -1;
}

/* ---- judging ---- */

static int rule_hits(const struct pr_rule *r, const char *path)
{
	size_t pl = r->prefix_len;

	// cheap reject on the literal prefix. When it matches, path holds at
	// least pl bytes (the prefix has no NUL), so path[pl] is in bounds.
	if (strncmp(path, r->pattern, pl) == 0) {
		if (r->pattern[pl] == '\0')
			return path[pl] == '\0';
		return pr_glob_match(r->pattern, path);
	}
	// "/etc/**" also matches "/etc": path is the prefix without its '/'
	// (a literal pattern such as "/etc/" names no path: no match)
	if (pl && r->pattern[pl - 1] == '/' && strlen(path) == pl - 1 &&
	    !strncmp(path, r->pattern, pl - 1))
		return r->pattern[pl] != '\0' && pr_glob_match(r->pattern, path);
	return 0;
}

struct judge_kinds {
	enum pr_rule_kind deny, allow;
};

static size_t judge(const struct pr_compiled *c, const struct pr_subject_ctx *ctx,
		    const char *path, struct judge_kinds jk, struct pr_verdict *out,
		    size_t max)
{
	const struct pr_policy *p;
	size_t nout = 0;

	if (!c || !ctx || !path)
		return 0;
	p = c->policy;
	for (size_t i = 0; i < p->n && nout < max; i++) {
		const struct pr_expectation *e = &p->exps[i];
		int has_allow = jk.allow == PR_RULE_EXEC_ALLOW ? e->has_exec_allow
							       : e->has_write_allow;
		const struct pr_rule *hit = NULL;
		int allowed = 0;

		for (size_t k = c->first_rule[i]; k < c->first_rule[i + 1] && !hit; k++) {
			const struct pr_rule *r = &c->rules[k];

			if (r->kind == jk.deny && rule_hits(r, path))
				hit = r;
			else if (r->kind == jk.allow && !allowed && rule_hits(r, path))
				allowed = 1;
		}
		if (!hit && (!has_allow || allowed))
			continue;
		if (!pr_expectation_applies(e, ctx))
			continue;
		out[nout].exp = e;
		if (hit) {
			out[nout].kind = jk.deny;
			out[nout].expected = hit->expected;
		} else {
			out[nout].kind = jk.allow;
			out[nout].expected = jk.allow == PR_RULE_EXEC_ALLOW ? c->exec_allow_expected[i]
									    : c->write_allow_expected[i];
		}
		nout++;
	}
	return nout;
}

size_t pr_judge_exec(const struct pr_compiled *c, const struct pr_subject_ctx *ctx,
		     const char *new_exe, struct pr_verdict *out, size_t max)
{
	struct judge_kinds jk = { PR_RULE_EXEC_DENY, PR_RULE_EXEC_ALLOW };

	return judge(c, ctx, new_exe, jk, out, max);
}

size_t pr_judge_write(const struct pr_compiled *c, const struct pr_subject_ctx *ctx,
		      const char *path, struct pr_verdict *out, size_t max)
{
	struct judge_kinds jk = { PR_RULE_PROTECT, PR_RULE_WRITE_ALLOW };

	return judge(c, ctx, path, jk, out, max);
}
