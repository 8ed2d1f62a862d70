// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_render: polq's text and JSON renderers (query/render.h) on records
 * built from the input: every string may hold any byte but NUL (invalid
 * UTF-8, control bytes, bidi overrides), every number any value.
 *
 * Checks (abort() when broken, so libFuzzer reports it):
 * - JSON output: each object is one line, valid UTF-8, and json-c parses
 *   it back (README: "JSON output is always valid UTF-8");
 * - text output: valid UTF-8 with no raw control byte but the newline and
 *   no bidi/C1 control, and one-line renderers print exactly one line
 *   ("a file name can never forge a line");
 * - time and process-id formatting round-trips through the parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "query/render.h"
#include "schema/store.h"
#include "tests/fuzz/fuzz_common.h"

#define MAXS 96 /* bytes of one fuzzed string */

static const char *const kinds[] = { "exec", "file", "network" };
static const char *const ev_kinds[] = { "exec", "write", "rename", "unlink", "chmod",
					"connect", "accept", "fork", "exit" };

/* A known value or a fuzzed string. */
static const char *pick(struct fz_in *in, const char *const *v, size_t n)
{
	uint8_t c = fz_u8(in);

	return c < n ? v[c] : fz_str(in, MAXS);
}

static void fill_proc(struct fz_in *in, struct pr_proc_rec *p)
{
	memset(p, 0, sizeof(*p));
	p->id = (int64_t)fz_u64(in);
	p->pid = fz_u32(in);
	p->ppid = fz_u32(in);
	p->start_boot = fz_u64(in);
	p->pstart_boot = fz_u64(in);
	p->start_time = fz_u64(in);
	p->uid = fz_u32(in);
	p->gid = fz_u32(in);
	p->loginuid = fz_u32(in);
	p->sessionid = fz_u32(in);
	p->user = fz_str(in, MAXS);
	p->exe = fz_str(in, MAXS);
	p->argv = fz_bytes(in, MAXS, &p->argv_len);
	p->argc = fz_u32(in);
	p->flags = fz_u32(in);
	p->cwd = fz_str(in, MAXS);
	p->cgroup_id = fz_u64(in);
	p->cgroup = fz_str(in, MAXS);
	p->container_id = fz_str(in, MAXS);
	p->sha256 = fz_str(in, MAXS);
	p->exit_time = fz_u64(in);
	p->exit_code = (int32_t)fz_u32(in);
}

static void fill_event(struct fz_in *in, struct pr_event_rec *e)
{
	e->time = fz_u64(in);
	e->kind = pick(in, ev_kinds, sizeof(ev_kinds) / sizeof(ev_kinds[0]));
	e->pid = fz_u32(in);
	e->start_boot = fz_u64(in);
	e->path = fz_str(in, MAXS);
	e->path2 = fz_u8(in) & 1 ? fz_str(in, MAXS) : "";
	e->detail = fz_str(in, MAXS);
	e->mark = fz_u8(in) % 3;
}

static void fill_flow(struct fz_in *in, struct pr_flow_rec *f)
{
	size_t n;

	f->flow_id = fz_u64(in);
	f->incident_id = (int64_t)fz_u64(in);
	f->time = fz_u64(in);
	f->role = fz_str(in, 16);
	f->protocol = fz_str(in, 8);
	f->local = fz_str(in, 48);
	f->lport = (uint16_t)fz_u32(in);
	f->remote = fz_str(in, 48);
	f->rport = (uint16_t)fz_u32(in);
	f->pid = fz_u32(in);
	f->start_boot = fz_u64(in);
	f->exe = fz_str(in, MAXS);
	f->packets = fz_u64(in);
	f->bytes = fz_u64(in);
	f->head = (const uint8_t *)fz_bytes(in, PR_FLOW_HEAD_MAX, &n);
	f->head_len = n;
}

static void fill_loss(struct fz_in *in, struct pr_loss_rec *l)
{
	l->from = fz_u64(in);
	l->to = fz_u64(in);
	l->stage = fz_str(in, 32);
	l->kind = fz_str(in, 32);
	l->count = fz_u64(in);
}

/* Render into memory; check; free. */
struct sink {
	char *buf;
	size_t len;
	FILE *f;
};

