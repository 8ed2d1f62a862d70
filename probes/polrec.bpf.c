// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * polrec probes: process lifecycle (fork, exec, exit) and file writes.
 *
 * Only tracepoints and raw tracepoints: this kernel has no fentry, LSM or
 * kprobe attach (see DESIGN.md). Paths are resolved here, in the kernel,
 * from the struct file or directory the syscall used (dentry and mount
 * walk), never taken from the string the program passed, except for the
 * last component of rename/unlink/chmod/chown/truncate by name, which the
 * kernel does not hand to a tracepoint (the directory is still resolved
 * here; see README "Limits").
 *
 * Events leave through one ring buffer without waking user space
 * (BPF_RB_NO_WAKEUP) unless the ring holds more than PR_WAKEUP_BYTES; the
 * consumer polls every 10 ms. Every failed output is counted per CPU and
 * per event type in the drops map.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 self_tgid = 0;   /* polrecd itself: its writes are not events */
/* Set by user space once it has judged every running process: until then
 * every write-open is sent (see events.h, "in-kernel write filter"). */
volatile __u32 filter_on = 0;

#define AT_FDCWD_ (-100)
#define S_IFMT_   00170000
#define S_IFREG_  0100000
#define S_IFBLK_  0060000
#define FMODE_WRITE_ 0x2

/* Scratch space is per CPU: tracepoint programs do not sleep or migrate. */
#define PATHBUF_BYTES (2 * PR_PATH_MAX)
#define EVBUF_BYTES   (4 * PR_PATH_MAX + 1024)

struct pathbuf {
	char b[PATHBUF_BYTES];
};

struct evbuf {
	char b[EVBUF_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PR_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PR_EV_TYPE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pathbuf);
} pathbufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct evbuf);
} evbufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PR_PREFIXES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pr_prefix_key);
	__type(value, __u32);
} watch_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_TASKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} exec_seqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_TASKS_MAX);
	__type(key, __u32);
	__type(value, struct pr_task_verdict);
} verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_prefix_key);
} prefix_keys SEC(".maps");

/* Directories that are proper prefixes of a watched prefix ("/", "/etc/"
 * for "/etc/cron"): whether a file there is watched depends on its name,
 * so such directories are never cached. Key: NUL-padded path with '/'. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_PREFIXES_MAX * 4);
	__type(key, struct pr_dir_key);
	__type(value, __u32);
} partial_dirs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_dir_key);
} dir_keys SEC(".maps");

/* The decision for every file of a directory, by (mount, dentry): saves
 * the path walk of most write-opens. Stale after any rename (tree_gen). */
struct dcache_key {
	__u64 mnt;
	__u64 dentry;
};

struct dcache_val {
	__u64 gen;
	__u32 watched;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dcache_key);
	__type(value, struct dcache_val);
} dir_cache SEC(".maps");

/* Bumped by every successful rename (a directory may have moved) and by
 * user space when the watched prefixes change. */
volatile __u64 tree_gen = 1;

/* Arguments of a by-name file syscall, saved at sys_enter, used at sys_exit
 * when the syscall succeeded. */
struct pending {
	__u32 op;
	__s32 dfd, dfd2, fd;  /* fd >= 0: the fd form (fchmod, fchown, ftruncate) */
	__u64 name, name2;    /* user pointers */
	__u32 mode, owner, group, pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid: one syscall in flight per thread */
	__type(value, struct pending);
} pendings SEC(".maps");

static __always_inline void count_drop(__u32 type)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &type);

	if (n)
		*n += 1;
}

static __always_inline __u64 wakeup_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > PR_WAKEUP_BYTES ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* drop_slot: the drops counter a failed reserve counts in (the event type, or
 * PR_EV_FILE_OP for by-name file operations) */
static __always_inline void submit(void *ev, __u32 size, __u32 drop_slot)
{
	if (size > EVBUF_BYTES)
		size = EVBUF_BYTES;
	if (bpf_ringbuf_output(&events, ev, size, wakeup_flags()))
		count_drop(drop_slot);
}

static __always_inline __u64 task_start(struct task_struct *t)
{
	return BPF_CORE_READ(t, group_leader, start_boottime);
}

static __always_inline void fill_hdr(struct pr_hdr *h, __u32 type, struct task_struct *t)
{
	h->type = type;
	h->time = bpf_ktime_get_boot_ns();
	h->tgid = BPF_CORE_READ(t, tgid);
	h->flags = 0;
	h->start = task_start(t);
}

/* ---- path resolution ---------------------------------------------------
 * Components are written backwards into pathbuf, ending at
 * pathbuf[PR_PATH_MAX - 1] = NUL; walk.off is the index of the first byte
 * of the path. Crossing a mount goes to the mountpoint in the parent mount;
 * the walk ends at the root of the mount tree. */
struct walk {
	struct dentry *d;
	struct mount *mnt;
	struct dentry *mnt_root;
	__u32 off;
	__u32 trunc;
	__u32 name_off;  /* index of the '/' before the last component */
};

static __always_inline long walk_one(struct walk *w, const int note_name)
{
	/* locals: CO-RE relocations must not see struct walk itself */
	struct dentry *d = w->d;
	struct mount *mnt = w->mnt;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	const unsigned char *name;
	struct pathbuf *pb;
	__u32 zero = 0, len;

	if (d == w->mnt_root || d == parent) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);

		if (d != w->mnt_root || mp == mnt)
			return 1; /* the root of everything */
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		w->mnt_root = BPF_CORE_READ(mp, mnt.mnt_root);
		return 0;
	}
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len > 255)
		len = 255;
	if (w->off < len + 1) {
		w->trunc = 1;
		return 1;
	}
	pb = bpf_map_lookup_elem(&pathbufs, &zero);
	if (!pb)
		return 1;
	w->off -= len + 1;
	bpf_probe_read_kernel(&pb->b[(w->off + 1) & (PR_PATH_MAX - 1)], len & 0xff, name);
	pb->b[w->off & (PR_PATH_MAX - 1)] = '/';
	/* no counter here: a value that changes every iteration keeps the
	 * verifier from seeing the callback converge */
	if (note_name && w->name_off == PR_PATH_MAX - 1)
		w->name_off = w->off;
	w->d = parent;
	return 0;
}

static long walk_step(__u32 i, struct walk *w)
{
	return walk_one(w, 0);
}

/* the same, also noting where the last component starts: a separate
 * callback so that walks which do not need it stay simple to verify */
static long walk_step_name(__u32 i, struct walk *w)
{
	return walk_one(w, 1);
}

/* Resolve path into pathbuf; returns the offset of its first byte and sets
 * *trunc when it did not fit. */
static __always_inline __u32 resolve_path_dir(const struct path *path, __u32 *trunc,
						__u32 *name_off)
{
	struct pathbuf *pb;
	struct vfsmount *vmnt;
	struct walk w = {};
	__u32 zero = 0;

	pb = bpf_map_lookup_elem(&pathbufs, &zero);
	if (!pb)
		return PR_PATH_MAX - 1;
	pb->b[PR_PATH_MAX - 1] = '\0';
	vmnt = BPF_CORE_READ(path, mnt);
	w.d = BPF_CORE_READ(path, dentry);
	w.mnt = container_of(vmnt, struct mount, mnt);
	w.mnt_root = BPF_CORE_READ(vmnt, mnt_root);
	w.off = PR_PATH_MAX - 1;
	w.name_off = PR_PATH_MAX - 1;
	if (name_off)
		bpf_loop(PR_PATH_DEPTH, walk_step_name, &w, 0);
	else
		bpf_loop(PR_PATH_DEPTH, walk_step, &w, 0);
	if (!w.trunc) {
		/* did bpf_loop run out of iterations before the root? */
		struct dentry *d = w.d;
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (d != parent && d != w.mnt_root)
			w.trunc = 1;
	}
	if (w.off == PR_PATH_MAX - 1) {
		w.off--;
		pb->b[w.off & (PR_PATH_MAX - 1)] = '/';
	}
	*trunc = w.trunc;
	if (name_off)
		*name_off = w.name_off == PR_PATH_MAX - 1 ? w.off : w.name_off;
	return w.off;
}

