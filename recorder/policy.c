// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The policy parser: YAML documents (libyaml events, pulled one at a time
 * by a recursive-descent reader) into struct pr_policy.
 *
 * Every error is one line, "FILE:LINE:COL: message", 1-based, pointing at
 * the offending node: an unknown or duplicate key at the key, a wrong type
 * or a bad value at the value, a missing key at the mapping that lacks it,
 * a YAML syntax error where libyaml saw the problem. Whole-file problems
 * (cannot open, too large) have no position: "FILE: message". Bytes from
 * the input are quoted and anything outside printable ASCII is written as
 * \xNN, so a message never carries control bytes.
 *
 * Choices the language makes (DESIGN.md, "Policy"):
 * - Where a list of strings is expected (exe, cgroup, uid, allow, deny,
 *   writeAllow, protect, to, ports), one scalar is taken as a one-element
 *   list: `exe: /usr/sbin/nginx`. An empty value (`exe:`) is an error,
 *   write `[]` for an empty list. In a subject, exe, uid and cgroup lists
 *   must not be empty (an empty one would match nothing); an empty
 *   exec.allow or files.writeAllow allows nothing.
 * - subjects is required and must not be empty: an expectation that
 *   silently judges nobody is a mistake; `[{all: true}]` says "everyone".
 * - Patterns must be absolute (start with '/') or start with "**"
 *   (pr_glob_check): a relative pattern can never match the absolute
 *   paths the kernel reports.
 * - Anchors and aliases are refused (no billion laughs), as are nesting
 *   deeper than PR_POLICY_MAX_DEPTH and input larger than
 *   PR_POLICY_MAX_BYTES. Tags are ignored.
 * - Empty documents (a stray "---") are skipped; a stream without any
 *   expectation is an error.
 * - metadata.name: 1 to 128 of [A-Za-z0-9._-], unique across documents.
 * - record.follow: an integer with unit ms, s, m or h, at most 1h.
 * - network rules: egress and egressDeny rules are {to: [CIDR], ports:
 *   ["80/tcp", "8000-8100/tcp"]}, the remote address and port. Ingress
 *   rules are {from: [CIDR], ports: [...]} as in a Kubernetes
 *   NetworkPolicy: `from` is the peer, `ports` the local port (what a
 *   subject may accept on, listen or bind to). `to` in an ingress rule and
 *   `from` in an egress one are errors that say which key to use, at the
 *   key: the other reading is too easy a mistake to accept silently. The
 *   model keeps either list in pr_net_rule.to. A CIDR without a prefix is
 *   a host; host bits set after the prefix are an error. A rule without
 *   `to`/`from` (or with an empty list) matches any address, without
 *   `ports` any port of any protocol. has_egress/has_ingress/
 *   has_egress_deny tell a key that is present: `egress: []` allows no
 *   egress at all, a missing egress key restricts nothing.
 * - record.snaplen: 1 to PR_POLICY_MAX_SNAPLEN (4096) bytes, the kernel's
 *   per-packet copy limit (PR_SNAPLEN_MAX).
 * - A network rule's `except` CIDRs take addresses away from that rule
 *   only (pr_net_rule.except).
 * - Documents of kind NetworkPolicy (networking.k8s.io/v1) are read by
 *   parse_netpol into expectations with e->k8s set; see "kind
 *   NetworkPolicy" below for the mapping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "recorder/policy.h"

#define NAME_MAX_LEN 128
#define QUOTE_MAX 64                   /* input bytes quoted in a message */

struct pctx {
	yaml_parser_t yp;
	yaml_event_t ev;               /* the current event */
	int have_ev;
	int depth;
	const char *buf;
	size_t len;
	const char *fname;
	char *err;
	size_t errlen;
	int failed;
	struct pr_policy *pol;
	size_t cap;                    /* of pol->exps */
	size_t *names;                 /* hash set of exps indices + 1 */
	size_t names_cap;
	uint8_t *np_docs;              /* per document: 1 if kind NetworkPolicy */
	size_t np_ndocs, doc;
};

/* ---- messages ---- */

/* Copy src into dst, writing bytes outside printable ASCII as \xNN. */
static void escape_into(char *dst, size_t dstlen, const char *src)
{
	size_t o = 0;

	if (!dst || !dstlen)
		return;
	for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
		int printable = *s >= 0x20 && *s < 0x7f;
		size_t need = printable ? 1 : 4;

		if (o + need >= dstlen)
			break;
		if (printable)
			dst[o++] = (char)*s;
		else
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", *s);
	}
	dst[o] = '\0';
}

struct qbuf {
	char s[QUOTE_MAX * 4 + 8];
};

/* "value" with \", \\ and \xNN escapes, cut after QUOTE_MAX bytes. */
static const char *quote(struct qbuf *q, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t o = 0;

	q->s[o++] = '"';
	for (size_t i = 0; i < len && i < QUOTE_MAX; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = (char)s[i];
		} else if (s[i] >= 0x20 && s[i] < 0x7f) {
			q->s[o++] = (char)s[i];
		} else {
			o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "\\x%02x", s[i]);
		}
	}
	if (len > QUOTE_MAX) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o++] = '"';
	q->s[o] = '\0';
	return q->s;
}

__attribute__((format(printf, 4, 0)))
static int vfail_at(struct pctx *c, int line, int col, const char *fmt, va_list ap)
{
	char msg[768], full[1024];

	if (c->failed)
		return -1;
	c->failed = 1;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d:%d: %s", c->fname, line, col, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", c->fname, msg);
	escape_into(c->err, c->errlen, full);
	return -1;
}

