// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * An incident as OCSF 1.2.0 (query/ocsf.h has the shape; README.md "OCSF
 * and ECS" the mapping table). tests/unit/test_ocsf.c checks every record
 * against the schema copy in tests/data/ocsf-1.2.0.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <json-c/json.h>

#include "query/export_int.h"
#include "query/ocsf.h"
#include "query/render.h"
#include "schema/chain.h"

#ifndef POLREC_VERSION
#define POLREC_VERSION "0.1.0"
#endif

/* ---- shared building blocks (also used by ecs.c) ---- */

struct json_object *x_add(struct xrec *r, struct json_object *o, const char *key,
			  struct json_object *v)
{
	if (!v || !o || json_object_object_add(o, key, v)) {
		json_object_put(v);
		r->oom = true;
		return NULL;
	}
	return v;
}

const char *x_path(char *buf, size_t len, const char *where, const char *key)
{
	/* a key of raw_b64 only: a cut one still says where it was */
	if (snprintf(buf, len, "%s%s%s", where ? where : "", where && *where ? "." : "", key) >=
	    (int)len && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

/* A JSON string of s[0..len) as UTF-8 text; when it was not valid, the
 * exact bytes in base64 under r->raw[where]. NULL (and oom) on ENOMEM. */
static struct json_object *x_text(struct xrec *r, const char *where, const char *s, size_t len)
{
	struct json_object *v = NULL;
	char *fixed, *b64;
	size_t flen;

	if (!s)
		s = "", len = 0;
	if (len > INT32_MAX)
		len = INT32_MAX; /* json-c's limit; store records are far shorter */
	if (pr_utf8_valid(s, len)) {
		v = json_object_new_string_len(s, (int)len);
		if (!v)
			r->oom = true;
		return v;
	}
	fixed = pr_utf8_fix(s, len, &flen);
	b64 = pr_base64(s, len);
	if (fixed && b64 && flen <= INT32_MAX) {
		v = json_object_new_string_len(fixed, (int)flen);
		if (!r->raw)
			r->raw = json_object_new_object();
		x_add(r, r->raw, where, json_object_new_string(b64));
	}
	if (!v)
		r->oom = true;
	free(fixed);
	free(b64);
	return v;
}

void x_bytes(struct xrec *r, struct json_object *o, const char *where, const char *key,
	     const char *s, size_t len)
{
	char path[1024];

	x_add(r, o, key, x_text(r, x_path(path, sizeof(path), where, key), s, len));
}

void x_arr_str(struct xrec *r, struct json_object *arr, const char *where, const char *s)
{
	struct json_object *v = x_text(r, where, s, s ? strlen(s) : 0);

	if (!v || !arr || json_object_array_add(arr, v)) {
		json_object_put(v);
		r->oom = true;
	}
}

void x_str(struct xrec *r, struct json_object *o, const char *where, const char *key,
	   const char *s)
{
	x_bytes(r, o, where, key, s, s ? strlen(s) : 0);
}

void x_int(struct xrec *r, struct json_object *o, const char *key, int64_t v)
{
	x_add(r, o, key, json_object_new_int64(v));
}

struct json_object *x_obj(struct xrec *r, struct json_object *o, const char *key)
{
	return x_add(r, o, key, json_object_new_object());
}

struct json_object *x_arr(struct xrec *r, struct json_object *o, const char *key)
{
	return x_add(r, o, key, json_object_new_array());
}

const char *x_basename(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	if (!path)
		return "";
	return slash && slash[1] ? slash + 1 : path;
}

char *x_cmdline(const struct pr_proc_rec *p, size_t *len)
{
	size_t n = p->argv ? p->argv_len : 0;
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	if (n)
		memcpy(s, p->argv, n);
	/* a trailing NUL does not start another word */
	if (n && s[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	s[n] = '\0';
	*len = n;
	return s;
}

const struct pr_proc_rec *x_find_proc(const struct pr_incident_full *f, uint32_t pid,
				      uint64_t start_boot, size_t *idx)
{
	for (size_t i = 0; i < f->nlineage; i++)
		if (f->lineage[i].pid == pid && f->lineage[i].start_boot == start_boot) {
			*idx = i;
			return &f->lineage[i];
		}
	*idx = SIZE_MAX;
	if (f->inc.proc.pid == pid && f->inc.proc.start_boot == start_boot)
		return &f->inc.proc;
	return NULL;
}

bool x_is_net_kind(const char *k)
{
	static const char *const net[] = { "connect", "accept", "send", "bind", "listen" };

	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		if (!strcmp(k, net[i]))
			return true;
	return false;
}

bool x_is_file_kind(const char *k)
{
	static const char *const file[] = { "write", "rename", "unlink", "chmod", "chown",
					    "truncate", "file" };

	for (size_t i = 0; i < sizeof(file) / sizeof(file[0]); i++)
		if (!strcmp(k, file[i]))
			return true;
	return false;
}

/* "1.2.3.4:80" or "[::1]:80" */
static int parse_endpoint(const char *s, size_t len, char *addr, size_t alen, uint16_t *port)
{
	const char *colon, *end = s + len;
	unsigned long v;
	char num[8], *e;
	size_t n;

	colon = memrchr(s, ':', len);
	if (!colon || colon == s || end - colon - 1 < 1 || end - colon - 1 > 5)
		return -1;
	memcpy(num, colon + 1, (size_t)(end - colon - 1));
	num[end - colon - 1] = '\0';
	v = strtoul(num, &e, 10);
	if (*e || v > 65535)
		return -1;
	if (*s == '[') {
		if (colon[-1] != ']')
			return -1;
		s++;
		n = (size_t)(colon - 1 - s);
	} else {
		n = (size_t)(colon - s);
	}
	if (!n || n >= alen)
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	*port = (uint16_t)v;
	return 0;
}

int x_parse_net(const char *path, struct x_net *out)
{
	const char *p = path, *sp, *ep2;

	memset(out, 0, sizeof(*out));
	if (!path)
		return -1;
	sp = strchr(p, ' ');
	if (!sp || sp == p || (size_t)(sp - p) >= sizeof(out->proto))
		return -1;
	memcpy(out->proto, p, (size_t)(sp - p));
	p = sp + 1;
	sp = strchr(p, ' ');
	if (parse_endpoint(p, sp ? (size_t)(sp - p) : strlen(p), out->local, sizeof(out->local),
			   &out->lport))
		return -1;
	if (!sp)
		return 0;
	if (!strncmp(sp, " -> ", 4))
		out->inbound = false;
	else if (!strncmp(sp, " <- ", 4))
		out->inbound = true;
	else
		return -1;
	ep2 = sp + 4;
	return parse_endpoint(ep2, strlen(ep2), out->remote, sizeof(out->remote), &out->rport);
}

static bool cpu_hypervisor(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[4096];
	bool yes = false;

	if (!f)
		return false;
	while (!yes && fgets(line, sizeof(line), f))
		yes = !strncmp(line, "flags", 5) && strstr(line, " hypervisor");
	fclose(f);
	return yes;
}

void x_host_fill(struct x_host *out, const struct pr_export_host *h)
{
	struct utsname u;

	memset(out, 0, sizeof(*out));
	out->virtual_machine = cpu_hypervisor();
	if (uname(&u) == 0) {
		snprintf(out->hostname, sizeof(out->hostname), "%s", u.nodename);
		snprintf(out->kernel, sizeof(out->kernel), "%s", u.release);
	}
	if (h && h->hostname)
		snprintf(out->hostname, sizeof(out->hostname), "%s", h->hostname);
	if (h && h->kernel)
		snprintf(out->kernel, sizeof(out->kernel), "%s", h->kernel);
	snprintf(out->uid_prefix, sizeof(out->uid_prefix), "%s",
		 h && h->uid_prefix ? h->uid_prefix : out->hostname);
}

int x_emit(FILE *f, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	int err = !s || fputs(s, f) == EOF || fputc('\n', f) == EOF ? -1 : 0;

	if (!s)
		errno = ENOMEM;
	json_object_put(o);
	return err;
}

/* ---- OCSF ---- */

/* class, activity and what the records of one incident share */
struct ocsf_ctx {
	const struct pr_incident_full *f;
	struct x_host host;
	char uid[352];          /* the finding's uid */
	int severity_id;
};

enum {
	CLASS_FILE = 1001,
	CLASS_PROCESS = 1007,
	CLASS_FINDING = 2004,
	CLASS_NETWORK = 4001,
};

static const char *class_name(int cls)
{
	switch (cls) {
	case CLASS_FILE:
		return "File System Activity";
	case CLASS_PROCESS:
		return "Process Activity";
	case CLASS_FINDING:
		return "Detection Finding";
	default:
		return "Network Activity";
	}
}

static int severity_id(const char *sev)
{
	static const char *const names[] = { "low", "medium", "high", "critical" };

	for (int i = 0; i < 4; i++)
		if (sev && !strcmp(sev, names[i]))
			return i + 2; /* Low 2 .. Critical 5 */
	return 0;
}

static const char *severity_caption(int id)
{
	static const char *const cap[] = { "Unknown", "Informational", "Low", "Medium", "High",
					   "Critical" };

	return id >= 0 && id <= 5 ? cap[id] : "Other";
}

/* The classification every record starts with. */
static struct json_object *ocsf_record(struct xrec *r, const struct ocsf_ctx *c, int cls,
				       int activity, const char *activity_name, uint64_t time,
				       int sev)
{
	struct json_object *o = json_object_new_object();
	char tname[96];

	if (!o) {
		r->oom = true;
		return NULL;
	}
	x_int(r, o, "activity_id", activity);
	x_str(r, o, NULL, "activity_name", activity_name);
	x_int(r, o, "category_uid", cls / 1000);
	x_str(r, o, NULL, "category_name", cls / 1000 == 1 ? "System Activity" :
				     cls / 1000 == 2 ? "Findings" : "Network Activity");
	x_int(r, o, "class_uid", cls);
	x_str(r, o, NULL, "class_name", class_name(cls));
	x_int(r, o, "type_uid", (int64_t)cls * 100 + activity);
	snprintf(tname, sizeof(tname), "%s: %s", class_name(cls), activity_name);
	x_str(r, o, NULL, "type_name", tname);
	x_int(r, o, "time", x_ms(time));
	x_int(r, o, "severity_id", sev);
	x_str(r, o, NULL, "severity", severity_caption(sev));
	return o;
}

static void ocsf_metadata(struct xrec *r, struct json_object *o, const char *uid,
			  const char *correlation, bool finding)
{
	struct json_object *m = x_obj(r, o, "metadata"), *p, *prof;

	x_str(r, m, NULL, "version", PR_OCSF_VERSION);
	x_str(r, m, NULL, "uid", uid);
	if (correlation)
		x_str(r, m, NULL, "correlation_uid", correlation);
	prof = x_arr(r, m, "profiles");
	if (prof) {
		json_object_array_add(prof, json_object_new_string("host"));
		if (finding)
			json_object_array_add(prof, json_object_new_string("security_control"));
	}
	p = x_obj(r, m, "product");
	x_str(r, p, NULL, "name", "polrec");
	x_str(r, p, NULL, "vendor_name", "polrec");
	x_str(r, p, NULL, "version", POLREC_VERSION);
	x_str(r, m, NULL, "log_name", finding ? "incidents" : "incident-events");
}

static void ocsf_device(struct xrec *r, struct json_object *o, const struct ocsf_ctx *c)
{
	struct json_object *d = x_obj(r, o, "device"), *os;

	/* endpoint type_id has no "Unknown" in 1.2.0: a guest says so in
	 * /proc/cpuinfo (the hypervisor flag), anything else is a server */
	x_int(r, d, "type_id", c->host.virtual_machine ? 6 : 1);
	x_str(r, d, NULL, "type", c->host.virtual_machine ? "Virtual" : "Server");
	x_str(r, d, "device", "hostname", c->host.hostname);
	x_str(r, d, "device", "name", c->host.hostname);
	os = x_obj(r, d, "os");
	x_str(r, os, NULL, "name", "Linux");
	x_int(r, os, "type_id", 200);
	x_str(r, os, NULL, "type", "Linux");
	x_str(r, os, "device.os", "version", c->host.kernel);
}

/* A file object at the dotted path w ("evidences[0].file"). */
static void ocsf_file(struct xrec *r, struct json_object *file, const char *w,
		      const char *path, int type_id)
{
	const char *base = x_basename(path);

	x_str(r, file, w, "path", path);
	x_str(r, file, w, "name", *base ? base : "/");
	if (path && base > path + 1)
		x_bytes(r, file, w, "parent_folder", path, (size_t)(base - path - 1));
	else if (path && base == path + 1)
		x_str(r, file, w, "parent_folder", "/");
	x_int(r, file, "type_id", type_id);
}

static void ocsf_user(struct xrec *r, struct json_object *o, const char *where,
		      const struct pr_proc_rec *p)
{
	struct json_object *u = x_obj(r, o, "user");
	char w[1024], uid[16];

	snprintf(uid, sizeof(uid), "%u", p->uid);
	x_str(r, u, NULL, "uid", uid);
	if (p->user && *p->user)
		x_str(r, u, x_path(w, sizeof(w), where, "user"), "name", p->user);
}

/* How many parents a process object carries: the finding's evidence the
 * whole chain; activity records one (the schema recommends not nesting
 * deep there) and the lineage list of executables. */
#define PARENTS_ALL 256 /* the recorder's own lineage cap: a damaged store's
			* longer chain must not exhaust the stack */

/* A process object: what the store knows of p (known: p is a recorded
 * process, not just an event's pid), up to `parents` of its parents at
 * creation (the incident's lineage) as parent_process; exe overrides
 * p->exe (an exec event's image). */
static struct json_object *ocsf_process(struct xrec *r, const struct ocsf_ctx *c,
					const struct pr_proc_rec *p, size_t idx, const char *exe,
					const char *where, bool known, int parents, int depth)
{
	struct json_object *o = json_object_new_object(), *file, *arr;
	const struct pr_incident_full *f = c->f;
	char uid[PR_PROCESS_ID_LEN], w[1024], *cmd;
	size_t len;

	if (!o) {
		r->oom = true;
		return NULL;
	}
	if (!exe)
		exe = p->exe ? p->exe : "";
	x_int(r, o, "pid", p->pid);
	x_str(r, o, NULL, "uid", pr_fmt_process_id(p->pid, p->start_boot, uid));
	if (*exe) {
		x_str(r, o, where, "name", x_basename(exe));
		file = x_obj(r, o, "file");
		ocsf_file(r, file, x_path(w, sizeof(w), where, "file"), exe, 1);
		if (p->sha256 && strlen(p->sha256) == 64 && p->exe && !strcmp(exe, p->exe)) {
			struct json_object *h = json_object_new_object();

			arr = x_arr(r, file, "hashes");
			x_int(r, h, "algorithm_id", 3);
			x_str(r, h, NULL, "algorithm", "SHA-256");
			x_str(r, h, NULL, "value", p->sha256);
			if (!h || !arr || json_object_array_add(arr, h))
				r->oom = true;
		}
	}
	if (!known)
		return o;
	cmd = x_cmdline(p, &len);
	if (!cmd)
		r->oom = true;
	else
		x_bytes(r, o, where, "cmd_line", cmd, len);
	free(cmd);
	ocsf_user(r, o, where, p);
	if (p->start_time)
		x_int(r, o, "created_time", x_ms(p->start_time));
	if (p->exit_time)
		x_int(r, o, "terminated_time", x_ms(p->exit_time));
	if (idx == SIZE_MAX)
		return o;
	/* lineage: the executables of every known ancestor, parent first */
	if (depth == 0 && idx + 1 < f->nlineage) {
		arr = x_arr(r, o, "lineage");
		for (size_t i = idx + 1; arr && i < f->nlineage; i++) {
			char k[32];

			snprintf(k, sizeof(k), "lineage[%zu]", i - idx - 1);
			x_arr_str(r, arr, x_path(w, sizeof(w), where, k), f->lineage[i].exe);
		}
	}
	if (parents > 0 && idx + 1 < f->nlineage && f->lineage[idx + 1].pid == p->ppid &&
	    f->lineage[idx + 1].start_boot == p->pstart_boot)
		x_add(r, o, "parent_process",
		      ocsf_process(r, c, &f->lineage[idx + 1], idx + 1, NULL,
				   x_path(w, sizeof(w), where, "parent_process"), true, parents - 1,
				   depth + 1));
	return o;
}

/* The process an event or flow belongs to: the recorded one (with its
 * parents), or only what the event itself says (a descendant of the
 * violator is not in the lineage: its pid, identity and image). */
static struct json_object *ocsf_process_of(struct xrec *r, const struct ocsf_ctx *c,
					   uint32_t pid, uint64_t start_boot, const char *exe,
					   const char *where, int parents)
{
	const struct pr_proc_rec *p;
	struct pr_proc_rec tmp = { 0 };
	size_t idx;

	p = x_find_proc(c->f, pid, start_boot, &idx);
	if (!p) {
		tmp.pid = pid;
		tmp.start_boot = start_boot;
		tmp.exe = exe ? exe : "";
		return ocsf_process(r, c, &tmp, SIZE_MAX, exe, where, false, 0, 0);
	}
	return ocsf_process(r, c, p, idx, exe, where, true, parents, 0);
}

static void ocsf_actor(struct xrec *r, struct json_object *o, const struct ocsf_ctx *c,
		       uint32_t pid, uint64_t start_boot, const char *where)
{
	struct json_object *a = x_obj(r, o, "actor");
	char w[1024];

	x_add(r, a, "process", ocsf_process_of(r, c, pid, start_boot, NULL,
						x_path(w, sizeof(w), where, "process"), 1));
}

static void ocsf_endpoint(struct xrec *r, struct json_object *o, const char *key,
			  const char *ip, uint16_t port)
{
	struct json_object *e = x_obj(r, o, key);

	x_str(r, e, NULL, "ip", ip);
	if (port)
		x_int(r, e, "port", port);
}

static void ocsf_connection(struct xrec *r, struct json_object *o, const char *proto,
			    int direction_id, const char *addr)
{
	struct json_object *ci = x_obj(r, o, "connection_info");

	x_int(r, ci, "direction_id", direction_id);
	x_str(r, ci, NULL, "direction", direction_id == 1 ? "Inbound" :
					direction_id == 2 ? "Outbound" : "Unknown");
	x_str(r, ci, NULL, "protocol_name", proto);
	if (!strcmp(proto, "tcp"))
		x_int(r, ci, "protocol_num", 6);
	else if (!strcmp(proto, "udp"))
		x_int(r, ci, "protocol_num", 17);
	x_int(r, ci, "protocol_ver_id", strchr(addr, ':') ? 6 : 4);
}

/* src/dst/connection_info of a network event: the incident's own network
 * side for its violation, else the event's text. bind/listen have only
 * the local end: it is the destination, and the source any address. */
static void ocsf_net_sides(struct xrec *r, struct json_object *o, const struct pr_net_rec *net,
			   const char *path)
{
	struct x_net n;
	bool v6;

	if (net) {
		v6 = strchr(net->dst, ':') != NULL;
		ocsf_endpoint(r, o, "src_endpoint", *net->src ? net->src : v6 ? "::" : "0.0.0.0",
			      net->sport);
		ocsf_endpoint(r, o, "dst_endpoint", net->dst, net->dport);
		ocsf_connection(r, o, net->protocol, !strcmp(net->direction, "egress") ? 2 : 1,
				net->dst);
		return;
	}
	if (x_parse_net(path, &n)) {
		/* unreadable: say so rather than invent addresses */
		struct json_object *e = x_obj(r, o, "src_endpoint");

		x_str(r, e, "src_endpoint", "name", path);
		e = x_obj(r, o, "dst_endpoint");
		x_str(r, e, "dst_endpoint", "name", path);
		return;
	}
	v6 = strchr(n.local, ':') != NULL;
	if (!*n.remote) {
		ocsf_endpoint(r, o, "src_endpoint", v6 ? "::" : "0.0.0.0", 0);
		ocsf_endpoint(r, o, "dst_endpoint", n.local, n.lport);
		ocsf_connection(r, o, n.proto, 1, n.local);
	} else if (n.inbound) {
		ocsf_endpoint(r, o, "src_endpoint", n.remote, n.rport);
		ocsf_endpoint(r, o, "dst_endpoint", n.local, n.lport);
		ocsf_connection(r, o, n.proto, 1, n.local);
	} else {
		ocsf_endpoint(r, o, "src_endpoint", n.local, n.lport);
		ocsf_endpoint(r, o, "dst_endpoint", n.remote, n.rport);
		ocsf_connection(r, o, n.proto, 2, n.local);
	}
}

/* Put the raw bytes and the polrec fields into unmapped, finish. */
static int ocsf_finish(FILE *out, struct xrec *r, struct json_object *o,
		       struct json_object *polrec)
{
	if (r->raw)
		x_add(r, polrec, "raw_b64", r->raw);
	r->raw = NULL;
	if (r->oom) {
		json_object_put(o);
		errno = ENOMEM;
		return -1;
	}
	return x_emit(out, o);
}

static struct json_object *ocsf_unmapped(struct xrec *r, struct json_object *o,
					 const struct ocsf_ctx *c)
{
	struct json_object *u = x_obj(r, o, "unmapped"), *p = x_obj(r, u, "polrec");

	x_int(r, p, "incident_id", c->f->inc.id);
	return p;
}

/* ---- activity records ---- */

struct activity {
	int cls, id;
	const char *name;
};

static struct activity activity_of(const char *kind)
{
	static const struct { const char *kind; struct activity a; } map[] = {
		{ "exec", { CLASS_PROCESS, 1, "Launch" } },
		{ "fork", { CLASS_PROCESS, 1, "Launch" } },
		{ "exit", { CLASS_PROCESS, 2, "Terminate" } },
		{ "ptrace", { CLASS_PROCESS, 3, "Open" } },
		{ "signal", { CLASS_PROCESS, 99, "Other" } },
		{ "write", { CLASS_FILE, 3, "Update" } },
		{ "truncate", { CLASS_FILE, 3, "Update" } },
		{ "rename", { CLASS_FILE, 5, "Rename" } },
		{ "unlink", { CLASS_FILE, 4, "Delete" } },
		{ "chmod", { CLASS_FILE, 7, "Set Security" } },
		{ "chown", { CLASS_FILE, 7, "Set Security" } },
		{ "connect", { CLASS_NETWORK, 1, "Open" } },
		{ "accept", { CLASS_NETWORK, 1, "Open" } },
		{ "send", { CLASS_NETWORK, 6, "Traffic" } },
		{ "bind", { CLASS_NETWORK, 99, "Other" } },
		{ "listen", { CLASS_NETWORK, 99, "Other" } },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(kind, map[i].kind))
			return map[i].a;
	return (struct activity){ CLASS_PROCESS, 99, "Other" };
}

static void event_uid(const struct ocsf_ctx *c, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s:e%zu", c->uid, i);
}

static void flow_uid(const struct ocsf_ctx *c, uint64_t flow_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s:f%" PRIu64, c->uid, flow_id);
}

static int ocsf_event(FILE *out, const struct ocsf_ctx *c, size_t i)
{
	const struct pr_event_rec *e = &c->f->events[i];
	const struct pr_incident_rec *inc = &c->f->inc;
	struct activity a = activity_of(e->kind);
	int mark = pr_event_mark_of(c->f, i);
	struct json_object *o, *file, *pol, *p;
	struct xrec r = { 0 };
	char uid[400];

	o = ocsf_record(&r, c, a.cls, a.id, a.name, e->time,
			mark == PR_MARK_CONTEXT ? 1 : c->severity_id);
	event_uid(c, i, uid, sizeof(uid));
	ocsf_metadata(&r, o, uid, c->uid, false);
	ocsf_device(&r, o, c);
	if (a.cls == CLASS_PROCESS) {
		const struct pr_proc_rec *self;
		size_t idx;

		p = ocsf_process_of(&r, c, e->pid, e->start_boot,
				    !strcmp(e->kind, "exec") && *e->path ? e->path : NULL,
				    "process", 1);
		x_add(&r, o, "process", p);
		/* the actor of a launch is the parent; of the rest, itself */
		self = x_find_proc(c->f, e->pid, e->start_boot, &idx);
		if (a.id == 1 && self && idx != SIZE_MAX && idx + 1 < c->f->nlineage)
			ocsf_actor(&r, o, c, c->f->lineage[idx + 1].pid,
				   c->f->lineage[idx + 1].start_boot, "actor");
		else
			ocsf_actor(&r, o, c, e->pid, e->start_boot, "actor");
	} else if (a.cls == CLASS_FILE) {
		ocsf_actor(&r, o, c, e->pid, e->start_boot, "actor");
		file = x_obj(&r, o, "file");
		if (!strcmp(e->kind, "rename") && e->path2 && *e->path2) {
			ocsf_file(&r, file, "file", e->path2, 0);
			ocsf_file(&r, x_obj(&r, o, "file_result"), "file_result", e->path, 0);
		} else {
			ocsf_file(&r, file, "file", e->path, strcmp(e->kind, "write") &&
				  strcmp(e->kind, "truncate") ? 0 : 1);
		}
	} else {
		ocsf_actor(&r, o, c, e->pid, e->start_boot, "actor");
		ocsf_net_sides(&r, o, mark == PR_MARK_VIOLATION ? inc->net : NULL, e->path);
	}
	{
		char *msg;

		if (asprintf(&msg, "%s %s", e->kind, e->path ? e->path : "") < 0) {
			msg = NULL;
			r.oom = true;
		} else {
			x_str(&r, o, NULL, "message", msg);
		}
		free(msg);
	}
	if (mark != PR_MARK_CONTEXT) {
		/* what the control did: nothing, polrec records */
		x_int(&r, o, "action_id", 1);
		x_str(&r, o, NULL, "action", "Allowed");
		x_int(&r, o, "disposition_id", 15);
		x_str(&r, o, NULL, "disposition", "Detected");
		json_object_array_add(json_object_object_get(json_object_object_get(o, "metadata"),
							     "profiles"),
				      json_object_new_string("security_control"));
	}
	pol = ocsf_unmapped(&r, o, c);
	x_str(&r, pol, NULL, "kind", e->kind);
	x_str(&r, pol, NULL, "mark", pr_mark_name(mark));
	if (e->detail && *e->detail)
		x_str(&r, pol, "unmapped.polrec", "detail", e->detail);
	if (a.cls == CLASS_NETWORK)
		x_str(&r, pol, "unmapped.polrec", "what", e->path);
	return ocsf_finish(out, &r, o, pol);
}

static int ocsf_flow(FILE *out, const struct ocsf_ctx *c, const struct pr_flow_rec *fl)
{
	const struct pr_net_rec *net = c->f->inc.net;
	bool violation = !strcmp(fl->role, "violation");
	struct json_object *o, *t, *pol;
	struct xrec r = { 0 };
	char uid[400], *b64;
	int dir = 0;

	o = ocsf_record(&r, c, CLASS_NETWORK, 6, "Traffic", fl->time,
			violation ? c->severity_id : 1);
	flow_uid(c, fl->flow_id, uid, sizeof(uid));
	ocsf_metadata(&r, o, uid, c->uid, false);
	ocsf_device(&r, o, c);
	ocsf_actor(&r, o, c, fl->pid, fl->start_boot, "actor");
	if (violation && net)
		dir = !strcmp(net->direction, "egress") ? 2 : 1;
	/* local first unless the flow came in */
	if (dir == 1) {
		ocsf_endpoint(&r, o, "src_endpoint", fl->remote, fl->rport);
		ocsf_endpoint(&r, o, "dst_endpoint", fl->local, fl->lport);
	} else {
		ocsf_endpoint(&r, o, "src_endpoint", fl->local, fl->lport);
		ocsf_endpoint(&r, o, "dst_endpoint", fl->remote, fl->rport);
	}
	ocsf_connection(&r, o, fl->protocol, dir, fl->local);
	t = x_obj(&r, o, "traffic");
	x_int(&r, t, "packets", (int64_t)fl->packets);
	x_int(&r, t, "bytes", (int64_t)fl->bytes);
	pol = ocsf_unmapped(&r, o, c);
	x_int(&r, pol, "flow_id", (int64_t)fl->flow_id);
	x_str(&r, pol, NULL, "role", fl->role);
	if (fl->head_len) {
		b64 = pr_base64(fl->head, fl->head_len);
		if (!b64)
			r.oom = true;
		else
			x_str(&r, pol, NULL, "payload_head_b64", b64);
		free(b64);
	}
	return ocsf_finish(out, &r, o, pol);
}

/* ---- the finding ---- */

static void ocsf_related(struct xrec *r, struct json_object *fi, const struct ocsf_ctx *c)
{
	struct json_object *arr = x_arr(r, fi, "related_events");
	char uid[400];

	for (size_t i = 0; arr && i < c->f->nevents; i++) {
		struct activity a = activity_of(c->f->events[i].kind);
		struct json_object *e = json_object_new_object();

		event_uid(c, i, uid, sizeof(uid));
		x_str(r, e, NULL, "uid", uid);
		x_int(r, e, "type_uid", (int64_t)a.cls * 100 + a.id);
		if (!e || json_object_array_add(arr, e))
			r->oom = true;
	}
	for (size_t i = 0; arr && i < c->f->nflows; i++) {
		struct json_object *e = json_object_new_object();

		flow_uid(c, c->f->flows[i].flow_id, uid, sizeof(uid));
		x_str(r, e, NULL, "uid", uid);
		x_int(r, e, "type_uid", (int64_t)CLASS_NETWORK * 100 + 6);
		if (!e || json_object_array_add(arr, e))
			r->oom = true;
	}
}

/* One evidence: the violating (or joined) act with its objects. */
static struct json_object *ocsf_evidence(struct xrec *r, const struct ocsf_ctx *c, size_t n,
					 const char *kind, const char *path, uint32_t pid,
					 uint64_t start_boot, const struct pr_net_rec *net)
{
	struct json_object *ev = json_object_new_object();
	char w[64], wp[96];

	if (!ev) {
		r->oom = true;
		return NULL;
	}
	snprintf(w, sizeof(w), "evidences[%zu]", n);
	x_add(r, ev, "process",
	      ocsf_process_of(r, c, pid, start_boot,
			      !strcmp(kind, "exec") && path && *path ? path : NULL,
			      x_path(wp, sizeof(wp), w, "process"), PARENTS_ALL));
	if (!strcmp(kind, "exec") || x_is_file_kind(kind)) {
		ocsf_file(r, x_obj(r, ev, "file"), x_path(wp, sizeof(wp), w, "file"), path,
			  !strcmp(kind, "exec") ||
			  !strcmp(kind, "write") || !strcmp(kind, "file") ? 1 : 0);
	} else if (x_is_net_kind(kind) || !strcmp(kind, "network")) {
		ocsf_net_sides(r, ev, net, path);
	}
	return ev;
}

static void ocsf_evidences(struct xrec *r, struct json_object *o, const struct ocsf_ctx *c)
{
	const struct pr_incident_rec *inc = &c->f->inc;
	struct json_object *arr = x_arr(r, o, "evidences"), *ev;
	size_t n = 0;

	/* the violation as the incident states it, then each joined one */
	ev = ocsf_evidence(r, c, n++, inc->kind, inc->path, inc->proc.pid, inc->proc.start_boot,
			   inc->net);
	if (!ev || !arr || json_object_array_add(arr, ev))
		r->oom = true;
	for (size_t i = 0; arr && i < c->f->nevents; i++) {
		const struct pr_event_rec *e = &c->f->events[i];

		if (pr_event_mark_of(c->f, i) != PR_MARK_JOINED)
			continue;
		ev = ocsf_evidence(r, c, n++, e->kind, e->path, e->pid, e->start_boot, NULL);
		if (!ev || json_object_array_add(arr, ev))
			r->oom = true;
	}
}

static void ocsf_gaps(struct xrec *r, struct json_object *pol, const struct pr_incident_full *f)
{
	struct json_object *arr;

	if (!f->ngaps)
		return;
	arr = x_arr(r, pol, "gaps");
	for (size_t i = 0; arr && i < f->ngaps; i++) {
		struct json_object *g = json_object_new_object();

		x_int(r, g, "from_ms", x_ms(f->gaps[i].from));
		x_int(r, g, "to_ms", x_ms(f->gaps[i].to));
		x_str(r, g, NULL, "stage", f->gaps[i].stage);
		x_str(r, g, NULL, "kind", f->gaps[i].kind);
		x_int(r, g, "count", (int64_t)f->gaps[i].count);
		if (!g || json_object_array_add(arr, g))
			r->oom = true;
	}
}

static int ocsf_finding(FILE *out, const struct ocsf_ctx *c)
{
	const struct pr_incident_full *f = c->f;
	const struct pr_incident_rec *inc = &f->inc;
	struct json_object *o, *fi, *an, *types, *pol, *actor;
	struct xrec r = { 0 };
	uint64_t first = inc->time, last = inc->time;
	char *title;

	for (size_t i = 0; i < f->nevents; i++) {
		if (f->events[i].time < first)
			first = f->events[i].time;
		if (f->events[i].time > last)
			last = f->events[i].time;
	}
	o = ocsf_record(&r, c, CLASS_FINDING, 1, "Create", inc->time, c->severity_id);
	ocsf_metadata(&r, o, c->uid, NULL, true);
	ocsf_device(&r, o, c);
	x_str(&r, o, NULL, "message", inc->actual);
	x_int(&r, o, "start_time", x_ms(first));
	x_int(&r, o, "end_time", x_ms(last));
	x_int(&r, o, "count", inc->violations ? inc->violations : 1);
	x_int(&r, o, "action_id", 1);
	x_str(&r, o, NULL, "action", "Allowed");
	x_int(&r, o, "disposition_id", 15);
	x_str(&r, o, NULL, "disposition", "Detected");

	fi = x_obj(&r, o, "finding_info");
	x_str(&r, fi, NULL, "uid", c->uid);
	/* the expectation and what broke it */
	if (asprintf(&title, "%s: %s broken: %s", inc->policy, inc->rule, inc->actual) < 0) {
		title = NULL;
		r.oom = true;
	}
	x_str(&r, fi, "finding_info", "title", title);
	free(title);
	x_str(&r, fi, "finding_info", "desc", inc->expected);
	types = x_arr(&r, fi, "types");
	if (types) {
		json_object_array_add(types, json_object_new_string("Policy Violation"));
		x_arr_str(&r, types, "finding_info.types[1]", inc->rule); /* stored bytes */
	}
	x_int(&r, fi, "created_time", x_ms(inc->time));
	x_int(&r, fi, "first_seen_time", x_ms(first));
	x_int(&r, fi, "last_seen_time", x_ms(last));
	an = x_obj(&r, fi, "analytic");
	x_str(&r, an, "finding_info.analytic", "name", inc->policy);
	x_str(&r, an, NULL, "uid", inc->rule);
	x_int(&r, an, "type_id", 1);
	x_str(&r, an, NULL, "type", "Rule");
	ocsf_related(&r, fi, c);

	actor = x_obj(&r, o, "actor");
	x_add(&r, actor, "process", ocsf_process_of(&r, c, inc->proc.pid, inc->proc.start_boot,
						      NULL, "actor.process", 0));
	ocsf_user(&r, actor, "actor", &inc->proc);
	ocsf_evidences(&r, o, c);

	pol = ocsf_unmapped(&r, o, c);
	x_str(&r, pol, "unmapped.polrec", "expectation", inc->policy);
	x_str(&r, pol, NULL, "rule", inc->rule);
	x_str(&r, pol, "unmapped.polrec", "expected", inc->expected);
	x_str(&r, pol, "unmapped.polrec", "actual", inc->actual);
	x_str(&r, pol, NULL, "kind", inc->kind);
	x_str(&r, pol, NULL, "action", inc->action);
	x_str(&r, pol, NULL, "severity", inc->severity);
	x_int(&r, pol, "violations", inc->violations);
	x_int(&r, pol, "lost_events", (int64_t)inc->lost_events);
	x_int(&r, pol, "events", (int64_t)f->nevents);
	x_int(&r, pol, "flows", (int64_t)f->nflows);
	if (inc->follow_until)
		x_int(&r, pol, "follow_until_ms", x_ms(inc->follow_until));
	x_int(&r, pol, "loginuid", inc->proc.loginuid);
	x_int(&r, pol, "sessionid", inc->proc.sessionid);
	x_str(&r, pol, "unmapped.polrec", "cgroup", inc->proc.cgroup);
	if (inc->proc.container_id && *inc->proc.container_id)
		x_str(&r, pol, "unmapped.polrec", "container_id", inc->proc.container_id);
	x_str(&r, pol, "unmapped.polrec", "cwd", inc->proc.cwd);
	if (inc->net)
		x_str(&r, pol, NULL, "result", inc->net->result);
	if (inc->policy_version) {
		x_int(&r, pol, "policy_version", inc->policy_version);
		x_str(&r, pol, NULL, "policy_sha256", inc->policy_sha256);
	}
	if (inc->boot_id) {
		x_str(&r, pol, NULL, "boot_id", inc->boot_id);
		x_int(&r, pol, "boot_time_ns", (int64_t)inc->boot_time);
	}
	ocsf_gaps(&r, pol, f);
	return ocsf_finish(out, &r, o, pol);
}

int pr_ocsf_render_full(FILE *f, const struct pr_incident_full *full,
			const struct pr_export_host *h)
{
	struct ocsf_ctx c = { .f = full };

	x_host_fill(&c.host, h);
	snprintf(c.uid, sizeof(c.uid), "%s:%" PRId64, c.host.uid_prefix, full->inc.id);
	c.severity_id = severity_id(full->inc.severity);
	if (ocsf_finding(f, &c))
		return -1;
	for (size_t i = 0; i < full->nevents; i++)
		if (ocsf_event(f, &c, i))
			return -1;
	for (size_t i = 0; i < full->nflows; i++)
		if (ocsf_flow(f, &c, &full->flows[i]))
			return -1;
	return 0;
}

/* ---- from the store ---- */

int pr_export_render(struct pr_store *s, int64_t id, enum pr_record_format fmt, char **out,
		     size_t *outlen)
{
	struct pr_export_host h = { 0 };
	struct pr_incident_full *full = NULL;
	uint8_t hash[PR_SHA256_LEN];
	char store_id[33] = "", prefix[64];
	int64_t seq;
	FILE *mem;
	int rc;

	*out = NULL;
	*outlen = 0;
	rc = pr_store_get_incident(s, id, &full);
	if (rc)
		return rc;
	/* the store id makes the finding uid unique beyond this host */
	if (pr_store_schema_version(s) >= 4 && pr_chain_head(s, &seq, hash, store_id) == 0 &&
	    *store_id) {
		snprintf(prefix, sizeof(prefix), "polrec-%s", store_id);
		h.uid_prefix = prefix;
	}
	mem = open_memstream(out, outlen);
	if (!mem) {
		pr_incident_full_free(full);
		return -1;
	}
	rc = fmt == PR_FMT_ECS ? pr_ecs_render_full(mem, full, &h) : pr_ocsf_render_full(mem, full, &h);
	if (fclose(mem))
		rc = -1;
	pr_incident_full_free(full);
	if (rc) {
		free(*out);
		*out = NULL;
		*outlen = 0;
		return -1;
	}
	return 0;
}

static int write_incident(FILE *f, struct pr_store *s, int64_t id, enum pr_record_format fmt)
{
	char *buf;
	size_t len;
	int rc = pr_export_render(s, id, fmt, &buf, &len);

	if (rc)
		return rc;
	rc = fwrite(buf, 1, len, f) == len ? 0 : -1;
	free(buf);
	return rc;
}

int pr_ocsf_write_incident(FILE *f, struct pr_store *s, int64_t id)
{
	return write_incident(f, s, id, PR_FMT_OCSF);
}

int pr_ecs_write_incident(FILE *f, struct pr_store *s, int64_t id)
{
	return write_incident(f, s, id, PR_FMT_ECS);
}