static __always_inline __u32 resolve_path(const struct path *path, __u32 *trunc)
{
	return resolve_path_dir(path, trunc, NULL);
}

/* Copy the resolved path at pathbuf[off..] into ev->data at doff; returns
 * bytes written including the NUL. */
static __always_inline __u32 put_path(char *data, __u32 doff, __u32 off)
{
	struct pathbuf *pb;
	__u32 zero = 0, n;

	pb = bpf_map_lookup_elem(&pathbufs, &zero);
	if (!pb)
		return 0;
	off &= PR_PATH_MAX - 1;
	n = PR_PATH_MAX - off;
	if (n > PR_PATH_MAX)
		n = PR_PATH_MAX;
	if (doff > 3 * PR_PATH_MAX)
		return 0;
	bpf_probe_read_kernel(&data[doff], n, &pb->b[off]);
	return n;
}

static __always_inline struct file *fd_file(struct task_struct *t, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline struct evbuf *get_evbuf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&evbufs, &zero);
}

/* ---- the write filter ---- */

/* A child runs its parent's image: it inherits its exec count and verdict. */
static __always_inline void inherit_verdict(__u32 parent, __u32 child)
{
	struct pr_task_verdict *v = bpf_map_lookup_elem(&verdicts, &parent);
	__u32 *seq = bpf_map_lookup_elem(&exec_seqs, &parent);

	if (seq)
		bpf_map_update_elem(&exec_seqs, &child, seq, BPF_ANY);
	if (v)
		bpf_map_update_elem(&verdicts, &child, v, BPF_ANY);
}

static __always_inline __u32 next_exec_seq(__u32 tgid)
{
	__u32 one = 1, *seq = bpf_map_lookup_elem(&exec_seqs, &tgid);

	/* exec ends every other thread of the process first: no race here */
	if (seq)
		return ++*seq;
	/* if the map is full the count stays 0 and the process keeps the
	 * verdict of its parent: counted as a map failure */
	if (bpf_map_update_elem(&exec_seqs, &tgid, &one, BPF_ANY))
		count_drop(PR_EV_VERDICT);
	return 1;
}

static __always_inline int watched(__u32 tgid)
{
	struct pr_task_verdict *v = bpf_map_lookup_elem(&verdicts, &tgid);
	__u32 *seq = bpf_map_lookup_elem(&exec_seqs, &tgid);
	__u32 s = seq ? *seq : 0;

	if (!v)
		return s != 0; /* exec'd since start and not judged yet */
	return v->seq != s || (v->flags & PR_V_WATCH_WRITES);
}

/* Does the resolved path at pathbuf[off..] start with a watched prefix? */
static __always_inline int watched_path(__u32 off)
{
	struct pathbuf *pb;
	struct pr_prefix_key *k;
	__u32 zero = 0, n;

	pb = bpf_map_lookup_elem(&pathbufs, &zero);
	k = bpf_map_lookup_elem(&prefix_keys, &zero);
	if (!pb || !k)
		return 1;
	off &= PR_PATH_MAX - 1;
	n = PR_PATH_MAX - 1 - off; /* without the NUL */
	if (n > PR_PREFIX_MAX)
		n = PR_PREFIX_MAX;
	asm volatile("" : "+r"(n));
	n &= 2 * PR_PREFIX_MAX - 1;
	if (n > PR_PREFIX_MAX)
		return 1;
	k->prefixlen = n * 8;
	if (n)
		bpf_probe_read_kernel(k->data, n, &pb->b[off]);
	return bpf_map_lookup_elem(&watch_prefixes, k) != NULL;
}

/* Decide for the directory of the resolved path (pathbuf[off..name_off],
 * '/' included) and cache it, unless it depends on file names. */
static __always_inline void cache_dir(struct dcache_key *dk, __u32 off, __u32 name_off)
{
	struct pathbuf *pb;
	struct pr_prefix_key *k;
	struct pr_dir_key *pk;
	struct dcache_val v = { .gen = tree_gen };
	__u32 zero = 0, n;

	pb = bpf_map_lookup_elem(&pathbufs, &zero);
	k = bpf_map_lookup_elem(&prefix_keys, &zero);
	pk = bpf_map_lookup_elem(&dir_keys, &zero);
	if (!pb || !k || !pk)
		return;
	off &= PR_PATH_MAX - 1;
	name_off &= PR_PATH_MAX - 1;
	if (name_off < off)
		return;
	n = name_off - off + 1;
	if (n > PR_PREFIX_MAX)
		n = PR_PREFIX_MAX;
	asm volatile("" : "+r"(n));
	n &= 2 * PR_PREFIX_MAX - 1;
	if (n > PR_PREFIX_MAX || n == 0)
		return;
	k->prefixlen = n * 8;
	bpf_probe_read_kernel(k->data, n, &pb->b[off]);
	if (bpf_map_lookup_elem(&watch_prefixes, k)) {
		v.watched = 1;
	} else {
		for (int i = 0; i < PR_PREFIX_MAX / 8; i++)
			((__u64 *)pk->data)[i] = 0;
		bpf_probe_read_kernel(pk->data, n, &pb->b[off]);
		if (bpf_map_lookup_elem(&partial_dirs, pk))
			return;
	}
	bpf_map_update_elem(&dir_cache, dk, &v, BPF_ANY);
}

/* follow map: tgid -> the process's new flows are captured until `until`
 * (an incident's follow window); children inherit it at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_TASKS_MAX);
	__type(key, __u32);
	__type(value, struct pr_follow);
} follows SEC(".maps");

static __always_inline void inherit_follow(__u32 ptgid, __u64 pstart, __u32 tgid, __u64 start)
{
	struct pr_follow *f = bpf_map_lookup_elem(&follows, &ptgid);
	struct pr_follow c;

	if (!f || f->start != pstart || f->until < bpf_ktime_get_boot_ns())
		return;
	c = *f;
	c.start = start;
	bpf_map_update_elem(&follows, &tgid, &c, BPF_ANY);
}

/* ---- process lifecycle ---- */

