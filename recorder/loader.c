// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Probe loader: checks that we can load BPF at all (root, bpf(2), BTF,
 * tracefs), then opens, configures, loads and attaches the skeleton.
 * Failures end in one clear line; libbpf's own output shows only with -v.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <mntent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <limits.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "recorder/polrecd.h"
#include "polrec.skel.h"

#define TRACEFS "/sys/kernel/tracing"
#define CGROUP2_OWN "/run/polrec/cgroup2"  /* mounted here when the host has none */

struct pr_probes {
	struct polrec *skel;
	struct bpf_link *links[64];
	unsigned attached;
	int ncpus;
	int cgroup_fd;                 /* root of the cgroup v2 tree, for cgroup_skb */
	bool last_words_pinned;        /* the last_words map is pinned in bpffs */
	uint32_t ring_slots;           /* packet flight recorder, per CPU */
	uint32_t portsets_max;         /* net_portsets entries (fixed at load) */
	void *ring_buf;                /* its last read: slots x CPUs */
	uint32_t *ring_keys;
	char cgroup_root[256];
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!pr_verbose)
		return 0; /* the caller reports failures in one line */
	return vfprintf(stderr, fmt, ap);
}

static int ensure_tracefs(void)
{
	struct stat st;

	if (stat(TRACEFS "/events", &st) == 0)
		return 0;
	if (mkdir(TRACEFS, 0700) && errno != EEXIST) {
		pr_log("cannot create %s: %s", TRACEFS, strerror(errno));
		return -1;
	}
	if (mount("tracefs", TRACEFS, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		pr_log("cannot mount tracefs on %s: %s", TRACEFS, strerror(errno));
		return -1;
	}
	pr_log("mounted tracefs on %s", TRACEFS);
	return 0;
}

static int check_environment(void)
{
	struct stat st;

	if (geteuid() != 0) {
		pr_log("must run as root: loading probes needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN");
		return -1;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		pr_log("kernel BTF missing (/sys/kernel/btf/vmlinux): CO-RE probes need CONFIG_DEBUG_INFO_BTF=y");
		return -1;
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) <= 0 ||
	    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) <= 0) {
		pr_log("BPF unavailable: this kernel refuses tracepoint programs or ring buffers "
		       "(bpf(2) disabled, kernel.unprivileged_bpf_disabled, or a seccomp filter?)");
		return -1;
	}
	return ensure_tracefs();
}

/* Programs shared by several syscall tracepoints (SEC("tracepoint"),
 * attached here by name). */
static const char *const open_exits[] = {
	"sys_exit_open", "sys_exit_openat", "sys_exit_openat2", "sys_exit_creat", NULL,
};
static const char *const pending_exits[] = {
	"sys_exit_rename", "sys_exit_renameat", "sys_exit_renameat2",
	"sys_exit_unlink", "sys_exit_unlinkat",
	"sys_exit_chmod", "sys_exit_fchmodat", "sys_exit_fchmodat2", "sys_exit_fchmod",
	"sys_exit_chown", "sys_exit_lchown", "sys_exit_fchownat", "sys_exit_fchown",
	"sys_exit_truncate", "sys_exit_ftruncate", NULL,
};

static const char *const net_exits[] = {
	"sys_exit_connect", "sys_exit_accept", "sys_exit_accept4", "sys_exit_bind",
	"sys_exit_listen", "sys_exit_sendto", "sys_exit_sendmsg", "sys_exit_sendmmsg", NULL,
};

static const char *const *shared_tracepoints(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);

	if (!strcmp(name, "tracepoint__syscalls__sys_exit_net"))
		return net_exits;
	if (!strcmp(name, "tracepoint__syscalls__sys_exit_open_any"))
		return open_exits;
	if (!strcmp(name, "tracepoint__syscalls__sys_exit_pending"))
		return pending_exits;
	return NULL;
}

static int tracepoint_exists(const char *category, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s", category, name);
	return stat(path, &st) == 0;
}

