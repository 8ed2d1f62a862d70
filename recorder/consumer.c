// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The event thread's half of polrecd: every ring buffer record is checked
 * against its declared sizes, folded into the process table, judged
 * against the compiled policy, and a broken expectation becomes an
 * incident job for the writer (violation + lineage + recent events).
 * Runs as the ring buffer callback: it never blocks on the disk.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "recorder/metrics.h"
#include "recorder/polrecd.h"

#define LINEAGE_MAX  256  /* ancestors kept per incident (README "Limits") */
#define VERDICTS_MAX 16

static const char *const fop_kind[] = {
	[PR_FOP_OPEN_WRITE] = "write",
	[PR_FOP_RENAME] = "rename",
	[PR_FOP_UNLINK] = "unlink",
	[PR_FOP_CHMOD] = "chmod",
	[PR_FOP_CHOWN] = "chown",
	[PR_FOP_TRUNCATE] = "truncate",
};

static const uint8_t fop_recent[] = {
	[PR_FOP_OPEN_WRITE] = PR_RK_WRITE,
	[PR_FOP_RENAME] = PR_RK_RENAME,
	[PR_FOP_UNLINK] = PR_RK_UNLINK,
	[PR_FOP_CHMOD] = PR_RK_CHMOD,
	[PR_FOP_CHOWN] = PR_RK_CHOWN,
	[PR_FOP_TRUNCATE] = PR_RK_TRUNCATE,
};

int pr_path_join(const char *dir, const char *name, char *out, size_t outlen)
{
	char tmp[2 * PR_PATH_MAX + 2];
	size_t o = 0;
	const char *s, *e;
	int n;

	if (name[0] == '/')
		n = snprintf(tmp, sizeof(tmp), "%s", name);
	else
		n = snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	/* lexical: the directory part came resolved from the kernel */
	for (s = tmp; *s; s = e) {
		size_t len;

		while (*s == '/')
			s++;
		e = s;
		while (*e && *e != '/')
			e++;
		len = e - s;
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + len + 1 > outlen)
			return -1;
		out[o++] = '/';
		memcpy(out + o, s, len);
		o += len;
	}
	if (o == 0) {
		if (outlen < 2)
			return -1;
		out[o++] = '/';
	}
	out[o] = '\0';
	return 0;
}

/* A string field of an event: len bytes including the NUL the kernel
 * wrote; copied so a missing NUL can never run past the record. */
static void field(char *dst, size_t dstlen, const char *src, size_t len)
{
	if (len == 0) {
		dst[0] = '\0';
		return;
	}
	if (len > dstlen)
		len = dstlen;
	memcpy(dst, src, len);
	dst[len - 1] = '\0';
}

static void mark_truncated(char *path, size_t cap)
{
	size_t n = strlen(path);

	/* "..." keeps a truncated tail from passing for an absolute path */
	if (n + 4 > cap)
		n = cap - 4;
	memmove(path + 3, path, n + 1);
	memcpy(path, "...", 3);
	path[n + 3] = '\0';
}

static uint64_t epoch(const struct pr_consumer *c, uint64_t boot_ns)
{
	return (uint64_t)((int64_t)boot_ns + c->boot_to_epoch);
}

static void ensure_sha256(struct pr_proc *p)
{
	char link[64];
	struct stat st;

	if (p->sha256[0] || p->exited || !p->exe || !p->exe[0])
		return;
	snprintf(link, sizeof(link), "/proc/%u/exe", p->pid);
	if (stat(link, &st))
		return;
	pr_exe_sha256(p->pid, p->exe, st.st_dev, st.st_ino, st.st_mtim.tv_sec,
		      st.st_mtim.tv_nsec, p->sha256);
}

static void proc_rec(const struct pr_consumer *c, const struct pr_proc *p, struct pr_proc_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = p->pid;
	r->ppid = p->ppid;
	r->start_boot = p->start;
	r->pstart_boot = p->pstart;
	r->start_time = epoch(c, p->start);
	r->uid = p->uid;
	r->gid = p->gid;
	r->loginuid = p->loginuid;
	r->sessionid = p->sessionid;
	r->user = pr_user_name(p->uid);
	r->exe = p->exe ? p->exe : "";
	r->argv = p->argv ? p->argv : "";
	r->argv_len = p->argv ? p->argv_len : 0;
	r->argc = p->argc;
	r->flags = p->flags;
	r->cwd = p->cwd ? p->cwd : "";
	r->cgroup_id = p->cgroup_id;
	r->cgroup = p->cgroup ? p->cgroup : "";
	r->container_id = p->container_id ? p->container_id : "";
	r->sha256 = p->sha256;
	r->exit_time = p->exited ? epoch(c, p->exit_time) : 0;
	r->exit_code = p->exit_code;
}

/* The subject context of p's current image: itself and its ancestors. */
struct judge_ctx {
	struct pr_subject_ctx sc;
	struct pr_proc_view views[LINEAGE_MAX];
	struct pr_proc *lineage[LINEAGE_MAX];
	size_t nlineage;
};

static void build_ctx(struct pr_proc *p, struct judge_ctx *j)
{
	j->nlineage = pr_proctab_lineage(p, j->lineage, LINEAGE_MAX);
	for (size_t i = 0; i < j->nlineage; i++) {
		j->views[i].exe = j->lineage[i]->exe ? j->lineage[i]->exe : "";
		j->views[i].uid = j->lineage[i]->uid;
		j->views[i].cgroup = j->lineage[i]->cgroup;
	}
	j->sc.self = j->views[0];
	j->sc.ancestors = j->nlineage > 1 ? &j->views[1] : NULL;
	j->sc.nancestors = j->nlineage > 1 ? j->nlineage - 1 : 0;
}

/* The network expectations (bit = network index) that apply to j. */
static uint64_t net_mask(const struct pr_consumer *c, const struct judge_ctx *j)
{
	const struct pr_policy *pol = c->policy->policy;
	uint64_t m = 0;

	if (!c->net)
		return 0;
	for (size_t i = 0; i < c->net->nexps; i++)
		if (pr_expectation_applies(&pol->exps[c->net->exp_of[i]], &j->sc))
			m |= 1ull << i;
	return m;
}