__attribute__((format(printf, 4, 5)))
static int fail_at(struct pctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(c, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct pctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(c, (int)m->line + 1, (int)m->column + 1, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_oom(struct pctx *c)
{
	return fail(c, &c->ev.start_mark, "out of memory");
}

/* Reader errors (bad encoding, control bytes) carry a byte offset only. */
static void offset_pos(const struct pctx *c, size_t off, int *line, int *col)
{
	size_t bol = 0;

	*line = 1;
	if (off > c->len)
		off = c->len;
	for (size_t i = 0; i < off; i++) {
		if (c->buf[i] == '\n') {
			(*line)++;
			bol = i + 1;
		}
	}
	*col = (int)(off - bol) + 1;
}

static int fail_yaml(struct pctx *c)
{
	const yaml_parser_t *p = &c->yp;
	const char *problem = p->problem ? p->problem : "unknown error";
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail_at(c, 1, 1, "out of memory while reading YAML");
	case YAML_READER_ERROR:
		offset_pos(c, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return fail_at(c, line, col, "invalid YAML: %s (byte or character 0x%02x)",
				       problem, (unsigned)p->problem_value);
		return fail_at(c, line, col, "invalid YAML: %s", problem);
	default:
		break;
	}
	if (p->context)
		return fail(c, &p->problem_mark, "invalid YAML: %s (%s at line %zu column %zu)",
			    problem, p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
	return fail(c, &p->problem_mark, "invalid YAML: %s", problem);
}

/* ---- events ---- */

static int is_null(const yaml_event_t *e)
{
	const char *v = (const char *)e->data.scalar.value;

	if (e->type != YAML_SCALAR_EVENT || !e->data.scalar.plain_implicit)
		return 0;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* What the current event is, for "found ..." in messages. */
static const char *found(struct pctx *c, struct qbuf *q)
{
	switch (c->ev.type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_SCALAR_EVENT:
		if (is_null(&c->ev))
			return "an empty value";
		return quote(q, c->ev.data.scalar.value, c->ev.data.scalar.length);
	default:
		return "something else";
	}
}

/* libyaml restricts anchor names to [0-9A-Za-z_-]: safe to print as is. */
static int refuse_anchor(struct pctx *c, const yaml_char_t *anchor)
{
	if (!anchor)
		return 0;
	return fail(c, &c->ev.start_mark,
		    "anchors and aliases are not supported (found anchor &%.64s)", anchor);
}

static int next(struct pctx *c)
{
	const yaml_char_t *a;

	if (c->have_ev) {
		yaml_event_delete(&c->ev);
		c->have_ev = 0;
	}
	if (!yaml_parser_parse(&c->yp, &c->ev))
		return fail_yaml(c);
	c->have_ev = 1;
	switch (c->ev.type) {
	case YAML_ALIAS_EVENT:
		a = c->ev.data.alias.anchor;
		return fail(c, &c->ev.start_mark,
			    "anchors and aliases are not supported (found alias *%.64s)", a);
	case YAML_SCALAR_EVENT:
		return refuse_anchor(c, c->ev.data.scalar.anchor);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		a = c->ev.type == YAML_SEQUENCE_START_EVENT ? c->ev.data.sequence_start.anchor
							     : c->ev.data.mapping_start.anchor;
		if (refuse_anchor(c, a))
			return -1;
		if (++c->depth > PR_POLICY_MAX_DEPTH)
			return fail(c, &c->ev.start_mark, "nesting deeper than %d levels",
				    PR_POLICY_MAX_DEPTH);
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		c->depth--;
		return 0;
	default:
		return 0;
	}
}

static const char *sval(const struct pctx *c)
{
	return (const char *)c->ev.data.scalar.value;
}

static size_t slen(const struct pctx *c)
{
	return c->ev.data.scalar.length;
}

/* Pull a non-empty scalar; what is e.g. "a string for kind". */
static int want_scalar(struct pctx *c, const char *what)
{
	struct qbuf q;

	if (next(c))
		return -1;
	if (c->ev.type != YAML_SCALAR_EVENT || is_null(&c->ev))
		return fail(c, &c->ev.start_mark, "expected %s, found %s", what, found(c, &q));
	if (memchr(sval(c), '\0', slen(c)))
		return fail(c, &c->ev.start_mark, "expected %s, found %s (contains a NUL byte)",
			    what, found(c, &q));
	return 0;
}

static int grow(struct pctx *c, void *arrp, size_t *cap, size_t n, size_t size)
{
	void **arr = arrp;
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	p = reallocarray(*arr, ncap, size);
	if (!p)
		return fail_oom(c);
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- lists of scalars ---- */

/* Called with a scalar as the current event; adds it to obj. */
typedef int (*item_fn)(struct pctx *c, void *obj, size_t *cap);

/* A list of scalars, or one scalar taken as a one-element list. */
static int parse_scalar_list(struct pctx *c, const char *what, item_fn add, void *obj,
			     int nonempty)
{
	yaml_mark_t start;
	struct qbuf q;
	size_t cap = 0, n = 0;

	if (next(c))
		return -1;
	if (c->ev.type == YAML_SCALAR_EVENT && !is_null(&c->ev))
		return add(c, obj, &cap);
	start = c->ev.start_mark;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(c, &start, "expected %s or a list of them, found %s", what,
			    found(c, &q));
	for (;; n++) {
		if (next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (c->ev.type != YAML_SCALAR_EVENT || is_null(&c->ev))
			return fail(c, &c->ev.start_mark, "expected %s, found %s", what,
				    found(c, &q));
		if (add(c, obj, &cap))
			return -1;
	}
	if (nonempty && n == 0)
		return fail(c, &start, "empty list (expected at least %s)", what);
	return 0;
}

static int add_glob(struct pctx *c, void *obj, size_t *cap)
{
	struct pr_strlist *l = obj;
	struct qbuf q;
	const char *why;

	if (memchr(sval(c), '\0', slen(c)))
		why = "pattern contains a NUL byte";
	else
		why = pr_glob_check(sval(c));
	if (why)
		return fail(c, &c->ev.start_mark, "invalid pattern %s: %s",
			    quote(&q, sval(c), slen(c)), why);
	if (grow(c, &l->v, cap, l->n, sizeof(*l->v)))
		return -1;
	l->v[l->n] = strdup(sval(c));
	if (!l->v[l->n])
		return fail_oom(c);
	l->n++;
	return 0;
}

static int parse_globs(struct pctx *c, struct pr_strlist *l, int nonempty)
{
	return parse_scalar_list(c, "a path glob", add_glob, l, nonempty);
}

/* Decimal, no sign, no leading junk; 0 ok. */
static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int add_uid(struct pctx *c, void *obj, size_t *cap)
{
	struct pr_subject *s = obj;
	struct qbuf q;
	uint64_t v;

	if (parse_u64(sval(c), slen(c), UINT32_MAX - 1, &v))
		return fail(c, &c->ev.start_mark,
			    "expected a user id (an integer 0 to 4294967294), found %s",
			    found(c, &q));
	if (grow(c, &s->uids, cap, s->nuids, sizeof(*s->uids)))
		return -1;
	s->uids[s->nuids++] = (uint32_t)v;
	return 0;
}

/* ---- mappings ---- */

struct key_def {
	const char *name;
	int (*parse)(struct pctx *c, void *obj);
};

static void key_list(char *buf, size_t len, const struct key_def *k, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";

		o += (size_t)snprintf(buf + o, len - o, "%s%s", sep, k[i].name);
	}
}

static int find_key(const struct pctx *c, const struct key_def *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(k[i].name) == slen(c) && !memcmp(k[i].name, sval(c), slen(c)))
			return (int)i;
	return -1;
}

static const struct key_def doc_keys[4];

/* The current event is MAPPING_START: read keys until MAPPING_END, each
 * once, each known. *seen gets a bit per key present. wrong lists keys
 * that are a known mistake in this mapping (not offered as expected): its
 * parse function explains, with the key as the current event. */
static int parse_map_body_wrong(struct pctx *c, const char *where, const struct key_def *keys,
				size_t nkeys, const struct key_def *wrong, size_t nwrong,
				void *obj, unsigned *seen)
{
	yaml_mark_t first[16];
	char expected[256];
	struct qbuf q;
	int k;

	*seen = 0;
	for (;;) {
		if (next(c))
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return fail(c, &c->ev.start_mark, "expected a key in %s, found %s",
				    where, found(c, &q));
		k = find_key(c, keys, nkeys);
		if (k < 0 && wrong && (k = find_key(c, wrong, nwrong)) >= 0)
			return wrong[k].parse(c, obj);
		if (k < 0) {
			key_list(expected, sizeof(expected), keys, nkeys);
			return fail(c, &c->ev.start_mark, "unknown key %s in %s (expected %s)",
				    quote(&q, sval(c), slen(c)), where, expected);
		}
		if (*seen & (1u << k))
			return fail(c, &c->ev.start_mark,
				    "duplicate key %s in %s (first at line %zu column %zu)%s",
				    quote(&q, sval(c), slen(c)), where, first[k].line + 1,
				    first[k].column + 1,
				    keys == doc_keys ? "; is a --- missing between two documents?" : "");
		first[k] = c->ev.start_mark;
		*seen |= 1u << k;
		if (keys[k].parse(c, obj))
			return -1;
	}
}

static int parse_map_body(struct pctx *c, const char *where, const struct key_def *keys,
			  size_t nkeys, void *obj, unsigned *seen)
{
	return parse_map_body_wrong(c, where, keys, nkeys, NULL, 0, obj, seen);
}

/* Pull a MAPPING_START (else fail with what) and parse the mapping. */
static int parse_map(struct pctx *c, const char *what, const char *where,
		     const struct key_def *keys, size_t nkeys, void *obj,
		     unsigned *seen, yaml_mark_t *start)
{
	struct qbuf q;

	if (next(c))
		return -1;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &c->ev.start_mark, "expected %s, found %s", what, found(c, &q));
	*start = c->ev.start_mark;
	return parse_map_body(c, where, keys, nkeys, obj, seen);
}

/* ---- subjects ---- */

static int parse_subject_at(struct pctx *c, struct pr_subject *s, const char *what);

static int subj_exe(struct pctx *c, void *obj)
{
	return parse_globs(c, &((struct pr_subject *)obj)->exe, 1);
}

static int subj_cgroup(struct pctx *c, void *obj)
{
	return parse_globs(c, &((struct pr_subject *)obj)->cgroup, 1);
}

static int subj_uid(struct pctx *c, void *obj)
{
	return parse_scalar_list(c, "a user id", add_uid, obj, 1);
}

static int subj_all(struct pctx *c, void *obj)
{
	struct qbuf q;

	if (next(c))
		return -1;
	if (c->ev.type != YAML_SCALAR_EVENT ||
	    (strcmp(sval(c), "true") && strcmp(sval(c), "True") && strcmp(sval(c), "TRUE")))
		return fail(c, &c->ev.start_mark,
			    "expected true for all, found %s (leave all out to select by exe, uid or cgroup)",
			    found(c, &q));
	((struct pr_subject *)obj)->all = 1;
	return 0;
}

static int subj_descendants(struct pctx *c, void *obj)
{
	struct pr_subject *s = obj;

	s->descendants_of = calloc(1, sizeof(*s->descendants_of));
	if (!s->descendants_of)
		return fail_oom(c);
	if (next(c))
		return -1;
	return parse_subject_at(c, s->descendants_of, "a subject for descendantsOf");
}

static const struct key_def subject_keys[] = {
	{ "exe", subj_exe },
	{ "uid", subj_uid },
	{ "cgroup", subj_cgroup },
	{ "descendantsOf", subj_descendants },
	{ "all", subj_all },
};

#define NKEYS(k) (sizeof(k) / sizeof((k)[0]))

/* The current event should start the subject's mapping. */
static int parse_subject_at(struct pctx *c, struct pr_subject *s, const char *what)
{
	yaml_mark_t start = c->ev.start_mark;
	struct qbuf q;
	unsigned seen;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &start,
			    "expected %s (a mapping with exe, uid, cgroup, descendantsOf or all), found %s",
			    what, found(c, &q));
	s->line = (int)start.line + 1;
	s->col = (int)start.column + 1;
	if (parse_map_body(c, "a subject", subject_keys, NKEYS(subject_keys), s, &seen))
		return -1;
	if (!seen)
		return fail(c, &start,
			    "empty subject (expected at least one of exe, uid, cgroup, descendantsOf or all)");
	return 0;
}

static int parse_subject_list(struct pctx *c, const char *key, struct pr_subject **v,
			      size_t *n, int required)
{
	yaml_mark_t start;
	struct qbuf q;
	size_t cap = 0;

	if (next(c))
		return -1;
	start = c->ev.start_mark;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(c, &start, "expected a list of subjects for %s, found %s", key,
			    found(c, &q));
	for (;;) {
		if (next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (grow(c, v, &cap, *n, sizeof(**v)))
			return -1;
		(*n)++;
		if (parse_subject_at(c, &(*v)[*n - 1], "a subject"))
			return -1;
	}
	if (required && *n == 0)
		return fail(c, &start,
			    "empty %s list (expected at least one subject, e.g. {all: true})", key);
	return 0;
}

/* ---- spec ---- */

static int spec_severity(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;
	struct qbuf q;

	if (want_scalar(c, "a severity (low, medium, high or critical)"))
		return -1;
	if (pr_severity_parse(sval(c), &e->severity))
		return fail(c, &c->ev.start_mark,
			    "unknown severity %s (expected low, medium, high or critical)",
			    found(c, &q));
	return 0;
}

static int spec_subjects(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;

	return parse_subject_list(c, "subjects", &e->subjects, &e->nsubjects, 1);
}

static int spec_except(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;

	return parse_subject_list(c, "except", &e->except, &e->nexcept, 0);
}

static int exec_allow(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;

	e->has_exec_allow = 1;
	return parse_globs(c, &e->exec_allow, 0);
}

static int exec_deny(struct pctx *c, void *obj)
{
	return parse_globs(c, &((struct pr_expectation *)obj)->exec_deny, 0);
}

static int files_write_allow(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;

	e->has_write_allow = 1;
	return parse_globs(c, &e->write_allow, 0);
}

static int files_protect(struct pctx *c, void *obj)
{
	return parse_globs(c, &((struct pr_expectation *)obj)->protect, 0);
}

static const struct key_def exec_keys[] = {
	{ "allow", exec_allow },
	{ "deny", exec_deny },
};

static const struct key_def files_keys[] = {
	{ "writeAllow", files_write_allow },
	{ "protect", files_protect },
};

static int spec_exec(struct pctx *c, void *obj)
{
	yaml_mark_t start;
	unsigned seen;

	return parse_map(c, "a mapping for exec (allow, deny)", "exec", exec_keys,
			 NKEYS(exec_keys), obj, &seen, &start);
}

static int spec_files(struct pctx *c, void *obj)
{
	yaml_mark_t start;
	unsigned seen;

	return parse_map(c, "a mapping for files (writeAllow, protect)", "files", files_keys,
			 NKEYS(files_keys), obj, &seen, &start);
}

/* ---- network ---- */

uint8_t pr_net_prefix_mask(size_t i, unsigned prefix)
{
	if (prefix >= i * 8 + 8)
		return 0xff;
	if (prefix <= i * 8)
		return 0;
	return (uint8_t)(0xff00u >> (prefix - i * 8));
}

static const char *parse_cidr(const char *s, struct pr_net_cidr *out, char *hint, size_t hlen)
{
	char addr[INET6_ADDRSTRLEN + 8], fixed[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix;
	int bad = 0;
	unsigned max;

	if (alen >= sizeof(addr))
		return "not an IPv4 or IPv6 address";
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		return "not an IPv4 or IPv6 address";
	max = out->family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash && parse_u64(slash + 1, strlen(slash + 1), max, &prefix))
		return max == 32 ? "prefix length must be 0 to 32" : "prefix length must be 0 to 128";
	out->prefix = (uint8_t)prefix;
	for (size_t i = 0; i < max / 8; i++) {
		uint8_t m = pr_net_prefix_mask(i, (unsigned)prefix);

		bad |= (out->addr[i] & ~m) != 0;
		out->addr[i] &= m;
	}
	if (bad) {
		inet_ntop(out->family, out->addr, fixed, sizeof(fixed));
		snprintf(hint, hlen, " (did you mean \"%s/%u\"?)", fixed, (unsigned)prefix);
		return "host bits set after the prefix";
	}
	return NULL;
}

/* The current scalar as a CIDR, or an error at it. */
static int want_cidr(struct pctx *c, struct pr_net_cidr *cidr)
{
	char hint[96] = "";
	struct qbuf q;
	const char *why;

	why = memchr(sval(c), '\0', slen(c)) ? "contains a NUL byte"
					    : parse_cidr(sval(c), cidr, hint, sizeof(hint));
	if (why)
		return fail(c, &c->ev.start_mark,
			    "invalid CIDR %s: %s%s (expected e.g. \"10.0.0.0/8\" or \"::1/128\")",
			    quote(&q, sval(c), slen(c)), why, hint);
	return 0;
}

static int add_cidr(struct pctx *c, void *obj, size_t *cap)
{
	struct pr_net_rule *r = obj;
	struct pr_net_cidr cidr;

	if (want_cidr(c, &cidr) || grow(c, &r->to, cap, r->nto, sizeof(*r->to)))
		return -1;
	r->to[r->nto++] = cidr;
	return 0;
}

static int add_except_cidr(struct pctx *c, void *obj, size_t *cap)
{
	struct pr_net_rule *r = obj;
	struct pr_net_cidr cidr;

	if (want_cidr(c, &cidr) || grow(c, &r->except, cap, r->nexcept, sizeof(*r->except)))
		return -1;
	r->except[r->nexcept++] = cidr;
	return 0;
}

static const char *parse_ports(const char *s, struct pr_net_ports *out)
{
	const char *slash = strchr(s, '/'), *dash;
	uint64_t lo, hi;

	if (!slash)
		return "missing protocol";
	if (!strcmp(slash + 1, "tcp"))
		out->proto = IPPROTO_TCP;
	else if (!strcmp(slash + 1, "udp"))
		out->proto = IPPROTO_UDP;
	else
		return "protocol must be tcp or udp";
	dash = memchr(s, '-', (size_t)(slash - s));
	if (parse_u64(s, (size_t)((dash ? dash : slash) - s), 65535, &lo) || lo == 0)
		return "port must be 1 to 65535";
	hi = lo;
	if (dash && (parse_u64(dash + 1, (size_t)(slash - dash - 1), 65535, &hi) || hi == 0))
		return "port must be 1 to 65535";
	if (hi < lo)
		return "range is backwards";
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return NULL;
}

static int add_ports(struct pctx *c, void *obj, size_t *cap)
{
	struct pr_net_rule *r = obj;
	struct pr_net_ports p;
	struct qbuf q;
	const char *why;

	why = memchr(sval(c), '\0', slen(c)) ? "contains a NUL byte" : parse_ports(sval(c), &p);
	if (why)
		return fail(c, &c->ev.start_mark,
			    "invalid port %s: %s (expected PORT/PROTO or LOW-HIGH/PROTO, e.g. \"443/tcp\", \"8000-8100/tcp\", \"53/udp\")",
			    quote(&q, sval(c), slen(c)), why);
	if (grow(c, &r->ports, cap, r->nports, sizeof(*r->ports)))
		return -1;
	r->ports[r->nports++] = p;
	return 0;
}

static int rule_to(struct pctx *c, void *obj)
{
	return parse_scalar_list(c, "a CIDR", add_cidr, obj, 0);
}

static int rule_ports(struct pctx *c, void *obj)
{
	return parse_scalar_list(c, "a port", add_ports, obj, 0);
}

static int rule_except(struct pctx *c, void *obj)
{
	return parse_scalar_list(c, "a CIDR", add_except_cidr, obj, 0);
}

/* The current event is the misplaced key: the error points at it. */
static int rule_to_in_ingress(struct pctx *c, void *obj)
{
	return fail(c, &c->ev.start_mark,
		    "`to` is not a key of an ingress rule: ingress rules match the peer with `from` and the local port with `ports`");
}

static int rule_from_in_egress(struct pctx *c, void *obj)
{
	return fail(c, &c->ev.start_mark,
		    "`from` is not a key of an egress rule: egress rules match the destination with `to` and its port with `ports`");
}

static int rule_from_in_egress_deny(struct pctx *c, void *obj)
{
	return fail(c, &c->ev.start_mark,
		    "`from` is not a key of an egressDeny rule: egressDeny rules match the destination with `to` and its port with `ports`");
}

static const struct key_def egress_rule_keys[] = {
	{ "to", rule_to },
	{ "except", rule_except },
	{ "ports", rule_ports },
};

/* `from` lands in pr_net_rule.to: the peer is the remote address. */
static const struct key_def ingress_rule_keys[] = {
	{ "from", rule_to },
	{ "except", rule_except },
	{ "ports", rule_ports },
};

static const struct key_def egress_wrong_keys[] = {
	{ "from", rule_from_in_egress },
};

static const struct key_def egress_deny_wrong_keys[] = {
	{ "from", rule_from_in_egress_deny },
};

static const struct key_def ingress_wrong_keys[] = {
	{ "to", rule_to_in_ingress },
};

/* The keys of the rules of one list: egress, ingress or egressDeny. */
struct rule_keys {
	const struct key_def *keys, *wrong;
	size_t nkeys, nwrong;
	const char *text;              /* "to, ports" */
};

static const struct rule_keys egress_rules = {
	egress_rule_keys, egress_wrong_keys, NKEYS(egress_rule_keys),
	NKEYS(egress_wrong_keys), "to, except, ports",
};

static const struct rule_keys egress_deny_rules = {
	egress_rule_keys, egress_deny_wrong_keys, NKEYS(egress_rule_keys),
	NKEYS(egress_deny_wrong_keys), "to, except, ports",
};

static const struct rule_keys ingress_rules = {
	ingress_rule_keys, ingress_wrong_keys, NKEYS(ingress_rule_keys),
	NKEYS(ingress_wrong_keys), "from, except, ports",
};

static int parse_net_rules(struct pctx *c, const char *key, const struct rule_keys *k,
			   struct pr_net_rules *rules)
{
	char where[64];
	struct qbuf q;
	size_t cap = 0;
	unsigned seen;

	if (next(c))
		return -1;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(c, &c->ev.start_mark, "expected a list of rules for %s, found %s",
			    key, found(c, &q));
	snprintf(where, sizeof(where), "%s rule", key);
	for (;;) {
		struct pr_net_rule *r;

		if (next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (c->ev.type != YAML_MAPPING_START_EVENT)
			return fail(c, &c->ev.start_mark,
				    "expected an %s rule (a mapping with %s), found %s",
				    key, k->text, found(c, &q));
		if (grow(c, &rules->v, &cap, rules->n, sizeof(*rules->v)))
			return -1;
		r = &rules->v[rules->n++];
		r->line = (int)c->ev.start_mark.line + 1;
		r->col = (int)c->ev.start_mark.column + 1;
		if (parse_map_body_wrong(c, where, k->keys, k->nkeys, k->wrong, k->nwrong, r,
					 &seen))
			return -1;
	}
}

static int net_egress(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;

	e->has_egress = 1;
	return parse_net_rules(c, "egress", &egress_rules, &e->egress);
}

static int net_ingress(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;

	e->has_ingress = 1;
	return parse_net_rules(c, "ingress", &ingress_rules, &e->ingress);
}

static int net_egress_deny(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;

	e->has_egress_deny = 1;
	return parse_net_rules(c, "egressDeny", &egress_deny_rules, &e->egress_deny);
}

static const struct key_def network_keys[] = {
	{ "egress", net_egress },
	{ "ingress", net_ingress },
	{ "egressDeny", net_egress_deny },
};

static int spec_network(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;
	yaml_mark_t start;
	unsigned seen;

	e->has_network = 1;
	return parse_map(c, "a mapping for network (egress, ingress, egressDeny)", "network",
			 network_keys, NKEYS(network_keys), obj, &seen, &start);
}

/* ---- record ---- */

#define STR_(x) #x
#define STR(x) STR_(x)
#define SNAPLEN_MAX_TEXT STR(PR_POLICY_MAX_SNAPLEN)

static int record_snaplen(struct pctx *c, void *obj)
{
	struct qbuf q;
	uint64_t v;

	if (want_scalar(c, "snaplen as an integer 1 to " SNAPLEN_MAX_TEXT))
		return -1;
	if (parse_u64(sval(c), slen(c), PR_POLICY_MAX_SNAPLEN, &v) || v == 0)
		return fail(c, &c->ev.start_mark,
			    "expected snaplen as an integer 1 to " SNAPLEN_MAX_TEXT ", found %s",
			    found(c, &q));
	((struct pr_expectation *)obj)->snaplen = (uint32_t)v;
	return 0;
}

static int parse_duration(const char *s, size_t len, uint64_t *ns)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ms", 1000000ull }, { "s", 1000000000ull },
		{ "m", 60000000000ull }, { "h", 3600000000000ull },
	};
	size_t digits = strspn(s, "0123456789");
	uint64_t v;

	if (digits > 10 || parse_u64(s, digits, UINT64_MAX, &v))
		return -1;
	for (size_t i = 0; i < NKEYS(units); i++) {
		if (strlen(units[i].unit) == len - digits && !strcmp(s + digits, units[i].unit)) {
			*ns = v * units[i].ns;
			return *ns > PR_POLICY_MAX_FOLLOW_NS ? -1 : 0;
		}
	}
	return -1;
}

static int record_follow(struct pctx *c, void *obj)
{
	const char *what = "a duration such as 500ms, 30s, 2m or 1h (at most 1h)";
	struct qbuf q;

	if (want_scalar(c, what))
		return -1;
	if (parse_duration(sval(c), slen(c), &((struct pr_expectation *)obj)->follow_ns))
		return fail(c, &c->ev.start_mark, "expected %s, found %s", what, found(c, &q));
	return 0;
}

static const struct key_def record_keys[] = {
	{ "snaplen", record_snaplen },
	{ "follow", record_follow },
};

static int spec_record(struct pctx *c, void *obj)
{
	yaml_mark_t start;
	unsigned seen;

	return parse_map(c, "a mapping for record (snaplen, follow)", "record", record_keys,
			 NKEYS(record_keys), obj, &seen, &start);
}

/* ---- recorder: attacks on polrecd itself ---- */

static int parse_bool(struct pctx *c, const char *key, int *out)
{
	struct qbuf q;

	if (next(c))
		return -1;
	if (c->ev.type == YAML_SCALAR_EVENT && (!strcmp(sval(c), "true") ||
						!strcmp(sval(c), "True") || !strcmp(sval(c), "TRUE"))) {
		*out = 1;
		return 0;
	}
	if (c->ev.type == YAML_SCALAR_EVENT && (!strcmp(sval(c), "false") ||
						!strcmp(sval(c), "False") || !strcmp(sval(c), "FALSE"))) {
		*out = 0;
		return 0;
	}
	return fail(c, &c->ev.start_mark, "expected true or false for %s, found %s", key,
		    found(c, &q));
}

static int recorder_signals(struct pctx *c, void *obj)
{
	return parse_bool(c, "signals", &((struct pr_expectation *)obj)->guard_signals);
}

static int recorder_ptrace(struct pctx *c, void *obj)
{
	return parse_bool(c, "ptrace", &((struct pr_expectation *)obj)->guard_ptrace);
}

static const struct key_def recorder_keys[] = {
	{ "signals", recorder_signals },
	{ "ptrace", recorder_ptrace },
};

static int spec_recorder(struct pctx *c, void *obj)
{
	yaml_mark_t start;
	unsigned seen;

	return parse_map(c, "a mapping for recorder (signals, ptrace)", "recorder", recorder_keys,
			 NKEYS(recorder_keys), obj, &seen, &start);
}

#define SPEC_SUBJECTS 1                 /* index of subjects in spec_keys */

static const struct key_def spec_keys[] = {
	{ "severity", spec_severity },
	[SPEC_SUBJECTS] = { "subjects", spec_subjects },
	{ "except", spec_except },
	{ "exec", spec_exec },
	{ "files", spec_files },
	{ "network", spec_network },
	{ "record", spec_record },
	{ "recorder", spec_recorder },
};

/* ---- metadata and the document ---- */

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Index of the expectation named name, or -1. */
static long names_find(const struct pctx *c, const char *name)
{
	if (!c->names_cap)
		return -1;
	for (size_t i = hash_name(name) & (c->names_cap - 1);; i = (i + 1) & (c->names_cap - 1)) {
		size_t idx = c->names[i];

		if (!idx)
			return -1;
		if (!strcmp(c->pol->exps[idx - 1].name, name))
			return (long)(idx - 1);
	}
}

static int names_insert(struct pctx *c, size_t idx)
{
	size_t need = (c->pol->n + 1) * 2;

	if (need > c->names_cap) {
		size_t cap = c->names_cap ? c->names_cap : 16;
		size_t *t;

		while (cap < need)
			cap *= 2;
		t = calloc(cap, sizeof(*t));
		if (!t)
			return fail_oom(c);
		free(c->names);
		c->names = t;
		c->names_cap = cap;
		for (size_t i = 0; i < idx; i++)
			names_insert(c, i);
	}
	for (size_t i = hash_name(c->pol->exps[idx].name) & (c->names_cap - 1);;
	     i = (i + 1) & (c->names_cap - 1)) {
		if (!c->names[i]) {
			c->names[i] = idx + 1;
			return 0;
		}
	}
}

static int valid_name(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '-' && ch != '_' && ch != '.')
			return 0;
	}
	return 1;
}

static int meta_name(struct pctx *c, void *obj)
{
	struct pr_expectation *e = obj;
	struct qbuf q;
	long dup;

	if (want_scalar(c, "a name"))
		return -1;
	if (!valid_name(sval(c), slen(c)))
		return fail(c, &c->ev.start_mark,
			    "invalid name %s (expected 1 to %d letters, digits, '-', '_' or '.')",
			    found(c, &q), NAME_MAX_LEN);
	dup = names_find(c, sval(c));
	if (dup >= 0)
		return fail(c, &c->ev.start_mark,
			    "duplicate expectation name %s (already used by the document at line %d)",
			    found(c, &q), c->pol->exps[dup].line);
	e->name = strdup(sval(c));
	return e->name ? 0 : fail_oom(c);
}

static const struct key_def meta_keys[] = {
	{ "name", meta_name },
};

static int doc_metadata(struct pctx *c, void *obj)
{
	yaml_mark_t start;
	unsigned seen;

	if (parse_map(c, "a mapping for metadata (name)", "metadata", meta_keys,
		      NKEYS(meta_keys), obj, &seen, &start))
		return -1;
	if (!seen)
		return fail(c, &start, "missing key \"name\" in metadata");
	return 0;
}

static int doc_spec(struct pctx *c, void *obj)
{
	yaml_mark_t start;
	unsigned seen;

	if (parse_map(c, "a mapping for spec", "spec", spec_keys, NKEYS(spec_keys), obj,
		      &seen, &start))
		return -1;
	if (!(seen & (1u << SPEC_SUBJECTS)))
		return fail(c, &start,
			    "missing key \"subjects\" in spec (expected a list of subjects, e.g. [{all: true}])");
	return 0;
}

static int want_literal(struct pctx *c, const char *key, const char *want)
{
	struct qbuf q;
	char what[64];

	snprintf(what, sizeof(what), "%s: %s", key, want);
	if (want_scalar(c, what))
		return -1;
	if (strcmp(sval(c), want))
		return fail(c, &c->ev.start_mark, "unsupported %s %s (expected %s)", key,
			    found(c, &q), want);
	return 0;
}

static int doc_api_version(struct pctx *c, void *obj)
{
	return want_literal(c, "apiVersion", "polrec.dev/v1");
}

static int doc_kind(struct pctx *c, void *obj)
{
	struct qbuf q;

	if (want_scalar(c, "kind: Expectation"))
		return -1;
	if (strcmp(sval(c), "Expectation"))
		return fail(c, &c->ev.start_mark,
			    "unsupported kind %s (expected Expectation, or NetworkPolicy with apiVersion networking.k8s.io/v1)",
			    found(c, &q));
	return 0;
}

static const struct key_def doc_keys[] = {
	{ "apiVersion", doc_api_version },
	{ "kind", doc_kind },
	{ "metadata", doc_metadata },
	{ "spec", doc_spec },
};

static void expectation_init(struct pr_expectation *e, const yaml_mark_t *m)
{
	memset(e, 0, sizeof(*e));
	e->severity = PR_SEV_MEDIUM;
	e->snaplen = PR_POLICY_DEFAULT_SNAPLEN;
	e->follow_ns = PR_POLICY_DEFAULT_FOLLOW_NS;
	e->line = (int)m->line + 1;
	e->col = (int)m->column + 1;
}

static void expectation_free(struct pr_expectation *e);
static void subject_free(struct pr_subject *s);
static void net_rules_free(struct pr_net_rules *r);

/* The current event is the document's root node. */
static int parse_expectation(struct pctx *c)
{
	struct pr_expectation e;
	yaml_mark_t start = c->ev.start_mark;
	struct qbuf q;
	unsigned seen;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &start,
			    "expected a mapping with apiVersion, kind, metadata and spec, found %s",
			    found(c, &q));
	expectation_init(&e, &start);
	if (parse_map_body(c, "the document", doc_keys, NKEYS(doc_keys), &e, &seen))
		goto err;
	for (size_t k = 0; k < NKEYS(doc_keys); k++) {
		if (!(seen & (1u << k))) {
			fail(c, &start,
			     "missing key \"%s\" in the document (expected apiVersion, kind, metadata and spec)",
			     doc_keys[k].name);
			goto err;
		}
	}
	if (grow(c, &c->pol->exps, &c->cap, c->pol->n, sizeof(e)))
		goto err;
	c->pol->exps[c->pol->n] = e;
	if (names_insert(c, c->pol->n)) {
		memset(&c->pol->exps[c->pol->n], 0, sizeof(e));
		goto err;
	}
	c->pol->n++;
	return 0;
err:
	expectation_free(&e);
	return -1;
}