SEC("raw_tp/sched_process_fork")
int BPF_PROG(raw_tp__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task_btf();
	struct pr_fork ev = {};

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a thread, not a process */
	ev.h.type = PR_EV_FORK;
	ev.h.size = sizeof(ev);
	ev.h.time = bpf_ktime_get_boot_ns();
	ev.h.tgid = BPF_CORE_READ(child, tgid);
	ev.h.start = BPF_CORE_READ(child, start_boottime);
	/* the creator is the task running the fork, also for CLONE_PARENT */
	ev.ptgid = BPF_CORE_READ(cur, tgid);
	ev.pstart = task_start(cur);
	inherit_verdict(ev.ptgid, ev.h.tgid);
	inherit_follow(ev.ptgid, ev.pstart, ev.h.tgid, ev.h.start);
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), wakeup_flags()))
		count_drop(PR_EV_FORK);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_tp__sched_process_exit, struct task_struct *t, bool group_dead)
{
	struct pr_exit ev = {};

	__u32 tgid;

	if (!group_dead)
		return 0;
	fill_hdr(&ev.h, PR_EV_EXIT, t);
	tgid = ev.h.tgid;
	bpf_map_delete_elem(&exec_seqs, &tgid);
	bpf_map_delete_elem(&verdicts, &tgid);
	bpf_map_delete_elem(&follows, &tgid);
	ev.h.size = sizeof(ev);
	ev.code = BPF_CORE_READ(t, exit_code);
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), wakeup_flags()))
		count_drop(PR_EV_EXIT);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(raw_tp__sched_process_exec, struct task_struct *t, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct evbuf *eb = get_evbuf();
	struct pr_exec *ev;
	struct file *exe;
	struct inode *ino;
	unsigned long as, ae;
	__u32 off, trunc = 0, n, doff = 0, alen;
	struct path pwd;

	if (!eb)
		return 0;
	ev = (struct pr_exec *)eb->b;
	fill_hdr(&ev->h, PR_EV_EXEC, t);
	ev->uid = BPF_CORE_READ(t, cred, uid.val);
	ev->gid = BPF_CORE_READ(t, cred, gid.val);
	ev->loginuid = BPF_CORE_READ(t, loginuid.val);
	ev->sessionid = BPF_CORE_READ(t, sessionid);
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->ptgid = BPF_CORE_READ(t, real_parent, tgid);
	ev->argc = BPF_CORE_READ(bprm, argc);
	ev->exec_seq = next_exec_seq(ev->h.tgid);

	exe = BPF_CORE_READ(bprm, file);
	ino = BPF_CORE_READ(exe, f_inode);
	ev->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	ev->exe_ino = BPF_CORE_READ(ino, i_ino);
	ev->exe_mtime_sec = BPF_CORE_READ(ino, i_mtime_sec);
	ev->exe_mtime_nsec = BPF_CORE_READ(ino, i_mtime_nsec);

	off = resolve_path(&exe->f_path, &trunc);
	n = put_path(ev->data, 0, off);
	ev->exe_len = n;
	if (trunc)
		ev->h.flags |= PR_F_PATH_TRUNC;
	doff = n;

	as = BPF_CORE_READ(t, mm, arg_start);
	ae = BPF_CORE_READ(t, mm, arg_end);
	alen = ae > as ? ae - as : 0;
	if (alen > PR_ARGV_MAX) {
		alen = PR_ARGV_MAX;
		ev->h.flags |= PR_F_ARGV_TRUNC;
	}
	if (doff > PR_PATH_MAX)
		return 0;
	/* keep clang from dropping the mask the verifier needs */
	asm volatile("" : "+r"(alen));
	alen &= 2 * PR_ARGV_MAX - 1;
	if (alen && bpf_probe_read_user(&ev->data[doff], alen, (void *)as))
		alen = 0;
	ev->argv_len = alen;
	doff += alen;

	pwd = BPF_CORE_READ(t, fs, pwd);
	trunc = 0;
	off = resolve_path(&pwd, &trunc);
	n = put_path(ev->data, doff, off);
	ev->cwd_len = n;
	if (trunc)
		ev->h.flags |= PR_F_CWD_TRUNC;
	doff += n;

	ev->h.size = sizeof(*ev) + doff;
	submit(ev, ev->h.size, PR_EV_EXEC);
	return 0;
}

/* ---- file writes ---- */

static __always_inline int interesting_inode(struct inode *ino)
{
	__u16 mode = BPF_CORE_READ(ino, i_mode) & S_IFMT_;

	/* regular files and block devices; not ttys, pipes, sockets, /dev/null */
	return mode == S_IFREG_ || mode == S_IFBLK_;
}

static __always_inline struct pr_file *file_event_start(struct evbuf *eb, struct task_struct *t,
							__u32 op)
{
	struct pr_file *ev = (struct pr_file *)eb->b;

	fill_hdr(&ev->h, PR_EV_FILE, t);
	ev->op = op;
	ev->uid = BPF_CORE_READ(t, cred, uid.val);
	ev->open_flags = 0;
	ev->mode = 0;
	ev->owner = ev->group = 0;
	ev->dev = ev->ino = 0;
	ev->path_len = ev->path2_len = ev->name_len = ev->name2_len = 0;
	return ev;
}

/* Resolve a struct file into ev (path + inode). Returns bytes used. */
static __always_inline __u32 put_file(struct pr_file *ev, struct file *f, __u32 doff, __u32 truncflag)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	__u32 trunc = 0, off;

	ev->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	ev->ino = BPF_CORE_READ(ino, i_ino);
	if (!ev->mode)
		ev->mode = BPF_CORE_READ(ino, i_mode);
	off = resolve_path(&f->f_path, &trunc);
	if (trunc)
		ev->h.flags |= truncflag;
	return put_path(ev->data, doff, off);
}

static __always_inline int on_open_exit(long ret)
{
	struct task_struct *t;
	struct evbuf *eb;
	struct pr_file *ev;
	struct inode *ino;
	struct file *f;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, off, trunc = 0, n;
	__u32 slot = PR_EV_FILE;

	if (ret < 0 || tgid == self_tgid)
		return 0;
	t = (struct task_struct *)bpf_get_current_task_btf();
	f = fd_file(t, (int)ret);
	if (!f || !(BPF_CORE_READ(f, f_mode) & FMODE_WRITE_))
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	if (!interesting_inode(ino))
		return 0;
	if (filter_on && !watched(tgid)) {
		struct dentry *dir = BPF_CORE_READ(f, f_path.dentry, d_parent);
		struct dcache_key dk = { .mnt = (__u64)BPF_CORE_READ(f, f_path.mnt),
					 .dentry = (__u64)dir };
		struct dcache_val *cv = bpf_map_lookup_elem(&dir_cache, &dk);
		__u32 name_off;

		if (cv && cv->gen == tree_gen && !cv->watched)
			return 0; /* decided here, without a walk */
		off = resolve_path_dir(&f->f_path, &trunc, &name_off);
		if (!cv || cv->gen != tree_gen)
			cache_dir(&dk, off, name_off);
		if (!watched_path(off))
			return 0;
	} else {
		off = resolve_path(&f->f_path, &trunc);
		/* only to count a loss apart: the process sends every write */
		if (filter_on && !watched_path(off))
			slot = PR_EV_FILE_ELSEWHERE;
	}
	eb = get_evbuf();
	if (!eb)
		return 0;
	ev = file_event_start(eb, t, PR_FOP_OPEN_WRITE);
	ev->open_flags = BPF_CORE_READ(f, f_flags);
	ev->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	ev->ino = BPF_CORE_READ(ino, i_ino);
	ev->mode = BPF_CORE_READ(ino, i_mode);
	if (trunc)
		ev->h.flags |= PR_F_PATH_TRUNC;
	n = put_path(ev->data, 0, off);
	ev->path_len = n;
	ev->h.size = sizeof(*ev) + n;
	submit(ev, ev->h.size, slot);
	return 0;
}

/* One program for every open-like syscall exit: the loader attaches it to
 * sys_exit_open, openat, openat2 and creat (verified once, not four times). */
SEC("tracepoint")
int tracepoint__syscalls__sys_exit_open_any(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret);
}

/* By-name and by-fd operations: save at enter, emit at a successful exit. */
static __always_inline int save_pending(__u32 op, int fd, int dfd, const void *name,
					int dfd2, const void *name2,
					__u32 mode, __u32 owner, __u32 group)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending p = {
		.op = op, .fd = fd, .dfd = dfd, .dfd2 = dfd2,
		.name = (__u64)name, .name2 = (__u64)name2,
		.mode = mode, .owner = owner, .group = group,
	};

	if ((id >> 32) == self_tgid)
		return 0;
	if (bpf_map_update_elem(&pendings, &id, &p, BPF_ANY))
		count_drop(PR_EV_FILE_OP);
	return 0;
}

/* Directory of a by-name argument: the dirfd's file or the cwd. Writes the
 * directory path (or "" for an absolute name) then the name itself. */
