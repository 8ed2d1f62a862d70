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

static __always_inline void submit(void *ev, __u32 size, __u32 type)
{
	if (size > EVBUF_BYTES)
		size = EVBUF_BYTES;
	if (bpf_ringbuf_output(&events, ev, size, wakeup_flags()))
		count_drop(type);
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
	submit(ev, ev->h.size, PR_EV_FILE);
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
		count_drop(PR_EV_FILE);
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
	submit(ev, ev->h.size, PR_EV_FILE);
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