/* ---- kind NetworkPolicy (networking.k8s.io/v1) ----
 *
 * A Kubernetes NetworkPolicy becomes one expectation (e->k8s) named
 * "NetworkPolicy/NAMESPACE/NAME". Its subject cannot come from podSelector
 * (the host knows no pod labels): it comes from the annotations
 * polrec.dev/cgroup (cgroup v2 path globs, comma or newline separated) or
 * polrec.dev/pod-uid (the kubelet's pod cgroup, cgroupfs and systemd
 * forms, and the containers below it). podSelector is accepted and
 * ignored; podSelector and namespaceSelector peers are refused. Each peer
 * of a rule becomes one pr_net_rule (an ipBlock's except belongs to its
 * peer only); a rule without peers matches any address, one without ports
 * any port. policyTypes defaults as Kubernetes does: Ingress always,
 * Egress when spec.egress has a rule; a direction's rules outside
 * policyTypes are ignored, as Kubernetes ignores them. Keys of metadata
 * that `kubectl get -o yaml` prints (labels, uid, managedFields, ...)
 * and `status` are skipped. */

#define K8S_NAME_MAX 253                /* a DNS subdomain */
#define K8S_NS_MAX 63                   /* a DNS label */

struct np_cidr {
	struct pr_net_cidr c;
	yaml_mark_t m;
};