void pr_consumer_verdict(struct pr_consumer *c, struct pr_proc *p, uint32_t seq)
{
	static struct judge_ctx j;
	const struct pr_policy *pol = c->policy->policy;
	uint32_t flags = 0;
	uint64_t net;

	if (!c->probes)
		return;
	build_ctx(p, &j);
	for (size_t i = 0; i < pol->n && !flags; i++)
		if (pol->exps[i].has_write_allow && pr_expectation_applies(&pol->exps[i], &j.sc))
			flags |= PR_V_WATCH_WRITES;
	net = net_mask(c, &j);
	/* seq 0 with nothing set is what the kernel assumes without an entry */
	if (!seq && !flags && !net)
		return;
	if (pr_probes_set_verdict(c->probes, p->pid, seq, flags, net))
		c->verdict_errors++;
}

struct violation {
	const char *kind;     /* "exec" | "file" | "network" */
	const char *action;
	const char *path;
	char actual[PR_PATH_MAX + 256];
	uint64_t time;        /* boot ns */
	const struct pr_net_rec *net;   /* network: the connection */
	const struct pr_flow_rec *flow; /* network: its captured flow, or NULL */
	const char *expected; /* overrides the verdict's text when set */
	const char *policy;   /* overrides the expectation's name when set */
	const char *severity; /* overrides the expectation's severity when set */
};

/* After an incident, the violator's new flows are captured into it until
 * the end of the follow window (the kernel starts them, see probes). */
static void follow(struct pr_consumer *c, struct pr_proc *p, uint64_t token, uint64_t until,
		   uint32_t snaplen)
{
	if (p->exited)
		return;
	p->follow_token = token;
	if (until > p->follow_until)
		p->follow_until = until;
	if (c->probes && pr_probes_follow(c->probes, p->pid, p->start, until, snaplen))
		c->verdict_errors++;
}

/* ---- the flight recorder: context before, follow after ---- */

#define FAMILY_DEPTH  8     /* ancestors whose activity is context */
#define FAMILY_PROCS  128   /* processes whose events an incident takes */
#define EVENTS_MAX    1024  /* events an incident takes at its creation */

static struct pr_event_rec ev_buf[EVENTS_MAX];
static char ev_details[EVENTS_MAX][64];

static void event_rec(const struct pr_consumer *c, const struct pr_proc *p,
		      const struct pr_recent *r, size_t i, struct pr_event_rec *e)
{
	memset(e, 0, sizeof(*e));
	e->time = epoch(c, r->time);
	e->kind = pr_recent_kind_name(r->kind);
	e->pid = p->pid;
	e->start_boot = p->start;
	e->path = r->path ? r->path : "";
	e->path2 = r->path2 ? r->path2 : "";
	e->detail = "";
	if (r->kind >= PR_RK_CONNECT && r->kind <= PR_RK_LISTEN) {
		/* a connection: path is the tuple, path2 the result */
		snprintf(ev_details[i], sizeof(ev_details[i]), "result=%s",
			 r->path2 ? r->path2 : "?");
		e->detail = ev_details[i];
		e->path2 = "";
	}
}

/* Where the violator's family starts: its highest ancestor in the same
 * login session, or the service below pid 1, at most FAMILY_DEPTH up. */
static struct pr_proc *family_top(struct pr_proc *p)
{
	struct pr_proc *top = p;

	for (int k = 0; k < FAMILY_DEPTH && top->parent; k++) {
		struct pr_proc *up = top->parent;

		if (up->pid <= 1)
			break;
		if (p->sessionid != UINT32_MAX && up->sessionid != p->sessionid)
			break;
		top = up;
	}
	return top;
}

struct family {
	const struct pr_consumer *c;
	struct pr_proc *violator, *top;
	uint64_t from, to;          /* boot ns: the window before the violation */
	struct pr_proc *members[FAMILY_PROCS];
	size_t n;
	size_t skipped;             /* members beyond FAMILY_PROCS */
};

static int descends_from(const struct pr_proc *q, const struct pr_proc *top)
{
	for (int k = 0; q && k < LINEAGE_MAX; k++, q = q->parent)
		if (q == top)
			return 1;
	return 0;
}

static int active_since(const struct pr_proc *q, uint64_t from)
{
	const struct pr_recent *r = q->recent_count ? pr_proc_recent_at(q, q->recent_count - 1)
						    : NULL;

	return q->start >= from || (r && r->time >= from);
}

static void family_visit(struct pr_proc *q, void *arg)
{
	struct family *f = arg;

	if (q == f->violator || !active_since(q, f->from) || !descends_from(q, f->top))
		return;
	if (f->n == FAMILY_PROCS) {
		f->skipped++;
		return;
	}
	f->members[f->n++] = q;
}

static void addr_text(uint8_t family, const uint8_t *a, char *out, size_t len);

/* The flow of a connection event, from this host's side. */
static void event_flow_key(const struct pr_net *e, struct pr_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = e->family;
	k->proto = e->proto;
	k->lport = e->lport;
	k->rport = e->rport;
	memcpy(k->laddr, e->laddr, 16);
	memcpy(k->raddr, e->raddr, 16);
}

/* The family's flows in the window before the violation, whose packets
 * the packet flight recorder may still hold. */
#define BEFORE_FLOWS 64
static struct before_flow {
	struct pr_flow_key key;
	struct pr_proc *owner;
	uint64_t time;            /* boot ns of the connection */
	uint64_t flow_id;         /* assigned when packets are found */
	size_t npkts;
} before[BEFORE_FLOWS];
static size_t nbefore;

static int reverse_of(const struct pr_flow_key *a, const struct pr_flow_key *b)
{
	return a->family == b->family && a->proto == b->proto && a->lport == b->rport &&
	       a->rport == b->lport && !memcmp(a->laddr, b->raddr, 16) &&
	       !memcmp(a->raddr, b->laddr, 16);
}

/* flows of q's connections with from <= time < to */
static void note_flows(struct pr_proc *q, uint64_t from, uint64_t to)
{
	for (unsigned k = 0; k < PR_RECENT_MAX && nbefore < BEFORE_FLOWS; k++) {
		const struct pr_recent *r = pr_proc_recent_at(q, k);
		int dup = 0;

		if (!r)
			break;
		if (!r->flow || r->time < from || r->time >= to)
			continue;
		for (size_t i = 0; i < nbefore; i++)
			dup |= !memcmp(&before[i].key, r->flow, sizeof(*r->flow)) ||
			       reverse_of(&before[i].key, r->flow);
		/* both ends on this host (loopback, say): one view carries
		 * every packet of the connection once */
		if (dup)
			continue;
		before[nbefore].key = *r->flow;
		before[nbefore].owner = q;
		before[nbefore].time = r->time;
		before[nbefore].flow_id = 0;
		before[nbefore].npkts = 0;
		nbefore++;
	}
}

