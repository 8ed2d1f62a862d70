// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * polrecd: the recorder. Foreground, logs to stderr, prints a line with
 * "ready" on stdout once every probe is attached, stops cleanly on SIGINT
 * or SIGTERM after draining the ring buffer and flushing the store.
 *
 * Exit codes: 0 clean stop, 1 runtime failure (probes, store), 2 usage or
 * policy error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include "recorder/config.h"
#include "recorder/metrics.h"
#include "recorder/polrecd.h"
#include "recorder/privs.h"
#include "schema/prune.h"

/* install paths (CMakeLists.txt, "host" block): the settings file and the
 * policy directories, /etc first (the administrator's), then the vendor's */
#ifndef POLREC_CONFIG_FILE
#define POLREC_CONFIG_FILE "/etc/polrec/polrecd.yaml"
#endif
#ifndef POLREC_POLICY_DIR_ETC
#define POLREC_POLICY_DIR_ETC "/etc/polrec/policies.d"
#endif
#ifndef POLREC_POLICY_DIR_VENDOR
#define POLREC_POLICY_DIR_VENDOR "/usr/lib/polrec/policies.d"
#endif

#define DEFAULT_STORE "/var/lib/polrec"
#define TICK_NS       1000000000ull /* housekeeping: drops, reaping */
#define DEFAULT_CONTEXT_WINDOW_NS (60 * 1000000000ull)
#define DEFAULT_CONTEXT_BYTES (64ull << 20)
#define POLL_MS       10
/* long options without a short form */
enum { OPT_METRICS_FILE = 0x4d01, OPT_METRICS_INTERVAL, OPT_METRICS_LISTEN };

int pr_verbose;
/* "FILE:LINE:COL" of the setting being applied from polrecd.yaml: its
 * errors then say where they come from */
static const char *log_origin;
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

void pr_log(const char *fmt, ...)
{
	va_list ap;

	fputs("polrecd: ", stderr);
	if (log_origin)
		fprintf(stderr, "%s: ", log_origin);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_signal(int sig)
{
	stop_requested = sig;
}

static void on_hup(int sig)
{
	reload_requested = 1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: polrecd [--config FILE] [--policy FILE]... [--policy-dir DIR]... [--store DIR] [-v]\n"
		"       polrecd --print-default-policy\n"
		"       polrecd --check-policy FILE\n"
		"\n"
		"  --config FILE           settings: long options as YAML keys (default\n"
		"                          " POLREC_CONFIG_FILE ", when it exists)\n"
		"  --policy FILE           expectations to enforce (repeatable: the files merge;\n"
		"                          default: the policy directories, else the embedded policy)\n"
		"  --policy-dir DIR        merge DIR/*.yaml (repeatable); the default directories:\n"
		"                          " POLREC_POLICY_DIR_ETC "\n"
		"                          over " POLREC_POLICY_DIR_VENDOR "\n"
		"  --store DIR             where incidents are written (default " DEFAULT_STORE ")\n"
		"  --print-default-policy  print the embedded default policy and exit\n"
		"  --check-policy FILE     validate a policy file and exit (0 valid, 2 invalid)\n"
		"  --ring-bytes N          kernel ring buffer size (power of two, default 16 MiB)\n"
		"  --context-window D      activity kept before a violation, and how long exited\n"
		"                          processes stay for it (default 60s, at most 1h)\n"
		"  --context-memory N      cap on the process table and its recent events\n"
		"                          (default 64M; exited processes go first, counted)\n"
		"  --packet-ring N         packet flight recorder slots per CPU, each the first\n"
		"                          128 bytes of a packet (default 2048; 0 = off)\n"
		"  --max-store-size N      disk budget of the store (database, WAL, pcap; K/M/G\n"
		"                          suffixes; default 0 = unlimited): the oldest closed\n"
		"                          incidents are pruned to stay within it\n"
		"  --max-age D             prune closed incidents older than D (30d, 12h, 90m;\n"
		"                          default 0 = keep)\n"
		"  --max-pcap-size N       budget of the packet segments alone (default 0 =\n"
		"                          unlimited): the oldest closed incidents lose their packets\n"
		"  --record-all-writes     send every write-open to user space (more context,\n"
		"                          more cost); default: only watched trees and subjects\n"
		"  --ocsf-stream PATH      append each incident as OCSF 1.2.0 NDJSON to PATH\n"
		"                          (0600; default off), as polq export -o ocsf\n"
		"  --ocsf-stream-size N    rotate PATH when it would pass N bytes (K/M/G\n"
		"                          suffixes; default 64M, at least 1K)\n"
		"  --ocsf-stream-keep N    rotated generations kept, PATH.1 .. PATH.N (default 5)\n"
		"  --metrics-file PATH     Prometheus text file, replaced atomically (default\n"
		"                          " PR_METRICS_DEFAULT_FILE ";\n"
		"                          none = off)\n"
		"  --metrics-interval D    how often the file is rewritten (default 15s)\n"
		"  --metrics-listen A:P    also serve GET /metrics over HTTP, loopback only\n"
		"                          (127.0.0.1:9464, [::1]:9464)\n"
		"  -v, --verbose           log every incident path and libbpf's messages\n");
}

static struct pr_policy *load_policy(const char *file)
{
	struct pr_policy *p = NULL;
	char err[512];
	int rc;

	if (file)
		rc = pr_policy_load_file(file, &p, err, sizeof(err));
	else
		rc = pr_policy_parse(pr_default_policy_yaml, pr_default_policy_len,
				     "(default policy)", &p, err, sizeof(err));
	if (rc) {
		pr_log("invalid policy: %s", err);
		return NULL;
	}
	return p;
}

/* Read the kernel's per-CPU drop counters; new drops become loss records
 * and a log line. Nothing is lost silently. */
/* Incidents the writer could not queue (memory or queue budget): logged,
 * stored as a loss record, and counted in later incidents' lost_events. */
