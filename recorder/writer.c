// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The store writer: the one thread that writes polrec.db. The event thread
 * hands it jobs (incidents, loss records, run records) through a bounded
 * queue and never waits for the disk; the writer takes everything queued
 * and writes it in one transaction (BEGIN IMMEDIATE ... COMMIT), so a
 * crash loses at most the batch in flight and never leaves half an
 * incident. A full queue (PR_WRITER_QUEUE_MAX jobs or
 * PR_WRITER_QUEUE_BYTES) drops the incident and counts it
 * (pr_writer_stats); loss and run records are small and always queued, so
 * the record of a loss is itself never lost to a full queue.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "recorder/polrecd.h"
#include "recorder/privs.h"
#include "schema/prune.h"

enum job_type { JOB_INCIDENT, JOB_LOSS, JOB_RUN, JOB_FLOW, JOB_PACKETS, JOB_EVENTS, JOB_POLICY };

#define WRITER_BATCH 1024 /* jobs per transaction */
/* Incident ids by the consumer's token, for flows that arrive after their
 * incident was written: tokens are sequential, so a ring indexed by token
 * is exact for the last TOKENS_KEPT incidents. */
#define TOKENS_KEPT  8192

struct pr_job {
	enum job_type type;
	struct pr_job *next;
	struct pr_incident_rec inc;
	struct pr_proc_rec *lineage;
	size_t nlineage;
	struct pr_event_rec *events;
	size_t nevents;
	uint64_t from, to, count, time;
	const char *stage, *kind, *what, *detail;
	const char *text;      /* policy: its text (len bytes) */
	size_t len;
	uint64_t token;        /* incident: its token; flow: its incident's */
	struct pr_net_rec net;
	struct pr_flow_rec flow;
	int has_flow;          /* incident: flow is its violating flow */
	struct pr_packet_rec *pkts;
	size_t npkts, cpkts;
	/* every byte the job points to lives in these blocks */
	char **blocks;
	size_t nblocks, cblocks;
	size_t bytes;          /* what the blocks hold, for the queue budget */
};

struct pr_writer {
	struct pr_store *store;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pr_job *head, *tail;
	size_t queued, queued_bytes;
	int stopping;
	uint64_t written, failed, dropped;
	uint64_t pkts_dropped;     /* packets the queue budget refused */
	uint64_t events_dropped;   /* follow events the queue budget refused */
	struct { uint64_t token; int64_t id; } tokens[TOKENS_KEPT];
	/* the disk budget (schema/prune.h), NULL in tests */
	struct pr_budget *budget;
	/* a full disk: loss and run records of batches that could not be
	 * written wait here for the next batch; what else was lost is counted
	 * and written as loss records (stage store-full) once writes resume */
	struct pr_job *carry, *carry_tail;
	size_t ncarry;
	uint64_t full_lost[4], full_from, full_to;
	/* what writes that failed for another reason than a full disk lost
	 * (stage store-error), stored as loss records with the next batch */
	uint64_t err_lost[4], err_from, err_to;
	uint64_t nomem;              /* records not queued: their job could not be built */
	int started, start_err;      /* the thread dropped its capabilities (or errno) */
	/* told of each incident once its batch is committed (--ocsf-stream) */
	pr_incident_written_fn on_incident;
	void *on_incident_arg;
	/* for the metrics (pr_writer_snapshot), under lock: every loss
	 * record queued or counted, by (stage, kind), and what the store
	 * held at the last refresh (the writer thread owns the store) */
	struct pr_loss_count losses[PR_WRITER_LOSS_KINDS];
	size_t nlosses;
	struct pr_store_usage usage;
	int usage_valid;
	uint64_t usage_time, full_since;
	uint64_t pruned_incidents[PR_PRUNE__COUNT], pruned_bytes[PR_PRUNE__COUNT];
};