struct np_peer {
	struct np_cidr cidr;
	int has_cidr;
	struct np_cidr *except;
	size_t nexcept, except_cap;
};

struct np_rule {
	const char *dir;               /* "ingress" | "egress" */
	struct np_peer *peers;
	size_t npeers, peers_cap;
	struct pr_net_ports *ports;
	size_t nports, ports_cap;
	int line, col;
};

struct np_port {
	uint8_t proto;
	int has_port, has_end;
	uint64_t port, end;
	yaml_mark_t port_m, end_m;
};

struct netpol {
	struct pr_expectation *e;
	char *name, *ns;
	yaml_mark_t name_m, meta_m;
	struct pr_subject subj;
	int types_given, type_in, type_eg;
	struct pr_net_rules in, eg;    /* until policyTypes is known */
	size_t in_cap, eg_cap;
};

/* Pull a value and drop it, whatever its shape. */
static int skip_node(struct pctx *c)
{
	int depth;

	if (next(c))
		return -1;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT && c->ev.type != YAML_MAPPING_START_EVENT)
		return 0;
	depth = c->depth - 1;
	while (c->depth > depth)
		if (next(c))
			return -1;
	return 0;
}

static int np_skip(struct pctx *c, void *obj)
{
	(void)obj;
	return skip_node(c);
}

