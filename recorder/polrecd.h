/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* polrecd internals: loader (probes), consumer (events -> incidents) and
 * writer (the one thread that writes the store). */
#ifndef POLREC_POLRECD_H
#define POLREC_POLRECD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "probes/events.h"
#include "recorder/netrules.h"
#include "recorder/policy.h"
#include "recorder/proctab.h"
#include "schema/prune.h"
#include "schema/store.h"

extern int pr_verbose;
void pr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- loader.c ---- */
struct pr_probes;
/* Checks root and BPF, mounts tracefs when missing, loads and attaches
 * every probe. ring_bytes: ring buffer size (0: PR_RINGBUF_BYTES; else a
 * power of two, at least one page). Returns NULL after logging one line. */
/* last_words_pin: where to pin the map that keeps the last SIGKILL aimed
 * at polrecd (bpffs), NULL: not kept. */
struct pr_probes *pr_probes_open(uint32_t ring_bytes, const struct pr_netrules *nr,
				 uint32_t pkt_ring_slots, const char *last_words_pin);
/* The packet flight recorder (events.h, pr_ring_slot): every written slot
 * of every CPU, read now. */
int pr_probes_read_ring(struct pr_probes *p, void (*cb)(const struct pr_ring_slot *s, void *arg),
			void *arg);
/* A new flow id (shared with the kernel's counter). */
uint64_t pr_probes_flow_id(struct pr_probes *p);
int pr_probes_ringbuf_fd(struct pr_probes *p);
unsigned pr_probes_attached(struct pr_probes *p);
/* The cgroup v2 tree the packet programs attach to (its mount point, e.g.
 * "/sys/fs/cgroup" or "/sys/fs/cgroup/unified" on a hybrid host):
 * cgroup ids become paths below it. "/sys/fs/cgroup" when unknown. */
const char *pr_probes_cgroup_root(const struct pr_probes *p);
/* Sum of per-CPU ring buffer drop counters per event type. */
int pr_probes_drops(struct pr_probes *p, uint64_t out[PR_EV_TYPE_MAX]);
void pr_probes_close(struct pr_probes *p);
/* The last SIGKILL aimed at a polrecd before this one (1, and the map is
 * cleared), none (0), or -1. */
int pr_probes_last_words(struct pr_probes *p, struct pr_last_words *out);
/* A clean stop: nothing to tell the next start, leave nothing in bpffs. */
void pr_probes_unpin_last_words(struct pr_probes *p);
/* The in-kernel write filter (events.h). Load the literal prefixes of
 * every files.protect glob; returns 0, or -1 when the filter cannot
 * represent the policy (then it must stay off). */
int pr_probes_watch_prefixes(struct pr_probes *p, const struct pr_compiled *c);
int pr_probes_set_verdict(struct pr_probes *p, uint32_t tgid, uint32_t seq, uint32_t flags,
			  uint64_t net);
/* Capture the new flows of (tgid, start) until `until` (boot ns). */
int pr_probes_follow(struct pr_probes *p, uint32_t tgid, uint64_t start, uint64_t until,
		     uint32_t snaplen);
/* Capture one flow (user space found a violation the kernel could not
 * judge); returns its flow id, 0 when the captures map is full. */
uint64_t pr_probes_capture(struct pr_probes *p, const struct pr_flow_key *k, uint32_t tgid,
			   uint64_t start, uint32_t snaplen, uint64_t until);
void pr_probes_capture_gc(struct pr_probes *p, uint64_t now_boot);
/* Stop capturing a flow (a provisional one no incident claimed). */
void pr_probes_uncapture(struct pr_probes *p, const struct pr_flow_key *k);
void pr_probes_filter_on(struct pr_probes *p);
void pr_probes_filter_off(struct pr_probes *p);
/* Tell the probes polrecd's thread ids (signals aimed at any of them). */
void pr_probes_self_tids(struct pr_probes *p);
/* Policy reload (SIGHUP): the watched prefixes and the network rules of a
 * new policy replace the old ones, new before old goes. */
int pr_probes_replace_prefixes(struct pr_probes *p, const struct pr_compiled *c);
int pr_probes_replace_netrules(struct pr_probes *p, const struct pr_netrules *old,
			       const struct pr_netrules *nr, char *err, size_t errlen);

