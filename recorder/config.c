// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * polrecd.yaml, the daemon's settings (see config.h). The file is small
 * and flat, so it is read from libyaml's event stream directly: a
 * mapping of scalar keys to a scalar, or for a repeatable option a list
 * of scalars. Everything else (nested mappings, anchors, a second
 * document) is an error at its position; so are unknown keys and keys
 * given twice, because a setting that silently does nothing is worse than
 * a daemon that refuses to start.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "recorder/config.h"
#include "recorder/policy.h"

#define CONFIG_MAX_BYTES (1u << 20)

struct cctx {
	yaml_parser_t yp;
	yaml_event_t ev;
	int have_ev;
	const char *path;
	char *err;
	size_t errlen;
	struct pr_config *out;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct cctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->path, m->line + 1, m->column + 1, msg);
	return -1;
}

/* Copy up to 48 bytes of s for a message, non-printable bytes as \xNN. */
static const char *quoted(const char *s, char buf[256])
{
	size_t o = 0;

	buf[o++] = '"';
	for (size_t i = 0; s[i] && o < 200; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == 48) {
			o += (size_t)snprintf(buf + o, 8, "...");
			break;
		}
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int next(struct cctx *c)
{
	if (c->have_ev)
		yaml_event_delete(&c->ev);
	c->have_ev = 0;
	if (!yaml_parser_parse(&c->yp, &c->ev)) {
		yaml_mark_t m = c->yp.problem_mark;

		return fail(c, &m, "YAML syntax error: %s",
			    c->yp.problem ? c->yp.problem : "unknown");
	}
	c->have_ev = 1;
	if ((c->ev.type == YAML_SCALAR_EVENT && c->ev.data.scalar.anchor) ||
	    (c->ev.type == YAML_SEQUENCE_START_EVENT && c->ev.data.sequence_start.anchor) ||
	    (c->ev.type == YAML_MAPPING_START_EVENT && c->ev.data.mapping_start.anchor) ||
	    c->ev.type == YAML_ALIAS_EVENT)
		return fail(c, &c->ev.start_mark, "anchors and aliases are not allowed");
	return 0;
}

static const char *kind(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return "a scalar";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "something else";
	}
}

static int add(struct cctx *c, const char *name, const char *value)
{
	struct pr_config *o = c->out;
	char **a = realloc(o->args, (o->n + 1) * sizeof(*a)), **w;
	char *arg = NULL, *where = NULL;

	if (a)
		o->args = a;
	w = a ? realloc(o->where, (o->n + 1) * sizeof(*w)) : NULL;
	if (w)
		o->where = w;
	if (!a || !w ||
	    (value ? asprintf(&arg, "--%s=%s", name, value) : asprintf(&arg, "--%s", name)) < 0 ||
	    asprintf(&where, "%s:%zu:%zu", c->path, c->ev.start_mark.line + 1,
		     c->ev.start_mark.column + 1) < 0) {
		free(arg);
		snprintf(c->err, c->errlen, "%s: out of memory", c->path);
		return -1;
	}
	o->args[o->n] = arg;
	o->where[o->n++] = where;
	return 0;
}

static int in_list(const char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (!strcmp(*l, s))
			return 1;
	return 0;
}

/* The value of a flag: YAML 1.2's true or false, plain (not quoted). */
static int flag_value(struct cctx *c, const char *name)
{
	const char *v = (const char *)c->ev.data.scalar.value;
	char q[256];

	if (c->ev.type == YAML_SCALAR_EVENT && c->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(v, "true"))
			return add(c, name, NULL);
		if (!strcmp(v, "false"))
			return 0;
	}
	return fail(c, &c->ev.start_mark, "%s takes true or false, found %s", name,
		    c->ev.type == YAML_SCALAR_EVENT ? quoted(v, q) : kind(&c->ev));
}

static int scalar_value(struct cctx *c, const char *name)
{
	const yaml_event_t *e = &c->ev;

	if (e->type != YAML_SCALAR_EVENT)
		return fail(c, &e->start_mark, "%s takes one value, found %s", name, kind(e));
	if (e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (!e->data.scalar.length ||
	    !strcmp((const char *)e->data.scalar.value, "~") ||
	    !strcmp((const char *)e->data.scalar.value, "null")))
		return fail(c, &e->start_mark, "%s needs a value", name);
	/* a control byte would reach the log raw in a later error (and no
	 * option wants one): refused here, where the position is known */
	for (size_t i = 0; i < e->data.scalar.length; i++) {
		unsigned char ch = e->data.scalar.value[i];

		if (ch < 0x20 || ch == 0x7f)
			return fail(c, &e->start_mark, "%s: the value holds the control byte \\x%02x",
				    name, ch);
	}
	return add(c, name, (const char *)e->data.scalar.value);
}

