/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one header shared by the BPF probes and user space: event layouts,
 * limits and map keys. Fixed-width fields only, every event starts with
 * struct pr_hdr. Event type numbers are explicit and never renumbered.
 */
#ifndef POLREC_EVENTS_H
#define POLREC_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Limits (documented in README.md, "Limits"). */
#define PR_PATH_MAX      4096u  /* bytes of a resolved path, NUL included     */
#define PR_ARGV_MAX      4096u  /* bytes of argv kept per exec (NUL-separated) */
#define PR_NAME_MAX      4096u  /* bytes of a syscall path argument            */
#define PR_PATH_DEPTH    2048u  /* dentry/mount components walked per path    */
#define PR_RINGBUF_BYTES (16u << 20) /* event ring buffer                     */
#define PR_WAKEUP_BYTES  (1u << 20)  /* force a consumer wakeup past this     */
#define PR_PREFIX_MAX    256u   /* bytes of a watched path prefix (LPM key)  */
#define PR_PREFIXES_MAX  4096u  /* watched path prefixes                      */
#define PR_TASKS_MAX     65536u /* processes with an exec count or a verdict  */

/* The in-kernel write filter. Once user space sets filter_on, an open for
 * writing is sent only when its path starts with a watched prefix (the
 * literal prefixes of every files.protect glob) or its process is watched
 * (a subject of an expectation with files.writeAllow, or an image user
 * space has not judged yet). Key of the watch_prefixes LPM trie: */
struct pr_prefix_key {
	__u32 prefixlen;     /* bits */
	char data[PR_PREFIX_MAX];
};

/* Key of the partial_dirs hash: a directory path ending in '/', NUL-padded. */
struct pr_dir_key {
	char data[PR_PREFIX_MAX];
};

/* Value of the verdicts map (tgid -> verdict), written by user space after
 * it judged the image of exec number seq of that process. The kernel
 * counts execs per process in exec_seqs (tgid -> __u32); a process whose
 * count differs from its verdict's seq is undecided and fully watched. */
struct pr_task_verdict {
	__u32 seq;
	__u32 flags;         /* PR_V_* */
};
#define PR_V_WATCH_WRITES 0x1u

enum pr_event_type {
	PR_EV_FORK = 1,
	PR_EV_EXEC = 2,
	PR_EV_EXIT = 3,
	PR_EV_FILE = 4,
	PR_EV_VERDICT = 7,  /* not an event: drops slot for exec_seqs map failures */
	PR_EV_TYPE_MAX = 8, /* size of the per-CPU drop counter array */
};

/* Operations of PR_EV_FILE. Never renumbered. */
enum pr_file_op {
	PR_FOP_OPEN_WRITE = 1, /* open/openat/openat2/creat with FMODE_WRITE */
	PR_FOP_RENAME = 2,     /* path = new name, path2 = old name          */
	PR_FOP_UNLINK = 3,
	PR_FOP_CHMOD = 4,
	PR_FOP_CHOWN = 5,
	PR_FOP_TRUNCATE = 6,
};

/* pr_hdr.flags */
#define PR_F_PATH_TRUNC  0x1u /* path longer than PR_PATH_MAX or PR_PATH_DEPTH */
#define PR_F_ARGV_TRUNC  0x2u /* argv longer than PR_ARGV_MAX                  */
#define PR_F_PATH2_TRUNC 0x4u
#define PR_F_CWD_TRUNC   0x8u
#define PR_F_NAME_REL    0x10u /* path = dir (kernel) + "/" + name (syscall arg) */
#define PR_F_NAME2_REL   0x20u

/* Common header. time is CLOCK_BOOTTIME ns (bpf_ktime_get_boot_ns).
 * (tgid, start) is the process identity: start is the thread group
 * leader's start_boottime in ns, the clock /proc/PID/stat field 22 uses. */
struct pr_hdr {
	__u32 type;
	__u32 size;  /* bytes of the whole event, header included */
	__u64 time;
	__u32 tgid;
	__u32 flags;
	__u64 start;
};

struct pr_fork {
	struct pr_hdr h;     /* the child */
	__u32 ptgid;         /* the process that created it */
	__u32 pad;
	__u64 pstart;
};

struct pr_exit {
	struct pr_hdr h;
	__s32 code;          /* wait status as in exit_code */
	__u32 pad;
};

/* Variable-size: data holds exe (exe_len bytes incl. NUL), then argv
 * (argv_len bytes, NUL-separated), then cwd (cwd_len bytes incl. NUL). */
struct pr_exec {
	struct pr_hdr h;
	__u32 uid, gid, loginuid, sessionid;
	__u64 cgroup_id;
	__u64 exe_dev, exe_ino;
	__s64 exe_mtime_sec;
	__u32 exe_mtime_nsec;
	__u32 argc;          /* argument count as the kernel saw it */
	__u32 ptgid;         /* real_parent at exec, informational only */
	__u32 exec_seq;      /* this process's exec count, for verdicts */
	__u32 pad2;
	__u16 exe_len, argv_len, cwd_len, pad;
	char data[];
};

/* Variable-size: data holds, in this order, path (path_len bytes incl.
 * NUL), name (name_len), path2 (path2_len), name2 (name2_len). For opens
 * and fd operations path is the resolved file. With PR_F_NAME_REL, path is
 * the resolved directory (dirfd or cwd; "" when name is absolute) and name
 * the syscall's path argument: the object is path + "/" + name. path2 and
 * name2 are the rename source, likewise. */
struct pr_file {
	struct pr_hdr h;
	__u32 op;            /* enum pr_file_op */
	__u32 uid;
	__u32 open_flags;    /* f_flags for opens */
	__u32 mode;          /* chmod mode, or file mode */
	__u32 owner, group;  /* chown */
	__u64 dev, ino;      /* object inode when known (opens), else 0 */
	__u16 path_len, path2_len, name_len, name2_len;
	char data[];
};

#endif /* POLREC_EVENTS_H */