static int add_link(struct pr_probes *p, struct bpf_link *link, const char *what)
{
	if (!link) {
		pr_log("cannot attach probe %s: %s", what, strerror(errno));
		return -1;
	}
	if (p->attached == sizeof(p->links) / sizeof(p->links[0])) {
		bpf_link__destroy(link);
		pr_log("too many probes for the loader's link table");
		return -1;
	}
	p->links[p->attached++] = link;
	return 0;
}

static int attach_all(struct pr_probes *p)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, p->skel->obj) {
		const char *const *tps = shared_tracepoints(prog);

		if (!bpf_program__autoload(prog))
			continue;
		if (bpf_program__type(prog) == BPF_PROG_TYPE_CGROUP_SKB) {
			if (add_link(p, bpf_program__attach_cgroup(prog, p->cgroup_fd),
				     bpf_program__section_name(prog)))
				return -1;
			continue;
		}
		if (!tps) {
			if (add_link(p, bpf_program__attach(prog), bpf_program__section_name(prog)))
				return -1;
			continue;
		}
		for (; *tps; tps++) {
			if (!tracepoint_exists("syscalls", *tps)) {
				pr_log("probe syscalls/%s not available on this kernel: its events are not recorded",
				       *tps);
				continue;
			}
			if (add_link(p, bpf_program__attach_tracepoint(prog, "syscalls", *tps), *tps))
				return -1;
		}
	}
	return 0;
}

/* A syscall tracepoint this kernel lacks (fchmodat2 before 6.6, say) is
 * not loaded; the start-up log names it. */
static void skip_missing_tracepoints(struct polrec *skel)
{
	struct bpf_program *prog;
	char path[512];
	struct stat st;

	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (strncmp(sec, "tracepoint/", 11))
			continue;
		snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + 11);
		if (stat(path, &st)) {
			bpf_program__set_autoload(prog, false);
			pr_log("probe %s not available on this kernel: its events are not recorded", sec + 11);
		}
	}
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* net_k8s: the NetworkPolicy expectations by direction, as bit masks
 * (key 0 egress, key 1 ingress); see probes/polrec.bpf.c. */
static int load_k8s_masks(struct pr_probes *p, const struct pr_netrules *nr)
{
	int fd = bpf_map__fd(p->skel->maps.net_k8s);
	uint64_t m[2] = { 0, 0 };

	for (uint32_t i = 0; i < nr->nexps && i < 64; i++) {
		if (!(nr->exps[i].flags & PR_NE_K8S))
			continue;
		if (nr->exps[i].flags & PR_NE_EGRESS)
			m[0] |= 1ull << i;
		if (nr->exps[i].flags & PR_NE_INGRESS)
			m[1] |= 1ull << i;
	}
	for (uint32_t k = 0; k < 2; k++)
		if (bpf_map_update_elem(fd, &k, &m[k], BPF_ANY))
			return -1;
	return 0;
}

/* The compiled network rules into net_exps, net_portsets and the
 * net_rules LPM trie (one update per entry: LPM tries have no batch
 * update). */
static int load_netrules(struct pr_probes *p, const struct pr_netrules *nr)
{
	int exps = bpf_map__fd(p->skel->maps.net_exps);
	int sets = bpf_map__fd(p->skel->maps.net_portsets);
	int rules = bpf_map__fd(p->skel->maps.net_rules);
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < nr->nexps; i++)
		if (bpf_map_update_elem(exps, &i, &nr->exps[i], BPF_ANY))
			goto fail;
	for (uint32_t i = 0; i < nr->nportsets; i++)
		if (bpf_map_update_elem(sets, &i, &nr->portsets[i], BPF_ANY))
			goto fail;
	for (size_t i = 0; i < nr->nentries; i++)
		if (bpf_map_update_elem(rules, &nr->keys[i], &nr->vals[i], BPF_NOEXIST))
			goto fail;
	if (load_k8s_masks(p, nr))
		goto fail;
	if (nr->nexps)
		pr_log("network rules loaded: %zu expectations, %zu LPM entries, %zu port sets "
		       "in %.3f s", nr->nexps, nr->nentries, nr->nportsets, secs_since(&t0));
	return 0;