static int list_value(struct cctx *c, const char *name)
{
	for (;;) {
		if (next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (scalar_value(c, name))
			return -1;
	}
}

/* The current event is a key; read it and its value. */
static int setting(struct cctx *c, const struct option *opts, const char *const *refused,
		   const char *const *repeatable, char **seen, size_t nseen)
{
	const struct option *o;
	char key[128], q[256];

	if (c->ev.type != YAML_SCALAR_EVENT)
		return fail(c, &c->ev.start_mark, "expected an option name as the key, found %s",
			    kind(&c->ev));
	if (c->ev.data.scalar.length >= sizeof(key))
		return fail(c, &c->ev.start_mark, "unknown setting %s",
			    quoted((const char *)c->ev.data.scalar.value, q));
	snprintf(key, sizeof(key), "%s", (const char *)c->ev.data.scalar.value);
	for (o = opts; o->name && strcmp(o->name, key); o++)
		;
	if (!o->name)
		return fail(c, &c->ev.start_mark,
			    "unknown setting %s (expected a long option of polrecd, see polrecd --help)",
			    quoted(key, q));
	if (in_list(refused, key))
		return fail(c, &c->ev.start_mark, "%s is not a setting (only on the command line)",
			    key);
	for (size_t i = 0; i < nseen; i++)
		if (!strcmp(seen[i], key))
			return fail(c, &c->ev.start_mark, "%s given twice", key);
	seen[nseen] = strdup(key);
	if (!seen[nseen]) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->path);
		return -1;
	}
	if (next(c))
		return -1;
	if (o->has_arg == no_argument)
		return flag_value(c, key);
	if (c->ev.type == YAML_SEQUENCE_START_EVENT) {
		if (!in_list(repeatable, key))
			return fail(c, &c->ev.start_mark, "%s takes one value, found a list", key);
		return list_value(c, key);
	}
	return scalar_value(c, key);
}

static int parse(struct cctx *c, const struct option *opts, const char *const *refused,
		 const char *const *repeatable)
{
	size_t nopts = 0, nseen = 0;
	char **seen;
	int rc = -1;

	while (opts[nopts].name)
		nopts++;
	seen = calloc(nopts + 1, sizeof(*seen));
	if (!seen) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->path);
		return -1;
	}
	if (next(c) || next(c)) /* stream start, document start or stream end */
		goto out;
	if (c->ev.type == YAML_STREAM_END_EVENT) {
		rc = 0; /* an empty file: no settings */
		goto out;
	}
	if (next(c))
		goto out;
	if (c->ev.type == YAML_SCALAR_EVENT && c->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    !c->ev.data.scalar.length) {
		/* only comments: no settings */
	} else if (c->ev.type != YAML_MAPPING_START_EVENT) {
		fail(c, &c->ev.start_mark, "expected a mapping of settings (option: value), found %s",
		     kind(&c->ev));
		goto out;
	} else {
		for (;;) {
			if (next(c))
				goto out;
			if (c->ev.type == YAML_MAPPING_END_EVENT)
				break;
			if (setting(c, opts, refused, repeatable, seen, nseen))
				goto out;
			nseen++;
		}
	}
	if (next(c) || next(c))
		goto out;
	if (c->ev.type != YAML_STREAM_END_EVENT) {
		fail(c, &c->ev.start_mark, "expected one YAML document, found another");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < nseen + 1 && i <= nopts; i++)
		free(seen[i]);
	free(seen);
	return rc;
}

void pr_config_free(struct pr_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->args[i]);
		free(c->where[i]);
	}
	free(c->args);
	free(c->where);
	memset(c, 0, sizeof(*c));
}

int pr_config_load(const char *path, const struct option *opts, const char *const *refused,
		   const char *const *repeatable, struct pr_config *out, char *err,
		   size_t errlen)
{
	struct cctx c = { .path = path, .err = err, .errlen = errlen, .out = out };
	char *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	/* the same checks as a policy file: regular, bounded, read whole */
	if (pr_policy_read_file(path, &buf, &len, err, errlen))
		return -1;
	if (len > CONFIG_MAX_BYTES) {
		free(buf);
		snprintf(err, errlen, "%s: %zu bytes, larger than the limit of %u", path, len,
			 CONFIG_MAX_BYTES);
		return -1;
	}
	if (!yaml_parser_initialize(&c.yp)) {
		free(buf);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	yaml_parser_set_input_string(&c.yp, (const unsigned char *)buf, len);
	rc = parse(&c, opts, refused, repeatable);
	if (c.have_ev)
		yaml_event_delete(&c.ev);
	yaml_parser_delete(&c.yp);
	free(buf);
	if (rc)
		pr_config_free(out);
	return rc;
}