/* Pull a list: 0 at its start, 1 for an empty value (Kubernetes reads null
 * as absent), -1 on error. */
static int want_list(struct pctx *c, const char *what)
{
	struct qbuf q;

	if (next(c))
		return -1;
	if (is_null(&c->ev))
		return 1;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(c, &c->ev.start_mark, "expected %s, found %s", what, found(c, &q));
	return 0;
}

/* The next list item must be a mapping: 1 when it is, 0 at the list's end. */
static int next_map_item(struct pctx *c, const char *what)
{
	struct qbuf q;

	if (next(c))
		return -1;
	if (c->ev.type == YAML_SEQUENCE_END_EVENT)
		return 0;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &c->ev.start_mark, "expected %s, found %s", what, found(c, &q));
	return 1;
}

/* Lower-case letters, digits, '-' and '.', starting and ending with a
 * letter or digit (dots refused in a namespace). */
static int k8s_name_ok(const char *s, size_t len, size_t max, int dots)
{
	if (!len || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && ch != '-' && !(dots && ch == '.'))
			return 0;
		if (!alnum && (i == 0 || i + 1 == len))
			return 0;
	}
	return 1;
}

/* ---- metadata ---- */

static int np_meta_name(struct pctx *c, void *obj)
{
	struct netpol *np = obj;
	struct qbuf q;

	if (want_scalar(c, "a name"))
		return -1;
	if (!k8s_name_ok(sval(c), slen(c), K8S_NAME_MAX, 1))
		return fail(c, &c->ev.start_mark,
			    "invalid NetworkPolicy name %s (expected a DNS subdomain: 1 to %d lower-case letters, digits, '-' or '.')",
			    found(c, &q), K8S_NAME_MAX);
	np->name_m = c->ev.start_mark;
	np->name = strdup(sval(c));
	return np->name ? 0 : fail_oom(c);
}

static int np_meta_namespace(struct pctx *c, void *obj)
{
	struct netpol *np = obj;
	struct qbuf q;

	if (want_scalar(c, "a namespace"))
		return -1;
	if (!k8s_name_ok(sval(c), slen(c), K8S_NS_MAX, 0))
		return fail(c, &c->ev.start_mark,
			    "invalid namespace %s (expected a DNS label: 1 to %d lower-case letters, digits or '-')",
			    found(c, &q), K8S_NS_MAX);
	np->ns = strdup(sval(c));
	return np->ns ? 0 : fail_oom(c);
}

static int np_add_cgroup(struct pctx *c, struct netpol *np, const char *glob, size_t *cap)
{
	struct pr_strlist *l = &np->subj.cgroup;

	if (grow(c, &l->v, cap, l->n, sizeof(*l->v)))
		return -1;
	l->v[l->n] = strdup(glob);
	if (!l->v[l->n])
		return fail_oom(c);
	l->n++;
	return 0;
}

/* polrec.dev/cgroup: globs separated by commas or newlines. */
static int ann_cgroup(struct pctx *c, struct netpol *np, size_t *cap)
{
	const char *v = sval(c);
	size_t before = np->subj.cgroup.n;
	struct qbuf q;
	char *tok;

	while (*v) {
		size_t n = strcspn(v, ",\n");
		const char *t = v, *why;

		v += n + (v[n] != '\0');
		while (n && strchr(" \t\r", *t))
			t++, n--;
		while (n && strchr(" \t\r", t[n - 1]))
			n--;
		if (!n)
			continue;
		tok = strndup(t, n);
		if (!tok)
			return fail_oom(c);
		why = pr_glob_check(tok);
		if (why) {
			fail(c, &c->ev.start_mark,
			     "invalid cgroup pattern %s in polrec.dev/cgroup: %s (expected cgroup v2 paths as on the host, e.g. \"/kubepods.slice/**\")",
			     quote(&q, tok, n), why);
			free(tok);
			return -1;
		}
		if (np_add_cgroup(c, np, tok, cap)) {
			free(tok);
			return -1;
		}
		free(tok);
	}
	if (np->subj.cgroup.n == before)
		return fail(c, &c->ev.start_mark,
			    "polrec.dev/cgroup lists no cgroup (expected cgroup v2 path globs separated by commas or newlines)");
	return 0;
}

/* polrec.dev/pod-uid: the kubelet names the pod's cgroup after the UID,
 * "pod<uid>" with the cgroupfs driver and "kubepods[-<qos>]-pod<uid with
 * '_' for '-'>.slice" with the systemd one; its containers are below. */
static int ann_pod_uid(struct pctx *c, struct netpol *np, size_t *cap)
{
	const char *v = sval(c);
	char uid[37], uid_[37], glob[128];
	struct qbuf q;

	for (size_t i = 0; i < slen(c) && slen(c) == 36; i++) {
		char ch = v[i];
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			break;
		uid[i] = ch;
		uid_[i] = dash ? '_' : ch;
		if (i == 35) {
			uid[36] = uid_[36] = '\0';
			snprintf(glob, sizeof(glob), "**/pod%s/**", uid);
			if (np_add_cgroup(c, np, glob, cap))
				return -1;
			snprintf(glob, sizeof(glob), "**/kubepods-*pod%s.slice/**", uid_);
			return np_add_cgroup(c, np, glob, cap);
		}
	}
	return fail(c, &c->ev.start_mark,
		    "invalid pod UID %s in polrec.dev/pod-uid (expected the pod's metadata.uid, e.g. \"6f1c2a9e-0d4b-4c57-9e1f-3b2a8c7d5e40\")",
		    found(c, &q));
}

static const char *const annotation_names[] = {
	"polrec.dev/cgroup", "polrec.dev/pod-uid", "polrec.dev/severity",
	"polrec.dev/follow", "polrec.dev/snaplen",
};