static void account_writer_drops(struct pr_consumer *c, uint64_t *last, uint64_t since)
{
	static uint64_t nomem_seen;
	uint64_t ok, bad, dropped, nomem, t = clock_ns(CLOCK_REALTIME);

	nomem = pr_writer_nomem(c->writer);
	if (nomem != nomem_seen) {
		pr_log("out of memory: %llu records (incidents, events, flows, losses or runs) "
		       "could not be queued for the store", (unsigned long long)(nomem - nomem_seen));
		pr_writer_submit(c->writer, pr_job_loss(since, t, "recorder-memory", "record",
							nomem - nomem_seen));
		c->lost_total += nomem - nomem_seen;
		nomem_seen = nomem;
	}
	pr_writer_stats(c->writer, &ok, &bad, &dropped);
	if (dropped == *last)
		return;
	pr_log("store writer behind: %llu incidents dropped (queue budget %u jobs, %u MiB)",
	       (unsigned long long)(dropped - *last), PR_WRITER_QUEUE_MAX,
	       PR_WRITER_QUEUE_BYTES >> 20);
	pr_writer_submit(c->writer, pr_job_loss(since, t, "recorder-queue", "incident",
						dropped - *last));
	c->lost_total += dropped - *last;
	*last = dropped;
}

/* Packets refused by the writer's queue budget or lost to memory here. */
static void account_packet_drops(struct pr_consumer *c, uint64_t since)
{
	uint64_t t = clock_ns(CLOCK_REALTIME), w = pr_writer_packets_dropped(c->writer);

	if (w != c->writer_pkts_dropped_seen) {
		pr_log("store writer behind: %llu packets dropped",
		       (unsigned long long)(w - c->writer_pkts_dropped_seen));
		pr_writer_submit(c->writer, pr_job_loss(since, t, "recorder-queue", "packet",
							w - c->writer_pkts_dropped_seen));
		c->lost_total += w - c->writer_pkts_dropped_seen;
		c->writer_pkts_dropped_seen = w;
	}
	if (c->pkts_dropped != c->pkts_dropped_seen) {
		pr_log("out of memory: %llu packets dropped",
		       (unsigned long long)(c->pkts_dropped - c->pkts_dropped_seen));
		pr_writer_submit(c->writer, pr_job_loss(since, t, "recorder", "packet",
							c->pkts_dropped - c->pkts_dropped_seen));
		c->lost_total += c->pkts_dropped - c->pkts_dropped_seen;
		c->pkts_dropped_seen = c->pkts_dropped;
	}
}

/* Context the cap evicted, follow events the queue refused. */
static void account_context_drops(struct pr_consumer *c, uint64_t since)
{
	static uint64_t procs_seen, events_seen, follow_seen;
	uint64_t t = clock_ns(CLOCK_REALTIME), procs, events, follow;

	pr_proctab_cap_stats(c->procs, &procs, &events);
	follow = pr_writer_events_dropped(c->writer) + c->follow_dropped;
	if (procs != procs_seen || events != events_seen) {
		pr_log("context memory cap (%zu bytes in use): %llu exited processes and %llu of "
		       "their recent events let go early", pr_proctab_memory(),
		       (unsigned long long)(procs - procs_seen),
		       (unsigned long long)(events - events_seen));
		if (events != events_seen)
			pr_writer_submit(c->writer, pr_job_loss(since, t, "context-cap", "event",
								events - events_seen));
		procs_seen = procs;
		events_seen = events;
	}
	if (follow != follow_seen) {
		pr_log("store writer behind: %llu follow events dropped",
		       (unsigned long long)(follow - follow_seen));
		pr_writer_submit(c->writer, pr_job_loss(since, t, "recorder-queue", "follow-event",
							follow - follow_seen));
		c->lost_total += follow - follow_seen;
		follow_seen = follow;
	}
}

static void account_drops(struct pr_probes *pb, struct pr_consumer *c, uint64_t last[],
			  uint64_t *since)
{
	static const char *const kind[PR_EV_TYPE_MAX] = {
		[PR_EV_FORK] = "fork", [PR_EV_EXEC] = "exec",
		[PR_EV_EXIT] = "exit", [PR_EV_FILE] = "file",
		[PR_EV_NET] = "network", [PR_EV_PKT] = "packet",
		[PR_EV_VERDICT] = "verdict-map", [PR_EV_GUARD] = "guard",
		[PR_EV_FILE_OP] = "file-op", [PR_EV_FILE_ELSEWHERE] = "file-elsewhere",
	};
	uint64_t now[PR_EV_TYPE_MAX], t = clock_ns(CLOCK_REALTIME);

	account_writer_drops(c, &c->writer_dropped_seen, *since);
	account_packet_drops(c, *since);
	account_context_drops(c, *since);
	if (pr_probes_drops(pb, now)) {
		pr_log("cannot read the kernel drop counters: %s", strerror(errno));
		return;
	}
	for (int k = 0; k < PR_EV_TYPE_MAX; k++) {
		uint64_t d = now[k] - last[k];

		if (!d)
			continue;
		c->lost_total += d;
		pr_log("kernel ring buffer full: %llu %s events lost", (unsigned long long)d,
		       kind[k] ? kind[k] : "other");
		pr_writer_submit(c->writer, pr_job_loss(*since, t, "kernel-ringbuf",
							kind[k] ? kind[k] : "other", d));
		last[k] = now[k];
	}
	*since = t;
}

/* ---- liveness: the heartbeat file and clock steps ----
 * DIR/polrecd.state holds one line, "boot_id boot_ns wall_ns clean",
 * rewritten (temp file + rename) every tick and at a clean stop. A start
 * that finds clean=0 records that the recorder was down from the last
 * heartbeat to now: an unclean stop (kill -9, crash, power loss) is
 * itself evidence. */
#define STATE_FILE "polrecd.state"

static void fmt_utc(uint64_t ns, char *out, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&secs, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "%llu ns", (unsigned long long)ns);
}

static void boot_id(char out[40])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (!f || !fgets(out, 40, f))
		snprintf(out, 40, "unknown");
	out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

static int hb_failed;

