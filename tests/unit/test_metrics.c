// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The metrics exposition (recorder/metrics.c): label escaping of hostile
 * policy names, one HELP and one TYPE per family with its samples right
 * after, _total exactly on counters, option parsing (loopback only), the
 * atomic file and its mode; and, when Prometheus' promtool is installed
 * (.ci/packages has it), its own parser and linter on the output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/metrics.h"

/* metrics.c logs through polrecd's pr_log */
void pr_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *const hostile[] = {
	"web \"tier\"",          /* quote */
	"back\\slash\\",         /* backslash, also last */
	"new\nline} 1\nforged_total 99", /* a newline that would forge a sample */
	"utf8 \xc3\xa9 and \xff raw",
};

static void fill(struct pr_metrics_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->up = 1;
	s->start_ns = 1764000000123456789ull;
	s->policy_sha256 = "ab\"c\\d\ne";  /* never so, but escaped all the same */
	s->policy_version = 2;
	s->expectations = 3;
	s->events[PR_EV_EXEC] = 7;
	s->ring_known = 1;
	s->ring_size = 4096;
	s->ring_used = 1024;
	s->w.usage_valid = 1;
	s->w.usage.used = 123;
	s->w.nlosses = 2;
	snprintf(s->w.losses[0].stage, sizeof(s->w.losses[0].stage), "kernel-ringbuf");
	snprintf(s->w.losses[0].kind, sizeof(s->w.losses[0].kind), "file");
	s->w.losses[0].count = 41;
	snprintf(s->w.losses[1].stage, sizeof(s->w.losses[1].stage), "new-stage");
	snprintf(s->w.losses[1].kind, sizeof(s->w.losses[1].kind), "thing");
	s->w.losses[1].count = 5;
	s->w.full_since = 1;
	s->policies = pr_metrics_policies(&s->npolicies);
}

static char *render(const struct pr_metrics_snap *s)
{
	struct pr_mx m = { 0 };

	assert_int_equal(pr_metrics_render(s, &m), 0);
	assert_non_null(m.buf);
	return m.buf;
}

static void test_escaping(void **state)
{
	struct pr_metrics_snap s;
	char *text;

	pr_metrics_policies_free();
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		pr_metrics_incident(hostile[i], "high");
	pr_metrics_incident(hostile[0], "critical");
	fill(&s);
	text = render(&s);
	assert_non_null(strstr(text, "\npolrec_policy_incidents_total{policy=\"web \\\"tier\\\"\"} 2\n"));
	assert_non_null(strstr(text, "\npolrec_policy_incidents_total{policy=\"back\\\\slash\\\\\"} 1\n"));
	assert_non_null(strstr(text, "\npolrec_policy_incidents_total{policy=\"new\\nline} 1\\nforged_total 99\"} 1\n"));
	/* not UTF-8: U+FFFD, as Prometheus refuses the whole scrape otherwise */
	assert_non_null(strstr(text, "{policy=\"utf8 \xc3\xa9 and \xef\xbf\xbd raw\"} 1\n"));
	assert_null(strstr(text, "\nforged_total"));
	assert_non_null(strstr(text, "\npolrec_incidents_total{severity=\"high\"} 4\n"));
	assert_non_null(strstr(text, "\npolrec_incidents_total{severity=\"critical\"} 1\n"));
	assert_non_null(strstr(text, "\npolrec_incidents_total{severity=\"low\"} 0\n"));
	assert_non_null(strstr(text, "\npolrec_policy_info{sha256=\"ab\\\"c\\\\d\\ne\"} 1\n"));
	assert_non_null(strstr(text, "\npolrec_events_lost_total{stage=\"kernel-ringbuf\",kind=\"file\"} 41\n"));
	assert_non_null(strstr(text, "\npolrec_events_lost_total{stage=\"kernel-ringbuf\",kind=\"exec\"} 0\n"));
	assert_non_null(strstr(text, "\npolrec_events_lost_total{stage=\"new-stage\",kind=\"thing\"} 5\n"));
	assert_non_null(strstr(text, "\npolrec_ring_fill_ratio 0.25\n"));
	assert_non_null(strstr(text, "\npolrec_disk_full 1\n"));
	assert_non_null(strstr(text, "\npolrec_start_time_seconds 1764000000.123"));
	free(text);
	pr_metrics_policies_free();
}