struct ring_pick {
	struct pr_consumer *c;
	struct pr_job *pkts;
	uint64_t from;
};

static void ring_slot(const struct pr_ring_slot *sl, void *arg)
{
	struct ring_pick *rp = arg;
	struct pr_packet_rec r;

	if (sl->time < rp->from)
		return;
	for (size_t i = 0; i < nbefore; i++) {
		if (memcmp(&before[i].key, &sl->key, sizeof(sl->key)))
			continue;
		if (!before[i].flow_id)
			before[i].flow_id = pr_probes_flow_id(rp->c->probes);
		r.flow_id = before[i].flow_id;
		r.time = epoch(rp->c, sl->time);
		r.len = sl->len;
		r.caplen = sl->caplen;
		r.dir = sl->dir;
		r.data = sl->data;
		if (!rp->pkts)
			rp->pkts = pr_job_packets();
		if (!rp->pkts || pr_job_add_packet(rp->pkts, &r))
			rp->c->pkts_dropped++;
		else
			before[i].npkts++;
		return;
	}
}

/* Packets before: the family's earlier flows, from the packet flight
 * recorder, become flows of the incident (role "before"). */
static void before_packets(struct pr_consumer *c, uint64_t token, uint64_t from)
{
	struct ring_pick rp = { .c = c, .from = from };
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];

	if (!nbefore || !c->probes)
		return;
	if (pr_probes_read_ring(c->probes, ring_slot, &rp)) {
		pr_log("cannot read the packet flight recorder: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < nbefore; i++) {
		const struct before_flow *b = &before[i];
		struct pr_flow_rec f = {0};

		if (!b->npkts)
			continue;
		addr_text(b->key.family, b->key.laddr, la, sizeof(la));
		addr_text(b->key.family, b->key.raddr, ra, sizeof(ra));
		f.flow_id = b->flow_id;
		f.time = epoch(c, b->time);
		f.role = "before";
		f.protocol = b->key.proto == IPPROTO_TCP ? "tcp" : "udp";
		f.local = la;
		f.lport = b->key.lport;
		f.remote = ra;
		f.rport = b->key.rport;
		f.pid = b->owner->pid;
		f.start_boot = b->owner->start;
		f.exe = b->owner->exe ? b->owner->exe : "";
		if (pr_writer_submit(c->writer, pr_job_flow(token, &f)))
			c->flows_dropped++;
	}
	if (rp.pkts) {
		size_t n = pr_job_npackets(rp.pkts);

		pr_writer_submit(c->writer, rp.pkts);
		c->npackets += n;
	}
}

static int cmp_event_time(const void *a, const void *b)
{
	const struct pr_event_rec *x = a, *y = b;

	return x->time < y->time ? -1 : x->time > y->time;
}

/* The violator's events not stored yet, and the family's events within
 * the window before the violation (its siblings' downloads, say), in time
 * order; the violating event marked. */
static size_t collect_events(struct pr_consumer *c, struct pr_proc *p,
			     const struct violation *viol)
{
	static struct family f;
	size_t nev = 0;

	for (unsigned k = 0; k < PR_RECENT_MAX && nev < EVENTS_MAX; k++) {
		const struct pr_recent *r = pr_proc_recent_at(p, k);

		if (!r)
			break;
		/* stored with an earlier incident: the store joins them */
		if (r->time <= p->stored_upto)
			continue;
		event_rec(c, p, r, nev, &ev_buf[nev]);
		if (r->time == viol->time)
			ev_buf[nev].mark = 1;
		nev++;
	}
	if (p->recent_count)
		p->stored_upto = pr_proc_recent_at(p, p->recent_count - 1)->time;

	f.c = c;
	f.violator = p;
	f.top = family_top(p);
	f.to = viol->time;
	f.from = viol->time > c->context_window_ns ? viol->time - c->context_window_ns : 0;
	f.n = 0;
	f.skipped = 0;
	pr_proctab_foreach(c->procs, family_visit, &f);
	if (f.skipped)
		c->family_skipped += f.skipped;
	nbefore = 0;
	note_flows(p, f.from, viol->time);
	for (size_t m = 0; m < f.n; m++) {
		struct pr_proc *q = f.members[m];

		note_flows(q, f.from, f.to + 1);
		for (unsigned k = 0; k < PR_RECENT_MAX; k++) {
			const struct pr_recent *r = pr_proc_recent_at(q, k);

			if (!r)
				break;
			if (r->time < f.from || r->time > f.to)
				continue;
			if (nev == EVENTS_MAX) {
				c->context_cut++; /* counted: the stop line shows it */
				continue;
			}
			event_rec(c, q, r, nev, &ev_buf[nev]);
			nev++;
		}
	}
	qsort(ev_buf, nev, sizeof(ev_buf[0]), cmp_event_time);
	return nev;
}

/* A second violation by the violator within its incident's follow window
 * joins that incident as an event instead of opening a new one. */
static int join_incident(struct pr_consumer *c, struct pr_proc *p, const struct pr_verdict *v,
			 const struct violation *viol)
{
	struct pr_event_rec e = {0};
	char detail[512];

	if (!p->follow_own || p->follow_exp != v->exp || !p->follow_token ||
	    viol->time > p->follow_until)
		return 0;
	snprintf(detail, sizeof(detail), "violation: %.80s %s, expected %.400s",
		 viol->policy ? viol->policy : v->exp->name,
		 c->net_rule ? c->net_rule : pr_rule_kind_name(v->kind),
		 viol->expected ? viol->expected : v->expected ? v->expected : "");
	e.time = epoch(c, viol->time);
	e.kind = viol->action;
	e.pid = p->pid;
	e.start_boot = p->start;
	e.path = viol->path;
	e.path2 = "";
	e.detail = detail;
	e.mark = 2;
	c->njoined++;
	pr_log("incident joined: %s pid %u %s (within the follow window)", v->exp->name, p->pid,
	       viol->action);
	if (pr_writer_submit(c->writer, pr_job_events(p->follow_token, &e, 1)))
		c->follow_dropped++;
	/* its packets belong to the open incident too */
	if (viol->flow && pr_writer_submit(c->writer, pr_job_flow(p->follow_token, viol->flow)))
		c->flows_dropped++;
	return 1;
}