static void heartbeat(const char *dir, const char *bid, int clean)
{
	char path[4096], tmp[4200], line[160];
	int fd, n;

	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(line, sizeof(line), "%s %llu %llu %d\n", bid,
		     (unsigned long long)clock_ns(CLOCK_BOOTTIME),
		     (unsigned long long)clock_ns(CLOCK_REALTIME), clean);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		int ok = write(fd, line, (size_t)n) == n && !fsync(fd);

		if (close(fd) == 0 && ok && !rename(tmp, path)) {
			hb_failed = 0;
			return;
		}
	}
	unlink(tmp);
	/* the next start could not tell an unclean stop: say so, once */
	if (!hb_failed)
		pr_log("cannot write %s: %s (an unclean stop may go unrecorded)", path,
		       strerror(errno));
	hb_failed = 1;
}

/* At start: was the last run stopped cleanly? If not, record the gap. */
static void check_last_stop(const char *dir, const char *bid, struct pr_writer *w)
{
	char path[4096], obid[40], detail[300], t1[40], t2[40];
	unsigned long long oboot, owall;
	int clean, fd;
	ssize_t n;
	char line[160];
	uint64_t now = clock_ns(CLOCK_REALTIME);

	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return; /* first start */
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return;
	line[n] = '\0';
	if (sscanf(line, "%39s %llu %llu %d", obid, &oboot, &owall, &clean) != 4) {
		pr_log("%s: unreadable, the last stop is unknown", path);
		pr_writer_submit(w, pr_job_run(now, "unclean-stop", "previous state file unreadable"));
		return;
	}
	if (clean)
		return;
	fmt_utc(owall, t1, sizeof(t1));
	fmt_utc(now, t2, sizeof(t2));
	snprintf(detail, sizeof(detail),
		 "recorder was down from %s (last heartbeat) to %s%s", t1, t2,
		 strcmp(obid, bid) ? " (the host rebooted in between)" : "");
	pr_log("the last run did not stop cleanly: %s", detail);
	pr_writer_submit(w, pr_job_run(now, "unclean-stop", detail));
}

/* The wall clock moved against the boot clock: times stay on the boot
 * clock (plus the offset taken at start), the step is recorded. */
static void check_clock(struct pr_consumer *c, int64_t *offset)
{
	int64_t now = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_BOOTTIME);
	int64_t d = now - *offset;
	char detail[160];

	if (d > -1000000000ll && d < 1000000000ll)
		return;
	snprintf(detail, sizeof(detail),
		 "wall clock stepped by %+.3f s; stored times stay on the boot clock "
		 "(offset taken at start)", (double)d / 1e9);
	pr_log("%s", detail);
	pr_writer_submit(c->writer, pr_job_run(clock_ns(CLOCK_REALTIME), "clock-step", detail));
	*offset = now;
}

/* Least privilege: once the probes are loaded and attached, keep only
 * what running needs: CAP_BPF (map updates, verdicts, captures, reloads),
 * CAP_SYS_PTRACE (reading /proc/PID/exe, cwd and cmdline of every
 * user's processes), CAP_DAC_READ_SEARCH (hashing executables wherever
 * they are). Everything else goes from the effective, permitted,
 * inheritable and bounding sets, and no_new_privs is set. */
static const cap_value_t caps_kept[] = { CAP_BPF, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH };

/* The main thread, after the probes are attached; the writer and the
 * metrics server drop everything themselves (recorder/privs.h). */
static int drop_privileges(void)
{
	return pr_privs_drop(caps_kept, sizeof(caps_kept) / sizeof(caps_kept[0]));
}

/* --check-policy: parse and compile everything polrecd would. */
static int check_policy(const char *file)
{
	struct pr_policy *p = load_policy(file);
	struct pr_compiled *c = NULL;
	struct pr_netrules *nr = NULL;
	char err[512];
	int rc = 0;

	if (!p)
		return 2;
	if (pr_policy_compile(p, &c, err, sizeof(err)) ||
	    pr_netrules_compile(p, &nr, err, sizeof(err))) {
		pr_log("invalid policy: %s", err);
		rc = 2;
	} else {
		printf("%s: valid, %zu expectations\n", file, p->n);
	}
	pr_netrules_free(nr);
	pr_compiled_free(c);
	pr_policy_free(p);
	return rc;
}

static uint32_t ring_bytes;
static uint64_t context_window_ns = DEFAULT_CONTEXT_WINDOW_NS;
static uint64_t context_bytes = DEFAULT_CONTEXT_BYTES;
static uint32_t pkt_ring_slots = PR_RING_SLOTS_DEFAULT;
static struct pr_budget_cfg budget_cfg;
static struct pr_metrics_cfg metrics_cfg = {
	.file = PR_METRICS_DEFAULT_FILE, .interval_ns = PR_METRICS_DEFAULT_INTERVAL,
};

/* --max-store-size, --max-pcap-size: bytes with K, M or G; 0 = unlimited,
 * else at least 1 MiB */
static int parse_budget_bytes(const char *opt, const char *arg, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!errno && end != arg && *end && !end[1]) {
		int sh = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;

		if (sh > 0 && v <= (1ull << 50) >> sh) {
			v <<= sh;
			end++;
		}
	}
	if (errno || end == arg || *end || (v && v < (1ull << 20)) || v > (1ull << 50)) {
		pr_log("--%s '%s': expected bytes (K, M, G suffixes), 0 (unlimited) or at least 1M",
		       opt, arg);
		return -1;
	}
	*out = v;
	return 0;
}

/* --max-age: "30d", "12h", "90m", "3600s"; 0 = keep */
static int parse_age(const char *arg, uint64_t *out)
{
	static const struct { char unit; uint64_t ns; } units[] = {
		{ 's', 1000000000ull }, { 'm', 60000000000ull }, { 'h', 3600000000000ull },
		{ 'd', 86400000000000ull }, { 'w', 604800000000000ull },
	};
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!errno && end != arg && !*end && v == 0) {
		*out = 0;
		return 0;
	}
	for (size_t i = 0; !errno && end != arg && i < sizeof(units) / sizeof(units[0]); i++) {
		if (end[0] != units[i].unit || end[1] || !v || v > (100ull * 365 * 86400000000000ull) / units[i].ns)
			continue;
		*out = v * units[i].ns;
		return 0;
	}
	pr_log("--max-age '%s': expected a duration like 30d, 12h, 90m or 3600s (0 = keep)", arg);
	return -1;
}