enum { FULL_INCIDENT, FULL_EVENT, FULL_FLOW, FULL_PACKET };
static const char *const full_kind[4] = { "incident", "follow-event", "flow", "packet" };
#define CARRY_MAX 4096

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *job_alloc(struct pr_job *j, size_t n)
{
	void *m;

	if (j->nblocks == j->cblocks) {
		size_t c = j->cblocks ? 2 * j->cblocks : 16;
		char **b = realloc(j->blocks, c * sizeof(*b));

		if (!b)
			return NULL;
		j->blocks = b;
		j->cblocks = c;
	}
	m = calloc(1, n ? n : 1);
	if (m) {
		j->blocks[j->nblocks++] = m;
		j->bytes += n + 16; /* allocator overhead, roughly */
	}
	return m;
}

/* Copy n bytes plus a NUL; NULL stays "" so the store never sees NULL. */
static const char *job_dup(struct pr_job *j, const char *s, size_t n)
{
	char *d = job_alloc(j, n + 1);

	if (!d)
		return NULL;
	if (s && n)
		memcpy(d, s, n);
	return d;
}

static const char *job_str(struct pr_job *j, const char *s)
{
	return job_dup(j, s, s ? strlen(s) : 0);
}

static void job_free(struct pr_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nblocks; i++)
		free(j->blocks[i]);
	free(j->blocks);
	free(j->pkts);
	free(j);
}

static int copy_proc(struct pr_job *j, struct pr_proc_rec *d, const struct pr_proc_rec *s)
{
	*d = *s;
	d->user = job_str(j, s->user);
	d->exe = job_str(j, s->exe);
	d->argv = job_dup(j, s->argv, s->argv_len);
	d->cwd = job_str(j, s->cwd);
	d->cgroup = job_str(j, s->cgroup);
	d->container_id = job_str(j, s->container_id);
	d->sha256 = job_str(j, s->sha256);
	return d->user && d->exe && d->argv && d->cwd && d->cgroup &&
	       d->container_id && d->sha256 ? 0 : -1;
}

static int copy_flow(struct pr_job *j, struct pr_flow_rec *d, const struct pr_flow_rec *s)
{
	*d = *s;
	d->role = job_str(j, s->role);
	d->protocol = job_str(j, s->protocol);
	d->local = job_str(j, s->local);
	d->remote = job_str(j, s->remote);
	d->exe = job_str(j, s->exe);
	d->head = NULL;
	d->head_len = 0;
	return d->role && d->protocol && d->local && d->remote && d->exe ? 0 : -1;
}

static int copy_net(struct pr_job *j, struct pr_net_rec *d, const struct pr_net_rec *s)
{
	*d = *s;
	d->direction = job_str(j, s->direction);
	d->protocol = job_str(j, s->protocol);
	d->src = job_str(j, s->src);
	d->dst = job_str(j, s->dst);
	d->result = job_str(j, s->result);
	return d->direction && d->protocol && d->src && d->dst && d->result ? 0 : -1;
}

static int copy_events(struct pr_job *j, const struct pr_event_rec *events, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct pr_event_rec *e = &j->events[k];

		*e = events[k];
		e->kind = job_str(j, events[k].kind);
		e->path = job_str(j, events[k].path);
		e->path2 = job_str(j, events[k].path2);
		e->detail = job_str(j, events[k].detail);
		if (!e->kind || !e->path || !e->path2 || !e->detail)
			return -1;
	}
	return 0;
}

struct pr_job *pr_job_events(uint64_t token, const struct pr_event_rec *ev, size_t n)
{
	struct pr_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->type = JOB_EVENTS;
	j->token = token;
	j->events = job_alloc(j, n * sizeof(*j->events));
	if (!j->events || copy_events(j, ev, n)) {
		job_free(j);
		return NULL;
	}
	j->nevents = n;
	return j;
}

