/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Expectations: the YAML policy language (see README.md, "Policy"), its
 * in-memory model, the compiled rule table and the judges that decide
 * whether an exec or a file write breaks an expectation.
 */
#ifndef POLREC_POLICY_H
#define POLREC_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum pr_severity { PR_SEV_LOW = 0, PR_SEV_MEDIUM, PR_SEV_HIGH, PR_SEV_CRITICAL };
const char *pr_severity_name(enum pr_severity s);          /* "low".."critical" */
int pr_severity_parse(const char *s, enum pr_severity *out); /* 0 ok, -1 bad */

struct pr_strlist {
	char **v;
	size_t n;
};

/* network: one rule of egress/ingress/egressDeny. An empty `to` means any
 * address, an empty `ports` any port of any protocol. CIDRs are stored
 * masked. recorder/netrules.c compiles these into the kernel's maps. */
struct pr_net_cidr {
	uint8_t family;                /* AF_INET or AF_INET6 */
	uint8_t prefix;                /* 0..32 or 0..128 */
	uint8_t addr[16];              /* network byte order, host bits zero */
};

struct pr_net_ports {
	uint16_t lo, hi;               /* inclusive, 1..65535 */
	uint8_t proto;                 /* IPPROTO_TCP or IPPROTO_UDP; IPPROTO_SCTP only from a
					* NetworkPolicy (kept, never matches: SCTP is not watched) */
};

struct pr_net_rule {
	struct pr_net_cidr *to;        /* egress, egressDeny: `to`; ingress: `from` (the peer) */
	size_t nto;
	struct pr_net_cidr *except;    /* addresses in any of these are not the rule's, even
					* inside `to` (a NetworkPolicy ipBlock's except) */
	size_t nexcept;
	struct pr_net_ports *ports;
	size_t nports;
	int line, col;
};

/* The bits of address byte i that a prefix of `prefix` bits keeps. */
uint8_t pr_net_prefix_mask(size_t i, unsigned prefix);

struct pr_net_rules {
	struct pr_net_rule *v;
	size_t n;
};

/* One entry of subjects/except: keys inside one entry AND together. */
struct pr_subject {
	int all;                       /* {all: true} */
	struct pr_strlist exe;         /* globs on the real executable path */
	struct pr_strlist cgroup;      /* globs on the cgroup v2 path */
	uint32_t *uids;
	size_t nuids;
	struct pr_subject *descendants_of; /* NULL, or: some ancestor matches */
	int line, col;                 /* where it starts in the source */
};

struct pr_expectation {
	char *name;                    /* metadata.name */
	enum pr_severity severity;     /* default medium */
	struct pr_subject *subjects;   /* entries OR */
	size_t nsubjects;
	struct pr_subject *except;
	size_t nexcept;
	int has_exec_allow, has_write_allow; /* key present (an empty list denies all) */
	struct pr_strlist exec_allow, exec_deny;
	struct pr_strlist write_allow, protect;
	uint32_t snaplen;              /* record.snaplen, 1..PR_POLICY_MAX_SNAPLEN, default 256 */
	uint64_t follow_ns;            /* record.follow, default 30 s */
	int line, col;                 /* the document's start */
	/* network: parsed and validated; has_network once the key is present,
	 * has_egress etc. once that key is (an empty list is present and
	 * allows nothing) */
	int has_network;
	int has_egress, has_ingress, has_egress_deny;
	struct pr_net_rules egress, ingress, egress_deny;
	/* recorder: attacks on polrecd by a subject break it */
	int guard_signals;             /* a signal that stops, kills or dumps it */
	int guard_ptrace;              /* ptrace attach/seize of it */
	/* kind NetworkPolicy (networking.k8s.io/v1): name is
	 * "NetworkPolicy/NAMESPACE/NAME", k8s_ref "NAMESPACE/NAME". Such
	 * expectations are judged together: traffic of a direction breaks
	 * them only when every NetworkPolicy selecting the process for that
	 * direction refuses it (Kubernetes' additive semantics). Their
	 * ingress does not restrict listen or bind (serve set "any"). */
	int k8s;
	char *k8s_ref;
	const char *source;            /* the file it came from (owned by the policy) */
};