static int ann_value(struct pctx *c, struct netpol *np, size_t k, size_t *cap)
{
	struct qbuf q;
	uint64_t v;

	if (want_scalar(c, "a string for the annotation"))
		return -1;
	switch (k) {
	case 0:
		return ann_cgroup(c, np, cap);
	case 1:
		return ann_pod_uid(c, np, cap);
	case 2:
		if (pr_severity_parse(sval(c), &np->e->severity))
			return fail(c, &c->ev.start_mark,
				    "unknown severity %s in polrec.dev/severity (expected low, medium, high or critical)",
				    found(c, &q));
		return 0;
	case 3:
		if (parse_duration(sval(c), slen(c), &np->e->follow_ns))
			return fail(c, &c->ev.start_mark,
				    "expected a duration such as 500ms, 30s, 2m or 1h (at most 1h) in polrec.dev/follow, found %s",
				    found(c, &q));
		return 0;
	default:
		if (parse_u64(sval(c), slen(c), PR_POLICY_MAX_SNAPLEN, &v) || v == 0)
			return fail(c, &c->ev.start_mark,
				    "expected an integer 1 to " SNAPLEN_MAX_TEXT " in polrec.dev/snaplen, found %s",
				    found(c, &q));
		np->e->snaplen = (uint32_t)v;
		return 0;
	}
}

/* Annotations: polrec.dev/ ones are ours and must be known; the rest
 * (kubectl's last-applied-configuration, ...) are skipped. */
static int np_meta_annotations(struct pctx *c, void *obj)
{
	struct netpol *np = obj;
	unsigned seen = 0;
	size_t cap = 0;
	struct qbuf q;

	if (next(c))
		return -1;
	if (is_null(&c->ev))
		return 0;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &c->ev.start_mark, "expected a mapping for annotations, found %s",
			    found(c, &q));
	for (;;) {
		size_t k;

		if (next(c))
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return fail(c, &c->ev.start_mark, "expected an annotation name, found %s",
				    found(c, &q));
		if (slen(c) < 11 || memcmp(sval(c), "polrec.dev/", 11)) {
			if (skip_node(c))
				return -1;
			continue;
		}
		for (k = 0; k < NKEYS(annotation_names); k++)
			if (!strcmp(sval(c), annotation_names[k]))
				break;
		if (k == NKEYS(annotation_names))
			return fail(c, &c->ev.start_mark,
				    "unknown annotation %s (expected polrec.dev/cgroup, polrec.dev/pod-uid, polrec.dev/severity, polrec.dev/follow or polrec.dev/snaplen)",
				    quote(&q, sval(c), slen(c)));
		if (seen & (1u << k))
			return fail(c, &c->ev.start_mark, "duplicate annotation %s",
				    quote(&q, sval(c), slen(c)));
		seen |= 1u << k;
		if (k <= 1 && !np->subj.line) {
			np->subj.line = (int)c->ev.start_mark.line + 1;
			np->subj.col = (int)c->ev.start_mark.column + 1;
		}
		if (ann_value(c, np, k, &cap))
			return -1;
	}
}

static const struct key_def np_meta_keys[] = {
	{ "name", np_meta_name },
	{ "namespace", np_meta_namespace },
	{ "annotations", np_meta_annotations },
	{ "labels", np_skip },
	{ "uid", np_skip },
	{ "resourceVersion", np_skip },
	{ "generation", np_skip },
	{ "creationTimestamp", np_skip },
	{ "managedFields", np_skip },
	{ "generateName", np_skip },
	{ "finalizers", np_skip },
	{ "ownerReferences", np_skip },
	{ "deletionTimestamp", np_skip },
	{ "deletionGracePeriodSeconds", np_skip },
	{ "selfLink", np_skip },
};

static int np_doc_metadata(struct pctx *c, void *obj)
{
	struct netpol *np = obj;
	yaml_mark_t start;
	unsigned seen;

	if (parse_map(c, "a mapping for metadata (name, namespace, annotations)", "metadata",
		      np_meta_keys, NKEYS(np_meta_keys), obj, &seen, &start))
		return -1;
	np->meta_m = start;
	if (!(seen & 1u))
		return fail(c, &start, "missing key \"name\" in metadata");
	return 0;
}

/* ---- peers ---- */

static int ipb_cidr(struct pctx *c, void *obj)
{
	struct np_peer *pe = obj;

	if (want_scalar(c, "a CIDR") || want_cidr(c, &pe->cidr.c))
		return -1;
	pe->cidr.m = c->ev.start_mark;
	pe->has_cidr = 1;
	return 0;
}

static int ipb_add_except(struct pctx *c, void *obj, size_t *cap)
{
	struct np_peer *pe = obj;
	struct np_cidr x;

	(void)cap;
	if (want_cidr(c, &x.c) || grow(c, &pe->except, &pe->except_cap, pe->nexcept,
				       sizeof(*pe->except)))
		return -1;
	x.m = c->ev.start_mark;
	pe->except[pe->nexcept++] = x;
	return 0;
}

static int ipb_except(struct pctx *c, void *obj)
{
	return parse_scalar_list(c, "a CIDR", ipb_add_except, obj, 0);
}

static const struct key_def ipblock_keys[] = {
	{ "cidr", ipb_cidr },
	{ "except", ipb_except },
};

static int cidr_holds(const struct pr_net_cidr *outer, const struct pr_net_cidr *inner)
{
	if (outer->family != inner->family || inner->prefix <= outer->prefix)
		return 0;
	for (size_t i = 0; i < 16; i++)
		if ((inner->addr[i] & pr_net_prefix_mask(i, outer->prefix)) != outer->addr[i])
			return 0;
	return 1;
}

static int peer_ipblock(struct pctx *c, void *obj)
{
	struct np_peer *pe = obj;
	yaml_mark_t start;
	unsigned seen;
	struct qbuf q;

	if (parse_map(c, "a mapping for ipBlock (cidr, except)", "ipBlock", ipblock_keys,
		      NKEYS(ipblock_keys), obj, &seen, &start))
		return -1;
	if (!pe->has_cidr)
		return fail(c, &start, "missing key \"cidr\" in ipBlock");
	/* as Kubernetes validates it: each except strictly inside cidr */
	for (size_t i = 0; i < pe->nexcept; i++) {
		char a[INET6_ADDRSTRLEN] = "?";

		if (cidr_holds(&pe->cidr.c, &pe->except[i].c))
			continue;
		inet_ntop(pe->cidr.c.family, pe->cidr.c.addr, a, sizeof(a));
		snprintf(q.s, sizeof(q.s), "%s/%u", a, (unsigned)pe->cidr.c.prefix);
		return fail(c, &pe->except[i].m,
			    "except is not strictly inside the ipBlock's cidr %s (Kubernetes requires a strict subset)",
			    q.s);
	}
	return 0;
}

/* The current event is the key. */
static int peer_selector(struct pctx *c, void *obj)
{
	struct qbuf q;

	(void)obj;
	return fail(c, &c->ev.start_mark,
		    "%s peers cannot be evaluated by polrec: the host does not know pods' or namespaces' labels (use ipBlock with the peers' CIDRs instead)",
		    quote(&q, sval(c), slen(c)));
}

static const struct key_def peer_keys[] = {
	{ "ipBlock", peer_ipblock },
};

static const struct key_def peer_wrong_keys[] = {
	{ "podSelector", peer_selector },
	{ "namespaceSelector", peer_selector },
};

static int np_rule_peers(struct pctx *c, void *obj)
{
	struct np_rule *ru = obj;
	char what[64], where[64];
	unsigned seen;
	int rc;

	snprintf(what, sizeof(what), "a list of peers for %s",
		 !strcmp(ru->dir, "ingress") ? "from" : "to");
	rc = want_list(c, what);
	if (rc)
		return rc < 0 ? -1 : 0;
	snprintf(where, sizeof(where), "a NetworkPolicy %s peer", ru->dir);
	while ((rc = next_map_item(c, "a peer (a mapping with ipBlock)")) == 1) {
		yaml_mark_t start = c->ev.start_mark;
		struct np_peer *pe;

		if (grow(c, &ru->peers, &ru->peers_cap, ru->npeers, sizeof(*ru->peers)))
			return -1;
		pe = &ru->peers[ru->npeers++];
		if (parse_map_body_wrong(c, where, peer_keys, NKEYS(peer_keys), peer_wrong_keys,
					 NKEYS(peer_wrong_keys), pe, &seen))
			return -1;
		if (!seen)
			return fail(c, &start, "empty peer (expected ipBlock)");
	}
	return rc;
}

/* ---- ports ---- */

static int np_port_proto(struct pctx *c, void *obj)
{
	struct np_port *p = obj;
	struct qbuf q;

	if (want_scalar(c, "a protocol (TCP, UDP or SCTP)"))
		return -1;
	if (!strcmp(sval(c), "TCP"))
		p->proto = IPPROTO_TCP;
	else if (!strcmp(sval(c), "UDP"))
		p->proto = IPPROTO_UDP;
	else if (!strcmp(sval(c), "SCTP"))
		p->proto = IPPROTO_SCTP;
	else
		return fail(c, &c->ev.start_mark, "unknown protocol %s (expected TCP, UDP or SCTP)",
			    found(c, &q));
	return 0;
}

static int np_port_number(struct pctx *c, const char *key, uint64_t *out)
{
	struct qbuf q;

	if (want_scalar(c, "a port number"))
		return -1;
	if (!parse_u64(sval(c), slen(c), 65535, out) && *out)
		return 0;
	if (strspn(sval(c), "0123456789") == slen(c))
		return fail(c, &c->ev.start_mark, "%s %s out of range (expected 1 to 65535)", key,
			    found(c, &q));
	if (!strcmp(key, "endPort"))
		return fail(c, &c->ev.start_mark, "expected endPort as a port number, found %s",
			    found(c, &q));
	return fail(c, &c->ev.start_mark,
		    "named port %s cannot be resolved on the host: polrec does not see the pod's container ports (give the port number)",
		    found(c, &q));
}

