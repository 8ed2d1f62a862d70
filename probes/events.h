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
	__u64 net;           /* bit i: network expectation i applies (net_exps) */
};
#define PR_V_WATCH_WRITES 0x1u

enum pr_event_type {
	PR_EV_FORK = 1,
	PR_EV_EXEC = 2,
	PR_EV_EXIT = 3,
	PR_EV_FILE = 4,
	PR_EV_NET = 5,      /* struct pr_net: connect, accept, UDP send, bind, listen */
	PR_EV_PKT = 6,      /* struct pr_pkt: a packet snippet of a captured flow */
	PR_EV_VERDICT = 7,  /* not an event: drops slot for exec_seqs map failures */
	PR_EV_GUARD = 8,    /* struct pr_guard: a signal or ptrace aimed at polrecd */
	/* not an event type: the drops slot of by-name file operations
	 * (rename, unlink, chmod, chown, truncate), which are sent whatever
	 * the path; kept apart from write-opens, which the in-kernel filter
	 * decides, so a loss of either kind can be told apart */
	PR_EV_FILE_OP = 9,
	/* not an event type either: the drops slot of write-opens outside
	 * every watched tree, sent only because the process's every write is
	 * recorded (writeAllow subjects, followed processes, images not yet
	 * judged); PR_EV_FILE counts write-opens into watched trees (or all,
	 * with the filter off) */
	PR_EV_FILE_ELSEWHERE = 10,
	PR_EV_TYPE_MAX = 11, /* size of the per-CPU drop counter array */
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

/* ---- network ----
 *
 * Expectations with a network section are numbered 0..PR_NET_EXPS_MAX-1
 * (their "network index", policy order). Their rules compile into one LPM
 * trie, net_rules: key = (network index, table, family, address prefix),
 * value = a port set (net_portsets). A lookup of the full address finds
 * the longest matching prefix; the compiler gives every entry the union
 * of the port sets of all rules whose prefix contains it, so the longest
 * match answers "is (address, port, protocol) allowed / denied" alone.
 * Cost per connection: two lookups per applicable expectation, whatever
 * the number of rules. */
#define PR_NET_EXPS_MAX   64u     /* expectations with a network section     */
#define PR_NET_PORTS_MAX  32u     /* port ranges in one port set             */
#define PR_NET_RULES_MAX  (1u << 20) /* LPM entries (CIDRs x tables)         */
#define PR_SNAPLEN_MAX    4096u   /* bytes of a packet kept (record.snaplen) */
#define PR_CAPTURE_MAX    16384u  /* flows captured at once                  */
#define PR_UDP_SEEN_MAX   65536u  /* (process, UDP destination) pairs remembered */

enum pr_net_table {
	PR_NT_EGRESS = 0,       /* egress allow: key address = remote        */
	PR_NT_INGRESS = 1,      /* ingress allow: key address = remote peer  */
	PR_NT_EGRESS_DENY = 2,  /* egressDeny: key address = remote          */
};

struct pr_net_key {
	__u32 prefixlen;        /* 32 + address prefix bits                  */
	__u8 exp;               /* network index                              */
	__u8 table;             /* enum pr_net_table                          */
	__u8 family;            /* 4 or 6 (not AF_*: stable across libcs)     */
	__u8 pad;
	__u8 addr[16];          /* network byte order; IPv4 in addr[0..3]     */
};

struct pr_net_val {
	__u32 portset;          /* index into net_portsets                    */
};

struct pr_port_range {
	__u16 lo, hi;           /* inclusive, host byte order                 */
	__u8 proto;             /* IPPROTO_TCP or IPPROTO_UDP                 */
	__u8 pad[3];
};

struct pr_portset {
	__u32 any;              /* 1: every port of every protocol            */
	__u32 n;                /* ranges used                                */
	struct pr_port_range r[PR_NET_PORTS_MAX];
};

/* net_exps[network index] */
struct pr_net_exp {
	__u32 flags;            /* PR_NE_* */
	__u32 serve;            /* port set a subject may listen/bind on (union of ingress ports) */
	__u32 snaplen;          /* record.snaplen, <= PR_SNAPLEN_MAX          */
	__u32 pad;
	__u64 follow_ns;        /* record.follow                              */
};
#define PR_NE_EGRESS  0x1u      /* egress present: what it does not allow breaks it  */
#define PR_NE_INGRESS 0x2u      /* ingress present: likewise for accept/listen/bind  */
#define PR_NE_DENY    0x4u      /* egressDeny present                                 */
#define PR_NE_K8S     0x8u      /* a NetworkPolicy: those selecting a process for a
				 * direction are judged together (any one allows) */

enum pr_net_op {
	PR_NOP_CONNECT = 1,     /* connect(2), TCP or UDP                     */
	PR_NOP_ACCEPT = 2,      /* accept(2)/accept4(2) returned a socket     */
	PR_NOP_SEND = 3,        /* UDP sendto/sendmsg to a new destination    */
	PR_NOP_BIND = 4,        /* bind(2) to a nonzero port                  */
	PR_NOP_LISTEN = 5,      /* listen(2)                                  */
};

/* pr_net.nflags */
#define PR_NF_JUDGED   0x1u     /* the kernel knew the process's expectations */
#define PR_NF_CAPTURE  0x2u     /* the kernel started capturing this flow (flow_id) */
#define PR_NF_FOLLOW   0x4u     /* ... because the process is followed (incident) */
#define PR_NF_PROVISIONAL 0x8u  /* ... because the process's image was not judged yet:
				 * user space keeps the flow or drops it */
#define PR_PROVISIONAL_NS (2ull * 1000000000ull) /* such a capture ends after this
				 * unless user space claims the flow */

/* A connection event. Addresses in network byte order (IPv4 in [0..3]);
 * an IPv4-mapped IPv6 address is reported as IPv4. Ports host order.
 * local is what the socket is bound to when the syscall returns (0 /
 * unspecified when not bound). result: the syscall's return, 0 or
 * -errno (for a UDP send: bytes sent or -errno; accept: 0). */
struct pr_net {
	struct pr_hdr h;
	__u8 op;                /* enum pr_net_op */
	__u8 family;            /* 4 or 6 */
	__u8 proto;             /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 nflags;            /* PR_NF_* */
	__s32 result;
	__u16 lport, rport;
	__u32 uid;
	__u8 laddr[16], raddr[16];
	__u64 broken;           /* network indexes the kernel found broken (with PR_NF_JUDGED) */
	__u64 flow_id;          /* with PR_NF_CAPTURE: the flow's id in pr_pkt */
	__u64 cgroup_id;        /* the process's cgroup v2 id at the syscall */
};

/* Flows being captured: capture map key, from this host's side. */
struct pr_flow_key {
	__u8 family, proto;
	__u16 lport, rport;     /* host order; lport 0 = "not bound yet" (egress, until the first packet) */
	__u8 pad[2];
	__u8 laddr[16], raddr[16];
};

struct pr_capture {
	__u64 flow_id;
	__u64 until;            /* boot ns; capture stops after it            */
	__u32 tgid;             /* owner, copied into pr_pkt.h                */
	__u32 snaplen;
	__u64 start;
	/* a half key learns its flow's local side from the first egress
	 * packet: a connect refused at once has lost it by sys_exit */
	__u8 laddr[16];
	__u16 lport;
	__u16 pad[3];
};

/* follow map: tgid -> the process's new flows are captured until `until`. */
struct pr_follow {
	__u64 until;            /* boot ns */
	__u64 start;            /* process identity */
	__u32 snaplen;
	__u32 pad;
};

/* The packet flight recorder: every TCP/UDP packet of a local socket
 * leaves its first PR_RING_SNAP bytes in a per-CPU overwrite ring of
 * ring_slots slots (pkt_ring; 0 slots = off). Nothing is sent: user space
 * reads the ring only when an incident opens, and takes the packets of
 * the flows the violator's family had in the window before it. */
#define PR_RING_SNAP          128u
#define PR_RING_SLOTS_DEFAULT 2048u
#define PR_RING_SLOTS_MAX     (1u << 16)

struct pr_ring_slot {
	__u64 time;             /* boot ns; 0 = empty, or being written */
	struct pr_flow_key key; /* from this host's side */
	__u32 len;              /* original length */
	__u16 caplen;
	__u8 dir;               /* PR_PKT_INGRESS / PR_PKT_EGRESS */
	__u8 pad;
	__u8 data[PR_RING_SNAP];
};

#define PR_PKT_INGRESS 0
#define PR_PKT_EGRESS  1

/* A packet snippet: caplen bytes from the IP header (LINKTYPE_RAW), of a
 * packet len bytes long. h.tgid/h.start: the flow's owner. */
struct pr_pkt {
	struct pr_hdr h;
	__u64 flow_id;
	__u32 len;
	__u16 caplen;
	__u8 dir;               /* PR_PKT_INGRESS / PR_PKT_EGRESS */
	__u8 pad;
	__u8 data[];
};

/* ---- attacks on the recorder ----
 * kill/tkill/tgkill of polrecd with a signal that stops, ends or dumps it
 * (anything but 0, SIGHUP (reload), SIGCHLD, SIGCONT, SIGURG, SIGWINCH),
 * kill(-1, sig), and ptrace attach/seize of it. Seen at sys_enter, in the
 * sender: a SIGKILL ends polrecd before it reads the event (the next start
 * records the unclean stop instead). h = the sender. */
enum pr_guard_op {
	PR_GOP_SIGNAL = 1,
	PR_GOP_PTRACE = 2,
};

struct pr_guard {
	struct pr_hdr h;
	__u32 op;               /* enum pr_guard_op */
	__s32 arg;              /* the signal, or the ptrace request */
	__s32 target;           /* the pid/tid the syscall named */
	__u32 uid;
};

/* The last SIGKILL aimed at polrecd: its ring buffer event dies with the
 * process, so the probe also keeps it in a one-entry array that user space
 * pins in bpffs (the "last_words" map); the next start on the same store
 * records it and clears it. */
struct pr_last_words {
	struct pr_guard last;   /* the latest such signal */
	__u64 count;            /* how many since the map was cleared */
	__u64 first_time;       /* boot ns of the first */
};

#define PR_SELF_TIDS 4          /* polrecd's threads the probes know */

#endif /* POLREC_EVENTS_H */