/* Every line: a comment of ours, or one sample whose name is the family
 * declared last; every family: one HELP, then one TYPE, then samples;
 * counters and only counters named *_total. */
static void test_structure(void **state)
{
	struct pr_metrics_snap s;
	char *text, *save = NULL, family[128] = "", seen[256][96];
	size_t nseen = 0, nsamples = 0;
	int expect_type = 0;

	pr_metrics_policies_free();
	pr_metrics_incident(hostile[2], "low");
	fill(&s);
	text = render(&s);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32];

		if (!strncmp(l, "# HELP ", 7)) {
			assert_false(expect_type);
			assert_int_equal(sscanf(l + 7, "%127s", name), 1);
			for (size_t i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], name);
			assert_true(nseen < 256);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
			snprintf(family, sizeof(family), "%s", name);
			expect_type = 1;
			continue;
		}
		if (!strncmp(l, "# TYPE ", 7)) {
			size_t n;

			assert_true(expect_type);
			assert_int_equal(sscanf(l + 7, "%127s %31s", name, type), 2);
			assert_string_equal(name, family);
			n = strlen(name);
			if (!strcmp(type, "counter"))
				assert_true(n > 6 && !strcmp(name + n - 6, "_total"));
			else
				assert_true(!strcmp(type, "gauge") && !(n > 6 && !strcmp(name + n - 6, "_total")));
			expect_type = 0;
			continue;
		}
		assert_false(expect_type);
		assert_int_not_equal(l[0], '#');
		/* the sample's name is the family's, then '{' or ' ' */
		assert_int_equal(strncmp(l, family, strlen(family)), 0);
		assert_true(l[strlen(family)] == '{' || l[strlen(family)] == ' ');
		nsamples++;
	}
	assert_true(nseen > 40);
	assert_true(nsamples > nseen);
	free(text);
	pr_metrics_policies_free();
}

static void test_builder_refuses(void **state)
{
	struct pr_mx m = { 0 };

	pr_mx_family(&m, "polrec_lost", PR_MX_COUNTER, "a counter without _total");
	assert_true(m.err);
	pr_mx_free(&m);
	pr_mx_family(&m, "polrec_bytes_total", PR_MX_GAUGE, "a gauge with _total");
	assert_true(m.err);
	pr_mx_free(&m);
	pr_mx_family(&m, "polrec-bad", PR_MX_GAUGE, "bad name");
	assert_true(m.err);
	pr_mx_free(&m);
	pr_mx_u64(&m, NULL, NULL, NULL, NULL, 1); /* a sample before any family */
	assert_true(m.err);
	pr_mx_free(&m);
	pr_mx_family(&m, "polrec_x", PR_MX_GAUGE, "ok");
	pr_mx_u64(&m, "bad-label", "v", NULL, NULL, 1);
	assert_true(m.err);
	pr_mx_free(&m);
}

static void test_policy_cap(void **state)
{
	const struct pr_policy_count *p;
	char name[32];
	size_t n;

	pr_metrics_policies_free();
	for (int i = 0; i < PR_METRICS_POLICIES_MAX + 10; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		pr_metrics_incident(name, "medium");
	}
	p = pr_metrics_policies(&n);
	assert_int_equal(n, PR_METRICS_POLICIES_MAX + 1);
	/* a last row "" holds every incident past the cap */
	for (size_t i = 0; i < n; i++)
		if (!p[i].policy[0])
			assert_int_equal(p[i].by_severity[1], 10);
	pr_metrics_policies_free();
}

