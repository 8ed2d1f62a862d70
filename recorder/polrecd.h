/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* polrecd internals: loader (probes), consumer (events -> incidents) and
 * writer (the one thread that writes the store). */
#ifndef POLREC_POLRECD_H
#define POLREC_POLRECD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "probes/events.h"
#include "recorder/policy.h"
#include "recorder/proctab.h"
#include "schema/store.h"

extern int pr_verbose;
void pr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- loader.c ---- */
struct pr_probes;
/* Checks root and BPF, mounts tracefs when missing, loads and attaches
 * every probe. ring_bytes: ring buffer size (0: PR_RINGBUF_BYTES; else a
 * power of two, at least one page). Returns NULL after logging one line. */
struct pr_probes *pr_probes_open(uint32_t ring_bytes);
int pr_probes_ringbuf_fd(struct pr_probes *p);
unsigned pr_probes_attached(struct pr_probes *p);
/* Sum of per-CPU ring buffer drop counters per event type. */
int pr_probes_drops(struct pr_probes *p, uint64_t out[PR_EV_TYPE_MAX]);
void pr_probes_close(struct pr_probes *p);
/* The in-kernel write filter (events.h). Load the literal prefixes of
 * every files.protect glob; returns 0, or -1 when the filter cannot
 * represent the policy (then it must stay off). */
int pr_probes_watch_prefixes(struct pr_probes *p, const struct pr_compiled *c);
int pr_probes_set_verdict(struct pr_probes *p, uint32_t tgid, uint32_t seq, uint32_t flags);
void pr_probes_filter_on(struct pr_probes *p);

/* ---- writer.c ---- */
struct pr_writer;
struct pr_writer *pr_writer_start(struct pr_store *s);
/* Queue an incident; the writer copies nothing: the caller hands over a
 * job built with pr_job_*. */
struct pr_job;
struct pr_job *pr_job_incident(const struct pr_incident_rec *inc,
			       const struct pr_proc_rec *lineage, size_t nlineage,
			       const struct pr_event_rec *events, size_t nevents);
struct pr_job *pr_job_loss(uint64_t from, uint64_t to, const char *stage,
			   const char *kind, uint64_t count);
struct pr_job *pr_job_run(uint64_t time, const char *what, const char *detail);
/* Returns 0, or -1 when the queue is full (the job is freed and counted). */
int pr_writer_submit(struct pr_writer *w, struct pr_job *job);
/* Stats: jobs written, failed, dropped because the queue was full. */
void pr_writer_stats(struct pr_writer *w, uint64_t *written, uint64_t *failed, uint64_t *dropped);
/* Drain the queue, stop the thread, free the writer; final counts out. */
void pr_writer_stop(struct pr_writer *w, uint64_t *written, uint64_t *failed, uint64_t *dropped);

#define PR_WRITER_QUEUE_MAX   65536       /* incidents waiting; more are dropped and counted */
#define PR_WRITER_QUEUE_BYTES (64u << 20) /* memory they may hold; likewise */

/* ---- consumer.c ---- */
struct pr_consumer {
	struct pr_proctab *procs;
	struct pr_probes *probes;  /* for verdicts; NULL in tests */
	const struct pr_compiled *policy;
	struct pr_writer *writer;
	int64_t boot_to_epoch;    /* epoch ns = boot ns + this */
	uint64_t lost_total;      /* ring buffer drops seen so far */
	uint64_t nevents[PR_EV_TYPE_MAX];
	uint64_t nincidents;
	uint64_t malformed;       /* events that failed validation */
	uint64_t verdict_errors;  /* verdict map updates that failed */
	uint64_t writer_dropped_seen; /* writer drops already accounted */
};
/* Tell the kernel whether p's writes must all be sent (see events.h). */
void pr_consumer_verdict(struct pr_consumer *c, struct pr_proc *p, uint32_t seq);
/* ring_buffer_sample_fn */
int pr_consume_event(void *ctx, void *data, size_t len);
/* Join dir and name, normalize "." "..", "//" lexically into out (PATH_MAX
 * bytes); returns 0 or -1 when it does not fit. */
int pr_path_join(const char *dir, const char *name, char *out, size_t outlen);

#endif /* POLREC_POLRECD_H */
