/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * polrecd's metrics: Prometheus text exposition (format 0.0.4) of the
 * recorder's counters, written atomically to a node_exporter
 * textfile-collector file and optionally served on a loopback HTTP port.
 *
 * metrics.c: the exposition builder, the rendering of one snapshot, the
 * per-policy incident tally, the file and the HTTP server (libmicrohttpd).
 * metrics_snap.c: the snapshot of polrecd's own objects (consumer, writer,
 * probes), taken on the event thread.
 *
 * Threads: everything here runs on polrecd's event thread except the HTTP
 * server's own thread, which only copies the last published text (under
 * a mutex). Metrics hold counts and sizes, never evidence: the only free
 * text in a label is a policy (expectation) name.
 */
#ifndef POLREC_METRICS_H
#define POLREC_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "recorder/polrecd.h"

#define PR_METRICS_DEFAULT_FILE     "/var/lib/prometheus/node-exporter/polrec.prom"
#define PR_METRICS_DEFAULT_INTERVAL (15 * 1000000000ull)
#define PR_METRICS_POLICIES_MAX     1024 /* distinct names tallied; the rest: policy="" */
#define PR_METRICS_HTTP_CONNECTIONS 8
#define PR_METRICS_HTTP_TIMEOUT_S   5

/* ---- the exposition builder ---- */
enum pr_mx_type { PR_MX_COUNTER, PR_MX_GAUGE };

struct pr_mx {
	char *buf;
	size_t len, cap;
	int err;              /* out of memory, or a family or sample refused */
	char family[96];      /* the family whose samples may follow */
};

/* Start a family: its # HELP and # TYPE lines. A counter's name must end
 * in _total, a gauge's must not; a name must be [a-zA-Z_:][a-zA-Z0-9_:]*.
 * Anything else sets err (a bug, caught by the unit test). */
void pr_mx_family(struct pr_mx *m, const char *name, enum pr_mx_type t, const char *help);
/* One sample of the current family, with up to two labels (NULL name:
 * none). Label values are escaped as the format says (\\, \", \n). */
void pr_mx_u64(struct pr_mx *m, const char *k1, const char *v1, const char *k2, const char *v2,
	       uint64_t v);
void pr_mx_f64(struct pr_mx *m, const char *k1, const char *v1, const char *k2, const char *v2,
	       double v);
void pr_mx_free(struct pr_mx *m);

/* ---- incidents by policy (event thread) ---- */
struct pr_policy_count {
	char *policy;
	uint64_t by_severity[5];  /* low, medium, high, critical, other */
};
/* An incident was raised (consumer.c). */
void pr_metrics_incident(const char *policy, const char *severity);
const struct pr_policy_count *pr_metrics_policies(size_t *n);
void pr_metrics_policies_free(void);

/* ---- one snapshot ---- */
struct pr_metrics_snap {
	int up;                        /* 0 in the file written at stop */
	uint64_t start_ns;             /* epoch ns */
	const char *policy_sha256;
	unsigned policy_version;
	size_t expectations;
	unsigned probes;
	uint64_t events[PR_EV_TYPE_MAX];
	const struct pr_policy_count *policies;
	size_t npolicies;
	uint64_t joined, malformed, verdict_errors, packets, packets_unclaimed;
	uint64_t flows_orphaned, flows_dropped, family_skipped, context_cut;
	uint64_t context_bytes, context_peak, context_limit, context_evicted;
	uint32_t packet_ring_slots;
	int ring_known;                /* the kernel ring's positions could be read */
	uint64_t ring_size, ring_used;
	uint64_t max_store, max_pcap, max_age_ns;
	struct pr_writer_snap w;
};
/* The whole exposition of s into m (m zeroed by the caller). 0, or -1. */
int pr_metrics_render(const struct pr_metrics_snap *s, struct pr_mx *m);

/* ---- outputs ---- */
struct pr_metrics_cfg {
	const char *file;        /* NULL: no file */
	int file_explicit;       /* --metrics-file given: a missing directory is an error */
	uint64_t interval_ns;
	const char *listen;      /* NULL: no HTTP */
};
/* Option parsing: 0, or -1 with a one-line reason in err. */
int pr_metrics_parse_interval(const char *arg, uint64_t *out, char *err, size_t errlen);
/* ADDR:PORT or [ADDR]:PORT, loopback only (127.0.0.0/8, ::1). */
int pr_metrics_parse_listen(const char *arg, struct sockaddr_storage *ss, char *err,
			    size_t errlen);
/* The whole configuration, before anything starts. */
int pr_metrics_check(const struct pr_metrics_cfg *cfg, char *err, size_t errlen);

struct pr_metrics;
/* Starts the HTTP server, from a thread without capabilities (privs.h).
 * NULL with err set on failure; an object with nothing to do when both
 * outputs are off. */
struct pr_metrics *pr_metrics_open(const struct pr_metrics_cfg *cfg, char *err, size_t errlen);
/* A snapshot is wanted now (interval for the file, every tick for HTTP);
 * now: CLOCK_MONOTONIC ns. */
int pr_metrics_due(struct pr_metrics *m, uint64_t now);
/* Hand a rendered exposition out: to HTTP readers, and to the file when
 * its interval has come or final is set. */
void pr_metrics_publish(struct pr_metrics *m, const struct pr_mx *mx, uint64_t now, int final);
void pr_metrics_close(struct pr_metrics *m);

/* ---- polrecd's side (metrics_snap.c) ---- */
struct pr_metrics_static {
	uint64_t start_ns;
	uint64_t context_limit;
	uint32_t packet_ring_slots;
	uint64_t max_store, max_pcap, max_age_ns;
};
/* Once per tick: snapshot, render and publish when due. */
void pr_metrics_tick(struct pr_metrics *m, const struct pr_metrics_static *st,
		     struct pr_consumer *c, struct pr_probes *p, const char *sha256,
		     unsigned version, size_t expectations);
/* At stop, before the writer goes: the last file, with polrec_up 0. */
void pr_metrics_stop(struct pr_metrics *m, const struct pr_metrics_static *st,
		     struct pr_consumer *c, struct pr_probes *p, const char *sha256,
		     unsigned version, size_t expectations);

#endif /* POLREC_METRICS_H */