struct pr_job *pr_job_incident(const struct pr_incident_rec *inc,
			       const struct pr_proc_rec *lineage, size_t nlineage,
			       const struct pr_event_rec *events, size_t nevents,
			       uint64_t token, const struct pr_flow_rec *flow)
{
	struct pr_job *j = calloc(1, sizeof(*j));
	struct pr_incident_rec *i;

	if (!j)
		return NULL;
	j->type = JOB_INCIDENT;
	i = &j->inc;
	*i = *inc;
	i->policy = job_str(j, inc->policy);
	i->rule = job_str(j, inc->rule);
	i->severity = job_str(j, inc->severity);
	i->kind = job_str(j, inc->kind);
	i->action = job_str(j, inc->action);
	i->path = job_str(j, inc->path);
	i->expected = job_str(j, inc->expected);
	i->actual = job_str(j, inc->actual);
	i->policy_sha256 = inc->policy_sha256 ? job_str(j, inc->policy_sha256) : NULL;
	i->boot_id = NULL; /* the store's own */
	if ((inc->policy_sha256 && !i->policy_sha256) || !i->policy || !i->rule || !i->severity || !i->kind || !i->action ||
	    !i->path || !i->expected || !i->actual || copy_proc(j, &i->proc, &inc->proc))
		goto fail;
	j->token = token;
	if (inc->net) {
		if (copy_net(j, &j->net, inc->net))
			goto fail;
		i->net = &j->net;
	}
	if (flow) {
		if (copy_flow(j, &j->flow, flow))
			goto fail;
		j->has_flow = 1;
	}
	j->lineage = job_alloc(j, nlineage * sizeof(*j->lineage));
	j->events = job_alloc(j, nevents * sizeof(*j->events));
	if (!j->lineage || !j->events)
		goto fail;
	for (size_t k = 0; k < nlineage; k++)
		if (copy_proc(j, &j->lineage[k], &lineage[k]))
			goto fail;
	if (copy_events(j, events, nevents))
		goto fail;
	j->nlineage = nlineage;
	j->nevents = nevents;
	return j;
fail:
	job_free(j);
	return NULL;
}

struct pr_job *pr_job_loss(uint64_t from, uint64_t to, const char *stage,
			   const char *kind, uint64_t count)
{
	struct pr_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->type = JOB_LOSS;
	j->from = from;
	j->to = to;
	j->count = count;
	j->stage = job_str(j, stage);
	j->kind = job_str(j, kind);
	if (!j->stage || !j->kind) {
		job_free(j);
		return NULL;
	}
	return j;
}

struct pr_job *pr_job_run(uint64_t time, const char *what, const char *detail)
{
	struct pr_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->type = JOB_RUN;
	j->time = time;
	j->what = job_str(j, what);
	j->detail = job_str(j, detail);
	if (!j->what || !j->detail) {
		job_free(j);
		return NULL;
	}
	return j;
}

struct pr_job *pr_job_policy(uint64_t time, const char *sha256, const char *source,
			     uint32_t expectations, const char *text, size_t len)
{
	struct pr_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->type = JOB_POLICY;
	j->time = time;
	j->count = expectations;
	j->what = job_str(j, sha256);
	j->detail = job_str(j, source);
	j->text = job_dup(j, text, len);
	j->len = len;
	if (!j->what || !j->detail || !j->text) {
		job_free(j);
		return NULL;
	}
	return j;
}

struct pr_job *pr_job_flow(uint64_t token, const struct pr_flow_rec *f)
{
	struct pr_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->type = JOB_FLOW;
	j->token = token;
	if (copy_flow(j, &j->flow, f)) {
		job_free(j);
		return NULL;
	}
	return j;
}

struct pr_job *pr_job_packets(void)
{
	struct pr_job *j = calloc(1, sizeof(*j));

	if (j)
		j->type = JOB_PACKETS;
	return j;
}

int pr_job_add_packet(struct pr_job *j, const struct pr_packet_rec *p)
{
	uint8_t *data;

	if (j->npkts == j->cpkts) {
		size_t c = j->cpkts ? 2 * j->cpkts : 64;
		struct pr_packet_rec *v = realloc(j->pkts, c * sizeof(*v));

		if (!v)
			return -1;
		j->pkts = v;
		j->cpkts = c;
	}
	data = job_alloc(j, p->caplen);
	if (!data)
		return -1;
	memcpy(data, p->data, p->caplen);
	j->pkts[j->npkts] = *p;
	j->pkts[j->npkts].data = data;
	j->npkts++;
	j->bytes += sizeof(*p);
	return 0;
}

size_t pr_job_npackets(const struct pr_job *j)
{
	return j ? j->npkts : 0;
}

static void remember_token(struct pr_writer *w, uint64_t token, int64_t id)
{
	w->tokens[token % TOKENS_KEPT].token = token;
	w->tokens[token % TOKENS_KEPT].id = id;
}