/* An event of a followed process goes into the open incident. */
static void follow_event(struct pr_consumer *c, struct pr_proc *p, const struct pr_recent *r)
{
	struct pr_event_rec e;

	if (!p->follow_token || r->time > p->follow_until)
		return;
	event_rec(c, p, r, 0, &e);
	if (pr_writer_submit(c->writer, pr_job_events(p->follow_token, &e, 1)))
		c->follow_dropped++;
	p->stored_upto = r->time;
}

/* pr_proc_add_recent; the handler calls follow_last once it has judged */
static void add_recent(struct pr_consumer *c, struct pr_proc *p, uint64_t time, uint8_t kind,
		       const char *path, const char *path2)
{
	pr_proc_add_recent(p, time, kind, path, path2);
	c->event_raised = 0;
}

/* The event just added, unless it opened or joined an incident itself. */
static void follow_last(struct pr_consumer *c, struct pr_proc *p)
{
	if (!c->event_raised && p->recent_count)
		follow_event(c, p, pr_proc_recent_at(p, p->recent_count - 1));
}

static void raise_incident(struct pr_consumer *c, struct pr_proc *p,
			   const struct pr_verdict *v, const struct violation *viol)
{
	static struct pr_proc_rec lin[LINEAGE_MAX];
	struct pr_proc *anc[LINEAGE_MAX];
	struct pr_incident_rec inc = {0};
	size_t nlin, nev;
	uint64_t token;

	c->event_raised = 1;
	if (join_incident(c, p, v, viol))
		return;
	nlin = pr_proctab_lineage(p, anc, LINEAGE_MAX);
	for (size_t i = 0; i < nlin; i++) {
		ensure_sha256(anc[i]);
		proc_rec(c, anc[i], &lin[i]);
	}
	nev = collect_events(c, p, viol);
	inc.time = epoch(c, viol->time);
	inc.boot_time = viol->time;
	inc.policy_sha256 = c->policy_sha256;
	inc.policy = viol->policy ? viol->policy : v->exp->name;
	inc.rule = c->net_rule ? c->net_rule : pr_rule_kind_name(v->kind);
	inc.severity = viol->severity ? viol->severity : pr_severity_name(v->exp->severity);
	inc.kind = viol->kind;
	inc.action = viol->action;
	inc.path = viol->path;
	inc.expected = viol->expected ? viol->expected : v->expected ? v->expected : "";
	inc.actual = viol->actual;
	inc.proc = lin[0];
	inc.lost_events = c->lost_total;
	inc.net = viol->net;
	inc.follow_until = epoch(c, viol->time + v->exp->follow_ns);
	inc.violations = 1;
	c->nincidents++;
	pr_metrics_incident(inc.policy, inc.severity);
	pr_log("incident: %s %s (%s) pid %u %s %s", inc.severity, inc.policy, inc.rule,
	       p->pid, viol->action, pr_verbose ? viol->path : "");
	token = ++c->next_token;
	if (pr_writer_submit(c->writer, pr_job_incident(&inc, lin, nlin, ev_buf, nev, token,
							viol->flow)))
		pr_log("incident lost: the writer queue is full or memory ran out (counted)");
	else
		before_packets(c, token, viol->time > c->context_window_ns ?
					 viol->time - c->context_window_ns : 0);
	follow(c, p, token, viol->time + v->exp->follow_ns, v->exp->snaplen);
	p->follow_own = 1;
	p->follow_exp = v->exp;
}

static int on_fork(struct pr_consumer *c, const struct pr_fork *e, size_t len)
{
	struct pr_proc *p;

	if (len < sizeof(*e))
		return -1;
	p = pr_proctab_fork(c->procs, e->ptgid, e->pstart, e->h.tgid, e->h.start, e->h.time);
	/* a followed process's children are followed into its incident
	 * (the kernel does the same for their flows) */
	if (p && p->parent && p->parent->follow_token && e->h.time <= p->parent->follow_until) {
		p->follow_token = p->parent->follow_token;
		p->follow_until = p->parent->follow_until;
		p->follow_own = 0;
		p->follow_exp = NULL;
	}
	return 0;
}

static int on_exit_ev(struct pr_consumer *c, const struct pr_exit *e, size_t len)
{
	struct pr_proc *p;

	if (len < sizeof(*e))
		return -1;
	p = pr_proctab_lookup(c->procs, e->h.tgid, e->h.start);
	if (p)
		pr_proctab_exit(c->procs, p, e->code, e->h.time);
	return 0;
}

static int on_exec(struct pr_consumer *c, const struct pr_exec *e, size_t len)
{
	static char exe[PR_PATH_MAX + 4], cwd[PR_PATH_MAX + 4];
	struct pr_verdict v[VERDICTS_MAX];
	static struct judge_ctx j;
	static struct violation viol;
	struct pr_proc *p;
	const char *cg;
	char cid[65];
	int adopted;
	size_t n;

	if (len < sizeof(*e) ||
	    (size_t)e->exe_len + e->argv_len + e->cwd_len > len - sizeof(*e))
		return -1;
	field(exe, PR_PATH_MAX, e->data, e->exe_len);
	if (e->h.flags & PR_F_PATH_TRUNC)
		mark_truncated(exe, sizeof(exe));
	field(cwd, PR_PATH_MAX, e->data + e->exe_len + e->argv_len, e->cwd_len);
	if (e->h.flags & PR_F_CWD_TRUNC)
		mark_truncated(cwd, sizeof(cwd));

	p = pr_proctab_lookup(c->procs, e->h.tgid, e->h.start);
	adopted = !p;
	if (!p)
		p = pr_proctab_adopt(c->procs, "/proc", e->h.tgid, e->h.start);
	if (!p)
		return 0;

	/* judged against the image that runs the exec: p before the update.
	 * An adopted process was read from /proc after this exec: its image
	 * before it is unknown. */
	build_ctx(p, &j);
	if (adopted)
		j.sc.self.exe = "";
	n = pr_judge_exec(c->policy, &j.sc, exe, v, VERDICTS_MAX);
	if (n)
		snprintf(viol.actual, sizeof(viol.actual), "%s executed %s",
			 j.sc.self.exe[0] ? j.sc.self.exe : "(unknown image)", exe);

	pr_proc_set_str(&p->exe, exe, strlen(exe));
	pr_proc_set_argv(p, e->data + e->exe_len, e->argv_len, e->argc);
	pr_proc_set_str(&p->cwd, cwd, strlen(cwd));
	p->uid = e->uid;
	p->gid = e->gid;
	p->loginuid = e->loginuid;
	p->sessionid = e->sessionid;
	p->flags = e->h.flags;
	p->exec_time = e->h.time;
	if (p->cgroup_id != e->cgroup_id || !p->cgroup) {
		p->cgroup_id = e->cgroup_id;
		cg = pr_cgroup_path(e->cgroup_id, pr_probes_cgroup_root(c->probes));
		pr_proc_set_str(&p->cgroup, cg ? cg : "", cg ? strlen(cg) : 0);
		if (cg && pr_container_id(cg, cid))
			pr_proc_set_str(&p->container_id, cid, strlen(cid));
		else
			pr_proc_set_str(&p->container_id, "", 0);
	}
	p->exe_dev = e->exe_dev; /* kernel form, as pr_proc keeps it */
	p->exe_ino = e->exe_ino;
	p->exe_mtime_sec = e->exe_mtime_sec;
	p->exe_mtime_nsec = e->exe_mtime_nsec;
	if (pr_exe_sha256(p->pid, exe, pr_dev_from_kernel(p->exe_dev), p->exe_ino, p->exe_mtime_sec,
			  p->exe_mtime_nsec, p->sha256))
		p->sha256[0] = '\0';
	add_recent(c, p, e->h.time, PR_RK_EXEC, exe, NULL);
	p->exec_seq = e->exec_seq;
	if (!p->exited)
		pr_consumer_verdict(c, p, e->exec_seq);

	viol.kind = "exec";
	viol.action = "exec";
	viol.path = exe;
	viol.time = e->h.time;
	for (size_t i = 0; i < n; i++)
		raise_incident(c, p, &v[i], &viol);
	follow_last(c, p);
	return 0;
}