fail:
	pr_log("cannot load the network rules into the kernel: %s", strerror(errno));
	return -1;
}

/* The root of the cgroup v2 tree: packet programs attached there see the
 * sockets of every process. Mounted privately when the host has none. */
static int open_cgroup2(struct pr_probes *p)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/self/mounts", "r");

	p->cgroup_root[0] = '\0';
	while (f && (m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(p->cgroup_root, sizeof(p->cgroup_root), "%s", m->mnt_dir);
			break;
		}
	}
	if (f)
		endmntent(f);
	if (!p->cgroup_root[0]) {
		mkdir("/run/polrec", 0700);
		if ((mkdir(CGROUP2_OWN, 0700) && errno != EEXIST) ||
		    mount("cgroup2", CGROUP2_OWN, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
			pr_log("no cgroup v2 tree and cannot mount one on %s: %s (packet capture "
			       "needs it)", CGROUP2_OWN, strerror(errno));
			return -1;
		}
		snprintf(p->cgroup_root, sizeof(p->cgroup_root), "%s", CGROUP2_OWN);
		pr_log("mounted cgroup2 on %s", CGROUP2_OWN);
	}
	p->cgroup_fd = open(p->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cgroup_fd < 0) {
		pr_log("cannot open the cgroup v2 root %s: %s", p->cgroup_root, strerror(errno));
		return -1;
	}
	return 0;
}

static uint32_t at_least_one(size_t n)
{
	return n ? (uint32_t)n : 1;
}

/* The last_words map pinned at path, so a SIGKILL's record outlives this
 * polrecd; a pin left by a killed one is reused (and read at start). A pin
 * of another layout (an older polrecd) is replaced, said in the log. No
 * bpffs under path's directory: not kept, said once. */
static void pin_last_words(struct pr_probes *p, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	struct statfs fs;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (statfs(slash && *dir ? dir : "/", &fs) || fs.f_type != BPF_FS_MAGIC) {
		pr_log("%s is not bpffs: a SIGKILL of polrecd is seen only as an unclean stop",
		       slash && *dir ? dir : "/");
		return;
	}
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* what libbpf checks before it reuses a pin */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(__u32) ||
		    info.value_size != sizeof(struct pr_last_words) || info.max_entries != 1 ||
		    info.map_flags != bpf_map__map_flags(p->skel->maps.last_words)) {
			pr_log("%s: a pinned map of another layout, replaced", path);
			if (unlink(path))
				pr_log("%s: cannot remove it: %s", path, strerror(errno));
		}
		close(fd);
	}
	if (bpf_map__set_pin_path(p->skel->maps.last_words, path))
		pr_log("%s: cannot pin the last words map: %s", path, strerror(errno));
	else
		p->last_words_pinned = true;
}

int pr_probes_last_words(struct pr_probes *p, struct pr_last_words *out)
{
	int fd = bpf_map__fd(p->skel->maps.last_words);
	struct pr_last_words zero = {0};
	uint32_t key = 0;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &key, out))
		return -1;
	if (!out->count)
		return 0;
	/* read: clear it, so the next start does not record it again */
	return bpf_map_update_elem(fd, &key, &zero, BPF_ANY) ? -1 : 1;
}

void pr_probes_unpin_last_words(struct pr_probes *p)
{
	if (p && p->last_words_pinned && !bpf_map__unpin(p->skel->maps.last_words, NULL))
		p->last_words_pinned = false;
}

