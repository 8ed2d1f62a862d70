// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * polrecd's metrics: the Prometheus text exposition (format 0.0.4) and its
 * two outputs, a file for node_exporter's textfile collector (replaced
 * atomically: temp file in the same directory, then rename) and an
 * optional HTTP endpoint on loopback (libmicrohttpd, one internal thread,
 * bounded connections, a timeout, GET /metrics only).
 *
 * Names: polrec_*, counters end in _total and never go back within a run
 * (they restart at 0 with polrecd, which Prometheus' rate() handles).
 * Labels hold program constants (stage, kind, type, reason, severity),
 * the policy's SHA-256 and policy names; nothing else from the outside
 * world (no paths, no process names).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <microhttpd.h>
#include "recorder/metrics.h"
#include "recorder/privs.h"

/* ---------------------------------------------------------------------- */
/* The exposition builder                                                 */

static void mx_put(struct pr_mx *m, const char *s, size_t n)
{
	if (m->err)
		return;
	if (m->len + n + 1 > m->cap) {
		size_t cap = m->cap ? m->cap : 8192;
		char *b;

		while (cap < m->len + n + 1)
			cap *= 2;
		b = realloc(m->buf, cap);
		if (!b) {
			m->err = 1;
			return;
		}
		m->buf = b;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

static void mx_puts(struct pr_mx *m, const char *s)
{
	mx_put(m, s, strlen(s));
}

static void mx_printf(struct pr_mx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mx_printf(struct pr_mx *m, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		m->err = 1;
		return;
	}
	mx_put(m, tmp, (size_t)n);
}

static int valid_name(const char *s, int label)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (!label && *s == ':')))
			return 0;
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

void pr_mx_family(struct pr_mx *m, const char *name, enum pr_mx_type t, const char *help)
{
	int counter = t == PR_MX_COUNTER;

	/* the format's rules and Prometheus' naming: a counter is *_total,
	 * nothing else is; HELP text is escaped like a label value but for
	 * the quote, and ours are constants without either */
	if (!valid_name(name, 0) || strlen(name) >= sizeof(m->family) ||
	    counter != ends_with(name, "_total") || strpbrk(help, "\\\n")) {
		m->err = 1;
		return;
	}
	snprintf(m->family, sizeof(m->family), "%s", name);
	mx_printf(m, "# HELP %s ", name);
	mx_puts(m, help);
	mx_printf(m, "\n# TYPE %s %s\n", name, counter ? "counter" : "gauge");
}

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A label value: \ " and newline escaped, as the text format says; bytes
 * that are not UTF-8 (which Prometheus refuses, failing the whole scrape)
 * become U+FFFD. libyaml already insists on UTF-8: this is the last guard. */
static void mx_label(struct pr_mx *m, const char *k, const char *v)
{
	if (!valid_name(k, 1) || !strncmp(k, "__", 2)) {
		m->err = 1;
		return;
	}
	mx_puts(m, k);
	mx_puts(m, "=\"");
	for (const char *p = v ? v : ""; *p;) {
		size_t n = utf8_len((const unsigned char *)p);

		if (*p == '\\')
			mx_puts(m, "\\\\");
		else if (*p == '"')
			mx_puts(m, "\\\"");
		else if (*p == '\n')
			mx_puts(m, "\\n");
		else if (!n)
			mx_puts(m, "\xef\xbf\xbd");
		else
			mx_put(m, p, n);
		p += n ? n : 1;
	}
	mx_puts(m, "\"");
}

static void mx_head(struct pr_mx *m, const char *k1, const char *v1, const char *k2,
		    const char *v2)
{
	if (!m->family[0]) {
		m->err = 1;
		return;
	}
	mx_puts(m, m->family);
	if (!k1 && !k2)
		return;
	mx_puts(m, "{");
	if (k1)
		mx_label(m, k1, v1);
	if (k1 && k2)
		mx_puts(m, ",");
	if (k2)
		mx_label(m, k2, v2);
	mx_puts(m, "}");
}

void pr_mx_u64(struct pr_mx *m, const char *k1, const char *v1, const char *k2, const char *v2,
	       uint64_t v)
{
	mx_head(m, k1, v1, k2, v2);
	mx_printf(m, " %llu\n", (unsigned long long)v);
}

void pr_mx_f64(struct pr_mx *m, const char *k1, const char *v1, const char *k2, const char *v2,
	       double v)
{
	mx_head(m, k1, v1, k2, v2);
	mx_printf(m, " %.15g\n", v);
}

void pr_mx_free(struct pr_mx *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------------------- */
/* Incidents by policy: the event thread tallies, the event thread renders */

static struct pr_policy_count *tally;
static size_t ntally, ctally;

static int severity_index(const char *s)
{
	static const char *const names[] = { "low", "medium", "high", "critical" };

	for (int i = 0; i < 4; i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return 4;
}

static struct pr_policy_count *tally_find(const char *policy)
{
	size_t i;

	for (i = 0; i < ntally; i++)
		if (!strcmp(tally[i].policy, policy))
			return &tally[i];
	/* past the cap, or out of memory: counted under policy="" (no
	 * policy is named "", the parser refuses it) */
	if (ntally >= PR_METRICS_POLICIES_MAX && *policy)
		return tally_find("");
	if (ntally == ctally) {
		size_t c = ctally ? 2 * ctally : 16;
		struct pr_policy_count *t = realloc(tally, c * sizeof(*t));

		if (!t)
			return *policy && ntally ? tally_find("") : NULL;
		tally = t;
		ctally = c;
	}
	memset(&tally[ntally], 0, sizeof(tally[ntally]));
	tally[ntally].policy = strdup(policy);
	if (!tally[ntally].policy)
		return *policy && ntally ? tally_find("") : NULL;
	return &tally[ntally++];
}

void pr_metrics_incident(const char *policy, const char *severity)
{
	struct pr_policy_count *p = tally_find(policy ? policy : "");

	if (p)
		p->by_severity[severity_index(severity)]++;
}

const struct pr_policy_count *pr_metrics_policies(size_t *n)
{
	*n = ntally;
	return tally;
}

void pr_metrics_policies_free(void)
{
	for (size_t i = 0; i < ntally; i++)
		free(tally[i].policy);
	free(tally);
	tally = NULL;
	ntally = ctally = 0;
}

/* ---------------------------------------------------------------------- */
/* One snapshot, rendered                                                 */

static const char *const ev_type[PR_EV_TYPE_MAX] = {
	[PR_EV_FORK] = "fork", [PR_EV_EXEC] = "exec", [PR_EV_EXIT] = "exit",
	[PR_EV_FILE] = "file", [PR_EV_NET] = "network", [PR_EV_PKT] = "packet",
	[PR_EV_GUARD] = "guard",
};

/* Every stage and kind polrecd can record a loss under, shown at 0 until
 * it happens, so that rate() and alerts see the series from the start. */
static const char *const known_losses[][2] = {
	{ "kernel-ringbuf", "fork" }, { "kernel-ringbuf", "exec" },
	{ "kernel-ringbuf", "exit" }, { "kernel-ringbuf", "file" },
	{ "kernel-ringbuf", "network" }, { "kernel-ringbuf", "packet" },
	{ "kernel-ringbuf", "verdict-map" }, { "kernel-ringbuf", "guard" },
	{ "kernel-ringbuf", "file-op" }, { "kernel-ringbuf", "file-elsewhere" },
	{ "recorder-queue", "incident" }, { "recorder-queue", "packet" },
	{ "recorder-queue", "follow-event" }, { "recorder", "packet" },
	{ "context-cap", "event" },
	{ "store-full", "incident" }, { "store-full", "follow-event" },
	{ "store-full", "flow" }, { "store-full", "packet" },
	{ "store-error", "incident" }, { "store-error", "follow-event" },
	{ "store-error", "flow" }, { "store-error", "packet" },
	{ "recorder-memory", "record" },
};
#define NKNOWN (sizeof(known_losses) / sizeof(known_losses[0]))

static uint64_t loss_of(const struct pr_writer_snap *w, const char *stage, const char *kind)
{
	for (size_t i = 0; i < w->nlosses; i++)
		if (!strcmp(w->losses[i].stage, stage) && !strcmp(w->losses[i].kind, kind))
			return w->losses[i].count;
	return 0;
}

static int is_known_loss(const struct pr_loss_count *l)
{
	for (size_t k = 0; k < NKNOWN; k++)
		if (!strcmp(l->stage, known_losses[k][0]) && !strcmp(l->kind, known_losses[k][1]))
			return 1;
	return 0;
}

static void render_losses(const struct pr_metrics_snap *s, struct pr_mx *m)
{
	const struct pr_writer_snap *w = &s->w;

	pr_mx_family(m, "polrec_events_lost_total", PR_MX_COUNTER,
		     "Events, packets and incidents lost, by stage and kind: every loss record "
		     "polrecd queued for the store (what polq stats sums), and store-full losses "
		     "as they are counted.");
	for (size_t k = 0; k < NKNOWN; k++)
		pr_mx_u64(m, "stage", known_losses[k][0], "kind", known_losses[k][1],
			  loss_of(w, known_losses[k][0], known_losses[k][1]));
	for (size_t i = 0; i < w->nlosses; i++)
		if (!is_known_loss(&w->losses[i]))
			pr_mx_u64(m, "stage", w->losses[i].stage, "kind", w->losses[i].kind,
				  w->losses[i].count);
}

static void render_incidents(const struct pr_metrics_snap *s, struct pr_mx *m)
{
	static const char *const sev[5] = { "low", "medium", "high", "critical", "other" };
	uint64_t by_sev[5] = { 0 };

	for (size_t i = 0; i < s->npolicies; i++)
		for (int k = 0; k < 5; k++)
			by_sev[k] += s->policies[i].by_severity[k];
	pr_mx_family(m, "polrec_incidents_total", PR_MX_COUNTER,
		     "Incidents raised (new ones; violations joining an open incident are "
		     "polrec_violations_joined_total), by severity.");
	for (int k = 0; k < 5; k++)
		if (k < 4 || by_sev[k])
			pr_mx_u64(m, "severity", sev[k], NULL, NULL, by_sev[k]);
	pr_mx_family(m, "polrec_policy_incidents_total", PR_MX_COUNTER,
		     "Incidents raised, by expectation name (metadata.name).");
	for (size_t i = 0; i < s->npolicies; i++) {
		uint64_t n = 0;

		for (int k = 0; k < 5; k++)
			n += s->policies[i].by_severity[k];
		pr_mx_u64(m, "policy", s->policies[i].policy, NULL, NULL, n);
	}
	pr_mx_family(m, "polrec_violations_joined_total", PR_MX_COUNTER,
		     "Violations that joined an incident already open for the same process.");
	pr_mx_u64(m, NULL, NULL, NULL, NULL, s->joined);
}

static void gauge(struct pr_mx *m, const char *name, const char *help, uint64_t v)
{
	pr_mx_family(m, name, PR_MX_GAUGE, help);
	pr_mx_u64(m, NULL, NULL, NULL, NULL, v);
}

static void counter(struct pr_mx *m, const char *name, const char *help, uint64_t v)
{
	pr_mx_family(m, name, PR_MX_COUNTER, help);
	pr_mx_u64(m, NULL, NULL, NULL, NULL, v);
}

static void render_store(const struct pr_metrics_snap *s, struct pr_mx *m)
{
	const struct pr_writer_snap *w = &s->w;
	const struct pr_store_usage *u = &w->usage;

	gauge(m, "polrec_writer_queue_jobs", "Jobs waiting for the store writer.", w->queued);
	gauge(m, "polrec_writer_queue_bytes", "Memory held by the jobs waiting for the store writer.",
	      w->queued_bytes);
	gauge(m, "polrec_writer_queue_limit_bytes",
	      "The writer queue's memory budget (packets may use half of it).",
	      PR_WRITER_QUEUE_BYTES);
	counter(m, "polrec_store_records_written_total",
		"Records (incidents, events, flows, packet batches, loss and run records) "
		"written to the store.", w->written);
	counter(m, "polrec_store_records_failed_total",
		"Records the store writer could not write (logged; on a full disk also "
		"counted in polrec_events_lost_total{stage=\"store-full\"}).", w->failed);
	if (w->usage_valid) {
		gauge(m, "polrec_store_bytes",
		      "What the store occupies as the disk budget counts it: database minus "
		      "its free pages, WAL, pcap segments, reserve.", u->used);
		gauge(m, "polrec_store_db_bytes", "Size of polrec.db.", u->db_bytes);
		gauge(m, "polrec_store_db_free_bytes", "Free pages inside polrec.db.", u->db_free);
		gauge(m, "polrec_store_wal_bytes", "Size of the WAL and its index.", u->wal_bytes);
		gauge(m, "polrec_store_reserve_bytes", "Size of the disk-full reserve file.",
		      u->reserve_bytes);
		gauge(m, "polrec_pcap_bytes", "Size of the pcap segments.", u->pcap_bytes);
		gauge(m, "polrec_pcap_files", "Number of pcap segment files.", u->pcap_files);
	}
	gauge(m, "polrec_store_max_bytes", "--max-store-size (0 = unlimited).", s->max_store);
	gauge(m, "polrec_pcap_max_bytes", "--max-pcap-size (0 = unlimited).", s->max_pcap);
	gauge(m, "polrec_store_max_age_seconds", "--max-age (0 = keep).",
	      s->max_age_ns / 1000000000ull);
	gauge(m, "polrec_disk_full", "1 while the store's disk is full (pruning, losses counted).",
	      w->full_since ? 1 : 0);
	pr_mx_family(m, "polrec_disk_full_since_seconds", PR_MX_GAUGE,
		     "When the current disk-full state began (0 = not full).");
	pr_mx_f64(m, NULL, NULL, NULL, NULL, (double)w->full_since / 1e9);
	pr_mx_family(m, "polrec_pruned_incidents_total", PR_MX_COUNTER,
		     "Closed incidents pruned by the disk budget, by reason (pcap-size: "
		     "incidents whose packets were pruned).");
	for (int r = 0; r < PR_PRUNE__COUNT; r++)
		pr_mx_u64(m, "reason", pr_prune_reason_name(r), NULL, NULL, w->pruned_incidents[r]);
	pr_mx_family(m, "polrec_pruned_bytes_total", PR_MX_COUNTER,
		     "Bytes freed by pruning, by reason.");
	for (int r = 0; r < PR_PRUNE__COUNT; r++)
		pr_mx_u64(m, "reason", pr_prune_reason_name(r), NULL, NULL, w->pruned_bytes[r]);
}

int pr_metrics_render(const struct pr_metrics_snap *s, struct pr_mx *m)
{
	gauge(m, "polrec_up", "1 while polrecd records; 0 in the file it writes when it stops.",
	      s->up ? 1 : 0);
	pr_mx_family(m, "polrec_start_time_seconds", PR_MX_GAUGE,
		     "When this polrecd started, seconds since the epoch.");
	pr_mx_f64(m, NULL, NULL, NULL, NULL, (double)(s->start_ns / 1000000ull) / 1e3);
	pr_mx_family(m, "polrec_policy_info", PR_MX_GAUGE,
		     "The policy in force: SHA-256 of its source (file or embedded default).");
	pr_mx_u64(m, "sha256", s->policy_sha256, NULL, NULL, 1);
	gauge(m, "polrec_policy_version", "Policy version: 1 at start, +1 per accepted reload.",
	      s->policy_version);
	gauge(m, "polrec_policy_expectations", "Expectations in the policy in force.",
	      s->expectations);
	gauge(m, "polrec_probes_attached", "BPF programs attached.", s->probes);

	pr_mx_family(m, "polrec_events_total", PR_MX_COUNTER,
		     "Events read from the kernel ring buffer, by type.");
	for (int t = 0; t < PR_EV_TYPE_MAX; t++)
		if (ev_type[t])
			pr_mx_u64(m, "type", ev_type[t], NULL, NULL, s->events[t]);
	render_incidents(s, m);
	render_losses(s, m);
	counter(m, "polrec_malformed_events_total",
		"Ring buffer records that failed validation (size, type).", s->malformed);
	counter(m, "polrec_verdict_errors_total",
		"Verdict map updates (per-process write watch, network state) that failed.",
		s->verdict_errors);
	counter(m, "polrec_packets_total", "Packets handed to the store writer.", s->packets);
	counter(m, "polrec_packets_unclaimed_total",
		"Packets of provisional flows that no incident claimed (let go, not evidence).",
		s->packets_unclaimed);
	counter(m, "polrec_flows_orphaned_total", "Captured flows that no incident claimed.",
		s->flows_orphaned);
	counter(m, "polrec_flows_dropped_total",
		"Follow-window flows the writer queue refused.", s->flows_dropped);
	counter(m, "polrec_family_cut_processes_total",
		"Family members left out of incidents by the per-incident cap.",
		s->family_skipped);
	counter(m, "polrec_family_cut_events_total",
		"Family events left out of incidents by the per-incident cap.", s->context_cut);

	gauge(m, "polrec_context_memory_bytes",
	      "Memory held by the process table and its recent events.", s->context_bytes);
	gauge(m, "polrec_context_memory_peak_bytes", "The most context memory held so far.",
	      s->context_peak);
	gauge(m, "polrec_context_memory_limit_bytes", "--context-memory.", s->context_limit);
	counter(m, "polrec_context_evicted_processes_total",
		"Exited processes let go early by the context memory cap (their events: "
		"polrec_events_lost_total{stage=\"context-cap\"}).", s->context_evicted);
	gauge(m, "polrec_packet_ring_slots", "Packet flight recorder slots per CPU (0 = off).",
	      s->packet_ring_slots);
	if (s->ring_known) {
		gauge(m, "polrec_ring_bytes", "Size of the kernel ring buffer.", s->ring_size);
		gauge(m, "polrec_ring_used_bytes",
		      "Bytes in the kernel ring buffer not yet consumed, sampled once a tick "
		      "after the consumer's poll.", s->ring_used);
		pr_mx_family(m, "polrec_ring_fill_ratio", PR_MX_GAUGE,
			     "polrec_ring_used_bytes / polrec_ring_bytes.");
		pr_mx_f64(m, NULL, NULL, NULL, NULL,
			  s->ring_size ? (double)s->ring_used / (double)s->ring_size : 0);
	}
	render_store(s, m);
	return m->err ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Options                                                                */

int pr_metrics_parse_interval(const char *arg, uint64_t *out, char *err, size_t errlen)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "s", 1000000000ull }, { "m", 60000000000ull }, { "h", 3600000000000ull },
	};
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	for (size_t i = 0; !errno && end != arg && *arg != '-' && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) || !v || v > 86400000000000ull / units[i].ns)
			continue;
		*out = v * units[i].ns;
		return 0;
	}
	snprintf(err, errlen, "--metrics-interval '%s': expected a duration like 15s, 1m or 1h "
		 "(1s to 24h)", arg);
	return -1;
}