static int64_t token_id(const struct pr_writer *w, uint64_t token)
{
	if (w->tokens[token % TOKENS_KEPT].token != token)
		return -1;
	return w->tokens[token % TOKENS_KEPT].id;
}

static int write_flow(struct pr_writer *w, struct pr_flow_rec *f, uint64_t token)
{
	f->incident_id = token_id(w, token);
	if (f->incident_id < 0) {
		pr_log("flow %llu: its incident was not written (dropped or failed): flow not indexed",
		       (unsigned long long)f->flow_id);
		return -1;
	}
	return pr_store_add_flow(w->store, f);
}

static int write_job(struct pr_writer *w, struct pr_job *j)
{
	struct pr_store *s = w->store;
	int64_t id;

	switch (j->type) {
	case JOB_INCIDENT:
		j->inc.id = 0;
		id = pr_store_add_incident(s, &j->inc, j->lineage, j->nlineage,
					   j->events, j->nevents);
		if (id < 0)
			return -1;
		j->inc.id = id;
		remember_token(w, j->token, id);
		return j->has_flow ? write_flow(w, &j->flow, j->token) : 0;
	case JOB_FLOW:
		return write_flow(w, &j->flow, j->token);
	case JOB_EVENTS:
		id = token_id(w, j->token);
		if (id < 0) {
			pr_log("%zu follow events: their incident was not written (dropped or failed)",
			       j->nevents);
			return -1;
		}
		return pr_store_append_events(s, id, j->events, j->nevents);
	case JOB_PACKETS:
		return pr_store_add_packets(s, j->pkts, j->npkts);
	case JOB_LOSS:
		return pr_store_add_loss(s, j->from, j->to, j->stage, j->kind, j->count);
	case JOB_RUN:
		return pr_store_add_run(s, j->time, j->what, j->detail);
	case JOB_POLICY:
		return pr_store_add_policy_version(s, j->time, j->what, j->detail,
						   (uint32_t)j->count, j->text, j->len) < 0 ? -1 : 0;
	}
	return -1;
}

enum { BATCH_OK, BATCH_FULL, BATCH_FAILED };

/* The batch's incidents were not stored after all: later flows and follow
 * events of theirs must not join whatever gets their ids next. */
static void forget_tokens(struct pr_writer *w, const struct pr_job *batch)
{
	for (const struct pr_job *j = batch; j; j = j->next)
		if (j->type == JOB_INCIDENT && w->tokens[j->token % TOKENS_KEPT].token == j->token)
			w->tokens[j->token % TOKENS_KEPT].id = -1;
}

static int write_full_losses(struct pr_writer *w)
{
	for (int k = 0; k < 4; k++) {
		if (w->full_lost[k] &&
		    pr_store_add_loss(w->store, w->full_from, w->full_to, "store-full", full_kind[k],
				      w->full_lost[k]))
			return -1;
		if (w->err_lost[k] &&
		    pr_store_add_loss(w->store, w->err_from, w->err_to, "store-error", full_kind[k],
				      w->err_lost[k]))
			return -1;
	}
	return 0;
}

static int has_full_losses(const struct pr_writer *w)
{
	for (int k = 0; k < 4; k++)
		if (w->full_lost[k] || w->err_lost[k])
			return 1;
	return 0;
}

static void count_loss(struct pr_writer *w, const char *stage, const char *kind, uint64_t n);

/* A job a write error (not a full disk) lost: counted by kind, stored as a
 * loss record with the next batch, shown by the metrics at once. */
static void count_error_loss(struct pr_writer *w, const struct pr_job *j)
{
	uint64_t n[4] = { 0 }, t = now_ns();

	switch (j->type) {
	case JOB_INCIDENT:
		n[FULL_INCIDENT] = 1;
		n[FULL_FLOW] = j->has_flow ? 1 : 0;
		break;
	case JOB_EVENTS:
		n[FULL_EVENT] = j->nevents;
		break;
	case JOB_FLOW:
		n[FULL_FLOW] = 1;
		break;
	case JOB_PACKETS:
		n[FULL_PACKET] = j->npkts;
		break;
	default:
		return; /* loss, run and policy records: logged (the records of losses) */
	}
	if (!w->err_from)
		w->err_from = t;
	w->err_to = t;
	pthread_mutex_lock(&w->lock);
	for (int k = 0; k < 4; k++) {
		w->err_lost[k] += n[k];
		if (n[k])
			count_loss(w, "store-error", full_kind[k], n[k]);
	}
	pthread_mutex_unlock(&w->lock);
}