/* ---- writer.c ---- */
struct pr_writer;
struct pr_writer *pr_writer_start(struct pr_store *s);
/* With the disk budget (schema/prune.h): checked between batches; a full
 * disk makes room by pruning and never stops the writer. */
struct pr_budget;
struct pr_writer *pr_writer_start_budget(struct pr_store *s, struct pr_budget *b);
/* Queue an incident; the writer copies nothing: the caller hands over a
 * job built with pr_job_*. */
struct pr_job;
/* token: the consumer's name for the incident (sequential), so flows
 * seen later can join it; flow: its violating flow, or NULL. */
struct pr_job *pr_job_incident(const struct pr_incident_rec *inc,
			       const struct pr_proc_rec *lineage, size_t nlineage,
			       const struct pr_event_rec *events, size_t nevents,
			       uint64_t token, const struct pr_flow_rec *flow);
/* Events appended to the incident named by token (follow window, joins). */
struct pr_job *pr_job_events(uint64_t token, const struct pr_event_rec *ev, size_t n);
/* A flow of the incident named by token (the follow window). */
struct pr_job *pr_job_flow(uint64_t token, const struct pr_flow_rec *f);
/* Packets, batched: add copies the data. */
struct pr_job *pr_job_packets(void);
int pr_job_add_packet(struct pr_job *j, const struct pr_packet_rec *p);
size_t pr_job_npackets(const struct pr_job *j);
/* Packets refused by the queue budget (they may use half of it). */
uint64_t pr_writer_packets_dropped(struct pr_writer *w);
/* Follow events refused by the queue budget. */
/* Records (of any kind) not queued because their job could not be built. */
uint64_t pr_writer_nomem(struct pr_writer *w);
uint64_t pr_writer_events_dropped(struct pr_writer *w);
struct pr_job *pr_job_loss(uint64_t from, uint64_t to, const char *stage,
			   const char *kind, uint64_t count);
struct pr_job *pr_job_run(uint64_t time, const char *what, const char *detail);
/* A policy version put in force (start, accepted reload): stored once per
 * distinct sha256 with its text; incidents name it by sha256. Like loss and
 * run records it is never refused by a full queue. */
struct pr_job *pr_job_policy(uint64_t time, const char *sha256, const char *source,
			     uint32_t expectations, const char *text, size_t len);

/* fn(store, id, arg) runs on the writer thread for each incident once the
 * transaction that wrote it is committed (follow-up events and flows are
 * not reported). Set it before the first incident is submitted. */
typedef void (*pr_incident_written_fn)(struct pr_store *s, int64_t id, void *arg);
void pr_writer_on_incident(struct pr_writer *w, pr_incident_written_fn fn, void *arg);

/* ---- ocsfstream.c: polrecd --ocsf-stream ---- */
struct pr_ocsf_stream;
/* Open (create 0600, append) path; rotate to path.1 .. path.keep when a
 * line would take it past max_bytes. NULL after logging one line. */
struct pr_ocsf_stream *pr_ocsf_stream_open(const char *path, uint64_t max_bytes, unsigned keep);
/* pr_incident_written_fn: render the incident from the store, append it. */
void pr_ocsf_stream_incident(struct pr_store *s, int64_t id, void *arg);
/* Incidents appended and incidents that could not be. */
void pr_ocsf_stream_stats(struct pr_ocsf_stream *st, uint64_t *written, uint64_t *failed,
			  uint64_t *rotations);
void pr_ocsf_stream_close(struct pr_ocsf_stream *st);