/* "90s", "2m", "500ms", "1h": at most 1 h */
static int parse_window(const char *arg, uint64_t *out)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ms", 1000000ull }, { "s", 1000000000ull }, { "m", 60000000000ull },
		{ "h", 3600000000000ull },
	};
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	for (size_t i = 0; !errno && end != arg && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) || v > 3600000000000ull / units[i].ns)
			continue;
		*out = v * units[i].ns;
		return 0;
	}
	pr_log("--context-window '%s': expected a duration like 60s, 5m or 500ms, at most 1h", arg);
	return -1;
}

/* bytes with an optional K, M or G suffix, at least 1 MiB */
static int parse_bytes(const char *arg, uint64_t *out)
{
	unsigned long long v;
	char *end;

	int sh = 0;

	errno = 0;
	/* digits only: strtoull would take "-1" as a huge value */
	v = *arg >= '0' && *arg <= '9' ? strtoull(arg, &end, 10) : (end = (char *)arg, 0);
	if (!errno && end != arg) {
		if (!strcmp(end, "K") || !strcmp(end, "k"))
			sh = 10, end++;
		else if (!strcmp(end, "M"))
			sh = 20, end++;
		else if (!strcmp(end, "G"))
			sh = 30, end++;
	}
	/* checked before the shift: it must not wrap into the range */
	if (!errno && v > (1ull << 40) >> sh)
		errno = ERANGE;
	v <<= sh;
	if (errno || end == arg || *end || v < (1ull << 20) || v > (1ull << 40)) {
		pr_log("--context-memory '%s': expected bytes (K, M, G suffixes) from 1M to 1024G", arg);
		return -1;
	}
	*out = v;
	return 0;
}

static void seed_verdict(struct pr_proc *p, void *arg)
{
	if (!p->exited)
		pr_consumer_verdict(arg, p, p->exec_seq);
}

/* The policy in force: parsed, compiled, numbered. */
struct policy_set {
	struct pr_policy *policy;
	struct pr_compiled *compiled;
	struct pr_netrules *net;
	unsigned version;
	char sha256[65];
	char *text;                  /* the bytes its SHA-256 covers, as read */
	size_t text_len;
	char desc[320];                /* its files, for the run records */
};

static void policy_set_free(struct policy_set *ps)
{
	pr_netrules_free(ps->net);
	pr_compiled_free(ps->compiled);
	pr_policy_free(ps->policy);
	free(ps->text);
	memset(ps, 0, sizeof(*ps));
}

/* Where the policy comes from: --policy files and --policy-dir dirs, else
 * the installed directories, else the embedded default. */
static const char *policy_files[64], *policy_dirs[64];
static size_t npolicy_files, npolicy_dirs;
static const char *const default_policy_dirs[] = { POLREC_POLICY_DIR_ETC, POLREC_POLICY_DIR_VENDOR };

/* SHA-256 of the embedded default policy (files: pr_policy_load_files). */
static void policy_digest(char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(pr_default_policy_yaml, pr_default_policy_len, md, &mdlen, EVP_sha256(),
		       NULL))
		for (unsigned i = 0; i < mdlen && i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The files the policy is read from, as the run records name them:
 * "FILE", or "FILE,FILE,..." (cut with "..." when long). */
static void policy_desc(const struct pr_strlist *files, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < files->n && o < len; i++) {
		int n = snprintf(out + o, len - o, "%s%s", i ? "," : "", files->v[i]);

		if (n < 0 || (size_t)n >= len - o) {
			snprintf(out + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
			break;
		}
		o += (size_t)n;
	}
	if (!files->n)
		snprintf(out, len, "(default)");
}

/* Parse (every source, merged) and compile; 0, or -1 with the one-line
 * reason in err. Read again at every reload: files may have come or gone. */
static int policy_set_load(struct policy_set *ps, char *err, size_t errlen)
{
	const struct pr_policy_sources src = {
		.files = policy_files, .nfiles = npolicy_files,
		.dirs = policy_dirs, .ndirs = npolicy_dirs,
		.default_dirs = default_policy_dirs, .ndefault_dirs = 2,
	};
	struct pr_strlist files = {0};
	size_t masked = 0;
	int rc;

	memset(ps, 0, sizeof(*ps));
	if (pr_policy_sources_list(&src, &files, &masked, err, errlen))
		return -1;
	if (files.n) {
		rc = pr_policy_load_files_text(&files, &ps->policy, ps->sha256, &ps->text,
					       &ps->text_len, err, errlen);
	} else if (masked) {
		snprintf(err, errlen, "every policy file is masked (%zu): no policy to enforce",
			 masked);
		rc = -1;
	} else {
		rc = pr_policy_parse(pr_default_policy_yaml, pr_default_policy_len,
				     "(default policy)", &ps->policy, err, errlen);
		policy_digest(ps->sha256);
		ps->text = malloc(pr_default_policy_len + 1);
		if (!rc && !ps->text) {
			snprintf(err, errlen, "(default policy): out of memory");
			rc = -1;
		} else if (ps->text) {
			memcpy(ps->text, pr_default_policy_yaml, pr_default_policy_len);
			ps->text_len = pr_default_policy_len;
		}
	}
	policy_desc(&files, ps->desc, sizeof(ps->desc));
	pr_strlist_free(&files);
	if (rc || pr_policy_compile(ps->policy, &ps->compiled, err, errlen) ||
	    pr_netrules_compile(ps->policy, &ps->net, err, errlen)) {
		policy_set_free(ps);
		return -1;
	}
	return 0;
}

/* The version in force goes to the store before any incident it judges
 * (the writer's queue is in order). */
static void policy_set_submit(struct pr_consumer *c, const struct policy_set *ps, uint64_t now)
{
	if (pr_writer_submit(c->writer, pr_job_policy(now, ps->sha256, ps->desc,
						      (uint32_t)ps->policy->n, ps->text,
						      ps->text_len)))
		pr_log("policy version %u (sha256 %s) not stored: out of memory; its incidents "
		       "name no version", ps->version, ps->sha256);
}

static int record_all_writes;

/* systemd's STATUS= line (and READY=1 after a reload): a short summary,
 * sent when it changed. */
static void notify_status(struct pr_consumer *c, const struct policy_set *ps, int ready)
{
	static char last[200];
	char status[200];

	snprintf(status, sizeof(status), "recording: %llu incidents, %llu events lost, "
		 "policy version %u (%zu expectations)", (unsigned long long)c->nincidents,
		 (unsigned long long)c->lost_total, ps->version, ps->policy->n);
	if (ready)
		pr_notify_ready(status);
	else if (strcmp(status, last))
		pr_notify_status(status);
	memcpy(last, status, sizeof(last));
}

/* --ocsf-stream */
static const char *ocsf_path;
static uint64_t ocsf_size = 64ull << 20;
static unsigned ocsf_keep = 5;

/* --ocsf-stream-size: bytes, K/M/G suffixes, from 1K to 1T */
static int parse_stream_size(const char *arg, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int sh = 0;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!errno && end != arg && *end && !end[1]) {
		sh = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
		if (sh > 0)
			end++;
	}
	if (errno || end == arg || *end || sh < 0 || v > (1ull << 40) >> sh ||
	    (v << sh) < 1024) {
		pr_log("--ocsf-stream-size '%s': expected bytes (K, M, G suffixes) from 1K to 1024G",
		       arg);
		return -1;
	}
	*out = v << sh;
	return 0;
}