/* One transaction for the whole batch; a job that fails is logged and
 * counted, the others still land. A full disk (or quota) fails the whole
 * batch instead: BATCH_FULL, nothing written, the caller makes room. */
static int write_batch(struct pr_writer *w, struct pr_job *batch)
{
	struct pr_store *s = w->store;
	uint64_t ok = 0, bad = 0;
	int in_tx = pr_store_begin(s) == 0, full = 0, lost_tx = 0, losses = 0;
	pr_incident_written_fn on_incident;
	void *on_incident_arg;

	if (!in_tx) {
		if (pr_budget_full_error(s))
			return BATCH_FULL;
		pr_log("store: cannot begin a transaction: %s", pr_store_errmsg(s));
	}
	if (in_tx && has_full_losses(w)) {
		if (write_full_losses(w))
			full = pr_budget_full_error(s);
		else
			losses = 1;
	}
	for (struct pr_job *j = batch; j && !full; j = j->next) {
		if (!write_job(w, j)) {
			ok++;
			continue;
		}
		if (pr_budget_full_error(s)) {
			full = 1;
			break;
		}
		if (in_tx && !pr_store_in_transaction(s)) {
			/* SQLite rolled the transaction back (I/O error): the batch is gone */
			lost_tx = 1;
			break;
		}
		pr_log("store: write failed (counted, stage store-error): %s", pr_store_errmsg(s));
		count_error_loss(w, j);
		bad++;
	}
	if (full || lost_tx) {
		char keep[512];

		snprintf(keep, sizeof(keep), "%s", pr_store_errmsg(s));
		if (pr_store_in_transaction(s))
			pr_store_rollback(s);
		forget_tokens(w, batch);
		if (full)
			return BATCH_FULL;
		pr_log("store: transaction lost, batch not written (counted, stage store-error): %s",
		       keep);
		for (struct pr_job *j = batch; j; j = j->next) {
			count_error_loss(w, j);
			bad++;
		}
		ok = 0;
	} else if (in_tx && pr_store_commit(s)) {
		full = pr_budget_full_error(s);
		if (!full)
			pr_log("store: commit failed, %llu records lost: %s",
			       (unsigned long long)ok, pr_store_errmsg(s));
		if (pr_store_in_transaction(s))
			pr_store_rollback(s);
		forget_tokens(w, batch);
		if (full)
			return BATCH_FULL;
		for (struct pr_job *j = batch; j; j = j->next)
			count_error_loss(w, j);
		bad += ok;
		ok = 0;
	} else if (losses) {
		memset(w->full_lost, 0, sizeof(w->full_lost));
		memset(w->err_lost, 0, sizeof(w->err_lost));
		w->full_from = w->full_to = w->err_from = w->err_to = 0;
	}
	pthread_mutex_lock(&w->lock);
	w->written += ok;
	w->failed += bad;
	on_incident = w->on_incident;
	on_incident_arg = w->on_incident_arg;
	pthread_mutex_unlock(&w->lock);
	/* only now: what is told is in the store, as a reader sees it */
	if (ok && on_incident)
		for (struct pr_job *j = batch; j; j = j->next)
			if (j->type == JOB_INCIDENT && j->inc.id > 0)
				on_incident(s, j->inc.id, on_incident_arg);
	return bad ? BATCH_FAILED : BATCH_OK;
}

/* A loss for the metrics, lock held. The stages and kinds are the
 * program's own constants, so the table stays small; should it ever
 * fill, the rest is added to its last row, still counted. */