int pr_metrics_parse_listen(const char *arg, struct sockaddr_storage *ss, char *err,
			    size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(arg, ':');
	unsigned long port;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == arg)
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535 || colon[1] == '-' || colon[1] == '+')
		goto bad;
	hl = (size_t)(colon - arg);
	if (arg[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (hl < 3 || arg[hl - 1] != ']' || hl - 2 >= sizeof(host))
			goto bad;
		memcpy(host, arg + 1, hl - 2);
		host[hl - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			goto refused;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, arg, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			goto refused;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
	}
	return 0;
bad:
	snprintf(err, errlen, "--metrics-listen '%s': expected ADDR:PORT or [ADDR]:PORT, "
		 "a numeric loopback address", arg);
	return -1;
refused:
	snprintf(err, errlen, "--metrics-listen '%s': refused, only loopback (127.0.0.0/8, [::1]) "
		 "is served (forensic recorder, not a public endpoint)", arg);
	return -1;
}

/* The directory part of path, in out (PATH_MAX). */
static void dir_of(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, PATH_MAX, ".");
	else if (slash == path)
		snprintf(out, PATH_MAX, "/");
	else
		snprintf(out, PATH_MAX, "%.*s", (int)(slash - path), path);
}

int pr_metrics_check(const struct pr_metrics_cfg *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char dir[PATH_MAX];
	struct stat st;

	if (cfg->listen && pr_metrics_parse_listen(cfg->listen, &ss, err, errlen))
		return -1;
	if (!cfg->file || !cfg->file_explicit)
		return 0;
	if (!cfg->file[0] || cfg->file[strlen(cfg->file) - 1] == '/' ||
	    strlen(cfg->file) >= PATH_MAX - 64) {
		snprintf(err, errlen, "--metrics-file '%s': expected a file path, or none",
			 cfg->file);
		return -1;
	}
	dir_of(cfg->file, dir);
	if (stat(dir, &st)) {
		snprintf(err, errlen, "--metrics-file '%s': directory %s: %s", cfg->file, dir,
			 strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--metrics-file '%s': %s is not a directory", cfg->file, dir);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Outputs                                                                */

struct pr_metrics {
	struct pr_metrics_cfg cfg;
	char dir[PATH_MAX], tmp[PATH_MAX + 64];
	uint64_t next_file;        /* CLOCK_MONOTONIC ns */
	int file_failing;          /* logged once per failing spell */
	struct MHD_Daemon *httpd;
	pthread_mutex_t lock;      /* text, for the HTTP thread */
	char *text;
	size_t text_len;
};

static void http_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	pr_log("metrics http: %s", line);
}

static enum MHD_Result http_reply(struct MHD_Connection *conn, unsigned status, char *body,
				  size_t len, const char *type)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result http_text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	char *body = strdup(msg);

	if (!body)
		return MHD_NO;
	return http_reply(conn, status, body, strlen(body), "text/plain; charset=utf-8");
}

static enum MHD_Result http_answer(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size, void **req)
{
	struct pr_metrics *m = cls;
	char *body;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return http_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	if (strcmp(url, "/metrics"))
		return http_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	pthread_mutex_lock(&m->lock);
	len = m->text_len;
	body = len ? malloc(len) : NULL;
	if (body)
		memcpy(body, m->text, len);
	pthread_mutex_unlock(&m->lock);
	/* the first snapshot comes with the first tick, a second after start */
	if (!len)
		return http_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet\n");
	if (!body)
		return MHD_NO;
	return http_reply(conn, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

/* The HTTP server's thread is started from a thread that first dropped
 * every capability (threads inherit their creator's): it parses requests
 * from any local user and needs none (recorder/privs.h). */
struct httpd_start {
	struct pr_metrics *m;
	unsigned flags;
	uint16_t port;
	const struct sockaddr_storage *ss;
	struct MHD_Daemon *d;
	int err;
};

static void *httpd_starter(void *arg)
{
	struct httpd_start *h = arg;

	if (pr_privs_drop(NULL, 0)) {
		h->err = errno ? errno : EPERM;
		return NULL;
	}
	h->d = MHD_start_daemon(h->flags, h->port, NULL, NULL, http_answer, h->m,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)h->ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)PR_METRICS_HTTP_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PR_METRICS_HTTP_TIMEOUT_S,
				MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL, MHD_OPTION_END);
	h->err = h->d ? 0 : (errno ? errno : EADDRNOTAVAIL);
	return NULL;
}

struct pr_metrics *pr_metrics_open(const struct pr_metrics_cfg *cfg, char *err, size_t errlen)
{
	struct pr_metrics *m = calloc(1, sizeof(*m));
	struct sockaddr_storage ss;

	if (!m) {
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	m->cfg = *cfg;
	pthread_mutex_init(&m->lock, NULL);
	if (cfg->file) {
		const char *base = strrchr(cfg->file, '/');

		dir_of(cfg->file, m->dir);
		/* the textfile collector reads only *.prom: ".NAME.PID.tmp" is
		 * never read half-written; the pid keeps two recorders apart */
		snprintf(m->tmp, sizeof(m->tmp), "%s/.%s.%d.tmp", m->dir, base ? base + 1 : cfg->file,
			 (int)getpid());
	}
	if (cfg->listen) {
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
		uint16_t port;

		if (pr_metrics_parse_listen(cfg->listen, &ss, err, errlen))
			goto fail;
		if (ss.ss_family == AF_INET6) {
			flags |= MHD_USE_IPv6;
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		} else {
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		}
		struct httpd_start hs = { .m = m, .flags = flags, .port = port, .ss = &ss };
		pthread_t t;
		int e = pthread_create(&t, NULL, httpd_starter, &hs);

		if (e || (e = pthread_join(t, NULL)) || hs.err) {
			snprintf(err, errlen, "--metrics-listen %s: cannot listen: %s", cfg->listen,
				 strerror(e ? e : hs.err));
			goto fail;
		}
		m->httpd = hs.d;
		{
			const union MHD_DaemonInfo *i =
				MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);

			pr_log("metrics: serving GET /metrics on %s (port %u)", cfg->listen,
			       i ? (unsigned)i->port : (unsigned)port);
		}
	}
	return m;
fail:
	pr_metrics_close(m);
	return NULL;
}

int pr_metrics_due(struct pr_metrics *m, uint64_t now)
{
	return m && (m->httpd || (m->cfg.file && now >= m->next_file));
}

/* Temp file in the same directory, 0644 (metrics are not evidence: the
 * collector may run as another user), then rename: a reader sees the old
 * file or the new one, never part of one. No fsync: after a crash a stale
 * or empty file is harmless, and the main loop does not wait for a disk. */
static int write_file(struct pr_metrics *m, const char *text, size_t len)
{
	/* O_EXCL after removing a leftover: never a FIFO, device or someone
	 * else's file planted under the predictable name */
	int fd;

	unlink(m->tmp);
	fd = open(m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
	size_t off = 0;

	if (fd < 0)
		return -1;
	if (fchmod(fd, 0644))
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(m->tmp, m->cfg.file))
		goto fail;
	return 0;
fail:
	{
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlink(m->tmp);
		errno = e;
	}
	return -1;
}

void pr_metrics_publish(struct pr_metrics *m, const struct pr_mx *mx, uint64_t now, int final)
{
	if (!m || mx->err || !mx->len)
		return;
	if (m->httpd) {
		char *copy = malloc(mx->len);

		if (copy) {
			memcpy(copy, mx->buf, mx->len);
			pthread_mutex_lock(&m->lock);
			free(m->text);
			m->text = copy;
			m->text_len = mx->len;
			pthread_mutex_unlock(&m->lock);
		}
	}
	if (!m->cfg.file || (!final && now < m->next_file))
		return;
	m->next_file = now + m->cfg.interval_ns;
	if (write_file(m, mx->buf, mx->len)) {
		/* the default directory missing is the normal case without
		 * node_exporter: said once, tried again every interval */
		if (!m->file_failing)
			pr_log("metrics: cannot write %s: %s (retrying every interval, logged once)",
			       m->cfg.file, strerror(errno));
		m->file_failing = 1;
		return;
	}
	if (m->file_failing)
		pr_log("metrics: writing %s again", m->cfg.file);
	m->file_failing = 0;
}

void pr_metrics_close(struct pr_metrics *m)
{
	if (!m)
		return;
	if (m->httpd)
		MHD_stop_daemon(m->httpd);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
	pr_metrics_policies_free();
}