static __always_inline __u32 put_dir_name(struct task_struct *t, struct pr_file *ev, __u32 doff,
					  int dfd, __u64 uname, __u16 *dir_len, __u16 *name_len,
					  __u32 truncflag)
{
	char first = 0;
	__u32 n = 0, off, trunc = 0;
	long m;

	bpf_probe_read_user(&first, 1, (void *)uname);
	if (doff > 2 * PR_PATH_MAX)
		return 0;
	if (first == '/') {
		ev->data[doff] = '\0';
		n = 1;
	} else if (dfd == AT_FDCWD_) {
		struct path pwd = BPF_CORE_READ(t, fs, pwd);

		off = resolve_path(&pwd, &trunc);
		n = put_path(ev->data, doff, off);
	} else {
		struct file *f = fd_file(t, dfd);

		if (f) {
			off = resolve_path(&f->f_path, &trunc);
			n = put_path(ev->data, doff, off);
		}
	}
	if (trunc)
		ev->h.flags |= truncflag;
	*dir_len = n;
	doff += n;
	if (doff > 3 * PR_PATH_MAX)
		return n;
	m = bpf_probe_read_user_str(&ev->data[doff], PR_NAME_MAX, (void *)uname);
	if (m < 0)
		m = 0;
	*name_len = m;
	return n + m;
}

static __always_inline int on_pending_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pendings, &id);
	struct task_struct *t;
	struct evbuf *eb;
	struct pr_file *ev;
	__u32 doff = 0, n;
	__u16 dl = 0, nl = 0;

	if (!p)
		return 0;
	if (ret < 0)
		goto out;
	if (p->op == PR_FOP_RENAME)
		__sync_fetch_and_add(&tree_gen, 1); /* a directory may have moved */
	eb = get_evbuf();
	if (!eb)
		goto out;
	t = (struct task_struct *)bpf_get_current_task_btf();
	ev = file_event_start(eb, t, p->op);
	ev->mode = p->mode;
	ev->owner = p->owner;
	ev->group = p->group;
	if (p->fd >= 0) {
		struct file *f = fd_file(t, p->fd);

		if (!f || !interesting_inode(BPF_CORE_READ(f, f_inode)))
			goto out;
		n = put_file(ev, f, 0, PR_F_PATH_TRUNC);
		ev->path_len = n;
		doff = n;
	} else if (p->op == PR_FOP_RENAME) {
		/* path/name = the new name, path2/name2 = the old one */
		n = put_dir_name(t, ev, 0, p->dfd2, p->name2, &dl, &nl, PR_F_PATH_TRUNC);
		ev->path_len = dl;
		ev->name_len = nl;
		ev->h.flags |= PR_F_NAME_REL;
		doff = n;
		dl = nl = 0;
		n = put_dir_name(t, ev, doff, p->dfd, p->name, &dl, &nl, PR_F_PATH2_TRUNC);
		ev->path2_len = dl;
		ev->name2_len = nl;
		ev->h.flags |= PR_F_NAME2_REL;
		doff += n;
	} else {
		n = put_dir_name(t, ev, 0, p->dfd, p->name, &dl, &nl, PR_F_PATH_TRUNC);
		ev->path_len = dl;
		ev->name_len = nl;
		ev->h.flags |= PR_F_NAME_REL;
		doff = n;
	}
	ev->h.size = sizeof(*ev) + doff;
	submit(ev, ev->h.size, PR_EV_FILE_OP); /* an event of type PR_EV_FILE */
out:
	bpf_map_delete_elem(&pendings, &id);
	return 0;
}

#define ARG(i) ((const void *)ctx->args[i])

SEC("tracepoint/syscalls/sys_enter_rename")
int tracepoint__syscalls__sys_enter_rename(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_RENAME, -1, AT_FDCWD_, ARG(0), AT_FDCWD_, ARG(1), 0, 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int tracepoint__syscalls__sys_enter_renameat(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_RENAME, -1, ctx->args[0], ARG(1), ctx->args[2], ARG(3), 0, 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int tracepoint__syscalls__sys_enter_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_RENAME, -1, ctx->args[0], ARG(1), ctx->args[2], ARG(3), 0, 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int tracepoint__syscalls__sys_enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_UNLINK, -1, AT_FDCWD_, ARG(0), 0, 0, 0, 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int tracepoint__syscalls__sys_enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_UNLINK, -1, ctx->args[0], ARG(1), 0, 0, 0, 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_chmod")
int tracepoint__syscalls__sys_enter_chmod(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHMOD, -1, AT_FDCWD_, ARG(0), 0, 0, ctx->args[1], 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int tracepoint__syscalls__sys_enter_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHMOD, -1, ctx->args[0], ARG(1), 0, 0, ctx->args[2], 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int tracepoint__syscalls__sys_enter_fchmodat2(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHMOD, -1, ctx->args[0], ARG(1), 0, 0, ctx->args[2], 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_fchmod")
int tracepoint__syscalls__sys_enter_fchmod(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHMOD, ctx->args[0], 0, 0, 0, 0, ctx->args[1], 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_chown")
int tracepoint__syscalls__sys_enter_chown(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHOWN, -1, AT_FDCWD_, ARG(0), 0, 0, 0, ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_lchown")
int tracepoint__syscalls__sys_enter_lchown(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHOWN, -1, AT_FDCWD_, ARG(0), 0, 0, 0, ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_fchownat")
int tracepoint__syscalls__sys_enter_fchownat(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHOWN, -1, ctx->args[0], ARG(1), 0, 0, 0, ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_fchown")
int tracepoint__syscalls__sys_enter_fchown(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_CHOWN, ctx->args[0], 0, 0, 0, 0, 0, ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_truncate")
int tracepoint__syscalls__sys_enter_truncate(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_TRUNCATE, -1, AT_FDCWD_, ARG(0), 0, 0, 0, 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_ftruncate")
int tracepoint__syscalls__sys_enter_ftruncate(struct trace_event_raw_sys_enter *ctx)
{
	return save_pending(PR_FOP_TRUNCATE, ctx->args[0], 0, 0, 0, 0, 0, 0, 0);
}

/* One program for the exits of every syscall saved above: the loader
 * attaches it to each sys_exit_<name> whose sys_enter_<name> is here. */
SEC("tracepoint")
int tracepoint__syscalls__sys_exit_pending(struct trace_event_raw_sys_exit *ctx)
{
	return on_pending_exit(ctx->ret);
}

/* ---- network: connections -------------------------------------------
 * connect, accept, bind, listen and UDP sends to a new destination, from
 * syscall tracepoints: the sys_enter program saves the arguments (fd,
 * destination), the shared sys_exit program reads the socket the fd names
 * (local address and port, as bound when the syscall returns) and sends
 * one struct pr_net with the syscall's result.
 *
 * The kernel judges each connection against the process's network
 * expectations (verdicts.net, set by user space) with the net_rules LPM
 * trie. It does not decide incidents, user space does; it decides at once
 * whether to start capturing the flow's packets (broken expectation, or a
 * process followed after an incident), so the first packets of a
 * violating connection (the SYN, the first datagram) are kept. At
 * sys_enter the local port may not be bound yet: the flow is registered
 * with lport 0 and laddr unspecified ("half" key), and the first egress
 * packet (which carries the local port) completes it. */

#define AF_INET_  2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define S_IFSOCK_ 0140000

/* Set by the loader: the policy has network expectations, and the
 * largest snaplen among them (for flows of processes not judged yet). */
const volatile __u32 net_on = 0;
const volatile __u32 net_snaplen_max = 0;

/* Set by user space at start: flow ids stay unique across restarts. */
volatile __u64 flow_next = 1;
/* Nonzero while any flow may be captured: the packet programs return at
 * once otherwise. Set here when a flow is registered, cleared by user
 * space when the captures map is empty. */
volatile __u32 capture_on = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);           /* sized by the loader from the policy */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pr_net_key);
	__type(value, struct pr_net_val);
} net_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PR_NET_EXPS_MAX);
	__type(key, __u32);
	__type(value, struct pr_net_exp);
} net_exps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);           /* sized by the loader from the policy */
	__type(key, __u32);
	__type(value, struct pr_portset);
} net_portsets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_CAPTURE_MAX);
	__type(key, struct pr_flow_key);
	__type(value, struct pr_capture);
} captures SEC(".maps");

struct udp_seen_key {
	__u32 tgid;
	__u32 seq;            /* exec count: a new image is judged anew */
	__u16 port;
	__u8 family;
	__u8 pad;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PR_UDP_SEEN_MAX);
	__type(key, struct udp_seen_key);
	__type(value, __u8);
} udp_seen SEC(".maps");