static void count_loss(struct pr_writer *w, const char *stage, const char *kind, uint64_t n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < w->nlosses; i++)
		if (!strcmp(w->losses[i].stage, stage) && !strcmp(w->losses[i].kind, kind))
			break;
	if (i == w->nlosses) {
		if (w->nlosses == PR_WRITER_LOSS_KINDS) {
			i = w->nlosses - 1;
			snprintf(w->losses[i].stage, sizeof(w->losses[i].stage), "other");
			snprintf(w->losses[i].kind, sizeof(w->losses[i].kind), "other");
		} else {
			snprintf(w->losses[i].stage, sizeof(w->losses[i].stage), "%s", stage);
			snprintf(w->losses[i].kind, sizeof(w->losses[i].kind), "%s", kind);
			w->nlosses++;
		}
	}
	w->losses[i].count += n;
}

/* The store's size and the budget's state for the metrics, at most once
 * a second (writer thread: it owns the store). */
static void refresh_usage(struct pr_writer *w)
{
	struct pr_store_usage u;
	uint64_t t = now_ns(), inc[PR_PRUNE__COUNT], bytes[PR_PRUNE__COUNT];
	int ok;

	if (t - w->usage_time < 1000000000ull)
		return;
	w->usage_time = t;
	ok = pr_store_usage(w->store, &u) == 0;
	pr_budget_pruned(w->budget, inc, bytes);
	pthread_mutex_lock(&w->lock);
	if (ok)
		w->usage = u;
	w->usage_valid |= ok;
	w->full_since = pr_budget_full_since(w->budget);
	memcpy(w->pruned_incidents, inc, sizeof(inc));
	memcpy(w->pruned_bytes, bytes, sizeof(bytes));
	pthread_mutex_unlock(&w->lock);
}

/* The disk stayed full: count what the batch held; its loss and run
 * records wait for the next batch (they are small; beyond CARRY_MAX they
 * are counted as failed). Returns the batch without them. */
static struct pr_job *count_full_loss(struct pr_writer *w, struct pr_job *batch)
{
	struct pr_job *keep = NULL, **tail = &keep, *next;
	uint64_t t = now_ns(), failed = 0, lost0[4];

	memcpy(lost0, w->full_lost, sizeof(lost0));

	if (!w->full_from)
		w->full_from = t;
	w->full_to = t;
	for (struct pr_job *j = batch; j; j = next) {
		next = j->next;
		j->next = NULL;
		if ((j->type == JOB_LOSS || j->type == JOB_RUN || j->type == JOB_POLICY) &&
		    w->ncarry < CARRY_MAX) {
			if (w->carry_tail)
				w->carry_tail->next = j;
			else
				w->carry = j;
			w->carry_tail = j;
			w->ncarry++;
			continue;
		}
		failed++;
		switch (j->type) {
		case JOB_INCIDENT:
			w->full_lost[FULL_INCIDENT]++;
			w->full_lost[FULL_FLOW] += j->has_flow ? 1 : 0;
			break;
		case JOB_EVENTS:
			w->full_lost[FULL_EVENT] += j->nevents;
			break;
		case JOB_FLOW:
			w->full_lost[FULL_FLOW]++;
			break;
		case JOB_PACKETS:
			w->full_lost[FULL_PACKET] += j->npkts;
			break;
		default:
			break;
		}
		*tail = j;
		tail = &j->next;
	}
	pthread_mutex_lock(&w->lock);
	w->failed += failed;
	for (int k = 0; k < 4; k++)
		count_loss(w, "store-full", full_kind[k], w->full_lost[k] - lost0[k]);
	pthread_mutex_unlock(&w->lock);
	return keep;
}

/* Cut the first jobs, at most max bytes (at least one job), off *list. */
static struct pr_job *cut_piece(struct pr_job **list, size_t max)
{
	struct pr_job *piece = *list, *last = piece;
	size_t bytes = piece->bytes;

	while (last->next && bytes + last->next->bytes <= max) {
		last = last->next;
		bytes += last->bytes;
	}
	*list = last->next;
	last->next = NULL;
	return piece;
}

/* Write one piece on a full disk: make room and retry once; what still
 * does not fit is counted (loss and run records wait in the carry).
 * Returns the jobs to free. */
static struct pr_job *write_piece_full(struct pr_writer *w, struct pr_job *piece)
{
	int rc = write_batch(w, piece);