/* The object of a file event: resolved path, or directory + name. */
static int file_path(const char *path, size_t plen, const char *name, size_t nlen,
		     int rel, int trunc, char *out, size_t outlen)
{
	static char a[PR_PATH_MAX + 4], b[PR_NAME_MAX + 4];

	field(a, PR_PATH_MAX, path, plen);
	if (trunc)
		mark_truncated(a, sizeof(a));
	if (!rel) {
		snprintf(out, outlen, "%s", a);
		return 0;
	}
	field(b, PR_NAME_MAX, name, nlen);
	if (b[0] == '\0')
		return -1;
	if (pr_path_join(a, b, out, outlen)) {
		/* too long to join: keep the name as given, marked */
		snprintf(out, outlen, "...%s", b);
	}
	return 0;
}

static int on_file(struct pr_consumer *c, const struct pr_file *e, size_t len)
{
	static char path[PR_PATH_MAX + 8], path2[PR_PATH_MAX + 8];
	struct pr_verdict v[VERDICTS_MAX], v2[VERDICTS_MAX];
	static struct judge_ctx j;
	static struct violation viol;
	const char *d = e->data;
	struct pr_proc *p;
	size_t n, n2 = 0;

	if (len < sizeof(*e) ||
	    (size_t)e->path_len + e->name_len + e->path2_len + e->name2_len > len - sizeof(*e) ||
	    e->op == 0 || e->op >= sizeof(fop_kind) / sizeof(fop_kind[0]))
		return -1;
	if (file_path(d, e->path_len, d + e->path_len, e->name_len,
		      e->h.flags & PR_F_NAME_REL, e->h.flags & PR_F_PATH_TRUNC,
		      path, sizeof(path)))
		return 0;
	path2[0] = '\0';
	if (e->op == PR_FOP_RENAME) {
		d += e->path_len + e->name_len;
		if (file_path(d, e->path2_len, d + e->path2_len, e->name2_len,
			      e->h.flags & PR_F_NAME2_REL, e->h.flags & PR_F_PATH2_TRUNC,
			      path2, sizeof(path2)))
			path2[0] = '\0';
	}

	p = pr_proctab_lookup(c->procs, e->h.tgid, e->h.start);
	if (!p)
		p = pr_proctab_adopt(c->procs, "/proc", e->h.tgid, e->h.start);
	if (!p)
		return 0;
	add_recent(c, p, e->h.time, fop_recent[e->op], path, path2[0] ? path2 : NULL);

	build_ctx(p, &j);
	n = pr_judge_write(c->policy, &j.sc, path, v, VERDICTS_MAX);
	/* moving a file out of a protected tree changes that tree too */
	if (path2[0])
		n2 = pr_judge_write(c->policy, &j.sc, path2, v2, VERDICTS_MAX);
	viol.kind = "file";
	viol.action = fop_kind[e->op];
	viol.time = e->h.time;
	viol.path = path;
	if (path2[0])
		snprintf(viol.actual, sizeof(viol.actual), "%s renamed %s to %s",
			 p->exe && p->exe[0] ? p->exe : "(unknown image)", path2, path);
	else
		snprintf(viol.actual, sizeof(viol.actual), "%s: %s %s",
			 p->exe && p->exe[0] ? p->exe : "(unknown image)", viol.action, path);
	for (size_t i = 0; i < n; i++)
		raise_incident(c, p, &v[i], &viol);
	for (size_t i = 0; i < n2; i++) {
		int dup = 0;

		for (size_t k = 0; k < n; k++)
			dup |= v[k].exp == v2[i].exp;
		if (dup)
			continue;
		viol.path = path2;
		raise_incident(c, p, &v2[i], &viol);
	}
	follow_last(c, p);
	return 0;
}

/* ---- network ---- */

static const char *const nop_name[] = {
	[PR_NOP_CONNECT] = "connect", [PR_NOP_ACCEPT] = "accept", [PR_NOP_SEND] = "send",
	[PR_NOP_BIND] = "bind",       [PR_NOP_LISTEN] = "listen",
};

static const uint8_t nop_recent[] = {
	[PR_NOP_CONNECT] = PR_RK_CONNECT, [PR_NOP_ACCEPT] = PR_RK_ACCEPT,
	[PR_NOP_SEND] = PR_RK_SEND,       [PR_NOP_BIND] = PR_RK_BIND,
	[PR_NOP_LISTEN] = PR_RK_LISTEN,
};

/* What became of each recent flow: packets of a flow no incident claimed
 * (a provisional capture of a process that broke nothing) are dropped.
 * Flow ids are sequential, so a ring indexed by id holds the last
 * FLOWS_KEPT decisions exactly. */
#define FLOWS_KEPT 8192
enum { FLOW_UNKNOWN = 0, FLOW_CLAIMED, FLOW_REJECTED };
static struct {
	uint64_t id;
	uint8_t state;
} flow_states[FLOWS_KEPT];

