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
#include <stdlib.h>
#include <string.h>
#include "recorder/polrecd.h"

enum job_type { JOB_INCIDENT, JOB_LOSS, JOB_RUN, JOB_FLOW, JOB_PACKETS, JOB_EVENTS };

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
};

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
	if (!i->policy || !i->rule || !i->severity || !i->kind || !i->action ||
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
		id = pr_store_add_incident(s, &j->inc, j->lineage, j->nlineage,
					   j->events, j->nevents);
		if (id < 0)
			return -1;
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
	}
	return -1;
}

/* One transaction for the whole batch; a job that fails is logged and
 * counted, the others still land. */
static void write_batch(struct pr_writer *w, struct pr_job *batch)
{
	uint64_t ok = 0, bad = 0;
	int in_tx = pr_store_begin(w->store) == 0;

	if (!in_tx)
		pr_log("store: cannot begin a transaction: %s", pr_store_errmsg(w->store));
	for (struct pr_job *j = batch; j; j = j->next) {
		if (write_job(w, j)) {
			pr_log("store: write failed: %s", pr_store_errmsg(w->store));
			bad++;
		} else {
			ok++;
		}
	}
	if (in_tx && pr_store_commit(w->store)) {
		pr_log("store: commit failed, %llu records lost: %s",
		       (unsigned long long)ok, pr_store_errmsg(w->store));
		pr_store_rollback(w->store);
		bad += ok;
		ok = 0;
	}
	pthread_mutex_lock(&w->lock);
	w->written += ok;
	w->failed += bad;
	pthread_mutex_unlock(&w->lock);
}

static void *writer_main(void *arg)
{
	struct pr_writer *w = arg;

	for (;;) {
		struct pr_job *batch;
		int stop;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		/* at most WRITER_BATCH jobs per transaction: readers see
		 * progress and the WAL can be checkpointed between batches */
		batch = w->head;
		{
			struct pr_job *last = batch;
			size_t n = 1, bytes = batch ? batch->bytes : 0;

			while (last && last->next && n < WRITER_BATCH) {
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

		if (batch)
			write_batch(w, batch);
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
				return NULL;
		}
	}
}

struct pr_writer *pr_writer_start(struct pr_store *s)
{
	struct pr_writer *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return NULL;
	w->store = s;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	err = pthread_create(&w->thread, NULL, writer_main, w);
	if (err) {
		pr_log("cannot start the store writer thread: %s", strerror(err));
		free(w);
		return NULL;
	}
	return w;
}

int pr_writer_submit(struct pr_writer *w, struct pr_job *job)
{
	if (!job) {
		pthread_mutex_lock(&w->lock);
		w->dropped++;
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