struct net_pending {
	__u8 op, family, proto, nflags;
	__s32 fd;
	__u16 rport;
	__u16 pad;
	__u32 snaplen;
	__u8 raddr[16];
	__u64 broken;
	__u64 flow_id;        /* nonzero: a half key was registered */
	__u64 until;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid */
	__type(value, struct net_pending);
} net_pendings SEC(".maps");

struct pktbuf {
	__u8 b[sizeof(struct pr_pkt) + PR_SNAPLEN_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pktbuf);
} pktbufs SEC(".maps");

static __always_inline struct sock *fd_sock(struct task_struct *t, int fd)
{
	struct file *f = fd_file(t, fd);
	struct socket *sock;

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT_) != S_IFSOCK_)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* ::ffff:a.b.c.d is IPv4 a.b.c.d, as the packets on the wire are. */
static __always_inline void norm_addr(__u8 *family, __u8 *a)
{
	__u32 *w = (__u32 *)a;

	if (*family != 6 || w[0] || w[1] || w[2] != bpf_htonl(0xffff))
		return;
	w[0] = w[3];
	w[2] = 0;
	w[3] = 0;
	*family = 4;
}

/* The socket's protocol, 0 unless TCP or UDP over IPv4/IPv6. */
static __always_inline __u8 sock_proto(struct sock *sk)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);

	if (fam != AF_INET_ && fam != AF_INET6_)
		return 0;
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ ? proto : 0;
}

static __always_inline void sock_local(struct sock *sk, __u8 *family, __u8 *addr, __u16 *port)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(addr, 0, 16);
	if (fam == AF_INET_) {
		*family = 4;
		BPF_CORE_READ_INTO((__u32 *)addr, sk, __sk_common.skc_rcv_saddr);
	} else {
		*family = 6;
		BPF_CORE_READ_INTO((struct in6_addr *)addr, sk, __sk_common.skc_v6_rcv_saddr);
		norm_addr(family, addr);
	}
	*port = BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline void sock_remote(struct sock *sk, __u8 *family, __u8 *addr, __u16 *port)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(addr, 0, 16);
	if (fam == AF_INET_) {
		*family = 4;
		BPF_CORE_READ_INTO((__u32 *)addr, sk, __sk_common.skc_daddr);
	} else {
		*family = 6;
		BPF_CORE_READ_INTO((struct in6_addr *)addr, sk, __sk_common.skc_v6_daddr);
		norm_addr(family, addr);
	}
	*port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/* A user sockaddr: 0 when it is AF_INET/AF_INET6 and readable. */
static __always_inline int user_sockaddr(const void *uaddr, __u8 *family, __u8 *addr, __u16 *port)
{
	struct sockaddr_in6 sa6 = {};
	__u16 fam = 0;

	if (!uaddr || bpf_probe_read_user(&fam, sizeof(fam), uaddr))
		return -1;
	__builtin_memset(addr, 0, 16);
	if (fam == AF_INET_) {
		struct sockaddr_in sa = {};

		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
			return -1;
		*family = 4;
		__builtin_memcpy(addr, &sa.sin_addr, 4);
		*port = bpf_ntohs(sa.sin_port);
		return 0;
	}
	if (fam != AF_INET6_ || bpf_probe_read_user(&sa6, sizeof(sa6), uaddr))
		return -1;
	*family = 6;
	__builtin_memcpy(addr, &sa6.sin6_addr, 16);
	*port = bpf_ntohs(sa6.sin6_port);
	norm_addr(family, addr);
	return 0;
}

/* The network expectations of the current image of tgid; *judged = 0 when
 * user space has not judged this image yet. */
static __always_inline __u64 net_mask(__u32 tgid, int *judged)
{
	struct pr_task_verdict *v = bpf_map_lookup_elem(&verdicts, &tgid);
	__u32 *seq = bpf_map_lookup_elem(&exec_seqs, &tgid);
	__u32 s = seq ? *seq : 0;

	if (!v) {
		*judged = s == 0;
		return 0;
	}
	*judged = v->seq == s;
	return *judged ? v->net : 0;
}

static __always_inline int portset_has(__u32 idx, __u8 proto, __u16 port)
{
	struct pr_portset *s = bpf_map_lookup_elem(&net_portsets, &idx);

	if (!s)
		return 0;
	if (s->any)
		return 1;
	for (__u32 i = 0; i < PR_NET_PORTS_MAX; i++) {
		if (i >= s->n)
			break;
		if (s->r[i].proto == proto && s->r[i].lo <= port && port <= s->r[i].hi)
			return 1;
	}
	return 0;
}

struct judge_args {
	__u64 mask, broken;
	__u8 op, proto, family, pad;
	__u16 rport, lport;
	__u8 addr[16];
	__u32 snaplen;        /* largest snaplen of the broken expectations */
	__u32 pad2;
	__u64 follow_ns;      /* longest follow window of the broken ones */
};

/* The NetworkPolicy expectations (PR_NE_K8S) by direction: key 0 the bits
 * of those with Egress, key 1 with Ingress; written by user space with
 * net_exps (load and reload). Judged after the loop, as masks: branches in
 * judge_one multiply the verifier's work (start-up took seconds more). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} net_k8s SEC(".maps");

static __always_inline int rule_has(struct judge_args *a, __u32 i, __u8 table, __u16 port)
{
	struct pr_net_key k = {};
	struct pr_net_val *v;

	k.prefixlen = 32 + (a->family == 4 ? 32 : 128);
	k.exp = i;
	k.table = table;
	k.family = a->family;
	__builtin_memcpy(k.addr, a->addr, 16);
	v = bpf_map_lookup_elem(&net_rules, &k);
	return v && portset_has(v->portset, a->proto, port);
}

/* The same decision as pr_netrules_judge (recorder/netrules.c). */
static long judge_one(__u32 i, struct judge_args *a)
{
	struct pr_net_exp *e;
	int broken = 0;

	if (i >= PR_NET_EXPS_MAX || !(a->mask >> i))
		return 1;
	if (!((a->mask >> i) & 1))
		return 0;
	e = bpf_map_lookup_elem(&net_exps, &i);
	if (!e)
		return 0;
	switch (a->op) {
	case PR_NOP_CONNECT:
	case PR_NOP_SEND:
		if ((e->flags & PR_NE_DENY) && rule_has(a, i, PR_NT_EGRESS_DENY, a->rport))
			broken = 1;
		else if ((e->flags & PR_NE_EGRESS) && !rule_has(a, i, PR_NT_EGRESS, a->rport))
			broken = 1;
		break;
	case PR_NOP_ACCEPT:
		broken = (e->flags & PR_NE_INGRESS) && !rule_has(a, i, PR_NT_INGRESS, a->lport);
		break;
	case PR_NOP_BIND:
		if (a->proto != IPPROTO_UDP_)
			break; /* TCP: judged at listen */
		/* fall through */
	case PR_NOP_LISTEN:
		broken = (e->flags & PR_NE_INGRESS) && !portset_has(e->serve, a->proto, a->lport);
		break;
	}
	if (broken) {
		a->broken |= 1ull << i;
		if (e->snaplen > a->snaplen)
			a->snaplen = e->snaplen;
		if (e->follow_ns > a->follow_ns)
			a->follow_ns = e->follow_ns;
	}
	return 0;
}