static void test_parse(void **state)
{
	struct sockaddr_storage ss;
	char err[256];
	uint64_t ns;

	assert_int_equal(pr_metrics_parse_listen("127.0.0.1:9464", &ss, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(pr_metrics_parse_listen("127.9.8.7:0", &ss, err, sizeof(err)), 0);
	assert_int_equal(pr_metrics_parse_listen("[::1]:9464", &ss, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(pr_metrics_parse_listen("0.0.0.0:9464", &ss, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only loopback"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(pr_metrics_parse_listen("10.1.2.3:80", &ss, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_listen("[::]:80", &ss, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only loopback"));
	assert_int_equal(pr_metrics_parse_listen("[::ffff:127.0.0.1]:80", &ss, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_listen("localhost:80", &ss, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_listen("127.0.0.1", &ss, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_listen("127.0.0.1:65536", &ss, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_listen("127.0.0.1:-1", &ss, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_listen("::1:80", &ss, err, sizeof(err)), -1);

	assert_int_equal(pr_metrics_parse_interval("15s", &ns, err, sizeof(err)), 0);
	assert_int_equal(ns, 15000000000ull);
	assert_int_equal(pr_metrics_parse_interval("2m", &ns, err, sizeof(err)), 0);
	assert_int_equal(ns, 120000000000ull);
	assert_int_equal(pr_metrics_parse_interval("0s", &ns, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_interval("15", &ns, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_interval("-1s", &ns, err, sizeof(err)), -1);
	assert_int_equal(pr_metrics_parse_interval("25h", &ns, err, sizeof(err)), -1);
}

static void test_file(void **state)
{
	char dir[] = "/tmp/polrec-metrics-unit.XXXXXX", path[256], buf[1 << 16], err[512];
	struct pr_metrics_cfg cfg = { .interval_ns = 1000000000ull, .file_explicit = 1 };
	struct pr_metrics_snap s;
	struct pr_metrics *m;
	struct pr_mx mx = { 0 };
	struct stat st;
	FILE *f;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing/polrec.prom", dir);
	cfg.file = path;
	assert_int_equal(pr_metrics_check(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing"));
	snprintf(path, sizeof(path), "%s/polrec.prom", dir);
	assert_int_equal(pr_metrics_check(&cfg, err, sizeof(err)), 0);
	m = pr_metrics_open(&cfg, err, sizeof(err));
	assert_non_null(m);
	assert_true(pr_metrics_due(m, 0));
	fill(&s);
	umask(077); /* as polrecd runs: the file is 0644 all the same */
	assert_int_equal(pr_metrics_render(&s, &mx), 0);
	pr_metrics_publish(m, &mx, 0, 0);
	assert_false(pr_metrics_due(m, 1));            /* the interval holds it */
	assert_true(pr_metrics_due(m, 1000000000ull));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, mx.len);
	assert_memory_equal(buf, mx.buf, n);
	pr_mx_free(&mx);
	pr_metrics_close(m);
	/* nothing else left in the directory (the temp file was renamed) */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* Prometheus' own parser and linter, when installed. */
static void test_promtool(void **state)
{
	const char *tool = getenv("PROMTOOL") ? getenv("PROMTOOL") : "/usr/bin/promtool";
	struct pr_metrics_snap s;
	char cmd[512], *text;
	FILE *p;
	int rc;

	if (access(tool, X_OK)) {
		fprintf(stderr, "promtool not installed: format checked by this test's parser only\n");
		skip();
	}
	pr_metrics_policies_free();
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		pr_metrics_incident(hostile[i], "high");
	fill(&s);
	text = render(&s);
	snprintf(cmd, sizeof(cmd), "%s check metrics", tool);
	for (int round = 0; round < 2; round++) {
		p = popen(cmd, "w");
		assert_non_null(p);
		fputs(text, p);
		rc = pclose(p);
		assert_true(WIFEXITED(rc));
		assert_int_equal(WEXITSTATUS(rc), 0);
		free(text);
		/* and a bare one: no incidents, sizes not measured yet, no ring */
		pr_metrics_policies_free();
		memset(&s, 0, sizeof(s));
		s.policy_sha256 = "";
		text = render(&s);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_builder_refuses),
		cmocka_unit_test(test_policy_cap),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