	if (rc == BATCH_FULL && pr_budget_disk_full(w->budget, now_ns()))
		rc = write_batch(w, piece);
	if (rc != BATCH_FULL)
		return piece;
	if (!w->budget)
		pr_log("store: disk full, batch not written (counted, stage store-full): %s",
		       pr_store_errmsg(w->store));
	return count_full_loss(w, piece);
}

/* Write a batch; on a full disk make room (prune) and write it again in
 * pieces no larger than what a prune frees, keeping room between pieces:
 * a batch taken before the disk filled may be far larger than the room,
 * and a write that takes the last byte leaves no room for the next prune. */
static struct pr_job *write_or_make_room(struct pr_writer *w, struct pr_job *batch)
{
	struct pr_job *done = NULL, **tail = &done, *piece;
	size_t max;

	if (write_batch(w, batch) != BATCH_FULL)
		return batch;
	if (!w->budget)
		return write_piece_full(w, batch);
	while (batch) {
		max = pr_budget_batch_bytes(w->budget);
		piece = write_piece_full(w, cut_piece(&batch, max ? max : SIZE_MAX));
		*tail = piece;
		while (*tail)
			tail = &(*tail)->next;
		pr_budget_tick(w->budget, now_ns());
	}
	return done;
}

static void *writer_main(void *arg)
{
	struct pr_writer *w = arg;
	int rc = pr_privs_drop(NULL, 0); /* the store is root's own files: no capability */

	pthread_mutex_lock(&w->lock);
	w->start_err = rc ? (errno ? errno : EPERM) : 0;
	w->started = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (rc)
		return NULL;
	for (;;) {
		size_t cap = pr_budget_batch_bytes(w->budget);
		struct pr_job *batch;
		int stop;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping) {
			struct timespec ts;

			if (!w->budget) {
				pthread_cond_wait(&w->cond, &w->lock);
				continue;
			}
			/* idle: the age budget and disk-full recovery still tick */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) == ETIMEDOUT)
				break;
		}
		/* at most WRITER_BATCH jobs per transaction (and, under a size
		 * budget, about a 64th of it): readers see progress, the WAL can
		 * be checkpointed and the budget checked between batches */
		batch = w->head;
		{
			struct pr_job *last = batch;
			size_t n = 1, bytes = batch ? batch->bytes : 0;

			while (last && last->next && n < WRITER_BATCH &&
			       (!cap || bytes + last->next->bytes <= cap)) {
				last = last->next;
				bytes += last->bytes;
				n++;
			}
			if (last) {
				w->head = last->next;
				last->next = NULL;
				if (!w->head)
					w->tail = NULL;
				w->queued -= n;
				w->queued_bytes -= bytes;
			}
		}
		stop = w->stopping;
		pthread_mutex_unlock(&w->lock);

		/* loss and run records a full disk held back go first */
		if (w->carry) {
			w->carry_tail->next = batch;
			batch = w->carry;
			w->carry = w->carry_tail = NULL;
			w->ncarry = 0;
		}
		if (batch)
			batch = write_or_make_room(w, batch);
		pr_budget_tick(w->budget, now_ns());
		refresh_usage(w);
		while (batch) {
			struct pr_job *next = batch->next;

			job_free(batch);
			batch = next;
		}
		if (stop) {
			pthread_mutex_lock(&w->lock);
			stop = !w->head;
			pthread_mutex_unlock(&w->lock);
			if (stop)
				break;
		}
	}
	/* stopping on a full disk: what still waits is lost, and logged */
	if (w->ncarry || has_full_losses(w))
		pr_log("store: stopping with the disk full: %zu loss/run records and %llu incidents "
		       "could not be written", w->ncarry, (unsigned long long)w->full_lost[FULL_INCIDENT]);
	while (w->carry) {
		struct pr_job *next = w->carry->next;

		job_free(w->carry);
		w->carry = next;
	}
	return NULL;
}

struct pr_writer *pr_writer_start(struct pr_store *s)
{
	return pr_writer_start_budget(s, NULL);
}