/* Start capturing a flow: returns its id, 0 when the map is full (the
 * event still reports the connection; the packets are not kept). */
static __always_inline __u64 capture_flow(const struct pr_flow_key *k, __u32 tgid, __u64 start,
					  __u32 snaplen, __u64 until)
{
	struct pr_capture c = {};

	c.flow_id = __sync_fetch_and_add(&flow_next, 1);
	c.until = until;
	c.tgid = tgid;
	c.start = start;
	c.snaplen = snaplen > PR_SNAPLEN_MAX ? PR_SNAPLEN_MAX : snaplen;
	if (bpf_map_update_elem(&captures, k, &c, BPF_ANY)) {
		count_drop(PR_EV_PKT);
		return 0;
	}
	capture_on = 1;
	return c.flow_id;
}

/* Judge and decide on capture; fills p (broken, nflags, snaplen, until). */
static __always_inline void net_decide(struct net_pending *p, __u32 tgid, __u64 start,
				       __u16 lport)
{
	struct judge_args a = {};
	struct pr_follow *f;
	__u64 now = bpf_ktime_get_boot_ns();
	int judged = 0;

	a.mask = net_mask(tgid, &judged);
	a.op = p->op;
	a.proto = p->proto;
	a.family = p->family;
	a.rport = p->rport;
	a.lport = lport;
	__builtin_memcpy(a.addr, p->raddr, 16);
	if (a.mask)
		bpf_loop(PR_NET_EXPS_MAX, judge_one, &a, 0);
	/* NetworkPolicies are additive (Kubernetes): one that selects the
	 * process for this direction and allowed the traffic clears them all */
	if (a.broken && (a.op == PR_NOP_CONNECT || a.op == PR_NOP_SEND || a.op == PR_NOP_ACCEPT)) {
		__u32 dir = a.op == PR_NOP_ACCEPT;
		__u64 *k = bpf_map_lookup_elem(&net_k8s, &dir);
		__u64 sel = k ? *k & a.mask : 0;

		if (sel & ~a.broken)
			a.broken &= ~sel;
	}
	p->broken = a.broken;
	p->nflags = judged ? PR_NF_JUDGED : 0;
	if (a.broken) {
		p->snaplen = a.snaplen;
		p->until = now + a.follow_ns;
		return;
	}
	f = bpf_map_lookup_elem(&follows, &tgid);
	if (f && f->start == start && f->until > now) {
		p->nflags |= PR_NF_FOLLOW;
		p->snaplen = f->snaplen;
		p->until = f->until;
		return;
	}
	/* an image exec'd a moment ago: user space judges it within a poll
	 * period, usually after its first connection. Capture provisionally
	 * so a violation keeps its first packets; user space drops the flow
	 * when it finds none. */
	if (!judged && net_on) {
		p->nflags |= PR_NF_PROVISIONAL;
		p->snaplen = net_snaplen_max;
		p->until = now + PR_PROVISIONAL_NS;
	}
}

static __always_inline int wants_capture(const struct net_pending *p)
{
	return p->op <= PR_NOP_SEND &&
	       (p->broken || (p->nflags & (PR_NF_FOLLOW | PR_NF_PROVISIONAL)));
}

static __always_inline void flow_key(struct pr_flow_key *k, const struct net_pending *p,
				     const __u8 *laddr, __u16 lport)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->proto = p->proto;
	k->rport = p->rport;
	k->lport = lport;
	__builtin_memcpy(k->raddr, p->raddr, 16);
	if (laddr)
		__builtin_memcpy(k->laddr, laddr, 16);
}

/* sys_enter of connect / sendto / sendmsg: dst is the user's sockaddr. */
static __always_inline int net_enter(__u8 op, int fd, const void *uaddr)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	struct net_pending p = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u64 start;
	struct sock *sk;

	if (tgid == self_tgid)
		return 0;
	/* a send without an address (a connected socket): its connect was
	 * the event; the common case of a flood, so decided first */
	if (op == PR_NOP_SEND && !uaddr)
		return 0;
	sk = fd_sock(t, fd);
	if (!sk)
		return 0;
	p.proto = sock_proto(sk);
	if (!p.proto)
		return 0;
	p.op = op;
	p.fd = fd;
	if (op == PR_NOP_ACCEPT || op == PR_NOP_LISTEN) {
		if (op == PR_NOP_LISTEN && p.proto != IPPROTO_TCP_)
			return 0;
	} else if (user_sockaddr(uaddr, &p.family, p.raddr, &p.rport)) {
		return 0;
	}
	if (op == PR_NOP_SEND) {
		struct udp_seen_key uk = {};
		__u32 *seq = bpf_map_lookup_elem(&exec_seqs, &tgid);
		__u8 one = 1;

		if (p.proto != IPPROTO_UDP_)
			return 0;
		uk.tgid = tgid;
		uk.seq = seq ? *seq : 0;
		uk.port = p.rport;
		uk.family = p.family;
		__builtin_memcpy(uk.addr, p.raddr, 16);
		if (bpf_map_lookup_elem(&udp_seen, &uk))
			return 0; /* not a new destination */
		bpf_map_update_elem(&udp_seen, &uk, &one, BPF_ANY);
	}
	start = task_start(t);
	if (op == PR_NOP_CONNECT || op == PR_NOP_SEND) {
		net_decide(&p, tgid, start, 0);
		if (wants_capture(&p)) {
			struct pr_flow_key k;

			/* the half key: completed by the first egress packet */
			flow_key(&k, &p, NULL, 0);
			p.flow_id = capture_flow(&k, tgid, start, p.snaplen, p.until);
		}
	}
	if (bpf_map_update_elem(&net_pendings, &id, &p, BPF_ANY))
		count_drop(PR_EV_NET);
	return 0;
}