static int np_port_port(struct pctx *c, void *obj)
{
	struct np_port *p = obj;

	p->port_m = c->ev.start_mark;
	p->has_port = 1;
	return np_port_number(c, "port", &p->port);
}

static int np_port_end(struct pctx *c, void *obj)
{
	struct np_port *p = obj;

	p->end_m = c->ev.start_mark;
	p->has_end = 1;
	return np_port_number(c, "endPort", &p->end);
}

static const struct key_def np_port_keys[] = {
	{ "protocol", np_port_proto },
	{ "port", np_port_port },
	{ "endPort", np_port_end },
};

static int np_rule_ports(struct pctx *c, void *obj)
{
	struct np_rule *ru = obj;
	unsigned seen;
	int rc = want_list(c, "a list of ports");

	if (rc)
		return rc < 0 ? -1 : 0;
	while ((rc = next_map_item(c, "a port (a mapping with protocol, port, endPort)")) == 1) {
		struct np_port p = { .proto = IPPROTO_TCP };

		if (parse_map_body(c, "a NetworkPolicy port", np_port_keys, NKEYS(np_port_keys), &p,
				   &seen))
			return -1;
		if (p.has_end && !p.has_port)
			return fail(c, &p.end_m, "endPort needs port (the first port of the range)");
		if (p.has_end && p.end < p.port)
			return fail(c, &p.end_m, "endPort %llu is below port %llu",
				    (unsigned long long)p.end, (unsigned long long)p.port);
		if (grow(c, &ru->ports, &ru->ports_cap, ru->nports, sizeof(*ru->ports)))
			return -1;
		/* without port: every port of the protocol */
		ru->ports[ru->nports++] = (struct pr_net_ports){
			.lo = p.has_port ? (uint16_t)p.port : 1,
			.hi = p.has_end ? (uint16_t)p.end : p.has_port ? (uint16_t)p.port : 65535,
			.proto = p.proto,
		};
	}
	return rc;
}

/* ---- rules ---- */

static const struct key_def np_ingress_keys[] = {
	{ "from", np_rule_peers },
	{ "ports", np_rule_ports },
};

static const struct key_def np_egress_keys[] = {
	{ "to", np_rule_peers },
	{ "ports", np_rule_ports },
};

static void np_rule_free(struct np_rule *ru)
{
	for (size_t i = 0; i < ru->npeers; i++)
		free(ru->peers[i].except);
	free(ru->peers);
	free(ru->ports);
}

/* One pr_net_rule per peer (one for a rule without peers). */
static int np_rule_expand(struct pctx *c, const struct np_rule *ru, struct pr_net_rules *l,
			  size_t *cap)
{
	size_t n = ru->npeers ? ru->npeers : 1;

	for (size_t i = 0; i < n; i++) {
		const struct np_peer *pe = ru->npeers ? &ru->peers[i] : NULL;
		struct pr_net_rule *r;

		if (grow(c, &l->v, cap, l->n, sizeof(*l->v)))
			return -1;
		r = &l->v[l->n++];
		r->line = pe ? (int)pe->cidr.m.line + 1 : ru->line;
		r->col = pe ? (int)pe->cidr.m.column + 1 : ru->col;
		if (ru->nports) {
			r->ports = calloc(ru->nports, sizeof(*r->ports));
			if (!r->ports)
				return fail_oom(c);
			memcpy(r->ports, ru->ports, ru->nports * sizeof(*r->ports));
			r->nports = ru->nports;
		}
		if (!pe)
			continue;
		r->to = calloc(1, sizeof(*r->to));
		if (!r->to)
			return fail_oom(c);
		r->to[0] = pe->cidr.c;
		r->nto = 1;
		if (!pe->nexcept)
			continue;
		r->except = calloc(pe->nexcept, sizeof(*r->except));
		if (!r->except)
			return fail_oom(c);
		for (size_t k = 0; k < pe->nexcept; k++)
			r->except[k] = pe->except[k].c;
		r->nexcept = pe->nexcept;
	}
	return 0;
}

static int np_rules(struct pctx *c, struct netpol *np, const char *dir)
{
	int ingress = !strcmp(dir, "ingress");
	struct pr_net_rules *l = ingress ? &np->in : &np->eg;
	size_t *cap = ingress ? &np->in_cap : &np->eg_cap;
	char what[96], where[64];
	unsigned seen;
	int rc;

	snprintf(what, sizeof(what), "a list of %s rules", dir);
	rc = want_list(c, what);
	if (rc)
		return rc < 0 ? -1 : 0;
	snprintf(what, sizeof(what), "an %s rule (a mapping with %s, ports)", dir,
		 ingress ? "from" : "to");
	snprintf(where, sizeof(where), "a NetworkPolicy %s rule", dir);
	while ((rc = next_map_item(c, what)) == 1) {
		struct np_rule ru = { .dir = dir };

		ru.line = (int)c->ev.start_mark.line + 1;
		ru.col = (int)c->ev.start_mark.column + 1;
		rc = parse_map_body(c, where, ingress ? np_ingress_keys : np_egress_keys,
				    NKEYS(np_ingress_keys), &ru, &seen);
		if (!rc)
			rc = np_rule_expand(c, &ru, l, cap);
		np_rule_free(&ru);
		if (rc)
			return -1;
	}
	return rc;
}

static int np_spec_ingress(struct pctx *c, void *obj)
{
	return np_rules(c, obj, "ingress");
}

static int np_spec_egress(struct pctx *c, void *obj)
{
	return np_rules(c, obj, "egress");
}

static int np_spec_types(struct pctx *c, void *obj)
{
	struct netpol *np = obj;
	struct qbuf q;
	int rc = want_list(c, "a list of policy types (Ingress, Egress)");

	if (rc)
		return rc < 0 ? -1 : 0;
	for (;;) {
		if (next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (c->ev.type == YAML_SCALAR_EVENT && !strcmp(sval(c), "Ingress"))
			np->type_in = 1;
		else if (c->ev.type == YAML_SCALAR_EVENT && !strcmp(sval(c), "Egress"))
			np->type_eg = 1;
		else
			return fail(c, &c->ev.start_mark,
				    "unknown policy type %s (expected Ingress or Egress)",
				    found(c, &q));
		np->types_given = 1;
	}
}

static const struct key_def np_spec_keys[] = {
	{ "podSelector", np_skip },     /* the subject comes from the annotations */
	{ "policyTypes", np_spec_types },
	{ "ingress", np_spec_ingress },
	{ "egress", np_spec_egress },
};

/* An empty spec is Kubernetes' default: Ingress, nothing allowed. */
static int np_doc_spec(struct pctx *c, void *obj)
{
	struct qbuf q;
	unsigned seen;

	if (next(c))
		return -1;
	if (is_null(&c->ev))
		return 0;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &c->ev.start_mark, "expected a mapping for spec, found %s",
			    found(c, &q));
	return parse_map_body(c, "spec", np_spec_keys, NKEYS(np_spec_keys), obj, &seen);
}

static int np_doc_api_version(struct pctx *c, void *obj)
{
	(void)obj;
	return want_literal(c, "apiVersion", "networking.k8s.io/v1");
}

static int np_doc_kind(struct pctx *c, void *obj)
{
	(void)obj;
	return want_literal(c, "kind", "NetworkPolicy");
}

static const struct key_def np_doc_keys[] = {
	{ "apiVersion", np_doc_api_version },
	{ "kind", np_doc_kind },
	{ "metadata", np_doc_metadata },
	{ "spec", np_doc_spec },
	{ "status", np_skip },
};

/* The parsed document into np->e: name, subject, directions. */
static int np_finish(struct pctx *c, struct netpol *np)
{
	struct pr_expectation *e = np->e;
	const char *ns = np->ns ? np->ns : "default";
	long dup;

	if (!np->subj.cgroup.n)
		return fail(c, &np->meta_m,
			    "a NetworkPolicy needs the annotation polrec.dev/cgroup or polrec.dev/pod-uid: polrec cannot evaluate podSelector (the subject is the processes of a cgroup or of a pod)");
	if (asprintf(&e->name, "NetworkPolicy/%s/%s", ns, np->name) < 0) {
		e->name = NULL;
		return fail_oom(c);
	}
	if (asprintf(&e->k8s_ref, "%s/%s", ns, np->name) < 0) {
		e->k8s_ref = NULL;
		return fail_oom(c);
	}
	dup = names_find(c, e->name);
	if (dup >= 0)
		return fail(c, &np->name_m,
			    "duplicate NetworkPolicy %s (already defined by the document at line %d)",
			    e->k8s_ref, c->pol->exps[dup].line);
	e->subjects = calloc(1, sizeof(*e->subjects));
	if (!e->subjects)
		return fail_oom(c);
	e->subjects[0] = np->subj;
	e->nsubjects = 1;
	memset(&np->subj, 0, sizeof(np->subj));
	e->k8s = 1;
	e->has_network = 1;
	/* Kubernetes' defaults: Ingress always, Egress with an egress rule */
	e->has_ingress = np->types_given ? np->type_in : 1;
	e->has_egress = np->types_given ? np->type_eg : np->eg.n > 0;
	if (e->has_ingress) {
		e->ingress = np->in;
		memset(&np->in, 0, sizeof(np->in));
	}
	if (e->has_egress) {
		e->egress = np->eg;
		memset(&np->eg, 0, sizeof(np->eg));
	}
	return 0;
}