static int parse_stream_keep(const char *arg, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 1000) {
		pr_log("--ocsf-stream-keep '%s': expected generations from 1 to 1000", arg);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* SIGHUP: a valid new policy replaces the running one, kernel state first
 * (new before old goes: the filter errs towards sending more), then user
 * space in one step; an invalid one is refused and the old one stays. */
static void reload(struct policy_set *cur, struct pr_probes *probes,
		   struct pr_consumer *c)
{
	struct policy_set next;
	char err[512], detail[700];
	uint64_t now = clock_ns(CLOCK_REALTIME);

	pr_notify_reloading();
	if (policy_set_load(&next, err, sizeof(err)) ||
	    pr_probes_replace_netrules(probes, cur->net, next.net, err, sizeof(err))) {
		if (next.policy)
			policy_set_free(&next);
		pr_log("reload refused, policy version %u stays in force: %s", cur->version, err);
		pr_writer_submit(c->writer, pr_job_run(now, "reload-refused", err));
		notify_status(c, cur, 1);
		return;
	}
	if (!record_all_writes && pr_probes_replace_prefixes(probes, next.compiled)) {
		pr_probes_filter_off(probes);
		pr_log("in-kernel write filter off after the reload (every write-open is sent)");
	}
	next.version = cur->version + 1;
	policy_set_submit(c, &next, now);
	c->policy = next.compiled;
	c->net = next.net;
	policy_set_free(cur);
	*cur = next;
	c->policy_sha256 = cur->sha256;
	/* every running process is judged again under the new policy */
	pr_proctab_foreach(c->procs, seed_verdict, c);
	snprintf(detail, sizeof(detail), "version=%u policy=%s expectations=%zu sha256=%s",
		 cur->version, cur->desc, cur->policy->n, cur->sha256);
	pr_log("policy reloaded: %s", detail);
	pr_writer_submit(c->writer, pr_job_run(now, "reload", detail));
	notify_status(c, cur, 1);
}

/* Where the last SIGKILL aimed at polrecd is kept between runs: bpffs,
 * named after the store (one recorder per store), "" when unknown. */
static void last_words_path(const char *store_dir, char *out, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char real[PATH_MAX];

	out[0] = '\0';
	if (!realpath(store_dir, real) ||
	    !EVP_Digest(real, strlen(real), md, &mdlen, EVP_sha256(), NULL) || mdlen < 8)
		return;
	snprintf(out, len, "/sys/fs/bpf/polrec-%02x%02x%02x%02x%02x%02x%02x%02x", md[0], md[1],
		 md[2], md[3], md[4], md[5], md[6], md[7]);
}

/* A SIGKILL ended the polrecd before this one (its ring buffer event died
 * with it): the pinned map kept who sent it. Recorded as a run record and,
 * under the policy's recorder.signals, as an incident (the sender must
 * still be running to be named with its lineage; the run record names it
 * either way). */
static void record_last_words(struct pr_consumer *c, struct pr_probes *probes, const char *pin)
{
	struct pr_last_words lw;
	char detail[300];
	int rc = pr_probes_last_words(probes, &lw);

	if (rc < 0)
		pr_log("%s: cannot read the last words map: %s", pin, strerror(errno));
	if (rc <= 0)
		return;
	snprintf(detail, sizeof(detail), "polrecd was killed by SIGKILL from pid %u (uid %u, "
		 "started at boot ns %llu) at boot ns %llu; %llu SIGKILL(s) aimed at it since "
		 "boot ns %llu", lw.last.h.tgid, lw.last.uid, (unsigned long long)lw.last.h.start,
		 (unsigned long long)lw.last.h.time, (unsigned long long)lw.count,
		 (unsigned long long)lw.first_time);
	pr_log("%s", detail);
	pr_writer_submit(c->writer, pr_job_run((uint64_t)((int64_t)lw.last.h.time + c->boot_to_epoch),
					       "killed", detail));
	pr_consumer_guard(c, &lw.last);
}

static int run(const char *store_dir)
{
	char lw_pin[64];
	struct policy_set ps = {0};
	struct pr_store *store = NULL;
	struct pr_probes *probes = NULL;
	struct ring_buffer *rb = NULL;
	struct pr_consumer c = {0};
	struct pr_budget *budget = NULL;
	struct pr_ocsf_stream *ocsf = NULL;
	struct pr_metrics *metrics = NULL;
	struct pr_metrics_static mst = {
		.start_ns = clock_ns(CLOCK_REALTIME), .context_limit = context_bytes, .packet_ring_slots = pkt_ring_slots,
		.max_store = budget_cfg.max_store, .max_pcap = budget_cfg.max_pcap,
		.max_age_ns = budget_cfg.max_age_ns,
	};
	uint64_t drops_last[PR_EV_TYPE_MAX] = {0}, drops_since, next_tick, w_ok, w_bad, w_drop;
	uint64_t evicted = 0, evicted_events = 0;
	int64_t clock_offset;
	char bid[40] = "";
	char err[512], detail[512] = "";
	struct sigaction sa = {0};
	long seeded;
	int rc = 1;

	if (policy_set_load(&ps, err, sizeof(err))) {
		pr_log("invalid policy: %s", err);
		return 2;
	}
	ps.version = 1;
	if (geteuid() != 0) {
		pr_log("must run as root: loading probes needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN");
		goto out;
	}
	umask(077);
	if (pr_store_open(&store, store_dir, PR_STORE_WRITE, err, sizeof(err))) {
		pr_log("cannot open store: %s", err);
		goto out;
	}

	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	c.procs = pr_proctab_new();
	if (!c.procs)
		goto out;
	c.policy = ps.compiled;
	c.net = ps.net;
	c.context_window_ns = context_window_ns;
	pr_proctab_set_cap(c.procs, context_bytes);
	c.boot_to_epoch = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_BOOTTIME);
	clock_offset = c.boot_to_epoch;
	budget_cfg.log = pr_log;
	budget = pr_budget_new(store, &budget_cfg);
	if (!budget) {
		pr_log("cannot set up the store budget");
		goto out;
	}
	if (budget_cfg.max_store || budget_cfg.max_age_ns || budget_cfg.max_pcap)
		pr_log("store budget: max-store-size %llu bytes, max-age %llu s, max-pcap-size %llu "
		       "bytes (0 = unlimited)", (unsigned long long)budget_cfg.max_store,
		       (unsigned long long)(budget_cfg.max_age_ns / 1000000000ull),
		       (unsigned long long)budget_cfg.max_pcap);
	if (ocsf_path) {
		ocsf = pr_ocsf_stream_open(ocsf_path, ocsf_size, ocsf_keep);
		if (!ocsf)
			goto out;
		pr_log("ocsf stream %s: rotated at %llu bytes, %u generations kept", ocsf_path,
		       (unsigned long long)ocsf_size, ocsf_keep);
	}
	c.writer = pr_writer_start_budget(store, budget);
	if (!c.writer)
		goto out;
	c.policy_sha256 = ps.sha256;
	policy_set_submit(&c, &ps, clock_ns(CLOCK_REALTIME));
	if (ocsf)
		pr_writer_on_incident(c.writer, pr_ocsf_stream_incident, ocsf);
	boot_id(bid);
	check_last_stop(store_dir, bid, c.writer);
	heartbeat(store_dir, bid, 0);
	/* the HTTP endpoint binds now, with every capability still held */
	metrics = pr_metrics_open(&metrics_cfg, err, sizeof(err));
	if (!metrics) {
		pr_log("%s", err);
		goto out;
	}

	/* probes first, then /proc: a process born in between is seen by both,
	 * and the table keeps the first (pid, start) it learns */
	last_words_path(store_dir, lw_pin, sizeof(lw_pin));
	probes = pr_probes_open(ring_bytes, ps.net, pkt_ring_slots, lw_pin[0] ? lw_pin : NULL);
	if (!probes)
		goto out;
	rb = ring_buffer__new(pr_probes_ringbuf_fd(probes), pr_consume_event, &c, NULL);
	if (!rb) {
		pr_log("cannot set up the ring buffer consumer: %s", strerror(errno));
		goto out;
	}
	seeded = pr_proctab_seed(c.procs, "/proc");
	c.probes = probes;
	/* every process older than us gets its verdict (write watch,
	 * network expectations) before the filter trusts the verdicts */
	pr_proctab_foreach(c.procs, seed_verdict, &c);
	if (record_all_writes)
		pr_log("--record-all-writes: every write-open is sent to user space");
	else if (pr_probes_watch_prefixes(probes, ps.compiled) == 0)
		pr_probes_filter_on(probes);
	snprintf(detail, sizeof(detail),
		 "policy=%s version=1 sha256=%s expectations=%zu probes=%u seeded=%ld boot_id=%s "
		 "boot_ns=%llu", ps.desc, ps.sha256, ps.policy->n,
		 pr_probes_attached(probes), seeded, bid, (unsigned long long)clock_ns(CLOCK_BOOTTIME));
	pr_writer_submit(c.writer, pr_job_run(clock_ns(CLOCK_REALTIME), "start", detail));
	pr_log("store %s, %zu expectations, %u probes attached, %ld processes seeded from /proc",
	       store_dir, ps.policy->n, pr_probes_attached(probes), seeded);
	record_last_words(&c, probes, lw_pin);
	pr_probes_self_tids(probes);
	if (drop_privileges()) {
		pr_log("cannot drop capabilities: %s", strerror(errno));
		goto out;
	}
	printf("polrecd: ready\n");
	fflush(stdout);
	notify_status(&c, &ps, 1);

	drops_since = clock_ns(CLOCK_REALTIME);
	next_tick = clock_ns(CLOCK_MONOTONIC) + TICK_NS;
	while (!stop_requested) {
		int n = ring_buffer__poll(rb, POLL_MS);

		if (n < 0 && n != -EINTR) {
			pr_log("ring buffer poll failed: %s", strerror(-n));
			break;
		}
		/* records submitted without a wakeup are only seen by consume */
		ring_buffer__consume(rb);
		pr_consumer_flush(&c, clock_ns(CLOCK_BOOTTIME));
		pr_notify_watchdog();
		if (reload_requested) {
			reload_requested = 0;
			reload(&ps, probes, &c);
		}
		if (clock_ns(CLOCK_MONOTONIC) >= next_tick) {
			pr_probes_capture_gc(probes, clock_ns(CLOCK_BOOTTIME));
			check_clock(&c, &clock_offset);
			heartbeat(store_dir, bid, 0);
			account_drops(probes, &c, drops_last, &drops_since);
			pr_metrics_tick(metrics, &mst, &c, probes, ps.sha256, ps.version, ps.policy->n);
			pr_proctab_reap(c.procs, clock_ns(CLOCK_BOOTTIME), context_window_ns);
			pr_proctab_enforce_cap(c.procs);
			notify_status(&c, &ps, 0);
			next_tick = clock_ns(CLOCK_MONOTONIC) + TICK_NS;
		}
	}
	pr_notify_stopping();
	pr_log("stopping (%s)", stop_requested == SIGINT ? "SIGINT" :
				stop_requested == SIGTERM ? "SIGTERM" : "error");
	ring_buffer__consume(rb);
	pr_consumer_flush(&c, clock_ns(CLOCK_BOOTTIME));
	account_drops(probes, &c, drops_last, &drops_since);
	pr_writer_stats(c.writer, &w_ok, &w_bad, &w_drop);
	pr_proctab_cap_stats(c.procs, &evicted, &evicted_events);
	snprintf(detail, sizeof(detail),
		 "incidents=%llu exec=%llu file=%llu net=%llu packets=%llu fork=%llu exit=%llu "
		 "lost=%llu malformed=%llu verdict_errors=%llu queue_dropped=%llu "
		 "unclaimed_packets=%llu orphan_flows=%llu joined=%llu context_bytes=%zu "
		 "context_peak=%zu context_evicted=%llu family_cut=%llu/%llu",
		 (unsigned long long)c.nincidents, (unsigned long long)c.nevents[PR_EV_EXEC],
		 (unsigned long long)c.nevents[PR_EV_FILE], (unsigned long long)c.nevents[PR_EV_NET],
		 (unsigned long long)c.nevents[PR_EV_PKT], (unsigned long long)c.nevents[PR_EV_FORK],
		 (unsigned long long)c.nevents[PR_EV_EXIT], (unsigned long long)c.lost_total,
		 (unsigned long long)c.malformed, (unsigned long long)c.verdict_errors,
		 (unsigned long long)w_drop, (unsigned long long)c.pkts_unclaimed,
		 (unsigned long long)c.flows_orphaned, (unsigned long long)c.njoined,
		 pr_proctab_memory(), pr_proctab_peak(c.procs), (unsigned long long)evicted,
		 (unsigned long long)c.family_skipped, (unsigned long long)c.context_cut);
	pr_writer_submit(c.writer, pr_job_run(clock_ns(CLOCK_REALTIME), "stop", detail));
	rc = stop_requested ? 0 : 1;
out:
	/* the last metrics (polrec_up 0), while the writer's counts are there */
	pr_metrics_stop(metrics, &mst, &c, probes, ps.sha256, ps.version, ps.policy->n);
	pr_metrics_close(metrics);
	if (c.writer) {
		/* drains the queue: flushes the store */
		pr_writer_stop(c.writer, &w_ok, &w_bad, &w_drop);
		c.writer = NULL;
		pr_log("store flushed (%s); records written=%llu failed=%llu dropped=%llu", detail,
		       (unsigned long long)w_ok, (unsigned long long)w_bad,
		       (unsigned long long)w_drop);
	}
	if (ocsf) {
		uint64_t s_ok, s_bad, s_rot;

		pr_ocsf_stream_stats(ocsf, &s_ok, &s_bad, &s_rot);
		pr_log("ocsf stream %s: incidents streamed=%llu failed=%llu rotations=%llu", ocsf_path,
		       (unsigned long long)s_ok, (unsigned long long)s_bad,
		       (unsigned long long)s_rot);
		pr_ocsf_stream_close(ocsf);
	}
	ring_buffer__free(rb);
	if (rc == 0)
		pr_probes_unpin_last_words(probes); /* a clean stop leaves nothing behind */
	pr_probes_close(probes);
	pr_proctab_free(c.procs);
	pr_budget_free(budget);
	pr_store_close(store);
	/* the store is flushed and closed: this stop was clean */
	if (bid[0] && rc == 0)
		heartbeat(store_dir, bid, 1);
	policy_set_free(&ps);
	return rc;
}