static void flow_decide(uint64_t id, uint8_t state)
{
	flow_states[id % FLOWS_KEPT].id = id;
	flow_states[id % FLOWS_KEPT].state = state;
}

static uint8_t flow_state(uint64_t id)
{
	return flow_states[id % FLOWS_KEPT].id == id ? flow_states[id % FLOWS_KEPT].state
						       : FLOW_UNKNOWN;
}

static void addr_text(uint8_t family, const uint8_t *a, char *out, size_t len)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static void endpoint(uint8_t family, const char *addr, uint16_t port, char *out, size_t len)
{
	snprintf(out, len, family == 6 ? "[%s]:%u" : "%s:%u", addr, port);
}

static void result_text(const struct pr_net *e, char *out, size_t len)
{
	const char *name;

	if (e->result >= 0) {
		snprintf(out, len, "ok");
		return;
	}
	if (e->result == -EINPROGRESS) {
		snprintf(out, len, "in-progress");
		return;
	}
	name = strerrorname_np(-e->result);
	if (name)
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "errno %d", -e->result);
}

/* A flow of this event for the store. */
static void flow_rec(const struct pr_net *e, const struct pr_proc *p, const char *la,
		     const char *ra, const char *role, uint64_t flow_id, uint64_t epoch_ns,
		     struct pr_flow_rec *f)
{
	memset(f, 0, sizeof(*f));
	f->flow_id = flow_id;
	f->time = epoch_ns;
	f->role = role;
	f->protocol = e->proto == IPPROTO_TCP ? "tcp" : "udp";
	f->local = la;
	f->lport = e->lport;
	f->remote = ra;
	f->rport = e->rport;
	f->pid = p->pid;
	f->start_boot = p->start;
	f->exe = p->exe ? p->exe : "";
}

/* What on_net knows about one connection, for each incident it raises. */
struct net_seen {
	const struct pr_net *e;
	struct pr_proc *p;
	const char *la, *ra, *what, *res, *exe;
	struct pr_net_rec net;
	uint64_t flow_id;
	int raised;
};

/* An incident of network index i; policy and severity override the
 * expectation's when set. */
static void net_raise(struct pr_consumer *c, struct net_seen *s, unsigned i, int why,
		      const char *expected, const char *policy, const char *severity)
{
	static struct violation viol;
	const struct pr_net *e = s->e;
	const struct pr_expectation *x = &c->policy->policy->exps[c->net->exp_of[i]];
	struct pr_flow_rec flow;
	struct pr_verdict v;

	if (e->op <= PR_NOP_SEND && e->lport && c->probes) {
		/* capture it (the kernel may not have judged it), or
		 * give the kernel's provisional capture this window */
		struct pr_flow_key k;
		uint64_t id;

		event_flow_key(e, &k);
		id = pr_probes_capture(c->probes, &k, s->p->pid, s->p->start, x->snaplen,
				       e->h.time + x->follow_ns);
		if (!s->flow_id)
			s->flow_id = id;
	}
	s->net.flow_id = s->raised ? 0 : s->flow_id;
	flow_rec(e, s->p, s->la, s->ra, "violation", s->flow_id, epoch(c, e->h.time), &flow);
	v.exp = x;
	v.kind = 0;
	v.expected = NULL;
	viol.kind = "network";
	viol.action = nop_name[e->op];
	viol.path = s->what;
	viol.time = e->h.time;
	viol.net = &s->net;
	viol.flow = s->flow_id && !s->raised ? &flow : NULL;
	viol.expected = expected;
	viol.policy = policy;
	viol.severity = severity;
	snprintf(viol.actual, sizeof(viol.actual), "%.3800s: %s %s (%s)", s->exe,
		 nop_name[e->op], s->what, s->res);
	c->net_rule = pr_netrules_rule_name(e->op, why);
	raise_incident(c, s->p, &v, &viol);
	c->net_rule = NULL;
	s->raised = 1;
	viol.net = NULL;
	viol.flow = NULL;
	viol.expected = NULL;
	viol.policy = NULL;
	viol.severity = NULL;
}

/* NetworkPolicies that all refused the traffic: one incident naming them
 * all ("NetworkPolicy/NS/A,NS/B"), the highest of their severities, the
 * first one's follow window and snaplen. */
static void net_raise_k8s(struct pr_consumer *c, struct net_seen *s, uint64_t refused)
{
	static char policy[PR_NET_EXPS_MAX * 320], expected[2048];
	const struct pr_policy *pol = c->policy->policy;
	const struct pr_net *e = s->e;
	enum pr_severity sev = PR_SEV_LOW;
	size_t po, eo = 0, n = 0;
	unsigned first = PR_NET_EXPS_MAX;
	char one[1024];

	po = (size_t)snprintf(policy, sizeof(policy), "NetworkPolicy/");
	expected[0] = '\0';
	for (unsigned i = 0; i < c->net->nexps && i < 64; i++) {
		const struct pr_expectation *x;

		if (!((refused >> i) & 1))
			continue;
		x = &pol->exps[c->net->exp_of[i]];
		first = first < i ? first : i;
		sev = x->severity > sev ? x->severity : sev;
		if (po < sizeof(policy))
			po += (size_t)snprintf(policy + po, sizeof(policy) - po, "%s%s", n ? "," : "",
					       x->k8s_ref ? x->k8s_ref : "?");
		pr_netrules_expected(c->net, pol, i, e->op, PR_NJ_NOT_ALLOWED, e->proto, e->family,
				     e->raddr, e->rport, e->lport, one, sizeof(one));
		if (eo < sizeof(expected))
			eo += (size_t)snprintf(expected + eo, sizeof(expected) - eo, "%s%s: %s",
					       n ? " | " : "", x->k8s_ref ? x->k8s_ref : "?", one);
		n++;
	}
	if (!n)
		return;
	/* every policy is named in full; their rules may not all fit */
	if (eo >= sizeof(expected))
		memcpy(expected + sizeof(expected) - sizeof(" (cut)"), " (cut)", sizeof(" (cut)"));
	net_raise(c, s, first, PR_NJ_NOT_ALLOWED, expected, policy, pr_severity_name(sev));
}

