// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * OCSF and ECS export: incidents written to a real temp store, read back
 * and rendered as polq and polrecd do, and every OCSF record checked
 * against the schema copy in tests/data/ocsf-1.2.0 (required fields
 * computed from the schema's own files, tests/ocsf/schema_check.h). ECS
 * has no schema file: its fields are checked by name and type.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "query/ecs.h"
#include "query/ocsf.h"
#include "query/render.h"
#include "schema/store.h"
#include "tests/ocsf/schema_check.h"

struct fx {
	char tmp[64];
	char dir[128];
	struct ocsf_schema *schema;
	int64_t exec_id, net_id;
};

/* a file name no terminal or parser should trust: a newline, invalid UTF-8 */
static const char hostile[] = "/etc/evil\nname\xff\xfe.conf";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static struct pr_proc_rec proc(uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart,
			       const char *exe, const char *argv, size_t argv_len)
{
	return (struct pr_proc_rec){
		.pid = pid, .ppid = ppid, .start_boot = start, .pstart_boot = pstart,
		.start_time = 1700000000000000000ull + start, .uid = 33, .gid = 33,
		.loginuid = 1000, .sessionid = 4, .user = "www-data", .exe = exe,
		.argv = argv, .argv_len = argv_len, .argc = 2, .cwd = "/var/www",
		.cgroup = "/system.slice/nginx.service", .container_id = "",
		.sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
}

static const struct pr_net_rec test_net = {
	.direction = "egress", .protocol = "tcp", .src = "127.0.0.1", .sport = 40000,
	.dst = "127.0.0.2", .dport = 4444, .result = "ECONNREFUSED", .flow_id = 42,
};

/* Two incidents: an exec with lineage, context and a joined write to the
 * hostile name; a network one with its flow and a packet. */
static void fill_store(struct fx *fx)
{
	static const char sh_argv[] = "sh\0-c\0id; cat /etc/shadow\xff\0";
	static const char nginx_argv[] = "nginx: worker process";
	static const char init_argv[] = "/sbin/init";
	struct pr_proc_rec lin[3];
	struct pr_event_rec ev[6];
	struct pr_incident_rec inc;
	struct pr_flow_rec fl;
	struct pr_packet_rec pkt;
	struct pr_store *s;
	uint8_t data[60] = { 0x45, 0, 0, 60, [9] = 6, [32] = 5 << 4 };
	uint64_t t = 1700000100000000000ull;
	char err[512];

	memcpy(data + 40, "GET / HTTP/1.0\r\n\x01\x02", 18);
	assert_int_equal(pr_store_open(&s, fx->dir, PR_STORE_WRITE, err, sizeof(err)), 0);
	lin[0] = proc(300, 3000, 200, 2000, "/usr/bin/dash", sh_argv, sizeof(sh_argv) - 1);
	lin[1] = proc(200, 2000, 1, 10, "/usr/sbin/nginx", nginx_argv, sizeof(nginx_argv));
	lin[2] = proc(1, 10, 0, 0, "/sbin/init", init_argv, sizeof(init_argv));
	lin[2].uid = 0;
	lin[2].user = "root";
	ev[0] = (struct pr_event_rec){ .time = t - 2000000, .kind = "fork", .pid = 300,
				       .start_boot = 3000, .path = "", .path2 = "", .detail = "" };
	ev[1] = (struct pr_event_rec){ .time = t - 1000000, .kind = "connect", .pid = 200,
				       .start_boot = 2000,
				       .path = "tcp 127.0.0.1:40001 -> 127.0.0.3:5432",
				       .path2 = "", .detail = "ok" };
	ev[2] = (struct pr_event_rec){ .time = t, .kind = "exec", .pid = 300, .start_boot = 3000,
				       .path = "/usr/bin/dash", .path2 = "", .detail = "",
				       .mark = PR_MARK_VIOLATION };
	ev[3] = (struct pr_event_rec){ .time = t + 1000000, .kind = "write", .pid = 300,
				       .start_boot = 3000, .path = hostile, .path2 = "",
				       .detail = "flags=O_WRONLY", .mark = PR_MARK_JOINED };
	ev[4] = (struct pr_event_rec){ .time = t + 2000000, .kind = "rename", .pid = 300,
				       .start_boot = 3000, .path = "/tmp/b", .path2 = "/tmp/a",
				       .detail = "" };
	ev[5] = (struct pr_event_rec){ .time = t + 3000000, .kind = "exit", .pid = 300,
				       .start_boot = 3000, .path = "", .path2 = "",
				       .detail = "code=0" };
	inc = (struct pr_incident_rec){
		.time = t, .policy = "web-tier", .rule = "exec.deny", .severity = "high",
		.kind = "exec", .action = "exec", .path = "/usr/bin/dash",
		.expected = "exec.deny: /bin/*sh, /usr/bin/*sh",
		.actual = "/usr/sbin/nginx ran /usr/bin/dash", .proc = lin[0], .lost_events = 3,
		.follow_until = t + 30000000000ull,
	};
	assert_int_equal(pr_store_begin(s), 0);
	fx->exec_id = pr_store_add_incident(s, &inc, lin, 3, ev, 6);
	assert_true(fx->exec_id > 0);
	assert_int_equal(pr_store_add_loss(s, t - 1000, t + 1000, "kernel-ringbuf", "file", 5), 0);

	inc.time = t + 5000000000ull;
	inc.kind = "network";
	inc.action = "connect";
	inc.rule = "network.egress";
	inc.path = "tcp 127.0.0.1:40000 -> 127.0.0.2:4444";
	inc.actual = "/usr/bin/dash: connect tcp 127.0.0.1:40000 -> 127.0.0.2:4444 (ECONNREFUSED)";
	inc.net = &test_net;
	ev[0] = (struct pr_event_rec){ .time = inc.time, .kind = "connect", .pid = 300,
				       .start_boot = 3000, .path = inc.path, .path2 = "",
				       .detail = "ECONNREFUSED", .mark = PR_MARK_VIOLATION };
	fx->net_id = pr_store_add_incident(s, &inc, lin, 3, ev, 1);
	assert_true(fx->net_id > 0);
	fl = (struct pr_flow_rec){ .flow_id = 42, .incident_id = fx->net_id, .time = inc.time,
				   .role = "violation", .protocol = "tcp", .local = "127.0.0.1",
				   .lport = 40000, .remote = "127.0.0.2", .rport = 4444, .pid = 300,
				   .start_boot = 3000, .exe = "/usr/bin/dash" };
	assert_int_equal(pr_store_add_flow(s, &fl), 0);
	pkt = (struct pr_packet_rec){ .flow_id = 42, .time = inc.time, .len = 60, .caplen = 60,
				      .dir = 1, .data = data };
	assert_int_equal(pr_store_add_packets(s, &pkt, 1), 0);
	assert_int_equal(pr_store_commit(s), 0);
	pr_store_close(s);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *data = getenv("POLREC_TEST_DATA");
	char dir[512], err[512];

	assert_non_null(fx);
	assert_non_null(data);
	strcpy(fx->tmp, "/tmp/polrec-test-ocsf.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(fx->dir, sizeof(fx->dir), "%s/store", fx->tmp);
	snprintf(dir, sizeof(dir), "%s/ocsf-1.2.0", data);
	fx->schema = ocsf_schema_load(dir, err, sizeof(err));
	if (!fx->schema)
		fail_msg("schema: %s", err);
	fill_store(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	nftw(fx->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ocsf_schema_free(fx->schema);
	free(fx);
	return 0;
}

/* The incident's NDJSON records, parsed; each line must be one record. */
struct records {
	struct json_object *v[64];
	size_t n;
	char *text;
	size_t len;
};

static void render(struct fx *fx, int64_t id, enum pr_record_format fmt, struct records *r)
{
	struct pr_store *s;
	char err[512], *line, *save;

	memset(r, 0, sizeof(*r));
	assert_int_equal(pr_store_open(&s, fx->dir, PR_STORE_READ, err, sizeof(err)), 0);
	assert_int_equal(pr_export_render(s, id, fmt, &r->text, &r->len), 0);
	assert_int_equal(pr_export_render(s, 999, fmt, &line, &r->len), 1);
	pr_store_close(s);
	r->len = strlen(r->text);
	assert_true(r->len > 0);
	assert_int_equal(r->text[r->len - 1], '\n');
	line = strdup(r->text);
	for (char *p = strtok_r(line, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		assert_true(r->n < 64);
		r->v[r->n] = json_tokener_parse(p);
		if (!r->v[r->n])
			fail_msg("not one JSON record per line: %s", p);
		r->n++;
	}
	free(line);
}

static void records_free(struct records *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_object_put(r->v[i]);
	free(r->text);
}

/* o at a dotted path ("a.b.c"; "a[2]" indexes an array) */
static struct json_object *at(struct json_object *o, const char *path)
{
	char buf[256], *save, *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, ".", &save); p && o; p = strtok_r(NULL, ".", &save)) {
		char *br = strchr(p, '[');
		long idx = -1;

		if (br) {
			idx = strtol(br + 1, NULL, 10);
			*br = '\0';
		}
		if (!json_object_object_get_ex(o, p, &o))
			return NULL;
		if (idx >= 0)
			o = json_object_is_type(o, json_type_array) ?
			    json_object_array_get_idx(o, (size_t)idx) : NULL;
	}
	return o;
}

static int64_t at_int(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	if (!v || !json_object_is_type(v, json_type_int))
		fail_msg("%s: not an integer", path);
	return json_object_get_int64(v);
}

static const char *at_str(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	if (!v || !json_object_is_type(v, json_type_string))
		fail_msg("%s: not a string", path);
	return json_object_get_string(v);
}

static void assert_valid(struct fx *fx, struct json_object *rec)
{
	char out[8192];

	if (ocsf_schema_check(fx->schema, rec, out, sizeof(out)))
		fail_msg("OCSF record fails the schema:\n%s\nrecord: %s", out,
			 json_object_to_json_string(rec));
}

/* ---- the checker itself: it must catch what it claims to ---- */

static void test_checker_computes_required(void **state)
{
	struct fx *fx = *state;
	char req[2048];

	assert_int_equal(ocsf_schema_required(fx->schema, 2004, "host,security_control", req,
					      sizeof(req)), 0);
	/* from base_event, classification, occurrence, finding, security_control */
	for (const char *const *k = (const char *const[]){ "metadata", "severity_id", "time",
			"class_uid", "category_uid", "type_uid", "activity_id", "finding_info",
			"action_id", NULL }; *k; k++)
		if (!strstr(req, *k))
			fail_msg("2004 required %s not computed: %s", *k, req);
	assert_int_equal(ocsf_schema_required(fx->schema, 2004, "host", req, sizeof(req)), 0);
	assert_null(strstr(req, "action_id")); /* only with the profile */
	assert_int_equal(ocsf_schema_required(fx->schema, 1007, "host", req, sizeof(req)), 0);
	assert_non_null(strstr(req, "process"));
	assert_non_null(strstr(req, "actor"));
	assert_non_null(strstr(req, "device"));
	assert_int_equal(ocsf_schema_required(fx->schema, 1001, "host", req, sizeof(req)), 0);
	assert_non_null(strstr(req, "file"));
	assert_int_equal(ocsf_schema_required(fx->schema, 4001, "host", req, sizeof(req)), 0);
	assert_non_null(strstr(req, "src_endpoint"));
	assert_non_null(strstr(req, "dst_endpoint"));
	assert_int_equal(ocsf_schema_required(fx->schema, 9999, "", req, sizeof(req)), -1);
}

static void test_checker_catches(void **state)
{
	struct fx *fx = *state;
	struct records r;
	struct json_object *rec, *o;
	char out[8192];

	render(fx, fx->exec_id, PR_FMT_OCSF, &r);
	rec = r.v[0];
	assert_valid(fx, rec);
	/* a required attribute of an object deep inside */
	o = at(rec, "metadata.product");
	json_object_object_del(o, "vendor_name");
	assert_true(ocsf_schema_check(fx->schema, rec, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "metadata.product.vendor_name: required"));
	json_object_object_add(o, "vendor_name", json_object_new_string("polrec"));
	/* a required attribute of the class */
	json_object_object_del(at(rec, "finding_info"), "uid");
	assert_true(ocsf_schema_check(fx->schema, rec, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "finding_info.uid: required"));
	json_object_object_add(at(rec, "finding_info"), "uid", json_object_new_string("x"));
	assert_valid(fx, rec);
	/* a name the schema does not have, a wrong type, a value off its enum */
	json_object_object_add(at(rec, "evidences[0].process"), "argv", json_object_new_array());
	json_object_object_add(rec, "time", json_object_new_string("now"));
	json_object_object_add(rec, "severity_id", json_object_new_int(42));
	assert_int_equal(ocsf_schema_check(fx->schema, rec, out, sizeof(out)), 3);
	assert_non_null(strstr(out, "evidences[0].process.argv: not an attribute here"));
	assert_non_null(strstr(out, "time: want timestamp_t"));
	assert_non_null(strstr(out, "severity_id: 42 is not in its enum"));
	/* a profile's attribute without the profile */
	{
		char *first = strndup(r.text, (size_t)(strchr(r.text, '\n') - r.text));

		json_object_put(r.v[0]);
		rec = r.v[0] = json_tokener_parse(first);
		free(first);
	}
	o = at(rec, "metadata.profiles");
	json_object_array_del_idx(o, 1, 1); /* "security_control" */
	assert_true(ocsf_schema_check(fx->schema, rec, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "action_id: not an attribute here"));
	/* type_uid must agree with class and activity */
	for (size_t i = 1; i < r.n; i++)
		if (at_int(r.v[i], "class_uid") == 1007) {
			json_object_object_add(r.v[i], "type_uid", json_object_new_int(200401));
			assert_true(ocsf_schema_check(fx->schema, r.v[i], out, sizeof(out)) > 0);
			assert_non_null(strstr(out, "type_uid"));
			break;
		}
	records_free(&r);
}

/* ---- OCSF ---- */

static void test_ocsf_exec_incident(void **state)
{
	struct fx *fx = *state;
	struct records r;
	struct json_object *f, *rel, *raw;
	int classes[5000] = { 0 };
	const char *uid, *raw_path = NULL;
	char *b64;

	render(fx, fx->exec_id, PR_FMT_OCSF, &r);
	/* the finding, then one record per event (6) */
	assert_int_equal(r.n, 7);
	for (size_t i = 0; i < r.n; i++) {
		assert_valid(fx, r.v[i]);
		classes[at_int(r.v[i], "class_uid")]++;
		assert_string_equal(at_str(r.v[i], "metadata.version"), "1.2.0");
		assert_string_equal(at_str(r.v[i], "metadata.product.name"), "polrec");
	}
	assert_int_equal(classes[2004], 1);
	assert_int_equal(classes[1007], 3); /* fork, exec, exit */
	assert_int_equal(classes[1001], 2); /* write, rename */
	assert_int_equal(classes[4001], 1); /* connect */
	f = r.v[0];
	assert_int_equal(at_int(f, "class_uid"), 2004);
	assert_int_equal(at_int(f, "type_uid"), 200401);
	assert_int_equal(at_int(f, "severity_id"), 4); /* high */
	assert_int_equal(at_int(f, "time"), 1700000100000);
	uid = at_str(f, "finding_info.uid");
	assert_string_equal(uid, at_str(f, "metadata.uid"));
	assert_non_null(strstr(at_str(f, "finding_info.title"), "web-tier"));
	assert_non_null(strstr(at_str(f, "finding_info.title"), "exec.deny"));
	assert_non_null(strstr(at_str(f, "finding_info.title"), "/usr/bin/dash"));
	/* the violator, its parent and grandparent */
	assert_int_equal(at_int(f, "evidences[0].process.pid"), 300);
	assert_string_equal(at_str(f, "evidences[0].process.file.path"), "/usr/bin/dash");
	assert_string_equal(at_str(f, "evidences[0].process.cmd_line"),
			    "sh -c id; cat /etc/shadow\xef\xbf\xbd");
	assert_int_equal(at_int(f, "evidences[0].process.parent_process.pid"), 200);
	assert_string_equal(at_str(f, "evidences[0].process.parent_process.file.path"),
			    "/usr/sbin/nginx");
	assert_int_equal(at_int(f, "evidences[0].process.parent_process.parent_process.pid"), 1);
	assert_string_equal(at_str(f, "evidences[0].process.lineage[0]"), "/usr/sbin/nginx");
	assert_int_equal(at_int(f, "evidences[0].process.created_time"), 1700000000000);
	assert_string_equal(at_str(f, "evidences[0].process.user.uid"), "33");
	/* the joined write to the hostile name: U+FFFD, raw bytes in unmapped */
	assert_string_equal(at_str(f, "evidences[1].file.path"),
			    "/etc/evil\nname\xef\xbf\xbd\xef\xbf\xbd.conf");
	raw = at(f, "unmapped.polrec.raw_b64");
	assert_non_null(raw);
	b64 = pr_base64(hostile, strlen(hostile));
	json_object_object_foreach(raw, k, v) {
		if (!strcmp(k, "evidences[1].file.path"))
			raw_path = json_object_get_string(v);
	}
	assert_non_null(raw_path);
	assert_string_equal(raw_path, b64);
	free(b64);
	/* polrec's own fields */
	assert_string_equal(at_str(f, "unmapped.polrec.expectation"), "web-tier");
	assert_int_equal(at_int(f, "unmapped.polrec.lost_events"), 3);
	assert_int_equal(at_int(f, "unmapped.polrec.violations"), 2);
	assert_int_equal(at_int(f, "unmapped.polrec.gaps[0].count"), 5);
	/* related_events name every activity record, which point back */
	rel = at(f, "finding_info.related_events");
	assert_int_equal(json_object_array_length(rel), r.n - 1);
	for (size_t i = 1; i < r.n; i++) {
		assert_string_equal(at_str(r.v[i], "metadata.correlation_uid"), uid);
		assert_string_equal(at_str(json_object_array_get_idx(rel, i - 1), "uid"),
				    at_str(r.v[i], "metadata.uid"));
		assert_int_equal(at_int(json_object_array_get_idx(rel, i - 1), "type_uid"),
				 at_int(r.v[i], "type_uid"));
	}
	/* the exec as a Process Activity: launched by nginx */
	for (size_t i = 1; i < r.n; i++) {
		if (strcmp(at_str(r.v[i], "unmapped.polrec.kind"), "exec"))
			continue;
		assert_int_equal(at_int(r.v[i], "activity_id"), 1);
		assert_int_equal(at_int(r.v[i], "process.pid"), 300);
		assert_int_equal(at_int(r.v[i], "actor.process.pid"), 200);
		assert_int_equal(at_int(r.v[i], "severity_id"), 4);
		assert_string_equal(at_str(r.v[i], "unmapped.polrec.mark"), "violation");
	}
	/* the rename: source and result */
	for (size_t i = 1; i < r.n; i++) {
		if (strcmp(at_str(r.v[i], "unmapped.polrec.kind"), "rename"))
			continue;
		assert_string_equal(at_str(r.v[i], "file.path"), "/tmp/a");
		assert_string_equal(at_str(r.v[i], "file_result.path"), "/tmp/b");
	}
	/* the hostile name never breaks a line */
	assert_null(memchr(r.text, '\n', strchr(r.text, '\n') - r.text));
	records_free(&r);
}

static void test_ocsf_network_incident(void **state)
{
	struct fx *fx = *state;
	struct records r;
	struct json_object *f;
	bool traffic = false;

	render(fx, fx->net_id, PR_FMT_OCSF, &r);
	/* the finding, its events (the violator's earlier ones come along as
	 * context), its flow */
	assert_int_equal(at_int(r.v[0], "unmapped.polrec.flows"), 1);
	assert_int_equal(r.n, 2 + (size_t)at_int(r.v[0], "unmapped.polrec.events"));
	for (size_t i = 0; i < r.n; i++)
		assert_valid(fx, r.v[i]);
	f = r.v[0];
	assert_string_equal(at_str(f, "evidences[0].dst_endpoint.ip"), "127.0.0.2");
	assert_int_equal(at_int(f, "evidences[0].dst_endpoint.port"), 4444);
	assert_string_equal(at_str(f, "evidences[0].src_endpoint.ip"), "127.0.0.1");
	assert_int_equal(at_int(f, "evidences[0].connection_info.direction_id"), 2);
	assert_int_equal(at_int(f, "evidences[0].connection_info.protocol_num"), 6);
	for (size_t i = 1; i < r.n; i++) {
		if (at_int(r.v[i], "class_uid") != 4001 || at_int(r.v[i], "activity_id") != 6)
			continue;
		traffic = true;
		assert_int_equal(at_int(r.v[i], "traffic.packets"), 1);
		assert_int_equal(at_int(r.v[i], "traffic.bytes"), 60);
		assert_int_equal(at_int(r.v[i], "dst_endpoint.port"), 4444);
		assert_non_null(at(r.v[i], "unmapped.polrec.payload_head_b64"));
	}
	assert_true(traffic);
	records_free(&r);
}

/* ---- ECS ---- */

static void test_ecs(void **state)
{
	struct fx *fx = *state;
	struct records r;
	struct json_object *d;

	render(fx, fx->exec_id, PR_FMT_ECS, &r);
	assert_int_equal(r.n, 1);
	d = r.v[0];
	assert_string_equal(at_str(d, "@timestamp"), "2023-11-14T22:15:00.000000000Z");
	assert_string_equal(at_str(d, "event.kind"), "alert");
	assert_string_equal(at_str(d, "event.category[0]"), "process");
	assert_string_equal(at_str(d, "event.type[0]"), "start");
	assert_int_equal(at_int(d, "event.severity"), 73);
	assert_string_equal(at_str(d, "rule.name"), "web-tier");
	assert_string_equal(at_str(d, "ecs.version"), PR_ECS_VERSION);
	assert_int_equal(at_int(d, "process.pid"), 300);
	assert_string_equal(at_str(d, "process.executable"), "/usr/bin/dash");
	assert_string_equal(at_str(d, "process.args[0]"), "sh");
	assert_string_equal(at_str(d, "process.args[2]"), "id; cat /etc/shadow\xef\xbf\xbd");
	assert_int_equal(at_int(d, "process.args_count"), 3);
	assert_int_equal(at_int(d, "process.parent.pid"), 200);
	assert_string_equal(at_str(d, "process.parent.executable"), "/usr/sbin/nginx");
	assert_string_equal(at_str(d, "process.user.id"), "33");
	assert_string_equal(at_str(d, "file.path"), "/usr/bin/dash");
	assert_non_null(at(d, "host.hostname"));
	assert_string_equal(at_str(d, "host.os.type"), "linux");
	assert_string_equal(at_str(d, "polrec.expectation"), "web-tier");
	assert_int_equal(at_int(d, "polrec.lost_events"), 3);
	assert_int_equal(at_int(d, "polrec.lineage[2].pid"), 1);
	/* the hostile name of the joined write, fixed and kept raw */
	assert_string_equal(at_str(d, "polrec.events[3].path"),
			    "/etc/evil\nname\xef\xbf\xbd\xef\xbf\xbd.conf");
	assert_non_null(at(d, "polrec.raw_b64"));
	records_free(&r);

	render(fx, fx->net_id, PR_FMT_ECS, &r);
	d = r.v[0];
	assert_string_equal(at_str(d, "event.category[0]"), "network");
	assert_string_equal(at_str(d, "source.ip"), "127.0.0.1");
	assert_int_equal(at_int(d, "source.port"), 40000);
	assert_string_equal(at_str(d, "destination.ip"), "127.0.0.2");
	assert_int_equal(at_int(d, "destination.port"), 4444);
	assert_string_equal(at_str(d, "network.transport"), "tcp");
	assert_string_equal(at_str(d, "network.direction"), "egress");
	assert_int_equal(at_int(d, "polrec.flows[0].packets"), 1);
	records_free(&r);
}

/* ---- polq export -o ocsf|ecs (the built binary) ---- */

static int run_polq(const char *store, const char *const *args, char *out, size_t outlen)
{
	const char *polq = getenv("POLQ");
	int pipefd[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	assert_non_null(polq);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[32] = { polq, "--store", store };
		int i = 3;

		for (; *args && i < 31; args++)
			argv[i++] = *args;
		argv[i] = NULL;
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execv(polq, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + used, outlen - used - 1)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_polq_export(void **state)
{
	struct fx *fx = *state;
	static char out[1 << 20];
	struct records a, b;
	char file[256], bundle[256], id[32];
	struct stat st;

	render(fx, fx->exec_id, PR_FMT_OCSF, &a);
	render(fx, fx->net_id, PR_FMT_OCSF, &b);
	/* all incidents, oldest first: exactly what the renderer gives */
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "-o", "ocsf", NULL },
				  out, sizeof(out)), 0);
	assert_int_equal(strlen(out), a.len + b.len);
	assert_memory_equal(out, a.text, a.len);
	assert_memory_equal(out + a.len, b.text, b.len);
	/* filters and ids */
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "-o", "ocsf",
				  "--policy", "nobody", NULL }, out, sizeof(out)), 1);
	assert_string_equal(out, "");
	snprintf(id, sizeof(id), "%lld", (long long)fx->net_id);
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "--output=ocsf", id,
				  NULL }, out, sizeof(out)), 0);
	assert_string_equal(out, b.text);
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "-o", "ecs",
				  "--severity", "high", id, NULL }, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"kind\":\"alert\""));
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "-o", "ocsf",
				  "--severity", "bogus", NULL }, out, sizeof(out)), 2);
	/* --file: created 0600, kept unless --force */
	snprintf(file, sizeof(file), "%s/out.ndjson", fx->tmp);
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "-o", "ocsf",
				  "--file", file, NULL }, out, sizeof(out)), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal((size_t)st.st_size, a.len + b.len);
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "-o", "ocsf",
				  "--file", file, NULL }, out, sizeof(out)), 2);
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", "-o", "ecs",
				  "--file", file, "--force", NULL }, out, sizeof(out)), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_true((size_t)st.st_size < a.len + b.len);
	/* the bundle contract stands: -o ./ocsf is a directory */
	assert_int_equal(chdir(fx->tmp), 0);
	snprintf(id, sizeof(id), "%lld", (long long)fx->exec_id);
	assert_int_equal(run_polq(fx->dir, (const char *const[]){ "export", id, "-o", "./ocsf",
				  NULL }, out, sizeof(out)), 0);
	snprintf(bundle, sizeof(bundle), "%s/ocsf/MANIFEST", fx->tmp);
	assert_int_equal(stat(bundle, &st), 0);
	records_free(&a);
	records_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checker_computes_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checker_catches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocsf_exec_incident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocsf_network_incident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polq_export, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