struct pr_policy {
	struct pr_expectation *exps;
	size_t n;
	char *source_name;             /* file name used in messages */
	char **sources;                /* a merged policy: every part's file name */
	size_t nsources;
};

/* Parse a policy document stream. On error returns -1 and writes one line
 * "FILE:LINE:COL: what was found, what was expected" (1-based line and
 * column) into err. Never crashes on any byte sequence. Limits: a file
 * larger than PR_POLICY_MAX_BYTES is refused with a clear error. */
#define PR_POLICY_MAX_BYTES (16u << 20)     /* 100,000 one-CIDR rules take ~6 MiB */
#define PR_POLICY_MAX_DEPTH 32          /* YAML nesting levels */
#define PR_POLICY_DEFAULT_SNAPLEN 256
/* = PR_SNAPLEN_MAX (probes/events.h, checked in netrules.c); no suffix: the
 * parser's message stringifies it */
#define PR_POLICY_MAX_SNAPLEN 4096
#define PR_POLICY_DEFAULT_FOLLOW_NS (30ull * 1000000000ull)
#define PR_POLICY_MAX_FOLLOW_NS (3600ull * 1000000000ull)
int pr_policy_parse(const char *buf, size_t len, const char *fname,
		    struct pr_policy **out, char *err, size_t errlen);
int pr_policy_load_file(const char *path, struct pr_policy **out,
			char *err, size_t errlen);
void pr_policy_free(struct pr_policy *p);
/* The bytes of a policy file (regular, at most PR_POLICY_MAX_BYTES), as
 * pr_policy_load_file reads them; *buf is malloc'ed. */
int pr_policy_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/* ---- several files (recorder/policydir.c) ----
 * Directories are read systemd style: the *.yaml entries of every
 * directory, a name in an earlier directory masking the same name in a
 * later one; an entry that is a symlink to /dev/null (or an empty file)
 * masks the name and loads nothing; the files that remain are loaded in
 * file name order (strcmp). */
struct pr_policy_sources {
	const char *const *files;      /* --policy, in the order given */
	size_t nfiles;
	const char *const *dirs;       /* --policy-dir, the first wins a name */
	size_t ndirs;
	const char *const *default_dirs; /* used when files and dirs are empty; */
	size_t ndefault_dirs;          /*   missing ones are skipped */
};
/* The files that sources name, in load order, into out (paths malloc'ed;
 * free with pr_strlist_free). *nmasked counts the masked names. An explicit
 * directory that cannot be read is an error, as is one holding no file. */
int pr_policy_sources_list(const struct pr_policy_sources *s, struct pr_strlist *out,
			   size_t *nmasked, char *err, size_t errlen);
/* Parse each file and merge them: every expectation of every file, in
 * order; a metadata.name used in two files is an error naming both
 * places. sha256 (64 hex digits): one file, the SHA-256 of its bytes
 * (what sha256sum prints); several, the SHA-256 over each file in order
 * of its path, a NUL, its length (8 bytes, big endian) and its bytes. */
int pr_policy_load_files(const struct pr_strlist *files, struct pr_policy **out,
			 char sha256[65], char *err, size_t errlen);
/* The same, and *text (malloc'd, *text_len bytes) = exactly the bytes the
 * SHA-256 covers, so the stored policy version can be checked against its
 * digest (one file: its bytes). */
int pr_policy_load_files_text(const struct pr_strlist *files, struct pr_policy **out,
			      char sha256[65], char **text, size_t *text_len,
			      char *err, size_t errlen);
/* Move every expectation of parts[0..n) into one policy (the parts are
 * consumed, also on error). */
int pr_policy_merge(struct pr_policy **parts, size_t n, struct pr_policy **out,
		    char *err, size_t errlen);
void pr_strlist_free(struct pr_strlist *l);

/* The embedded default policy (recorder/default-policy.yaml). cmake's
 * pr_embed() names the length SYMBOL_len, i.e. pr_default_policy_yaml_len;
 * the macro keeps the documented name pointing at it. */
#define pr_default_policy_len pr_default_policy_yaml_len
extern const char pr_default_policy_yaml[];
extern const size_t pr_default_policy_len;