static int on_net(struct pr_consumer *c, const struct pr_net *e, size_t len)
{
	static struct judge_ctx j;
	struct net_seen s = {0};
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN], lep[64], rep[64], res[48];
	char what[160], expected[1024];
	const char *proto, *exe;
	struct pr_flow_rec flow;
	uint64_t flow_id = e->nflags & PR_NF_CAPTURE ? e->flow_id : 0, mask;
	int raised = 0;
	struct pr_proc *p;

	if (len < sizeof(*e) || e->op == 0 || e->op >= sizeof(nop_name) / sizeof(nop_name[0]) ||
	    (e->family != 4 && e->family != 6) ||
	    (e->proto != IPPROTO_TCP && e->proto != IPPROTO_UDP))
		return -1;
	p = pr_proctab_lookup(c->procs, e->h.tgid, e->h.start);
	if (!p)
		p = pr_proctab_adopt(c->procs, "/proc", e->h.tgid, e->h.start);
	if (!p)
		return 0;
	proto = e->proto == IPPROTO_TCP ? "tcp" : "udp";
	addr_text(e->family, e->laddr, la, sizeof(la));
	addr_text(e->family, e->raddr, ra, sizeof(ra));
	endpoint(e->family, la, e->lport, lep, sizeof(lep));
	endpoint(e->family, ra, e->rport, rep, sizeof(rep));
	result_text(e, res, sizeof(res));
	if (e->op == PR_NOP_ACCEPT)
		snprintf(what, sizeof(what), "%s %s <- %s", proto, lep, rep);
	else if (e->op == PR_NOP_BIND || e->op == PR_NOP_LISTEN)
		snprintf(what, sizeof(what), "%s %s", proto, lep);
	else
		snprintf(what, sizeof(what), "%s %s -> %s", proto, lep, rep);
	if (e->op <= PR_NOP_SEND && e->lport && e->rport) {
		struct pr_flow_key k;

		event_flow_key(e, &k);
		pr_proc_add_recent_flow(p, e->h.time, nop_recent[e->op], what, res, &k);
		c->event_raised = 0;
	} else {
		add_recent(c, p, e->h.time, nop_recent[e->op], what, res);
	}

	/* moved to another cgroup since its exec (a NetworkPolicy's subject
	 * is a cgroup): judge it where it is now, and tell the kernel */
	if (e->cgroup_id && (e->cgroup_id != p->cgroup_id || !p->cgroup || !p->cgroup[0])) {
		const char *cg = pr_cgroup_path(e->cgroup_id, pr_probes_cgroup_root(c->probes));
		char cid[65];

		p->cgroup_id = e->cgroup_id;
		if (cg) {
			pr_proc_set_str(&p->cgroup, cg, strlen(cg));
			if (pr_container_id(cg, cid))
				pr_proc_set_str(&p->container_id, cid, strlen(cid));
			else
				pr_proc_set_str(&p->container_id, "", 0);
			pr_consumer_verdict(c, p, p->exec_seq);
		}
	}
	/* user space judges (the kernel's verdict may predate the image's) */
	build_ctx(p, &j);
	mask = net_mask(c, &j);
	exe = p->exe && p->exe[0] ? p->exe : "(unknown image)";
	s.net.direction = e->op == PR_NOP_CONNECT || e->op == PR_NOP_SEND ? "egress" : "ingress";
	s.net.protocol = proto;
	if (e->op == PR_NOP_ACCEPT) {
		s.net.src = ra, s.net.sport = e->rport, s.net.dst = la, s.net.dport = e->lport;
	} else if (e->op == PR_NOP_BIND || e->op == PR_NOP_LISTEN) {
		s.net.src = "", s.net.sport = 0, s.net.dst = la, s.net.dport = e->lport;
	} else {
		s.net.src = la, s.net.sport = e->lport, s.net.dst = ra, s.net.dport = e->rport;
	}
	s.net.result = res;
	s.e = e, s.p = p, s.la = la, s.ra = ra, s.what = what, s.res = res, s.exe = exe;
	s.flow_id = flow_id;
	for (unsigned i = 0; mask && i < c->net->nexps; i++) {
		int why;

		if (!((mask >> i) & 1))
			continue;
		/* NetworkPolicies: judged together below */
		if (c->net->exps[i].flags & PR_NE_K8S)
			continue;
		why = pr_netrules_judge(c->net, i, e->op, e->proto, e->family, e->raddr, e->rport,
					e->lport);
		if (!why)
			continue;
		pr_netrules_expected(c->net, c->policy->policy, i, e->op, why, e->proto, e->family,
				     e->raddr, e->rport, e->lport, expected, sizeof(expected));
		net_raise(c, &s, i, why, expected, NULL, NULL);
	}
	if (mask)
		net_raise_k8s(c, &s, pr_netrules_k8s_refused(c->net, mask, e->op, e->proto,
							     e->family, e->raddr, e->rport,
							     e->lport));
	flow_id = s.flow_id;
	raised = s.raised;
	follow_last(c, p);
	if (!flow_id)
		return 0;
	if (raised) {
		flow_decide(flow_id, FLOW_CLAIMED);
		return 0;
	}
	/* a flow the kernel started for a followed process */
	if (p->follow_token && e->h.time <= p->follow_until) {
		flow_decide(flow_id, FLOW_CLAIMED);
		flow_rec(e, p, la, ra, "follow", flow_id, epoch(c, e->h.time), &flow);
		if (pr_writer_submit(c->writer, pr_job_flow(p->follow_token, &flow)))
			c->flows_dropped++;
		return 0;
	}
	/* provisional (the image was not judged yet) and nothing broke */
	flow_decide(flow_id, FLOW_REJECTED);
	if (!(e->nflags & PR_NF_PROVISIONAL))
		c->flows_orphaned++;
	if (c->probes && e->lport) {
		struct pr_flow_key k;

		event_flow_key(e, &k);
		pr_probes_uncapture(c->probes, &k);
	}
	return 0;
}

/* Packets of flows not decided yet (their connection event is still to
 * come: the SYN leaves before connect returns), held at most
 * PR_PROVISIONAL_NS, at most HELD_MAX of them. */
#define HELD_MAX 8192
struct held_pkt {
	struct pr_packet_rec r;
	uint64_t boot;
	uint8_t data[];
};
static struct held_pkt *held[HELD_MAX];
static size_t nheld;

static void batch_packet(struct pr_consumer *c, const struct pr_packet_rec *r)
{
	if (!c->pkts) {
		c->pkts = pr_job_packets();
		if (!c->pkts) {
			c->pkts_dropped++;
			return;
		}
	}
	if (pr_job_add_packet(c->pkts, r))
		c->pkts_dropped++;
}