/* The current event is the root mapping of a NetworkPolicy document. */
static int parse_netpol(struct pctx *c)
{
	struct pr_expectation e;
	struct netpol np = { .e = &e };
	yaml_mark_t start = c->ev.start_mark;
	struct qbuf q;
	unsigned seen;
	int rc = -1;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &start,
			    "expected a mapping with apiVersion, kind, metadata and spec, found %s",
			    found(c, &q));
	expectation_init(&e, &start);
	if (parse_map_body(c, "a NetworkPolicy", np_doc_keys, NKEYS(np_doc_keys), &np, &seen))
		goto out;
	for (size_t k = 0; k < 3; k++) {
		if (!(seen & (1u << k))) {
			fail(c, &start,
			     "missing key \"%s\" in the NetworkPolicy (expected apiVersion, kind, metadata and spec)",
			     np_doc_keys[k].name);
			goto out;
		}
	}
	if (np_finish(c, &np) || grow(c, &c->pol->exps, &c->cap, c->pol->n, sizeof(e)))
		goto out;
	c->pol->exps[c->pol->n] = e;
	if (names_insert(c, c->pol->n)) {
		memset(&c->pol->exps[c->pol->n], 0, sizeof(e));
		goto out;
	}
	c->pol->n++;
	memset(&e, 0, sizeof(e));
	rc = 0;
out:
	expectation_free(&e);
	free(np.name);
	free(np.ns);
	subject_free(&np.subj);
	net_rules_free(&np.in);
	net_rules_free(&np.eg);
	return rc;
}

/* Which documents are NetworkPolicies: their root mapping's kind, read
 * ahead with a second parser, since keys come in any order. Read only
 * when the text mentions NetworkPolicy; a YAML error stops the scan and
 * the documents left are read as Expectations (the main parser reports
 * the error). */
static int prescan_kinds(struct pctx *c)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, at_key = 0, is_kind = 0;
	size_t cap = 0;

	if (!memmem(c->buf, c->len, "NetworkPolicy", 13))
		return 0;
	if (!yaml_parser_initialize(&p))
		return fail_at(c, 0, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)c->buf, c->len);
	while (yaml_parser_parse(&p, &ev)) {
		yaml_event_type_t t = ev.type;
		int node = t == YAML_SCALAR_EVENT || t == YAML_ALIAS_EVENT ||
			   t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT;

		if (t == YAML_DOCUMENT_START_EVENT) {
			if (grow(c, &c->np_docs, &cap, c->np_ndocs, 1)) {
				yaml_event_delete(&ev);
				break;
			}
			c->np_docs[c->np_ndocs++] = 0;
			depth = 0;
		}
		/* a node starting in the root mapping: a key, then its value */
		if (node && depth == 1) {
			int scalar = t == YAML_SCALAR_EVENT;
			const char *v = scalar ? (const char *)ev.data.scalar.value : "";

			if (!at_key && is_kind && scalar && !strcmp(v, "NetworkPolicy") &&
			    c->np_ndocs)
				c->np_docs[c->np_ndocs - 1] = 1;
			is_kind = at_key && scalar && !strcmp(v, "kind");
			at_key = !at_key;
		}
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT)
			depth++;
		if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT)
			depth--;
		if (t == YAML_MAPPING_START_EVENT && depth == 1)
			at_key = 1;
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&p);
	return c->failed ? -1 : 0;
}

static int expect_event(struct pctx *c, yaml_event_type_t t, const char *what)
{
	struct qbuf q;

	if (next(c))
		return -1;
	if (c->ev.type != t)
		return fail(c, &c->ev.start_mark, "expected %s, found %s", what, found(c, &q));
	return 0;
}

static int parse_stream(struct pctx *c)
{
	if (expect_event(c, YAML_STREAM_START_EVENT, "the start of the YAML stream"))
		return -1;
	for (;;) {
		if (next(c))
			return -1;
		if (c->ev.type == YAML_STREAM_END_EVENT)
			break;
		size_t doc = c->doc++;

		if (c->ev.type != YAML_DOCUMENT_START_EVENT)
			return fail(c, &c->ev.start_mark, "expected a YAML document");
		if (next(c))
			return -1;
		if (!is_null(&c->ev) && doc < c->np_ndocs && c->np_docs[doc]) {
			if (parse_netpol(c))
				return -1;
		} else if (!is_null(&c->ev) && parse_expectation(c)) {
			return -1;
		}
		if (expect_event(c, YAML_DOCUMENT_END_EVENT, "the end of the document"))
			return -1;
	}
	if (c->pol->n == 0)
		return fail_at(c, 1, 1,
			       "no expectations found (expected one or more YAML documents with kind: Expectation)");
	return 0;
}

int pr_policy_parse(const char *buf, size_t len, const char *fname,
		    struct pr_policy **out, char *err, size_t errlen)
{
	struct pctx c = {
		.buf = buf ? buf : "",
		.len = buf ? len : 0,
		.fname = fname ? fname : "<policy>",
		.err = err,
		.errlen = errlen,
	};
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (c.len > PR_POLICY_MAX_BYTES)
		return fail_at(&c, 0, 0, "policy is %zu bytes, larger than the limit of %u bytes",
			       c.len, PR_POLICY_MAX_BYTES);
	c.pol = calloc(1, sizeof(*c.pol));
	if (!c.pol || !(c.pol->source_name = strdup(c.fname))) {
		free(c.pol);
		return fail_at(&c, 0, 0, "out of memory");
	}
	if (!yaml_parser_initialize(&c.yp)) {
		pr_policy_free(c.pol);
		return fail_at(&c, 0, 0, "out of memory");
	}
	yaml_parser_set_input_string(&c.yp, (const unsigned char *)c.buf, c.len);
	rc = prescan_kinds(&c) ?: parse_stream(&c);
	if (c.have_ev)
		yaml_event_delete(&c.ev);
	yaml_parser_delete(&c.yp);
	free(c.names);
	free(c.np_docs);
	if (rc) {
		pr_policy_free(c.pol);
		return -1;
	}
	for (size_t i = 0; i < c.pol->n; i++)
		c.pol->exps[i].source = c.pol->source_name;
	*out = c.pol;
	return 0;
}

/* ---- files ---- */

static int read_all(int fd, char *buf, size_t cap, size_t *got)
{
	*got = 0;
	while (*got < cap) {
		ssize_t n = read(fd, buf + *got, cap - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

__attribute__((format(printf, 4, 5)))
static int file_error(const char *path, char *err, size_t errlen, const char *fmt, ...)
{
	struct pctx c = { .fname = path, .err = err, .errlen = errlen };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail_at(&c, 0, 0, "%s", msg);
}

int pr_policy_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t got;
	char *buf;
	int fd, rc;

	*out = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO in a policy's place must not hang the start or a
	 * reload (it is refused below as not a regular file) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return file_error(path, err, errlen, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = errno;
		close(fd);
		return file_error(path, err, errlen, "cannot stat: %s", strerror(rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return file_error(path, err, errlen, "not a regular file");
	}
	if ((uint64_t)st.st_size > PR_POLICY_MAX_BYTES) {
		close(fd);
		return file_error(path, err, errlen,
				  "policy is %llu bytes, larger than the limit of %u bytes",
				  (unsigned long long)st.st_size, PR_POLICY_MAX_BYTES);
	}
	/* one spare byte tells a file that grew since fstat */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return file_error(path, err, errlen, "out of memory");
	}
	rc = read_all(fd, buf, (size_t)st.st_size + 1, &got);
	close(fd);
	if (rc < 0)
		rc = file_error(path, err, errlen, "cannot read: %s", strerror(errno));
	else if (got > (size_t)st.st_size)
		rc = file_error(path, err, errlen, "file changed while being read");
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = got;
	return 0;
}

int pr_policy_load_file(const char *path, struct pr_policy **out, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int rc;

	*out = NULL;
	if (pr_policy_read_file(path, &buf, &len, err, errlen))
		return -1;
	rc = pr_policy_parse(buf, len, path, out, err, errlen);
	free(buf);
	return rc;
}

/* ---- the model ---- */

static void strlist_free(struct pr_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void subject_free(struct pr_subject *s)
{
	strlist_free(&s->exe);
	strlist_free(&s->cgroup);
	free(s->uids);
	if (s->descendants_of) {
		subject_free(s->descendants_of);
		free(s->descendants_of);
	}
}

static void subjects_free(struct pr_subject *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		subject_free(&v[i]);
	free(v);
}

static void net_rules_free(struct pr_net_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].to);
		free(r->v[i].except);
		free(r->v[i].ports);
	}
	free(r->v);
}

static void expectation_free(struct pr_expectation *e)
{
	free(e->name);
	free(e->k8s_ref);
	subjects_free(e->subjects, e->nsubjects);
	subjects_free(e->except, e->nexcept);
	strlist_free(&e->exec_allow);
	strlist_free(&e->exec_deny);
	strlist_free(&e->write_allow);
	strlist_free(&e->protect);
	net_rules_free(&e->egress);
	net_rules_free(&e->ingress);
	net_rules_free(&e->egress_deny);
}

void pr_policy_free(struct pr_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		expectation_free(&p->exps[i]);
	free(p->exps);
	free(p->source_name);
	for (size_t i = 0; i < p->nsources; i++)
		free(p->sources[i]);
	free(p->sources);
	free(p);
}

static const char *const severity_names[] = {
	[PR_SEV_LOW] = "low",
	[PR_SEV_MEDIUM] = "medium",
	[PR_SEV_HIGH] = "high",
	[PR_SEV_CRITICAL] = "critical",
};

const char *pr_severity_name(enum pr_severity s)
{
	if ((unsigned)s >= NKEYS(severity_names))
		return "unknown";
	return severity_names[s];
}

int pr_severity_parse(const char *s, enum pr_severity *out)
{
	for (size_t i = 0; i < NKEYS(severity_names); i++) {
		if (!strcmp(s, severity_names[i])) {
			*out = (enum pr_severity)i;
			return 0;
		}
	}
	return -1;
}