// (Line comments here: glob examples contain slash-star, which -Wcomment
// flags inside block comments.)
// Glob on paths: '*' any run of bytes except '/', '**' any run including
// '/', '?' one byte except '/', '[...]' a class ('!' or '^' negates).
// "/etc/**" matches "/etc" itself and everything below it. Returns 1 on
// match. Bytes are compared raw (non-UTF-8 names are fine).
int pr_glob_match(const char *pattern, const char *path);
// A path glob as the policy accepts it: NULL if valid, else why not
// ("empty pattern", "unterminated character class", ...). Valid patterns
// are absolute (start with '/') or start with "**", and are at most
// PR_GLOB_MAX_LEN bytes; pr_glob_match never matches a longer pattern.
// There is no backslash escape: a literal metachar is written as a class,
// "[*]". A "/**" that ends the pattern or is followed by '/' may also
// match nothing: "/etc/**" matches "/etc", "/usr/**/bin" matches
// "/usr/bin".
#define PR_GLOB_MAX_LEN 4096
const char *pr_glob_check(const char *pattern);
/* Bytes before the first metachar ('*', '?', '['). */
size_t pr_glob_prefix_len(const char *pattern);

/* What the judges need to know about a process. */
struct pr_proc_view {
	const char *exe;
	uint32_t uid;
	const char *cgroup;            /* may be NULL */
};

struct pr_subject_ctx {
	struct pr_proc_view self;              /* the image being judged */
	const struct pr_proc_view *ancestors;  /* [0] = parent, then up to pid 1 */
	size_t nancestors;
};

int pr_subject_match(const struct pr_subject *s, const struct pr_subject_ctx *c);
/* subjects match (any) and no except entry matches */
int pr_expectation_applies(const struct pr_expectation *e,
			   const struct pr_subject_ctx *c);

/* The compiled form: one flat rule per (expectation, rule kind, pattern),
 * in policy order, with the literal prefix of each glob so a matcher can
 * skip rules cheaply. This is what the judges walk and what later feeds
 * BPF maps. */
enum pr_rule_kind {
	PR_RULE_EXEC_ALLOW = 1,
	PR_RULE_EXEC_DENY,
	PR_RULE_WRITE_ALLOW,
	PR_RULE_PROTECT,
};
const char *pr_rule_kind_name(enum pr_rule_kind k); /* "exec.allow", "exec.deny", "files.writeAllow", "files.protect" */

struct pr_rule {
	enum pr_rule_kind kind;
	size_t exp;                    /* index into policy->exps */
	const char *pattern;           /* points into the policy */
	size_t prefix_len;             /* bytes of pattern before the first glob metachar */
	const char *expected;          // "files.protect /etc/**": the verdict text
};

struct pr_compiled {
	const struct pr_policy *policy;
	struct pr_rule *rules;
	size_t nrules;
	/* verdict text for allow misses, per expectation, NULL when the list
	 * is absent: "exec.allow: /usr/bin/gzip, /usr/bin/tar" (bounded) */
	char **exec_allow_expected;
	char **write_allow_expected;
	/* rules of expectation i are rules[first_rule[i] .. first_rule[i+1]) */
	size_t *first_rule;
};

int pr_policy_compile(const struct pr_policy *p, struct pr_compiled **out,
		      char *err, size_t errlen);
void pr_compiled_free(struct pr_compiled *c);

struct pr_verdict {
	const struct pr_expectation *exp;
	enum pr_rule_kind kind;
	const char *expected;          /* "exec.allow: /usr/bin/gzip, ..." or the matching deny/protect pattern */
};

/* Judge an exec of new_exe by a process whose image before the exec is
 * ctx->self ("the exec is judged against the image that runs it"). At most
 * one verdict per expectation. Returns the number written to out. */
size_t pr_judge_exec(const struct pr_compiled *c, const struct pr_subject_ctx *ctx,
		     const char *new_exe, struct pr_verdict *out, size_t max);
/* Judge a write to (or rename/unlink/chmod/chown of) path. */
size_t pr_judge_write(const struct pr_compiled *c, const struct pr_subject_ctx *ctx,
		      const char *path, struct pr_verdict *out, size_t max);

#endif /* POLREC_POLICY_H */