struct pr_writer *pr_writer_start_budget(struct pr_store *s, struct pr_budget *b)
{
	struct pr_writer *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return NULL;
	w->store = s;
	w->budget = b;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	err = pthread_create(&w->thread, NULL, writer_main, w);
	if (err) {
		pr_log("cannot start the store writer thread: %s", strerror(err));
		free(w);
		return NULL;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->started)
		pthread_cond_wait(&w->cond, &w->lock);
	err = w->start_err;
	pthread_mutex_unlock(&w->lock);
	if (err) {
		pr_log("the store writer thread cannot drop its capabilities: %s", strerror(err));
		pthread_join(w->thread, NULL);
		free(w);
		return NULL;
	}
	return w;
}

void pr_writer_on_incident(struct pr_writer *w, pr_incident_written_fn fn, void *arg)
{
	pthread_mutex_lock(&w->lock);
	w->on_incident = fn;
	w->on_incident_arg = arg;
	pthread_mutex_unlock(&w->lock);
}

int pr_writer_submit(struct pr_writer *w, struct pr_job *job)
{
	if (!job) {
		/* the job could not be built (no memory): what it was is not
		 * known here, so it is not counted as an incident */
		pthread_mutex_lock(&w->lock);
		w->nomem++;
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	pthread_mutex_lock(&w->lock);
	/* packets are context: they may use half the budget, so a packet
	 * storm never pushes an incident out */
	if (job->type == JOB_PACKETS &&
	    (w->queued >= PR_WRITER_QUEUE_MAX / 2 ||
	     w->queued_bytes + job->bytes > PR_WRITER_QUEUE_BYTES / 2)) {
		w->pkts_dropped += job->npkts;
		pthread_mutex_unlock(&w->lock);
		job_free(job);
		return -1;
	}
	if (job->type == JOB_EVENTS &&
	    (w->queued >= PR_WRITER_QUEUE_MAX ||
	     w->queued_bytes + job->bytes > PR_WRITER_QUEUE_BYTES)) {
		w->events_dropped += job->nevents;
		pthread_mutex_unlock(&w->lock);
		job_free(job);
		return -1;
	}
	if (job->type == JOB_INCIDENT &&
	    (w->queued >= PR_WRITER_QUEUE_MAX ||
	     w->queued_bytes + job->bytes > PR_WRITER_QUEUE_BYTES)) {
		w->dropped++;
		pthread_mutex_unlock(&w->lock);
		job_free(job);
		return -1;
	}
	if (job->type == JOB_LOSS)
		count_loss(w, job->stage, job->kind, job->count);
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	w->queued++;
	w->queued_bytes += job->bytes;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void pr_writer_stats(struct pr_writer *w, uint64_t *written, uint64_t *failed, uint64_t *dropped)
{
	pthread_mutex_lock(&w->lock);
	*written = w->written;
	*failed = w->failed;
	*dropped = w->dropped;
	pthread_mutex_unlock(&w->lock);
}

uint64_t pr_writer_nomem(struct pr_writer *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->nomem;
	pthread_mutex_unlock(&w->lock);
	return n;
}

uint64_t pr_writer_events_dropped(struct pr_writer *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->events_dropped;
	pthread_mutex_unlock(&w->lock);
	return n;
}

uint64_t pr_writer_packets_dropped(struct pr_writer *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->pkts_dropped;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void pr_writer_snapshot(struct pr_writer *w, struct pr_writer_snap *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&w->lock);
	out->written = w->written;
	out->failed = w->failed;
	out->dropped = w->dropped;
	out->pkts_dropped = w->pkts_dropped;
	out->events_dropped = w->events_dropped;
	out->queued = w->queued;
	out->queued_bytes = w->queued_bytes;
	out->nlosses = w->nlosses;
	memcpy(out->losses, w->losses, w->nlosses * sizeof(w->losses[0]));
	out->usage = w->usage;
	out->usage_valid = w->usage_valid;
	out->full_since = w->full_since;
	memcpy(out->pruned_incidents, w->pruned_incidents, sizeof(out->pruned_incidents));
	memcpy(out->pruned_bytes, w->pruned_bytes, sizeof(out->pruned_bytes));
	pthread_mutex_unlock(&w->lock);
}

void pr_writer_stop(struct pr_writer *w, uint64_t *written, uint64_t *failed, uint64_t *dropped)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	*written = w->written;
	*failed = w->failed;
	*dropped = w->dropped;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