struct pr_probes *pr_probes_open(uint32_t ring_bytes, const struct pr_netrules *nr,
				 uint32_t pkt_ring_slots, const char *last_words_pin)
{
	struct pr_probes *p;
	int err;

	libbpf_set_print(libbpf_print);
	if (check_environment())
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cgroup_fd = -1;
	p->ncpus = libbpf_num_possible_cpus();
	if (open_cgroup2(p))
		goto fail;
	p->skel = polrec__open();
	if (!p->skel) {
		pr_log("cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	p->skel->rodata->self_tgid = getpid();
	if (ring_bytes && bpf_map__set_max_entries(p->skel->maps.events, ring_bytes)) {
		pr_log("cannot size the ring buffer to %u bytes", ring_bytes);
		goto fail;
	}
	/* room for a reloaded policy: the LPM trie allocates per entry, so
	 * its limit costs nothing; port sets are preallocated */
	p->portsets_max = nr->nportsets * 2 > 1024 ? (uint32_t)nr->nportsets * 2 : 1024;
	if (bpf_map__set_max_entries(p->skel->maps.net_rules, PR_NET_RULES_MAX) ||
	    bpf_map__set_max_entries(p->skel->maps.net_portsets, p->portsets_max)) {
		pr_log("cannot size the network rule maps (%zu rules, %zu port sets)",
		       nr->nentries, nr->nportsets);
		goto fail;
	}
	/* flow ids stay unique across restarts: seconds since the epoch in
	 * the high bits, a counter below */
	p->skel->data->flow_next = ((uint64_t)time(NULL) << 20) + 1;
	p->skel->rodata->net_on = nr->nexps > 0;
	p->skel->rodata->ring_slots = pkt_ring_slots;
	p->ring_slots = pkt_ring_slots;
	if (bpf_map__set_max_entries(p->skel->maps.pkt_ring, at_least_one(pkt_ring_slots))) {
		pr_log("cannot size the packet flight recorder to %u slots", pkt_ring_slots);
		goto fail;
	}
	for (size_t i = 0; i < nr->nexps; i++)
		if (nr->exps[i].snaplen > p->skel->rodata->net_snaplen_max)
			p->skel->rodata->net_snaplen_max = nr->exps[i].snaplen;
	skip_missing_tracepoints(p->skel);
	if (last_words_pin)
		pin_last_words(p, last_words_pin);
	err = polrec__load(p->skel);
	if (err) {
		pr_log("cannot load probes into the kernel: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	if (load_netrules(p, nr) || attach_all(p))
		goto fail;
	return p;
fail:
	pr_probes_close(p);
	return NULL;
}

int pr_probes_ringbuf_fd(struct pr_probes *p)
{
	return bpf_map__fd(p->skel->maps.events);
}

unsigned pr_probes_attached(struct pr_probes *p)
{
	return p->attached;
}

const char *pr_probes_cgroup_root(const struct pr_probes *p)
{
	return p && p->cgroup_root[0] ? p->cgroup_root : "/sys/fs/cgroup";
}

int pr_probes_drops(struct pr_probes *p, uint64_t out[PR_EV_TYPE_MAX])
{
	uint64_t *vals;
	int fd = bpf_map__fd(p->skel->maps.drops);

	vals = calloc(p->ncpus, sizeof(*vals));
	if (!vals)
		return -1;
	for (uint32_t k = 0; k < PR_EV_TYPE_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			free(vals);
			return -1;
		}
		for (int c = 0; c < p->ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

void pr_probes_close(struct pr_probes *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->attached; i++)
		bpf_link__destroy(p->links[i]);
	polrec__destroy(p->skel);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	free(p->ring_buf);
	free(p->ring_keys);
	free(p);
}

/* Every directory ("/", "/etc/") that is a proper prefix of a watched
 * prefix: files there are watched or not by name, never cached by
 * directory. */
static int add_partial_dirs(struct pr_probes *p, const char *prefix, size_t len)
{
	int fd = bpf_map__fd(p->skel->maps.partial_dirs);
	struct pr_dir_key key;
	uint32_t one = 1;

	for (size_t i = 0; i + 1 < len; i++) {
		if (prefix[i] != '/')
			continue;
		memset(&key, 0, sizeof(key));
		memcpy(key.data, prefix, i + 1);
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY))
			return -1;
	}
	return 0;
}

int pr_probes_watch_prefixes(struct pr_probes *p, const struct pr_compiled *c)
{
	int fd = bpf_map__fd(p->skel->maps.watch_prefixes);
	struct pr_prefix_key key;
	uint32_t one = 1, n = 0;

	for (size_t i = 0; i < c->nrules; i++) {
		const struct pr_rule *r = &c->rules[i];
		size_t len = r->prefix_len;

		if (r->kind != PR_RULE_PROTECT)
			continue;
		if (++n > PR_PREFIXES_MAX) {
			pr_log("more than %u files.protect patterns: in-kernel write filter off",
			       PR_PREFIXES_MAX);
			return -1;
		}
		/* a longer prefix is cut: the filter lets more through, never less */
		if (len > PR_PREFIX_MAX)
			len = PR_PREFIX_MAX;
		memset(&key, 0, sizeof(key));
		key.prefixlen = len * 8;
		memcpy(key.data, r->pattern, len);
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY) ||
		    add_partial_dirs(p, r->pattern, len)) {
			pr_log("cannot load watched prefix: %s: in-kernel write filter off",
			       strerror(errno));
			return -1;
		}
	}
	p->skel->data->tree_gen++; /* forget cached directory decisions */
	return 0;
}

int pr_probes_set_verdict(struct pr_probes *p, uint32_t tgid, uint32_t seq, uint32_t flags,
			  uint64_t net)
{
	struct pr_task_verdict v = { .seq = seq, .flags = flags, .net = net };

	return bpf_map_update_elem(bpf_map__fd(p->skel->maps.verdicts), &tgid, &v, BPF_ANY);
}

void pr_probes_filter_on(struct pr_probes *p)
{
	p->skel->bss->filter_on = 1;
}

void pr_probes_filter_off(struct pr_probes *p)
{
	p->skel->bss->filter_on = 0;
}

int pr_probes_follow(struct pr_probes *p, uint32_t tgid, uint64_t start, uint64_t until,
		     uint32_t snaplen)
{
	struct pr_follow f = { .until = until, .start = start, .snaplen = snaplen };
	int fd = bpf_map__fd(p->skel->maps.follows);
	struct pr_follow old;

	/* a later incident of the same process may only extend the window */
	if (!bpf_map_lookup_elem(fd, &tgid, &old) && old.start == start) {
		if (old.until > f.until)
			f.until = old.until;
		if (old.snaplen > f.snaplen)
			f.snaplen = old.snaplen;
	}
	return bpf_map_update_elem(fd, &tgid, &f, BPF_ANY);
}

uint64_t pr_probes_capture(struct pr_probes *p, const struct pr_flow_key *k, uint32_t tgid,
			   uint64_t start, uint32_t snaplen, uint64_t until)
{
	struct pr_capture c = {
		.until = until, .tgid = tgid, .start = start,
		.snaplen = snaplen > PR_SNAPLEN_MAX ? PR_SNAPLEN_MAX : snaplen,
	};
	struct pr_capture old;
	int fd = bpf_map__fd(p->skel->maps.captures);

	if (!bpf_map_lookup_elem(fd, k, &old)) {
		/* the kernel got there first (provisionally): keep its flow
		 * id, take this window and snaplen */
		old.until = until;
		old.snaplen = c.snaplen;
		bpf_map_update_elem(fd, k, &old, BPF_EXIST);
		return old.flow_id;
	}
	c.flow_id = __atomic_fetch_add(&p->skel->data->flow_next, 1, __ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(fd, k, &c, BPF_NOEXIST))
		return 0;
	p->skel->bss->capture_on = 1;
	return c.flow_id;
}

/* Forget expired captures and follows; turn the packet programs' fast
 * path back on when nothing is captured. */
void pr_probes_capture_gc(struct pr_probes *p, uint64_t now_boot)
{
	int cfd = bpf_map__fd(p->skel->maps.captures), ffd = bpf_map__fd(p->skel->maps.follows);
	struct pr_flow_key k, next;
	struct pr_capture c;
	struct pr_follow f;
	uint32_t t, tn;
	int live = 0, have = 0;

	while (!bpf_map_get_next_key(cfd, have ? &k : NULL, &next)) {
		have = 1;
		k = next;
		if (bpf_map_lookup_elem(cfd, &k, &c))
			continue;
		if (c.until && c.until < now_boot)
			bpf_map_delete_elem(cfd, &k);
		else
			live++;
	}
	have = 0;
	while (!bpf_map_get_next_key(ffd, have ? &t : NULL, &tn)) {
		have = 1;
		t = tn;
		if (!bpf_map_lookup_elem(ffd, &t, &f) && f.until < now_boot)
			bpf_map_delete_elem(ffd, &t);
	}
	if (live || !p->skel->bss->capture_on)
		return;
	p->skel->bss->capture_on = 0;
	/* a flow registered meanwhile turned it on again, or is seen here */
	if (!bpf_map_get_next_key(cfd, NULL, &next))
		p->skel->bss->capture_on = 1;
}

void pr_probes_uncapture(struct pr_probes *p, const struct pr_flow_key *k)
{
	bpf_map_delete_elem(bpf_map__fd(p->skel->maps.captures), k);
}

/* Read the whole packet flight recorder (every slot of every CPU, one
 * batch syscall or a few) and hand each written slot to cb. */
int pr_probes_read_ring(struct pr_probes *p, void (*cb)(const struct pr_ring_slot *s, void *arg),
			void *arg)
{
	size_t vsz = (sizeof(struct pr_ring_slot) + 7) & ~(size_t)7;
	int fd = bpf_map__fd(p->skel->maps.pkt_ring);
	uint32_t done = 0, in = 0, out = 0;
	int first = 1;

	if (!p->ring_slots)
		return 0;
	if (!p->ring_buf) {
		p->ring_buf = malloc((size_t)p->ring_slots * p->ncpus * vsz);
		p->ring_keys = malloc((size_t)p->ring_slots * sizeof(uint32_t));
		if (!p->ring_buf || !p->ring_keys)
			return -1;
	}
	while (done < p->ring_slots) {
		uint32_t count = p->ring_slots - done;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, p->ring_keys + done,
					       (char *)p->ring_buf + (size_t)done * p->ncpus * vsz,
					       &count, NULL);

		done += count;
		if (err && errno != ENOENT)
			return -1;
		if (err)
			break;
		in = out;
		first = 0;
	}
	for (uint32_t i = 0; i < done; i++)
		for (int c = 0; c < p->ncpus; c++) {
			const struct pr_ring_slot *sl = (const void *)((char *)p->ring_buf +
							((size_t)i * p->ncpus + c) * vsz);

			if (sl->time && sl->caplen && sl->caplen <= PR_RING_SNAP &&
			    sl->caplen <= sl->len)
				cb(sl, arg);
		}
	return 0;
}