static void hold_packet(struct pr_consumer *c, const struct pr_packet_rec *r, uint64_t boot)
{
	struct held_pkt *h;

	if (nheld == HELD_MAX) {
		c->pkts_dropped++; /* counted: it may have been evidence */
		return;
	}
	h = malloc(sizeof(*h) + r->caplen);
	if (!h) {
		c->pkts_dropped++;
		return;
	}
	h->r = *r;
	h->boot = boot;
	memcpy(h->data, r->data, r->caplen);
	h->r.data = h->data;
	held[nheld++] = h;
}

/* Held packets whose flow was decided go on (claimed) or away. */
static void release_held(struct pr_consumer *c, uint64_t now_boot)
{
	size_t k = 0;

	for (size_t i = 0; i < nheld; i++) {
		struct held_pkt *h = held[i];
		uint8_t st = flow_state(h->r.flow_id);

		if (st == FLOW_UNKNOWN && h->boot + PR_PROVISIONAL_NS > now_boot) {
			held[k++] = h;
			continue;
		}
		if (st == FLOW_CLAIMED)
			batch_packet(c, &h->r);
		else
			c->pkts_unclaimed++;
		free(h);
	}
	nheld = k;
}

static int on_pkt(struct pr_consumer *c, const struct pr_pkt *e, size_t len)
{
	struct pr_packet_rec r;

	if (len < sizeof(*e) || e->caplen == 0 || e->caplen > PR_SNAPLEN_MAX ||
	    e->caplen > len - sizeof(*e) || e->caplen > e->len || e->dir > PR_PKT_EGRESS)
		return -1;
	r.flow_id = e->flow_id;
	r.time = epoch(c, e->h.time);
	r.len = e->len;
	r.caplen = e->caplen;
	r.dir = e->dir;
	r.data = e->data;
	c->last_boot = e->h.time;
	switch (flow_state(e->flow_id)) {
	case FLOW_CLAIMED:
		batch_packet(c, &r);
		break;
	case FLOW_REJECTED:
		c->pkts_unclaimed++;
		break;
	default:
		hold_packet(c, &r, e->h.time);
	}
	if (pr_job_npackets(c->pkts) >= 1024)
		pr_consumer_flush(c, e->h.time);
	return 0;
}

void pr_consumer_flush(struct pr_consumer *c, uint64_t now_boot)
{
	size_t n;

	release_held(c, now_boot);
	if (!c->pkts)
		return;
	n = pr_job_npackets(c->pkts);
	/* a refused batch is counted by the writer (pr_writer_packets_dropped) */
	pr_writer_submit(c->writer, c->pkts);
	c->pkts = NULL;
	c->npackets += n;
}

/* ---- attacks on the recorder ---- */

static int on_guard(struct pr_consumer *c, const struct pr_guard *e, size_t len);

void pr_consumer_guard(struct pr_consumer *c, const struct pr_guard *g)
{
	on_guard(c, g, sizeof(*g));
}

static int on_guard(struct pr_consumer *c, const struct pr_guard *e, size_t len)
{
	static struct judge_ctx j;
	static struct violation viol;
	const struct pr_policy *pol = c->policy->policy;
	char what[128];
	const char *name;
	struct pr_proc *p;

	if (len < sizeof(*e) || (e->op != PR_GOP_SIGNAL && e->op != PR_GOP_PTRACE))
		return -1;
	p = pr_proctab_lookup(c->procs, e->h.tgid, e->h.start);
	if (!p)
		p = pr_proctab_adopt(c->procs, "/proc", e->h.tgid, e->h.start);
	if (!p)
		return 0;
	if (e->op == PR_GOP_SIGNAL) {
		name = e->arg > 0 && e->arg < 65 ? sigabbrev_np(e->arg) : NULL;
		snprintf(what, sizeof(what), "SIG%s to polrecd (%s %d)", name ? name : "?",
			 e->target == -1 ? "every process, kill" : "pid", e->target);
	} else {
		snprintf(what, sizeof(what), "ptrace %s of polrecd (pid %d)",
			 e->arg == 16 ? "attach" : "seize", e->target);
	}
	add_recent(c, p, e->h.time, e->op == PR_GOP_SIGNAL ? PR_RK_SIGNAL : PR_RK_PTRACE, what,
		   NULL);
	build_ctx(p, &j);
	for (size_t i = 0; i < pol->n; i++) {
		const struct pr_expectation *x = &pol->exps[i];
		struct pr_verdict v = { .exp = x };

		if (!(e->op == PR_GOP_SIGNAL ? x->guard_signals : x->guard_ptrace) ||
		    !pr_expectation_applies(x, &j.sc))
			continue;
		viol.kind = "recorder";
		viol.action = e->op == PR_GOP_SIGNAL ? "signal" : "ptrace";
		viol.path = what;
		viol.time = e->h.time;
		viol.expected = e->op == PR_GOP_SIGNAL ?
			"recorder.signals: polrecd is not stopped or killed by this subject" :
			"recorder.ptrace: polrecd is not traced by this subject";
		snprintf(viol.actual, sizeof(viol.actual), "%.3800s (uid %u) sent %s",
			 p->exe && p->exe[0] ? p->exe : "(unknown image)", e->uid, what);
		c->net_rule = e->op == PR_GOP_SIGNAL ? "recorder.signals" : "recorder.ptrace";
		raise_incident(c, p, &v, &viol);
		c->net_rule = NULL;
	}
	viol.expected = NULL;
	follow_last(c, p);
	return 0;
}

int pr_consume_event(void *ctx, void *data, size_t len)
{
	struct pr_consumer *c = ctx;
	const struct pr_hdr *h = data;
	int err = -1;

	if (len < sizeof(*h) || h->size > len) {
		c->malformed++;
		return 0;
	}
	if (h->type < PR_EV_TYPE_MAX)
		c->nevents[h->type]++;
	switch (h->type) {
	case PR_EV_FORK:
		err = on_fork(c, data, h->size);
		break;
	case PR_EV_EXEC:
		err = on_exec(c, data, h->size);
		break;
	case PR_EV_EXIT:
		err = on_exit_ev(c, data, h->size);
		break;
	case PR_EV_FILE:
		err = on_file(c, data, h->size);
		break;
	case PR_EV_NET:
		err = on_net(c, data, h->size);
		break;
	case PR_EV_PKT:
		err = on_pkt(c, data, h->size);
		break;
	case PR_EV_GUARD:
		err = on_guard(c, data, h->size);
		break;
	}
	if (err)
		c->malformed++;
	return 0;
}
