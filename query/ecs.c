// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * An incident as one ECS 8.x document (query/ecs.h; the field table is in
 * README.md "OCSF and ECS"). ECS ships no JSON schema: the unit test checks
 * the field names and types this writes against the ECS reference.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "query/ecs.h"
#include "query/export_int.h"
#include "query/render.h"

#ifndef POLREC_VERSION
#define POLREC_VERSION "0.1.0"
#endif

/* ECS event.severity is numeric; these follow Elastic's detection rules
 * (low 21, medium 47, high 73, critical 99). */
static int ecs_severity(const char *sev)
{
	static const struct { const char *name; int v; } map[] = {
		{ "low", 21 }, { "medium", 47 }, { "high", 73 }, { "critical", 99 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (sev && !strcmp(sev, map[i].name))
			return map[i].v;
	return 0;
}

static void add_word(struct xrec *r, struct json_object *arr, const char *w)
{
	if (!arr || json_object_array_add(arr, json_object_new_string(w)))
		r->oom = true;
}

/* event.category and event.type from the incident's kind and action
 * (ECS allowed values only). */
static void ecs_categorize(struct xrec *r, struct json_object *ev,
			   const struct pr_incident_rec *inc)
{
	struct json_object *cat = x_arr(r, ev, "category"), *type = x_arr(r, ev, "type");
	const char *a = inc->action ? inc->action : "";

	if (!strcmp(inc->kind, "exec")) {
		add_word(r, cat, "process");
		add_word(r, type, "start");
	} else if (!strcmp(inc->kind, "file")) {
		add_word(r, cat, "file");
		add_word(r, type, !strcmp(a, "unlink") ? "deletion" : "change");
	} else if (!strcmp(inc->kind, "network")) {
		add_word(r, cat, "network");
		add_word(r, type, "connection");
		add_word(r, type, "start");
	} else {
		add_word(r, cat, "process");
		add_word(r, type, "info");
	}
	add_word(r, cat, "intrusion_detection");
	add_word(r, type, "info");
}

static void ecs_time(struct xrec *r, struct json_object *o, const char *key, uint64_t t)
{
	char buf[PR_TIME_LEN];

	x_str(r, o, NULL, key, pr_fmt_time(t, buf));
}

/* The argv as words (args) and joined (command_line). */
static void ecs_args(struct xrec *r, struct json_object *o, const char *where,
		     const struct pr_proc_rec *p)
{
	struct json_object *arr = x_arr(r, o, "args");
	size_t len, n = 0;
	char *cmd, w[1024], k[32];
	const char *s = p->argv, *end = p->argv ? p->argv + p->argv_len : NULL;

	while (arr && s && s < end) {
		size_t wl = strnlen(s, (size_t)(end - s));
		char *word = strndup(s, wl);

		if (!word) {
			r->oom = true;
			break;
		}
		snprintf(k, sizeof(k), "args[%zu]", n++);
		x_arr_str(r, arr, x_path(w, sizeof(w), where, k), word);
		free(word);
		s += wl + 1;
	}
	x_int(r, o, "args_count", (int64_t)n);
	cmd = x_cmdline(p, &len);
	if (!cmd)
		r->oom = true;
	else
		x_bytes(r, o, where, "command_line", cmd, len);
	free(cmd);
}

static void ecs_proc(struct xrec *r, struct json_object *o, const char *where,
		     const struct pr_proc_rec *p, bool full)
{
	char id[PR_PROCESS_ID_LEN];

	x_int(r, o, "pid", p->pid);
	x_str(r, o, NULL, "entity_id", pr_fmt_process_id(p->pid, p->start_boot, id));
	x_str(r, o, where, "executable", p->exe);
	x_str(r, o, where, "name", x_basename(p->exe));
	ecs_args(r, o, where, p);
	if (p->start_time)
		ecs_time(r, o, "start", p->start_time);
	if (p->exit_time) {
		ecs_time(r, o, "end", p->exit_time);
		x_int(r, o, "exit_code", p->exit_code);
	}
	if (!full)
		return;
	{
		struct json_object *u = x_obj(r, o, "user");
		char uid[16], w[1024];

		snprintf(uid, sizeof(uid), "%u", p->uid);
		x_str(r, u, NULL, "id", uid);
		if (p->user && *p->user)
			x_str(r, u, x_path(w, sizeof(w), where, "user"), "name", p->user);
	}
	if (p->cwd && *p->cwd)
		x_str(r, o, where, "working_directory", p->cwd);
	if (p->sha256 && strlen(p->sha256) == 64)
		x_str(r, x_obj(r, o, "hash"), NULL, "sha256", p->sha256);
}

static void ecs_endpoint(struct xrec *r, struct json_object *o, const char *key,
			 const char *ip, uint16_t port)
{
	struct json_object *e = x_obj(r, o, key);

	if (!ip || !*ip)
		return;
	x_str(r, e, NULL, "ip", ip);
	x_str(r, e, NULL, "address", ip);
	if (port)
		x_int(r, e, "port", port);
}

static void ecs_network(struct xrec *r, struct json_object *o, const struct pr_net_rec *net)
{
	struct json_object *n = x_obj(r, o, "network");

	ecs_endpoint(r, o, "source", net->src, net->sport);
	ecs_endpoint(r, o, "destination", net->dst, net->dport);
	x_str(r, n, NULL, "transport", net->protocol);
	x_str(r, n, NULL, "type", strchr(net->dst, ':') ? "ipv6" : "ipv4");
	x_str(r, n, NULL, "iana_number", !strcmp(net->protocol, "tcp") ? "6" : "17");
	x_str(r, n, NULL, "direction", !strcmp(net->direction, "egress") ? "egress" : "ingress");
}

static void ecs_file(struct xrec *r, struct json_object *o, const char *path)
{
	struct json_object *f = x_obj(r, o, "file");
	const char *base = x_basename(path);

	x_str(r, f, "file", "path", path);
	x_str(r, f, "file", "name", base);
	if (base > path + 1)
		x_bytes(r, f, "file", "directory", path, (size_t)(base - path - 1));
	else if (base == path + 1)
		x_str(r, f, NULL, "directory", "/");
}

static void ecs_lineage(struct xrec *r, struct json_object *pol, const struct pr_incident_full *f)
{
	struct json_object *arr = x_arr(r, pol, "lineage");

	for (size_t i = 0; arr && i < f->nlineage; i++) {
		struct json_object *p = json_object_new_object();
		char w[64];

		snprintf(w, sizeof(w), "polrec.lineage[%zu]", i);
		ecs_proc(r, p, w, &f->lineage[i], false);
		x_int(r, p, "ppid", f->lineage[i].ppid);
		if (!p || json_object_array_add(arr, p))
			r->oom = true;
	}
}

static void ecs_events(struct xrec *r, struct json_object *pol, const struct pr_incident_full *f)
{
	struct json_object *arr = x_arr(r, pol, "events");

	for (size_t i = 0; arr && i < f->nevents; i++) {
		const struct pr_event_rec *e = &f->events[i];
		struct json_object *o = json_object_new_object();
		char w[64], id[PR_PROCESS_ID_LEN];

		snprintf(w, sizeof(w), "polrec.events[%zu]", i);
		ecs_time(r, o, "@timestamp", e->time);
		x_str(r, o, NULL, "kind", e->kind);
		x_str(r, o, NULL, "mark", pr_mark_name(pr_event_mark_of(f, i)));
		x_int(r, o, "pid", e->pid);
		x_str(r, o, NULL, "entity_id", pr_fmt_process_id(e->pid, e->start_boot, id));
		x_str(r, o, w, "path", e->path);
		if (e->path2 && *e->path2)
			x_str(r, o, w, "path2", e->path2);
		if (e->detail && *e->detail)
			x_str(r, o, w, "detail", e->detail);
		if (!o || json_object_array_add(arr, o))
			r->oom = true;
	}
}

static void ecs_flows(struct xrec *r, struct json_object *pol, const struct pr_incident_full *f)
{
	struct json_object *arr;

	if (!f->nflows)
		return;
	arr = x_arr(r, pol, "flows");
	for (size_t i = 0; arr && i < f->nflows; i++) {
		const struct pr_flow_rec *fl = &f->flows[i];
		struct json_object *o = json_object_new_object();
		char *b64;

		x_int(r, o, "flow_id", (int64_t)fl->flow_id);
		ecs_time(r, o, "@timestamp", fl->time);
		x_str(r, o, NULL, "role", fl->role);
		x_str(r, o, NULL, "transport", fl->protocol);
		x_str(r, o, NULL, "local", fl->local);
		x_int(r, o, "local_port", fl->lport);
		x_str(r, o, NULL, "remote", fl->remote);
		x_int(r, o, "remote_port", fl->rport);
		x_int(r, o, "pid", fl->pid);
		x_int(r, o, "packets", (int64_t)fl->packets);
		x_int(r, o, "bytes", (int64_t)fl->bytes);
		if (fl->head_len) {
			b64 = pr_base64(fl->head, fl->head_len);
			if (!b64)
				r->oom = true;
			else
				x_str(r, o, NULL, "payload_head_b64", b64);
			free(b64);
		}
		if (!o || json_object_array_add(arr, o))
			r->oom = true;
	}
}

int pr_ecs_render_full(FILE *out, const struct pr_incident_full *f,
		       const struct pr_export_host *h)
{
	const struct pr_incident_rec *inc = &f->inc;
	struct json_object *o = json_object_new_object(), *ev, *rule, *proc, *host, *os, *obs;
	struct json_object *pol, *u;
	struct xrec r = { 0 };
	struct x_host hh;
	char uid[352], buf[PR_TIME_LEN];

	if (!o)
		return -1;
	x_host_fill(&hh, h);
	snprintf(uid, sizeof(uid), "%s:%" PRId64, hh.uid_prefix, inc->id);
	x_str(&r, o, NULL, "@timestamp", pr_fmt_time(inc->time, buf));
	x_str(&r, o, NULL, "message", inc->actual);
	x_str(&r, x_obj(&r, o, "ecs"), NULL, "version", PR_ECS_VERSION);

	ev = x_obj(&r, o, "event");
	x_str(&r, ev, NULL, "kind", "alert");
	ecs_categorize(&r, ev, inc);
	x_str(&r, ev, "event", "action", inc->action);
	x_int(&r, ev, "severity", ecs_severity(inc->severity));
	x_str(&r, ev, NULL, "id", uid);
	x_str(&r, ev, NULL, "module", "polrec");
	x_str(&r, ev, NULL, "dataset", "polrec.incident");
	x_str(&r, ev, NULL, "provider", "polrecd");
	x_str(&r, ev, NULL, "outcome", "success");
	x_str(&r, ev, "event", "reason", inc->actual);
	ecs_time(&r, ev, "start", inc->time);
	if (inc->follow_until)
		ecs_time(&r, ev, "end", inc->follow_until);

	rule = x_obj(&r, o, "rule");
	x_str(&r, rule, "rule", "name", inc->policy);
	x_str(&r, rule, NULL, "id", inc->rule);
	x_str(&r, rule, NULL, "category", inc->rule);
	x_str(&r, rule, "rule", "description", inc->expected);
	x_str(&r, rule, NULL, "ruleset", "polrec");

	proc = x_obj(&r, o, "process");
	ecs_proc(&r, proc, "process", &inc->proc, true);
	if (f->nlineage > 1 && f->lineage[1].pid == inc->proc.ppid)
		ecs_proc(&r, x_obj(&r, proc, "parent"), "process.parent", &f->lineage[1], true);
	else if (inc->proc.ppid)
		x_int(&r, x_obj(&r, proc, "parent"), "pid", inc->proc.ppid);

	u = x_obj(&r, o, "user");
	snprintf(buf, sizeof(buf), "%u", inc->proc.uid);
	x_str(&r, u, NULL, "id", buf);
	if (inc->proc.user && *inc->proc.user)
		x_str(&r, u, "user", "name", inc->proc.user);

	if (!strcmp(inc->kind, "file") || !strcmp(inc->kind, "exec"))
		ecs_file(&r, o, inc->path);
	if (inc->net)
		ecs_network(&r, o, inc->net);
	if (inc->proc.container_id && *inc->proc.container_id)
		x_str(&r, x_obj(&r, o, "container"), "container", "id", inc->proc.container_id);

	host = x_obj(&r, o, "host");
	x_str(&r, host, "host", "hostname", hh.hostname);
	x_str(&r, host, "host", "name", hh.hostname);
	os = x_obj(&r, host, "os");
	x_str(&r, os, NULL, "type", "linux");
	x_str(&r, os, NULL, "family", "linux");
	x_str(&r, os, "host.os", "kernel", hh.kernel);
	obs = x_obj(&r, o, "observer");
	x_str(&r, obs, NULL, "vendor", "polrec");
	x_str(&r, obs, NULL, "product", "polrec");
	x_str(&r, obs, NULL, "version", POLREC_VERSION);
	x_str(&r, obs, NULL, "type", "host-recorder");

	pol = x_obj(&r, o, "polrec");
	x_int(&r, pol, "incident_id", inc->id);
	x_str(&r, pol, "polrec", "expectation", inc->policy);
	x_str(&r, pol, NULL, "rule", inc->rule);
	x_str(&r, pol, NULL, "severity", inc->severity);
	x_str(&r, pol, NULL, "kind", inc->kind);
	x_str(&r, pol, "polrec", "expected", inc->expected);
	x_str(&r, pol, "polrec", "actual", inc->actual);
	x_int(&r, pol, "violations", inc->violations);
	if (inc->policy_version) {
		x_int(&r, pol, "policy_version", inc->policy_version);
		x_str(&r, pol, NULL, "policy_sha256", inc->policy_sha256);
	}
	if (inc->boot_id) {
		x_str(&r, pol, NULL, "boot_id", inc->boot_id);
		x_int(&r, pol, "boot_time_ns", (int64_t)inc->boot_time);
	}
	x_int(&r, pol, "lost_events", (int64_t)inc->lost_events);
	x_int(&r, pol, "loginuid", inc->proc.loginuid);
	x_int(&r, pol, "sessionid", inc->proc.sessionid);
	x_str(&r, pol, "polrec", "cgroup", inc->proc.cgroup);
	if (inc->net)
		x_str(&r, pol, NULL, "result", inc->net->result);
	ecs_lineage(&r, pol, f);
	ecs_events(&r, pol, f);
	ecs_flows(&r, pol, f);
	if (f->ngaps) {
		struct json_object *arr = x_arr(&r, pol, "gaps");

		for (size_t i = 0; arr && i < f->ngaps; i++) {
			struct json_object *g = json_object_new_object();

			ecs_time(&r, g, "from", f->gaps[i].from);
			ecs_time(&r, g, "to", f->gaps[i].to);
			x_str(&r, g, NULL, "stage", f->gaps[i].stage);
			x_str(&r, g, NULL, "kind", f->gaps[i].kind);
			x_int(&r, g, "count", (int64_t)f->gaps[i].count);
			if (!g || json_object_array_add(arr, g))
				r.oom = true;
		}
	}
	if (r.raw)
		x_add(&r, pol, "raw_b64", r.raw);
	if (r.oom) {
		json_object_put(o);
		errno = ENOMEM;
		return -1;
	}
	return x_emit(out, o);
}