uint64_t pr_probes_flow_id(struct pr_probes *p)
{
	return __atomic_fetch_add(&p->skel->data->flow_next, 1, __ATOMIC_SEQ_CST);
}

/* ---- policy reload ----
 * New state goes in before old state goes out: during the swap the
 * kernel filter sends more, never less, and user space (which judges
 * every event) switches policies in one step. */

static int same_prefix_key(const struct pr_prefix_key *a, const struct pr_prefix_key *b)
{
	return a->prefixlen == b->prefixlen && !memcmp(a->data, b->data, a->prefixlen / 8);
}

int pr_probes_replace_prefixes(struct pr_probes *p, const struct pr_compiled *c)
{
	int fd = bpf_map__fd(p->skel->maps.watch_prefixes);
	struct pr_prefix_key *old = NULL, key, next;
	size_t nold = 0, cap = 0;
	int have = 0;

	/* remember what is there, then add the new ones */
	while (!bpf_map_get_next_key(fd, have ? &key : NULL, &next)) {
		have = 1;
		key = next;
		if (nold == cap) {
			struct pr_prefix_key *v;

			cap = cap ? 2 * cap : 64;
			v = realloc(old, cap * sizeof(*v));
			if (!v) {
				free(old);
				return -1;
			}
			old = v;
		}
		old[nold++] = key;
	}
	if (pr_probes_watch_prefixes(p, c)) {
		free(old);
		return -1;
	}
	for (size_t i = 0; i < nold; i++) {
		int keep = 0;

		for (size_t r = 0; r < c->nrules && !keep; r++) {
			const struct pr_rule *rule = &c->rules[r];
			struct pr_prefix_key k = {0};
			size_t len = rule->prefix_len > PR_PREFIX_MAX ? PR_PREFIX_MAX : rule->prefix_len;

			if (rule->kind != PR_RULE_PROTECT)
				continue;
			k.prefixlen = len * 8;
			memcpy(k.data, rule->pattern, len);
			keep = same_prefix_key(&k, &old[i]);
		}
		if (!keep)
			bpf_map_delete_elem(fd, &old[i]);
	}
	/* partial_dirs only ever grows: a stale entry costs a cache miss */
	p->skel->data->tree_gen++;
	free(old);
	return 0;
}