/* --config FILE, else the default settings file when it exists: its
 * settings become "--name=VALUE" arguments placed before the command
 * line's, so the same code parses both and the command line wins. Returns
 * the new argc (argv in *out), or -1 after logging the error. */
static int config_args(int argc, char **argv, const struct option *opts, struct pr_config *cfg,
		       char ***out)
{
	/* not settings: actions, and the file itself */
	static const char *const refused[] = { "config", "help", "print-default-policy",
					       "check-policy", NULL };
	static const char *const repeatable[] = { "policy", "policy-dir", NULL };
	const char *path = NULL;
	char err[600], **v;
	int opt, explicit = 0, action = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "p:s:vh", opts, NULL)) != -1) {
		if (opt == 'F') {
			path = optarg;
			explicit = 1;
		}
		/* --help, --print-default-policy, --check-policy work whatever
		 * the default settings file holds */
		action |= opt == 'h' || opt == 'P' || opt == 'c';
	}
	opterr = 1;
	optind = 0; /* glibc: start over, from scratch */
	if (!explicit && !action && access(POLREC_CONFIG_FILE, F_OK) == 0)
		path = POLREC_CONFIG_FILE;
	if (path && pr_config_load(path, opts, refused, repeatable, cfg, err, sizeof(err))) {
		pr_log("%s", err);
		return -1;
	}
	v = calloc((size_t)argc + cfg->n + 1, sizeof(*v));
	if (!v) {
		pr_log("out of memory");
		return -1;
	}
	v[0] = argv[0];
	for (size_t i = 0; i < cfg->n; i++)
		v[1 + i] = cfg->args[i];
	for (int i = 1; i < argc; i++)
		v[cfg->n + (size_t)i] = argv[i];
	*out = v;
	return argc + (int)cfg->n;
}