static __always_inline int net_exit(long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	struct net_pending *pp = bpf_map_lookup_elem(&net_pendings, &id);
	struct net_pending p;
	struct pr_net ev = {};
	struct pr_flow_key k;
	struct sock *sk;
	__u8 lfam = 0;

	if (!pp)
		return 0;
	p = *pp;
	bpf_map_delete_elem(&net_pendings, &id);
	if (p.op == PR_NOP_ACCEPT && ret < 0)
		return 0; /* EAGAIN of a non-blocking server: not a connection */
	fill_hdr(&ev.h, PR_EV_NET, t);
	ev.h.size = sizeof(ev);
	ev.cgroup_id = bpf_get_current_cgroup_id();
	ev.result = p.op == PR_NOP_ACCEPT ? 0 : ret;
	sk = fd_sock(t, p.op == PR_NOP_ACCEPT ? (int)ret : p.fd);
	if (sk) {
		sock_local(sk, &lfam, ev.laddr, &ev.lport);
		if (p.op == PR_NOP_ACCEPT)
			sock_remote(sk, &p.family, p.raddr, &p.rport);
		/* a connection reset before accept returned has lost its
		 * local port: it is the listener's */
		if (p.op == PR_NOP_ACCEPT && !ev.lport) {
			struct sock *lsk = fd_sock(t, p.fd);

			if (lsk)
				ev.lport = BPF_CORE_READ(lsk, __sk_common.skc_num);
		}
		if (p.op == PR_NOP_LISTEN || p.op == PR_NOP_BIND)
			p.family = lfam;
	}
	if (!p.family)
		return 0;
	if (p.op == PR_NOP_BIND) {
		/* bind's own sockaddr: the port asked for, also when it failed */
		if (!p.rport)
			return 0; /* port 0: a client picking any port */
		ev.lport = p.rport;
		__builtin_memcpy(ev.laddr, p.raddr, 16);
		p.rport = 0;
		__builtin_memset(p.raddr, 0, 16);
	}
	if (p.op >= PR_NOP_ACCEPT && p.op != PR_NOP_SEND)
		net_decide(&p, ev.h.tgid, ev.h.start, ev.lport);
	ev.op = p.op;
	ev.family = p.family;
	ev.proto = p.proto;
	ev.rport = p.rport;
	__builtin_memcpy(ev.raddr, p.raddr, 16);
	ev.uid = (__u32)bpf_get_current_uid_gid();
	ev.broken = p.broken;
	ev.nflags = p.nflags;
	if (p.flow_id) {
		/* connect/send: replace the half key by the whole one; what
		 * the first packet taught it stands in for a socket already
		 * reset (connection refused) */
		struct pr_capture *half;

		flow_key(&k, &p, NULL, 0);
		half = bpf_map_lookup_elem(&captures, &k);
		if (half && half->lport && !ev.lport) {
			ev.lport = half->lport;
			__builtin_memcpy(ev.laddr, half->laddr, 16);
		}
		bpf_map_delete_elem(&captures, &k);
	}
	if (wants_capture(&p) && ev.lport) {
		flow_key(&k, &p, ev.laddr, ev.lport);
		if (p.flow_id) {
			struct pr_capture c = {
				.flow_id = p.flow_id, .until = p.until, .tgid = ev.h.tgid,
				.start = ev.h.start, .snaplen = p.snaplen,
			};

			if (c.snaplen > PR_SNAPLEN_MAX)
				c.snaplen = PR_SNAPLEN_MAX;
			if (!bpf_map_update_elem(&captures, &k, &c, BPF_ANY))
				capture_on = 1;
		} else {
			p.flow_id = capture_flow(&k, ev.h.tgid, ev.h.start, p.snaplen, p.until);
		}
	}
	if (p.flow_id) {
		ev.nflags |= PR_NF_CAPTURE;
		ev.flow_id = p.flow_id;
	}
	/* a violation wants prompt attention */
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev),
			       ev.broken ? BPF_RB_FORCE_WAKEUP : wakeup_flags()))
		count_drop(PR_EV_NET);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tracepoint__syscalls__sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return net_enter(PR_NOP_CONNECT, ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_accept")
int tracepoint__syscalls__sys_enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return net_enter(PR_NOP_ACCEPT, ctx->args[0], NULL);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int tracepoint__syscalls__sys_enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return net_enter(PR_NOP_ACCEPT, ctx->args[0], NULL);
}

SEC("tracepoint/syscalls/sys_enter_bind")
int tracepoint__syscalls__sys_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	return net_enter(PR_NOP_BIND, ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_listen")
int tracepoint__syscalls__sys_enter_listen(struct trace_event_raw_sys_enter *ctx)
{
	return net_enter(PR_NOP_LISTEN, ctx->args[0], NULL);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int tracepoint__syscalls__sys_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return net_enter(PR_NOP_SEND, ctx->args[0], (const void *)ctx->args[4]);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tracepoint__syscalls__sys_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct user_msghdr *m = (struct user_msghdr *)ctx->args[1];
	void *name = NULL;

	if (bpf_probe_read_user(&name, sizeof(name), &m->msg_name))
		return 0;
	return net_enter(PR_NOP_SEND, ctx->args[0], name);
}

/* only the first message's destination is judged (README "Limits") */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int tracepoint__syscalls__sys_enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct mmsghdr *m = (struct mmsghdr *)ctx->args[1];
	void *name = NULL;

	if (bpf_probe_read_user(&name, sizeof(name), &m->msg_hdr.msg_name))
		return 0;
	return net_enter(PR_NOP_SEND, ctx->args[0], name);
}

/* the exits of every syscall above (attached by name by the loader) */
SEC("tracepoint")
int tracepoint__syscalls__sys_exit_net(struct trace_event_raw_sys_exit *ctx)
{
	return net_exit(ctx->ret);
}

/* ---- network: packets -------------------------------------------------
 * cgroup_skb programs on the root of the cgroup v2 tree see every packet
 * of every local socket, from the IP header, both directions. They return
 * 1 always: polrec records, it never drops. A packet is kept only when its
 * flow is in the captures map; without any capture they return at once. */

/* Set by the loader: slots per CPU of the packet flight recorder. */
const volatile __u32 ring_slots = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);           /* ring_slots, sized by the loader */
	__type(key, __u32);
	__type(value, struct pr_ring_slot);
} pkt_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ring_heads SEC(".maps");

/* Leave the packet's first bytes in this CPU's overwrite ring. A slot is
 * marked empty while it is written, so a reader skips a torn one. */
static __always_inline void ring_put(struct __sk_buff *skb, const struct pr_flow_key *k, __u8 dir)
{
	struct pr_ring_slot *sl;
	__u32 zero = 0, idx, caplen;
	__u32 *head = bpf_map_lookup_elem(&ring_heads, &zero);

	if (!head)
		return;
	idx = *head;
	*head = idx + 1 >= ring_slots ? 0 : idx + 1;
	sl = bpf_map_lookup_elem(&pkt_ring, &idx);
	if (!sl)
		return;
	caplen = skb->len;
	if (caplen > PR_RING_SNAP)
		caplen = PR_RING_SNAP;
	if (caplen == 0)
		return;
	sl->time = 0;
	if (bpf_skb_load_bytes(skb, 0, sl->data, caplen))
		return;
	__builtin_memcpy(&sl->key, k, sizeof(*k));
	sl->len = skb->len;
	sl->caplen = caplen;
	sl->dir = dir;
	sl->time = bpf_ktime_get_boot_ns();
}

struct pkt_info {
	__u8 proto;
	__u8 ok;
	__u16 sport, dport;
	__u8 family;
	__u8 saddr[16], daddr[16];
};

#define IPV6_EXT_MAX 6

/* Parse IPv4/IPv6 + TCP/UDP ports. 0 when the packet has a flow key. */
static __always_inline int parse_pkt(struct __sk_buff *skb, struct pkt_info *pi)
{
	__u32 off;
	__u8 nexthdr;
	__u16 ports[2];

	if (skb->protocol == bpf_htons(0x0800)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
			return -1;
		if (ip.frag_off & bpf_htons(0x1fff))
			return -1; /* a later fragment: no ports */
		pi->family = 4;
		__builtin_memcpy(pi->saddr, &ip.saddr, 4);
		__builtin_memcpy(pi->daddr, &ip.daddr, 4);
		nexthdr = ip.protocol;
		off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(0x86DD)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || ip6.version != 6)
			return -1;
		pi->family = 6;
		__builtin_memcpy(pi->saddr, &ip6.saddr, 16);
		__builtin_memcpy(pi->daddr, &ip6.daddr, 16);
		nexthdr = ip6.nexthdr;
		off = sizeof(ip6);
		for (int i = 0; i < IPV6_EXT_MAX; i++) {
			__u8 eh[2];

			if (nexthdr != 0 && nexthdr != 43 && nexthdr != 44 && nexthdr != 60 &&
			    nexthdr != 51)
				break;
			if (bpf_skb_load_bytes(skb, off, eh, sizeof(eh)))
				return -1;
			if (nexthdr == 44) { /* fragment header: 8 bytes */
				__u16 fo;

				if (bpf_skb_load_bytes(skb, off + 2, &fo, sizeof(fo)))
					return -1;
				if (fo & bpf_htons(0xfff8))
					return -1; /* a later fragment */
				off += 8;
			} else if (nexthdr == 51) {
				off += ((__u32)eh[1] + 2) * 4;
			} else {
				off += ((__u32)eh[1] + 1) * 8;
			}
			nexthdr = eh[0];
		}
	} else {
		return -1;
	}
	if (nexthdr != IPPROTO_TCP_ && nexthdr != IPPROTO_UDP_)
		return -1;
	if (off > 2048 || bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return -1;
	pi->proto = nexthdr;
	pi->sport = bpf_ntohs(ports[0]);
	pi->dport = bpf_ntohs(ports[1]);
	return 0;
}