/* Returns 0, or -1 when the queue is full (the job is freed and counted). */
int pr_writer_submit(struct pr_writer *w, struct pr_job *job);
/* Stats: jobs written, failed, dropped because the queue was full. */
void pr_writer_stats(struct pr_writer *w, uint64_t *written, uint64_t *failed, uint64_t *dropped);
/* Loss records by (stage, kind), as polq stats sums them. */
#define PR_WRITER_LOSS_KINDS 64
struct pr_loss_count {
	char stage[24], kind[24];
	uint64_t count;
};
/* Everything the writer counts, read at once (metrics). */
struct pr_writer_snap {
	uint64_t written, failed, dropped, pkts_dropped, events_dropped;
	size_t queued, queued_bytes;
	struct pr_loss_count losses[PR_WRITER_LOSS_KINDS]; /* queued or counted (store-full) */
	size_t nlosses;
	struct pr_store_usage usage;  /* refreshed by the writer at most every second */
	int usage_valid;
	uint64_t full_since;          /* disk-full state since (epoch ns), 0 = not */
	uint64_t pruned_incidents[PR_PRUNE__COUNT], pruned_bytes[PR_PRUNE__COUNT];
};
void pr_writer_snapshot(struct pr_writer *w, struct pr_writer_snap *out);
/* Drain the queue, stop the thread, free the writer; final counts out. */
void pr_writer_stop(struct pr_writer *w, uint64_t *written, uint64_t *failed, uint64_t *dropped);

#define PR_WRITER_QUEUE_MAX   65536       /* incidents waiting; more are dropped and counted */
#define PR_WRITER_QUEUE_BYTES (64u << 20) /* memory they may hold; likewise */

/* ---- consumer.c ---- */
struct pr_consumer {
	struct pr_proctab *procs;
	struct pr_probes *probes;  /* for verdicts; NULL in tests */
	const struct pr_compiled *policy;
	const char *policy_sha256;   /* the version in force, named by each incident */
	struct pr_writer *writer;
	int64_t boot_to_epoch;    /* epoch ns = boot ns + this */
	uint64_t lost_total;      /* ring buffer drops seen so far */
	uint64_t nevents[PR_EV_TYPE_MAX];
	uint64_t nincidents;
	uint64_t malformed;       /* events that failed validation */
	uint64_t verdict_errors;  /* verdict map updates that failed */
	uint64_t writer_dropped_seen; /* writer drops already accounted */
	const struct pr_netrules *net;
	uint64_t next_token;      /* names incidents for the writer (flows join them) */
	const char *net_rule;     /* rule name of the network incident being raised */
	struct pr_job *pkts;      /* packets batched for the writer */
	uint64_t npackets;        /* packets handed to the writer */
	uint64_t pkts_dropped;    /* packets lost here (memory) */
	uint64_t pkts_dropped_seen, writer_pkts_dropped_seen;
	uint64_t flows_dropped;   /* follow flows the writer queue refused */
	uint64_t flows_orphaned;  /* captured flows no incident claimed */
	uint64_t pkts_unclaimed;  /* packets of provisional flows nothing claimed */
	uint64_t context_window_ns; /* family activity before a violation kept */
	uint64_t family_skipped;  /* family members beyond the per-incident cap */
	uint64_t context_cut;     /* family events beyond the per-incident cap */
	uint64_t njoined;         /* violations that joined an open incident */
	uint64_t follow_dropped;  /* follow events the writer queue refused */
	int event_raised;         /* the event being handled opened/joined an incident */
	uint64_t last_boot;
};
/* Hand the batched packets to the writer (each poll round); packets held
 * for an undecided flow older than PR_PROVISIONAL_NS are let go. */
/* A guard event read from elsewhere than the ring buffer (the last words
 * of a polrecd a SIGKILL ended): judged like one from the probes. */
void pr_consumer_guard(struct pr_consumer *c, const struct pr_guard *g);
void pr_consumer_flush(struct pr_consumer *c, uint64_t now_boot);
/* Tell the kernel whether p's writes must all be sent (see events.h). */
void pr_consumer_verdict(struct pr_consumer *c, struct pr_proc *p, uint32_t seq);
/* ring_buffer_sample_fn */
int pr_consume_event(void *ctx, void *data, size_t len);
/* Join dir and name, normalize "." "..", "//" lexically into out (PATH_MAX
 * bytes); returns 0 or -1 when it does not fit. */
int pr_path_join(const char *dir, const char *name, char *out, size_t outlen);

/* ---- notify.c: systemd's sd_notify protocol (nothing without NOTIFY_SOCKET) ---- */
void pr_notify_ready(const char *status);      /* READY=1; arms the watchdog */
void pr_notify_status(const char *status);
void pr_notify_reloading(void);                /* RELOADING=1 (then pr_notify_ready) */
void pr_notify_stopping(void);
void pr_notify_watchdog(void);                 /* each loop pass; pings when due */

#endif /* POLREC_POLRECD_H */