static int parse_ring_bytes(const char *arg, uint32_t *out)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *end || v < (unsigned long long)page || v > (1ull << 30) || (v & (v - 1))) {
		pr_log("--ring-bytes '%s': expected a power of two from %ld to 1073741824", arg, page);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"store", required_argument, NULL, 's'},
		{"print-default-policy", no_argument, NULL, 'P'},
		{"check-policy", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"record-all-writes", no_argument, NULL, 'W'},
		{"ring-bytes", required_argument, NULL, 'R'},
		{"context-window", required_argument, NULL, 'w'},
		{"context-memory", required_argument, NULL, 'm'},
		{"packet-ring", required_argument, NULL, 'k'},
		{"max-store-size", required_argument, NULL, 'S'},
		{"max-age", required_argument, NULL, 'A'},
		{"max-pcap-size", required_argument, NULL, 'C'},
		{"config", required_argument, NULL, 'F'},
		{"policy-dir", required_argument, NULL, 'D'},
		{"ocsf-stream", required_argument, NULL, 'O'},
		{"ocsf-stream-size", required_argument, NULL, 'Z'},
		{"ocsf-stream-keep", required_argument, NULL, 'K'},
		{"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
		{"metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL},
		{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *store_dir = DEFAULT_STORE;
	struct pr_config cfg = {0};
	char **args;
	char err[512];
	int opt, nargs, policy_from_config = 0;

	nargs = config_args(argc, argv, opts, &cfg, &args);
	if (nargs < 0)
		return 2;
	while ((opt = getopt_long(nargs, args, "p:s:vh", opts, NULL)) != -1) {
		/* arguments from polrecd.yaml come first, one element each */
		int from_config = optind - 1 >= 1 && (size_t)(optind - 1) <= cfg.n;

		log_origin = from_config ? cfg.where[optind - 2] : NULL;
		/* a --policy or --policy-dir on the command line replaces the
		 * file's policy settings instead of adding to them */
		if ((opt == 'p' || opt == 'D') && from_config != policy_from_config) {
			if (!from_config)
				npolicy_files = npolicy_dirs = 0;
			policy_from_config = from_config;
		}
		switch (opt) {
		case 'p':
		case 'D': {
			const char **v = opt == 'p' ? policy_files : policy_dirs;
			size_t *n = opt == 'p' ? &npolicy_files : &npolicy_dirs;

			if (*n == sizeof(policy_files) / sizeof(policy_files[0])) {
				pr_log("more than %zu --%s options", *n, opt == 'p' ? "policy" : "policy-dir");
				return 2;
			}
			if (!optarg[0]) {
				pr_log("--%s needs a path", opt == 'p' ? "policy" : "policy-dir");
				return 2;
			}
			v[(*n)++] = optarg;
			break;
		}
		case 'F':
			break; /* read by config_args */
		case 's':
			/* checked here, where a settings file's line is known */
			if (!*optarg) {
				pr_log("--store needs a directory");
				return 2;
			}
			store_dir = optarg;
			break;
		case 'P':
			fwrite(pr_default_policy_yaml, 1, pr_default_policy_len, stdout);
			return fflush(stdout) ? 1 : 0;
		case 'c':
			return check_policy(optarg);
		case 'v':
			pr_verbose = 1;
			break;
		case 'W':
			record_all_writes = 1;
			break;
		case 'R':
			if (parse_ring_bytes(optarg, &ring_bytes))
				return 2;
			break;
		case 'w':
			if (parse_window(optarg, &context_window_ns))
				return 2;
			break;
		case 'm':
			if (parse_bytes(optarg, &context_bytes))
				return 2;
			break;
		case 'k': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v > PR_RING_SLOTS_MAX) {
				pr_log("--packet-ring '%s': expected slots per CPU, 0 (off) to %u",
				       optarg, PR_RING_SLOTS_MAX);
				return 2;
			}
			pkt_ring_slots = (uint32_t)v;
			break;
		}
		case 'S':
			if (parse_budget_bytes("max-store-size", optarg, &budget_cfg.max_store))
				return 2;
			break;
		case 'A':
			if (parse_age(optarg, &budget_cfg.max_age_ns))
				return 2;
			break;
		case 'C':
			if (parse_budget_bytes("max-pcap-size", optarg, &budget_cfg.max_pcap))
				return 2;
			break;
		case 'O':
			if (!*optarg) {
				pr_log("--ocsf-stream needs a file name");
				return 2;
			}
			ocsf_path = optarg;
			break;
		case 'Z':
			if (parse_stream_size(optarg, &ocsf_size))
				return 2;
			break;
		case 'K':
			if (parse_stream_keep(optarg, &ocsf_keep))
				return 2;
			break;
		case OPT_METRICS_FILE:
			metrics_cfg.file = strcmp(optarg, "none") ? optarg : NULL;
			metrics_cfg.file_explicit = 1;
			break;
		case OPT_METRICS_INTERVAL:
			if (pr_metrics_parse_interval(optarg, &metrics_cfg.interval_ns, err,
						      sizeof(err))) {
				pr_log("%s", err);
				return 2;
			}
			break;
		case OPT_METRICS_LISTEN: {
			struct sockaddr_storage ss;

			if (pr_metrics_parse_listen(optarg, &ss, err, sizeof(err))) {
				pr_log("%s", err);
				return 2;
			}
			metrics_cfg.listen = optarg;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_origin = NULL;
	if (optind < nargs) {
		pr_log("unexpected argument '%s' (see polrecd --help)", args[optind]);
		return 2;
	}
	if (!store_dir[0]) {
		pr_log("--store needs a directory");
		return 2;
	}
	if (pr_metrics_check(&metrics_cfg, err, sizeof(err))) {
		pr_log("%s", err);
		return 2;
	}
	return run(store_dir);
}