static __always_inline int on_packet(struct __sk_buff *skb, __u8 dir)
{
	struct pkt_info pi = {};
	struct pr_flow_key k = {};
	struct pr_capture *c;
	struct pktbuf *pb;
	struct pr_pkt *b;
	__u32 zero = 0, caplen;

	if ((!capture_on && !ring_slots) || parse_pkt(skb, &pi))
		return 1;
	k.family = pi.family;
	k.proto = pi.proto;
	if (dir == PR_PKT_EGRESS) {
		k.lport = pi.sport;
		k.rport = pi.dport;
		__builtin_memcpy(k.laddr, pi.saddr, 16);
		__builtin_memcpy(k.raddr, pi.daddr, 16);
	} else {
		k.lport = pi.dport;
		k.rport = pi.sport;
		__builtin_memcpy(k.laddr, pi.daddr, 16);
		__builtin_memcpy(k.raddr, pi.saddr, 16);
	}
	if (ring_slots)
		ring_put(skb, &k, dir);
	if (!capture_on)
		return 1;
	c = bpf_map_lookup_elem(&captures, &k);
	if (!c && dir == PR_PKT_EGRESS) {
		/* the first packet of a flow registered before its local
		 * port was bound: complete the key */
		struct pr_flow_key half = k;

		half.lport = 0;
		__builtin_memset(half.laddr, 0, 16);
		c = bpf_map_lookup_elem(&captures, &half);
		if (c) {
			struct pr_capture copy = *c;

			c->lport = k.lport;
			__builtin_memcpy(c->laddr, k.laddr, 16);
			bpf_map_update_elem(&captures, &k, &copy, BPF_NOEXIST);
		}
	}
	if (!c || (c->until && bpf_ktime_get_boot_ns() > c->until))
		return 1;
	pb = bpf_map_lookup_elem(&pktbufs, &zero);
	if (!pb)
		return 1;
	b = (struct pr_pkt *)pb->b;
	/* packets come last: past half a ring they yield the rest to
	 * violations, lineage and context (counted as packet drops) */
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 2) {
		count_drop(PR_EV_PKT);
		return 1;
	}
	caplen = skb->len;
	if (caplen > c->snaplen)
		caplen = c->snaplen;
	if (caplen > PR_SNAPLEN_MAX)
		caplen = PR_SNAPLEN_MAX;
	if (caplen == 0)
		return 1;
	if (bpf_skb_load_bytes(skb, 0, b->data, caplen))
		return 1;
	b->h.type = PR_EV_PKT;
	b->h.size = sizeof(*b) + caplen;
	b->h.time = bpf_ktime_get_boot_ns();
	b->h.tgid = c->tgid;
	b->h.flags = 0;
	b->h.start = c->start;
	b->flow_id = c->flow_id;
	b->len = skb->len;
	b->caplen = caplen;
	b->dir = dir;
	b->pad = 0;
	if (bpf_ringbuf_output(&events, b, sizeof(*b) + caplen, wakeup_flags()))
		count_drop(PR_EV_PKT);
	return 1;
}

SEC("cgroup_skb/egress")
int cgroup_skb__egress(struct __sk_buff *skb)
{
	return on_packet(skb, PR_PKT_EGRESS);
}

SEC("cgroup_skb/ingress")
int cgroup_skb__ingress(struct __sk_buff *skb)
{
	return on_packet(skb, PR_PKT_INGRESS);
}

/* ---- attacks on the recorder ---- */

/* polrecd's threads (the main one is self_tgid), set by user space */
volatile __u32 self_tids[PR_SELF_TIDS];

static __always_inline int is_self(__s32 pid)
{
	if (pid <= 0)
		return 0;
	if ((__u32)pid == self_tgid)
		return 1;
	for (int i = 0; i < PR_SELF_TIDS; i++)
		if (self_tids[i] && self_tids[i] == (__u32)pid)
			return 1;
	return 0;
}

static __always_inline int harmless_signal(__s32 sig)
{
	/* 0 probes, SIGHUP reloads; SIGCHLD, SIGCONT, SIGURG, SIGWINCH */
	return sig == 0 || sig == 1 || sig == 17 || sig == 18 || sig == 23 || sig == 28;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_last_words);
} last_words SEC(".maps");

/* SIGKILL ends polrecd before it reads the event: keep it where the next
 * start finds it (a racing second SIGKILL may overwrite the record; the
 * count still counts both) */
static __always_inline void keep_last_words(const struct pr_guard *ev)
{
	__u32 zero = 0;
	struct pr_last_words *lw = bpf_map_lookup_elem(&last_words, &zero);

	if (!lw)
		return;
	if (__sync_fetch_and_add(&lw->count, 1) == 0)
		lw->first_time = ev->h.time;
	__builtin_memcpy(&lw->last, ev, sizeof(*ev));
}

static __always_inline int guard_event(__u32 op, __s32 arg, __s32 target)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	struct pr_guard ev = {};

	fill_hdr(&ev.h, PR_EV_GUARD, t);
	if (ev.h.tgid == self_tgid)
		return 0;
	ev.h.size = sizeof(ev);
	ev.op = op;
	ev.arg = arg;
	ev.target = target;
	ev.uid = (__u32)bpf_get_current_uid_gid();
	if (op == PR_GOP_SIGNAL && arg == 9)
		keep_last_words(&ev);
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), BPF_RB_FORCE_WAKEUP))
		count_drop(PR_EV_GUARD);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int tracepoint__syscalls__sys_enter_kill(struct trace_event_raw_sys_enter *ctx)
{
	__s32 pid = ctx->args[0], sig = ctx->args[1];

	if (harmless_signal(sig) || (pid != -1 && !is_self(pid)))
		return 0;
	return guard_event(PR_GOP_SIGNAL, sig, pid);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tracepoint__syscalls__sys_enter_tkill(struct trace_event_raw_sys_enter *ctx)
{
	__s32 tid = ctx->args[0], sig = ctx->args[1];

	if (harmless_signal(sig) || !is_self(tid))
		return 0;
	return guard_event(PR_GOP_SIGNAL, sig, tid);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int tracepoint__syscalls__sys_enter_tgkill(struct trace_event_raw_sys_enter *ctx)
{
	__s32 tgid = ctx->args[0], sig = ctx->args[2];

	if (harmless_signal(sig) || !is_self(tgid))
		return 0;
	return guard_event(PR_GOP_SIGNAL, sig, tgid);
}

#define PTRACE_ATTACH_ 16
#define PTRACE_SEIZE_  0x4206

SEC("tracepoint/syscalls/sys_enter_ptrace")
int tracepoint__syscalls__sys_enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	__s64 req = ctx->args[0];
	__s32 pid = ctx->args[1];

	if ((req != PTRACE_ATTACH_ && req != PTRACE_SEIZE_) || !is_self(pid))
		return 0;
	return guard_event(PR_GOP_PTRACE, (__s32)req, pid);
}
