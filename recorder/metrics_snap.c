// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The metrics snapshot of polrecd's own objects, on the event thread:
 * the consumer's counters and the process table belong to this thread
 * (plain reads are race-free); the writer's are read under its lock
 * (pr_writer_snapshot); the kernel ring buffer's positions are read from
 * its mmapped pages with acquire loads, as libbpf's consumer does.
 */
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "recorder/metrics.h"

/* The ring buffer's consumer and producer positions: libbpf 1.1 has no
 * ring__avail_data_size() (1.3 does), so map the two position pages read
 * only, as the kernel allows any process holding the map fd to. */
static struct {
	int tried;
	const uint64_t *cons, *prod;
	void *map;
	size_t map_len;
	uint64_t size;
} ring;

static void ring_open(struct pr_probes *p)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	int fd = pr_probes_ringbuf_fd(p);
	void *m;

	ring.tried = 1;
	if (fd < 0 || page <= 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.max_entries) {
		pr_log("metrics: cannot read the ring buffer's size: polrec_ring_* not exported");
		return;
	}
	m = mmap(NULL, 2 * (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		pr_log("metrics: cannot map the ring buffer's positions: polrec_ring_* not exported");
		return;
	}
	ring.map = m;
	ring.map_len = 2 * (size_t)page;
	ring.cons = m;
	ring.prod = (const uint64_t *)((const char *)m + page);
	ring.size = info.max_entries;
}

static void ring_sample(struct pr_probes *p, struct pr_metrics_snap *s)
{
	uint64_t cons, prod;

	if (!ring.tried)
		ring_open(p);
	if (!ring.map)
		return;
	cons = __atomic_load_n(ring.cons, __ATOMIC_ACQUIRE);
	prod = __atomic_load_n(ring.prod, __ATOMIC_ACQUIRE);
	s->ring_known = 1;
	s->ring_size = ring.size;
	/* reserved records count until consumed, as in ring__avail_data_size */
	s->ring_used = prod > cons ? prod - cons : 0;
	if (s->ring_used > ring.size)
		s->ring_used = ring.size;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void collect(struct pr_metrics_snap *s, const struct pr_metrics_static *st,
		    struct pr_consumer *c, struct pr_probes *p, const char *sha256,
		    unsigned version, size_t expectations)
{
	memset(s, 0, sizeof(*s));
	s->start_ns = st->start_ns;
	s->policy_sha256 = sha256;
	s->policy_version = version;
	s->expectations = expectations;
	s->probes = p ? pr_probes_attached(p) : 0;
	memcpy(s->events, c->nevents, sizeof(s->events));
	s->policies = pr_metrics_policies(&s->npolicies);
	s->joined = c->njoined;
	s->malformed = c->malformed;
	s->verdict_errors = c->verdict_errors;
	s->packets = c->npackets;
	s->packets_unclaimed = c->pkts_unclaimed;
	s->flows_orphaned = c->flows_orphaned;
	s->flows_dropped = c->flows_dropped;
	s->family_skipped = c->family_skipped;
	s->context_cut = c->context_cut;
	s->context_bytes = pr_proctab_memory();
	s->context_peak = pr_proctab_peak(c->procs);
	s->context_limit = st->context_limit;
	{
		uint64_t events;

		pr_proctab_cap_stats(c->procs, &s->context_evicted, &events);
	}
	s->packet_ring_slots = st->packet_ring_slots;
	s->max_store = st->max_store;
	s->max_pcap = st->max_pcap;
	s->max_age_ns = st->max_age_ns;
	if (p)
		ring_sample(p, s);
	pr_writer_snapshot(c->writer, &s->w);
}

static void emit(struct pr_metrics *m, const struct pr_metrics_static *st,
		 struct pr_consumer *c, struct pr_probes *p, const char *sha256, unsigned version,
		 size_t expectations, int final)
{
	struct pr_metrics_snap s;
	struct pr_mx mx = { 0 };

	collect(&s, st, c, p, sha256, version, expectations);
	s.up = !final;
	if (pr_metrics_render(&s, &mx))
		pr_log("metrics: cannot render the exposition (out of memory)");
	else
		pr_metrics_publish(m, &mx, mono_ns(), final);
	pr_mx_free(&mx);
}

void pr_metrics_tick(struct pr_metrics *m, const struct pr_metrics_static *st,
		     struct pr_consumer *c, struct pr_probes *p, const char *sha256,
		     unsigned version, size_t expectations)
{
	if (pr_metrics_due(m, mono_ns()))
		emit(m, st, c, p, sha256, version, expectations, 0);
}

void pr_metrics_stop(struct pr_metrics *m, const struct pr_metrics_static *st,
		     struct pr_consumer *c, struct pr_probes *p, const char *sha256,
		     unsigned version, size_t expectations)
{
	if (!m || !c->writer)
		return;
	emit(m, st, c, p, sha256, version, expectations, 1);
	if (ring.map)
		munmap(ring.map, ring.map_len);
	memset(&ring, 0, sizeof(ring));
}