static void sink_open(struct sink *s)
{
	s->buf = NULL;
	s->len = 0;
	s->f = open_memstream(&s->buf, &s->len);
	if (!s->f)
		abort();
}

static void sink_text(struct sink *s, const char *what, int rc, long lines)
{
	if (fclose(s->f))
		abort();
	if (rc) {
		fprintf(stderr, "fuzz: %s failed writing to memory\n", what);
		abort();
	}
	fz_check_text(what, s->buf, s->len, lines);
	free(s->buf);
}

static void json_out(const char *what, struct json_object *o)
{
	struct sink s;
	int rc;

	if (!o) {
		fprintf(stderr, "fuzz: %s returned NULL\n", what);
		abort();
	}
	sink_open(&s);
	rc = pr_json_print(s.f, o);
	json_object_put(o);
	if (fclose(s.f) || rc)
		abort();
	fz_check_json_lines(what, s.buf, s.len, 1);
	free(s.buf);
}

static void check_time_roundtrip(uint64_t t)
{
	char buf[PR_TIME_LEN], id[PR_PROCESS_ID_LEN], off[PR_OFFSET_LEN];
	uint64_t back = 0, sb = 0;
	uint32_t pid = 0;
	int rc;

	pr_fmt_time(t, buf);
	rc = pr_parse_rfc3339(buf, &back);
	/* Every time pr_fmt_time prints is one pr_parse_rfc3339 reads back. */
	if (rc || back != t) {
		fprintf(stderr, "fuzz: time %llu printed as %s reads back as %llu (rc %d)\n",
			(unsigned long long)t, buf, (unsigned long long)back, rc);
		abort();
	}
	pr_fmt_process_id((uint32_t)(t >> 32) | 1, t, id);
	if (pr_parse_process_id(id, &pid, &sb) || pid != ((uint32_t)(t >> 32) | 1) || sb != t) {
		fprintf(stderr, "fuzz: process id %s does not read back\n", id);
		abort();
	}
	pr_fmt_offset((int64_t)t, off);
	if (strlen(off) >= PR_OFFSET_LEN || (off[0] != '+' && off[0] != '-'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct pr_incident_full full;
	struct pr_proc_rec lineage[4], children[3];
	struct pr_event_rec events[8];
	struct pr_flow_rec flows[3];
	struct pr_loss_rec gaps[3];
	struct pr_net_rec net;
	struct pr_proc_list pl, cl;
	struct pr_stats st;
	struct sink s;
	uint8_t shape = fz_u8(&in);

	memset(&full, 0, sizeof(full));
	memset(events, 0, sizeof(events));
	memset(flows, 0, sizeof(flows));
	memset(gaps, 0, sizeof(gaps));
	memset(&net, 0, sizeof(net));

	/* the incident */
	struct pr_incident_rec *inc = &full.inc;
	inc->id = (int64_t)fz_u64(&in);
	inc->time = fz_u64(&in);
	inc->policy = fz_str(&in, MAXS);
	inc->rule = fz_str(&in, MAXS);
	inc->severity = fz_str(&in, 16);
	inc->kind = pick(&in, kinds, 3);
	inc->action = fz_str(&in, 16);
	inc->path = fz_str(&in, MAXS);
	inc->expected = fz_str(&in, MAXS);
	inc->actual = fz_str(&in, MAXS);
	fill_proc(&in, &inc->proc);
	inc->lost_events = fz_u64(&in);
	inc->follow_until = fz_u64(&in);
	inc->violations = fz_u32(&in);
	if (!strcmp(inc->kind, "network")) { /* required for network, NULL otherwise */
		net.direction = fz_str(&in, 16);
		net.protocol = fz_str(&in, 8);
		net.src = fz_str(&in, 48);
		net.sport = (uint16_t)fz_u32(&in);
		net.dst = fz_str(&in, 48);
		net.dport = (uint16_t)fz_u32(&in);
		net.result = fz_str(&in, 32);
		net.flow_id = fz_u64(&in);
		inc->net = &net;
	}

	/* lineage: the violator first */
	full.nlineage = 1 + (shape & 3);
	lineage[0] = inc->proc;
	for (size_t i = 1; i < full.nlineage; i++)
		fill_proc(&in, &lineage[i]);
	full.lineage = lineage;
	full.nevents = (shape >> 2) & 7;
	for (size_t i = 0; i < full.nevents; i++)
		fill_event(&in, &events[i]);
	full.events = full.nevents ? events : NULL;
	full.nflows = (shape >> 5) % 4;
	for (size_t i = 0; i < full.nflows; i++)
		fill_flow(&in, &flows[i]);
	full.flows = full.nflows ? flows : NULL;
	full.ngaps = fz_u8(&in) % 4;
	for (size_t i = 0; i < full.ngaps; i++)
		fill_loss(&in, &gaps[i]);
	full.gaps = full.ngaps ? gaps : NULL;

	/* text */
	sink_open(&s);
	sink_text(&s, "pr_text_incident_line", pr_text_incident_line(s.f, inc), 1);
	sink_open(&s);
	sink_text(&s, "pr_text_incident_full", pr_text_incident_full(s.f, &full), -1);
	for (size_t i = 0; i < full.nevents; i++) {
		sink_open(&s);
		sink_text(&s, "pr_text_timeline_event",
			  pr_text_timeline_event(s.f, &events[i], inc->id), 1);
		json_out("pr_json_timeline_event", pr_json_timeline_event(&events[i], inc->id));
		if (pr_event_mark_of(&full, i) > PR_MARK_JOINED)
			abort();
	}
	for (size_t i = 0; i < full.nflows; i++) {
		sink_open(&s);
		sink_text(&s, "pr_text_flow_line", pr_text_flow_line(s.f, &flows[i]), 1);
		json_out("pr_json_flow", pr_json_flow(&flows[i]));
		char *t = pr_payload_text(flows[i].head, flows[i].head_len);
		if (!t || strlen(t) != flows[i].head_len)
			abort();
		for (char *c = t; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				abort();
		free(t);
	}

	/* tree: lineage (p first) and children */
	size_t nch = fz_u8(&in) % 4;
	for (size_t i = 0; i < nch; i++)
		fill_proc(&in, &children[i]);
	pl = (struct pr_proc_list){ .v = lineage, .n = full.nlineage };
	cl = (struct pr_proc_list){ .v = nch ? children : NULL, .n = nch };
	sink_open(&s);
	sink_text(&s, "pr_text_tree", pr_text_tree(s.f, &lineage[0], &pl, &cl), -1);

	/* stats */
	memset(&st, 0, sizeof(st));
	st.incidents = fz_u64(&in);
	st.processes = fz_u64(&in);
	st.events = fz_u64(&in);
	st.flows = fz_u64(&in);
	st.packets = fz_u64(&in);
	st.pcap_segments = fz_u64(&in);
	st.pcap_bytes = fz_u64(&in);
	st.losses = full.ngaps ? gaps : NULL;
	st.nlosses = full.ngaps;
	sink_open(&s);
	sink_text(&s, "pr_text_stats", pr_text_stats(s.f, &st), -1);

	/* JSON */
	json_out("pr_json_incident", pr_json_incident(inc));
	json_out("pr_json_incident_full", pr_json_incident_full(&full));
	json_out("pr_json_process", pr_json_process(&lineage[full.nlineage - 1]));
	json_out("pr_json_tree", pr_json_tree(&lineage[0], &pl, &cl));
	json_out("pr_json_stats", pr_json_stats(&st));

	/* building blocks on the raw rest of the input */
	{
		struct json_object *o = json_object_new_object();
		size_t n = in.n > 4096 ? 4096 : in.n;

		if (!o || pr_json_add_bytes(o, "path", (const char *)in.p, n) ||
		    pr_json_add_argv(o, (const char *)in.p, n))
			abort();
		json_out("pr_json_add_bytes/argv", o);
		sink_open(&s);
		int rc = pr_esc_write(s.f, (const char *)in.p, n, PR_ESC_WORD) ||
			 fputc('\n', s.f) == EOF ||
			 pr_esc_argv(s.f, (const char *)in.p, n) || fputc('\n', s.f) == EOF;
		sink_text(&s, "pr_esc_write/argv", rc, 2);
	}

	check_time_roundtrip(inc->time);
	check_time_roundtrip(inc->proc.start_time);
	fz_pool_free();
	return 0;
}