static int cmp_net_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pr_net_key));
}

int pr_probes_replace_netrules(struct pr_probes *p, const struct pr_netrules *old,
			       const struct pr_netrules *nr, char *err, size_t errlen)
{
	int exps = bpf_map__fd(p->skel->maps.net_exps);
	int sets = bpf_map__fd(p->skel->maps.net_portsets);
	int rules = bpf_map__fd(p->skel->maps.net_rules);
	struct pr_net_exp none = {0};

	if (nr->nportsets > p->portsets_max) {
		snprintf(err, errlen, "the new policy needs %zu network port sets, the running "
			 "probes hold %u: restart polrecd to load it", nr->nportsets,
			 p->portsets_max);
		return -1;
	}
	/* port sets are only referenced by rules: write them first */
	for (uint32_t i = 0; i < nr->nportsets; i++)
		if (bpf_map_update_elem(sets, &i, &nr->portsets[i], BPF_ANY))
			goto fail;
	for (size_t i = 0; i < nr->nentries; i++)
		if (bpf_map_update_elem(rules, &nr->keys[i], &nr->vals[i], BPF_ANY))
			goto fail;
	for (uint32_t i = 0; i < PR_NET_EXPS_MAX; i++)
		if (bpf_map_update_elem(exps, &i, i < nr->nexps ? &nr->exps[i] : &none, BPF_ANY))
			goto fail;
	if (load_k8s_masks(p, nr))
		goto fail;
	if (old && old->nentries) {
		struct pr_net_key *sorted = malloc(nr->nentries * sizeof(*sorted) + 1);

		if (!sorted)
			goto fail;
		memcpy(sorted, nr->keys, nr->nentries * sizeof(*sorted));
		qsort(sorted, nr->nentries, sizeof(*sorted), cmp_net_key);
		for (size_t i = 0; i < old->nentries; i++)
			if (!bsearch(&old->keys[i], sorted, nr->nentries, sizeof(*sorted),
				     cmp_net_key))
				bpf_map_delete_elem(rules, &old->keys[i]);
		free(sorted);
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot update the network rules in the kernel: %s", strerror(errno));
	return -1;
}

/* polrecd's threads, so that signals aimed at any of them are seen */
void pr_probes_self_tids(struct pr_probes *p)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)) && n < PR_SELF_TIDS) {
		char *end;
		unsigned long tid = strtoul(de->d_name, &end, 10);

		if (*end || !tid)
			continue;
		p->skel->bss->self_tids[n++] = (uint32_t)tid;
	}
	closedir(d);
}
