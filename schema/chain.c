// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The store's hash chain (see chain.h for what each kind covers).
 *
 * Canonical bytes of a record: a sequence of sections, each
 *   'S' u32 len, name | per row: 'R' u32 ncols, then each value | 'E' u64 nrows
 * and each value a type tag and its bytes:
 *   0 NULL | 1 INTEGER: 8 bytes big-endian | 2 TEXT, 3 BLOB: u32 len, bytes |
 *   4 REAL: the 8 IEEE bytes big-endian
 * (integers big-endian, every field length-prefixed, columns in the fixed
 * order of the SELECTs below). They are read back from the database rows
 * inside the writer's transaction, and again by the verifier, so both run
 * the same code. content = SHA-256(canonical bytes).
 *
 * hash = SHA-256(preimage), preimage =
 *   "polrec-chain-v1" (15 bytes) | u64 seq | u64 time | u32 len, kind |
 *   i64 ref | i64 first_row | i64 nrows | prev (32) | content (32)
 * so a bundle can relate a record's hash to its content digest without the
 * store.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "schema/chain.h"
#include "schema/pcapseg.h"

#define PREIMAGE_TAG "polrec-chain-v1"

#define IMG_COLS(t)                                                          \
	t "pid, " t "start_boot, " t "ppid, " t "pstart_boot, " t "start_time, " \
	t "uid, " t "gid, " t "loginuid, " t "sessionid, " t "user, " t "exe, " \
	t "argv, " t "argv_len, " t "argc, " t "flags, " t "cwd, " t "cgroup_id, " \
	t "cgroup, " t "container_id, " t "sha256, " t "exit_time, " t "exit_code, " \
	t "incident_id"

enum cst {
	C_HEAD,
	C_INSERT,
	C_INC,
	C_VIOLATOR,
	C_NET,
	C_LINEAGE,
	C_EVENTS,
	C_FLOW,
	C_PACKETS,
	C_SEGMENT,
	C_LOSS,
	C_RUN,
	C_GENESIS,
	C_PRUNE_GONE,
	C_PRUNE_ROW,
	C_WALK,
	C_SUCCESSOR,
	C_VIOLATIONS,
	C_GENESIS_ID,
	C_BY_SEQ,
	C_INC_BOOT,
	C_LOSS_BOOT,
	C_RUN_BOOT,
	C_PRUNE_BOOT,
	C_POLICY,
	C__COUNT
};

static const char *const csql[C__COUNT] = {
	[C_HEAD] = "SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1",
	[C_INSERT] = "INSERT INTO chain (seq, time, kind, ref, first_row, nrows, content, prev, hash)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[C_INC] = "SELECT id, time, policy, rule, severity, kind, action, path, expected, actual,"
		  " lost_events, follow_until FROM incidents WHERE id = ?1",
	[C_VIOLATOR] = "SELECT " IMG_COLS("p.") " FROM incidents i"
		       " JOIN proc_images p ON p.id = i.proc_image_id WHERE i.id = ?1",
	[C_NET] = "SELECT direction, protocol, src, sport, dst, dport, result, flow_id"
		  " FROM incident_network WHERE incident_id = ?1",
	[C_LINEAGE] = "SELECT l.depth, " IMG_COLS("p.") " FROM incident_lineage l"
		      " LEFT JOIN proc_images p ON p.id = l.image_id"
		      " WHERE l.incident_id = ?1 ORDER BY l.depth",
	[C_EVENTS] = "SELECT seq, time, kind, pid, start_boot, path, path2, detail, mark"
		     " FROM incident_events WHERE incident_id = ?1 AND seq >= ?2 AND seq < ?2 + ?3"
		     " ORDER BY seq",
	[C_FLOW] = "SELECT flow_id, incident_id, time, role, protocol, local, lport, remote,"
		   " rport, pid, start_boot, exe FROM flows WHERE flow_id = ?1",
	[C_PACKETS] = "SELECT rowid, flow_id, time, segment_id, offset, caplen, len, dir"
		      " FROM packets WHERE rowid >= ?1 AND rowid < ?1 + ?2 ORDER BY rowid",
	[C_SEGMENT] = "SELECT id, state, bytes, packets, first_time, last_time, sha256"
		      " FROM pcap_segments WHERE id = ?1",
	[C_LOSS] = "SELECT id, from_time, to_time, stage, kind, count FROM losses WHERE id = ?1",
	[C_RUN] = "SELECT id, time, what, detail FROM runs WHERE id = ?1",
	[C_GENESIS] = "SELECT id, store_id, from_version, max_incident, max_loss, max_run,"
		      " max_packet, max_segment FROM chain_genesis WHERE id = ?1",
	[C_PRUNE_GONE] = "SELECT seq FROM chain WHERE gone = ?1 ORDER BY seq",
	/* the columns of schema 5, in table order (was SELECT *: the columns
	 * added later must not change the content of older records) */
	[C_PRUNE_ROW] = "SELECT id, time, reason, incidents, first_id, last_id, packets,"
			" segments, processes, bytes FROM prunes WHERE rowid = ?1",
	[C_WALK] = "SELECT seq, time, kind, ref, first_row, nrows, content, prev, hash, gone"
		   " FROM chain ORDER BY seq",
	[C_SUCCESSOR] = "SELECT seq FROM chain WHERE prev = ?1 AND seq != ?2 ORDER BY seq LIMIT 1",
	[C_VIOLATIONS] = "SELECT violations, (SELECT count(*) FROM incident_events"
			 " WHERE incident_id = ?1 AND mark = 2) FROM incidents WHERE id = ?1",
	[C_GENESIS_ID] = "SELECT store_id FROM chain_genesis ORDER BY id LIMIT 1",
	[C_BY_SEQ] = "SELECT seq, time, kind, ref, first_row, nrows, content, prev, hash, gone"
		     " FROM chain WHERE seq = ?1",
	/* schema 6: a "boot" section, only for rows that have it (rows written
	 * before the migration keep their content) */
	[C_INC_BOOT] = "SELECT boot_id, boot_time, policy_version FROM incidents"
		       " WHERE id = ?1 AND boot_time IS NOT NULL",
	[C_LOSS_BOOT] = "SELECT boot_id, boot_time FROM losses WHERE id = ?1 AND boot_time IS NOT NULL",
	[C_RUN_BOOT] = "SELECT boot_id, boot_time FROM runs WHERE id = ?1 AND boot_time IS NOT NULL",
	[C_PRUNE_BOOT] = "SELECT boot_id, boot_time FROM prunes"
			 " WHERE rowid = ?1 AND boot_time IS NOT NULL",
	[C_POLICY] = "SELECT id, time, boot_id, boot_time, sha256, source, expectations, text"
		     " FROM policy_versions WHERE id = ?1",
};

struct pr_chain {
	sqlite3_stmt *st[C__COUNT];
	int has_prunes; /* 0 unknown, 1 yes, -1 no */
};

/* ---- small helpers ---- */

int pr_sha256(const void *p, size_t n, uint8_t out[PR_SHA256_LEN])
{
	unsigned int len = 0;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == PR_SHA256_LEN
		       ? 0 : -1;
}

int pr_sha256_file(const char *path, uint8_t out[PR_SHA256_LEN])
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = pr_sha256_fd(fd, out);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int pr_sha256_fd(int fd, uint8_t out[PR_SHA256_LEN])
{
	EVP_MD_CTX *md;
	unsigned char buf[1 << 16];
	unsigned int len = 0;
	ssize_t r;
	int ok;

	errno = 0;
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	while (ok && (r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ok = 0;
			break;
		}
		ok = EVP_DigestUpdate(md, buf, (size_t)r) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(md, out, &len) == 1 && len == PR_SHA256_LEN;
	EVP_MD_CTX_free(md);
	if (!ok && !errno)
		errno = EIO;
	return ok ? 0 : -1;
}

void pr_hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pr_unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * n] ? -1 : 0;
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

size_t pr_chain_preimage(const struct pr_chain_rec *r, uint8_t *out)
{
	size_t n = 0, klen = strnlen(r->kind, sizeof(r->kind));

	memcpy(out, PREIMAGE_TAG, sizeof(PREIMAGE_TAG) - 1);
	n += sizeof(PREIMAGE_TAG) - 1;
	be64(out + n, (uint64_t)r->seq), n += 8;
	be64(out + n, r->time), n += 8;
	be32(out + n, (uint32_t)klen), n += 4;
	memcpy(out + n, r->kind, klen), n += klen;
	be64(out + n, (uint64_t)r->ref), n += 8;
	be64(out + n, (uint64_t)r->first_row), n += 8;
	be64(out + n, (uint64_t)r->nrows), n += 8;
	memcpy(out + n, r->prev, PR_SHA256_LEN), n += PR_SHA256_LEN;
	memcpy(out + n, r->content, PR_SHA256_LEN), n += PR_SHA256_LEN;
	return n;
}

static int rec_hash(const struct pr_chain_rec *r, uint8_t out[PR_SHA256_LEN])
{
	uint8_t pre[PR_CHAIN_PREIMAGE_MAX];

	return pr_sha256(pre, pr_chain_preimage(r, pre), out);
}

__attribute__((format(printf, 2, 3)))
static void cerr(struct pr_store *s, const char *fmt, ...)
{
	char *e = pr_store__err(s);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e, PR_STORE_ERR_MAX, fmt, ap);
	va_end(ap);
	for (char *p = e; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
}

static void dberr(struct pr_store *s, const char *what)
{
	cerr(s, "%s: %s", what, sqlite3_errmsg(pr_store__db(s)));
}

void pr_chain_free(struct pr_chain *c)
{
	if (!c)
		return;
	for (int i = 0; i < C__COUNT; i++)
		sqlite3_finalize(c->st[i]);
	free(c);
}

static struct pr_chain *chain_get(struct pr_store *s)
{
	struct pr_chain **cp = pr_store__chain(s);

	if (!*cp && !(*cp = calloc(1, sizeof(**cp))))
		cerr(s, "chain: out of memory");
	return *cp;
}

/* A prepared statement, reset and unbound; NULL with the error set. */
static sqlite3_stmt *cst(struct pr_store *s, enum cst id)
{
	struct pr_chain *c = chain_get(s);
	sqlite3_stmt *st;

	if (!c)
		return NULL;
	st = c->st[id];
	if (!st) {
		if (sqlite3_prepare_v3(pr_store__db(s), csql[id], -1, SQLITE_PREPARE_PERSISTENT,
				       &st, NULL) != SQLITE_OK) {
			dberr(s, "chain: prepare");
			return NULL;
		}
		c->st[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static void done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static bool has_prunes(struct pr_store *s)
{
	struct pr_chain *c = chain_get(s);
	sqlite3_stmt *st;

	if (!c)
		return false;
	if (!c->has_prunes) {
		c->has_prunes = -1;
		if (sqlite3_prepare_v2(pr_store__db(s),
				       "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'prunes'",
				       -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				c->has_prunes = 1;
			sqlite3_finalize(st);
		}
	}
	return c->has_prunes > 0;
}

/* ---- canonical bytes ---- */

struct canon {
	EVP_MD_CTX *md;
	bool ok;
};

static void put(struct canon *c, const void *p, size_t n)
{
	if (c->ok && n && EVP_DigestUpdate(c->md, p, n) != 1)
		c->ok = false;
}

static void put_u8(struct canon *c, uint8_t v)
{
	put(c, &v, 1);
}

static void put_u32(struct canon *c, uint32_t v)
{
	uint8_t b[4];

	be32(b, v);
	put(c, b, 4);
}

static void put_u64(struct canon *c, uint64_t v)
{
	uint8_t b[8];

	be64(b, v);
	put(c, b, 8);
}

static void put_value(struct canon *c, sqlite3_stmt *st, int i)
{
	const void *p;
	double d;
	uint64_t u;
	int n;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		put_u8(c, 1);
		put_u64(c, (uint64_t)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(st, i);
		memcpy(&u, &d, 8);
		put_u8(c, 4);
		put_u64(c, u);
		break;
	case SQLITE_TEXT:
		p = sqlite3_column_text(st, i);
		n = sqlite3_column_bytes(st, i);
		put_u8(c, 2);
		put_u32(c, (uint32_t)n);
		put(c, p, (size_t)n);
		break;
	case SQLITE_BLOB:
		p = sqlite3_column_blob(st, i);
		n = sqlite3_column_bytes(st, i);
		put_u8(c, 3);
		put_u32(c, (uint32_t)n);
		put(c, p, (size_t)n);
		break;
	default:
		put_u8(c, 0);
	}
}

/* One section from a bound statement; returns the rows, or -1. An
 * optional section with no rows adds nothing at all (so a section added
 * by a later schema leaves the content of older records unchanged). */
static int64_t section(struct pr_store *s, struct canon *c, sqlite3_stmt *st, const char *name,
		       bool optional)
{
	int64_t rows = 0;
	int rc, n;

	rc = sqlite3_step(st);
	if (optional && rc == SQLITE_DONE) {
		done(st);
		return 0;
	}
	put_u8(c, 'S');
	put_u32(c, (uint32_t)strlen(name));
	put(c, name, strlen(name));
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		n = sqlite3_column_count(st);
		put_u8(c, 'R');
		put_u32(c, (uint32_t)n);
		for (int i = 0; i < n; i++)
			put_value(c, st, i);
		rows++;
	}
	put_u8(c, 'E');
	put_u64(c, (uint64_t)rows);
	if (rc != SQLITE_DONE) {
		dberr(s, name);
		done(st);
		return -1;
	}
	done(st);
	return rows;
}

/* A section of statement id bound to (a[, b[, c]]). */
static int64_t section_q(struct pr_store *s, struct canon *c, enum cst id, const char *name,
			 int nparams, int64_t a, int64_t b, int64_t d)
{
	sqlite3_stmt *st = cst(s, id);
	int rc = SQLITE_OK;

	if (!st)
		return -1;
	rc = sqlite3_bind_int64(st, 1, a);
	if (nparams > 1)
		rc = rc ?: sqlite3_bind_int64(st, 2, b);
	if (nparams > 2)
		rc = rc ?: sqlite3_bind_int64(st, 3, d);
	if (rc != SQLITE_OK) {
		cerr(s, "chain: bind: %s", sqlite3_errstr(rc));
		done(st);
		return -1;
	}
	return section(s, c, st, name, false);
}

/* A schema-6 "boot" section of the record ref, when its row has one. */
static int64_t section_boot(struct pr_store *s, struct canon *c, enum cst id, int64_t ref)
{
	sqlite3_stmt *st;

	if (pr_store_schema_version(s) < 6)
		return 0;
	if (!(st = cst(s, id)))
		return -1;
	if (sqlite3_bind_int64(st, 1, ref) != SQLITE_OK) {
		cerr(s, "chain: bind boot");
		done(st);
		return -1;
	}
	return section(s, c, st, "boot", true);
}

/* The content digest of a record. *found: its main row is there (and a
 * range kind has all its rows). 0, or -1 on error. */
static int content_of(struct pr_store *s, const struct pr_chain_rec *r, uint8_t out[PR_SHA256_LEN],
		      bool *found)
{
	struct canon c = { .md = EVP_MD_CTX_new(), .ok = true };
	const char *k = r->kind;
	unsigned int len = 0;
	int64_t n = -1, m;
	size_t klen = strlen(k);

	*found = false;
	if (!c.md || EVP_DigestInit_ex(c.md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c.md);
		cerr(s, "chain: cannot start SHA-256");
		return -1;
	}
	put_u8(&c, 'K');
	put_u32(&c, (uint32_t)klen);
	put(&c, k, klen);
	if (!strcmp(k, "incident")) {
		n = section_q(s, &c, C_INC, "incident", 1, r->ref, 0, 0);
		*found = n > 0;
		if (n >= 0)
			n = section_q(s, &c, C_VIOLATOR, "violator", 1, r->ref, 0, 0);
		if (n >= 0)
			n = section_q(s, &c, C_NET, "network", 1, r->ref, 0, 0);
		if (n >= 0)
			n = section_q(s, &c, C_LINEAGE, "lineage", 1, r->ref, 0, 0);
		if (n >= 0) {
			n = m = section_q(s, &c, C_EVENTS, "events", 3, r->ref, r->first_row, r->nrows);
			*found = *found && m == r->nrows;
		}
		if (n >= 0)
			n = section_boot(s, &c, C_INC_BOOT, r->ref);
	} else if (!strcmp(k, "append")) {
		n = section_q(s, &c, C_EVENTS, "events", 3, r->ref, r->first_row, r->nrows);
		*found = n > 0;
	} else if (!strcmp(k, "flow")) {
		n = section_q(s, &c, C_FLOW, "flow", 1, r->ref, 0, 0);
		*found = n > 0;
	} else if (!strcmp(k, "packets")) {
		n = section_q(s, &c, C_PACKETS, "packets", 2, r->ref, r->nrows, 0);
		*found = n > 0;
	} else if (!strcmp(k, "segment")) {
		n = section_q(s, &c, C_SEGMENT, "segment", 1, r->ref, 0, 0);
		*found = n > 0;
	} else if (!strcmp(k, "loss")) {
		n = section_q(s, &c, C_LOSS, "loss", 1, r->ref, 0, 0);
		*found = n > 0;
		if (n > 0)
			n = section_boot(s, &c, C_LOSS_BOOT, r->ref);
	} else if (!strcmp(k, "run")) {
		n = section_q(s, &c, C_RUN, "run", 1, r->ref, 0, 0);
		*found = n > 0;
		if (n > 0)
			n = section_boot(s, &c, C_RUN_BOOT, r->ref);
	} else if (!strcmp(k, "policy") && pr_store_schema_version(s) >= 6) {
		n = section_q(s, &c, C_POLICY, "policy", 1, r->ref, 0, 0);
		*found = n > 0;
	} else if (!strcmp(k, "genesis")) {
		n = section_q(s, &c, C_GENESIS, "genesis", 1, r->ref, 0, 0);
		*found = n > 0;
	} else if (!strcmp(k, "prune")) {
		n = section_q(s, &c, C_PRUNE_GONE, "gone", 1, r->seq, 0, 0);
		*found = true;
		if (n >= 0 && has_prunes(s) && r->ref)
			n = section_q(s, &c, C_PRUNE_ROW, "prune", 1, r->ref, 0, 0);
		if (n >= 0 && has_prunes(s) && r->ref)
			n = section_boot(s, &c, C_PRUNE_BOOT, r->ref);
	} else {
		*found = true; /* an unknown kind: only its header is covered */
		n = 0;
	}
	if (n >= 0 && (!c.ok || EVP_DigestFinal_ex(c.md, out, &len) != 1 || len != PR_SHA256_LEN)) {
		cerr(s, "chain: SHA-256 failed");
		n = -1;
	}
	EVP_MD_CTX_free(c.md);
	return n < 0 ? -1 : 0;
}

/* ---- writing ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 0 with the last record's seq and hash (0 and zeros when empty), or -1. */
static int head_of(struct pr_store *s, int64_t *seq, uint8_t hash[PR_SHA256_LEN])
{
	sqlite3_stmt *st = cst(s, C_HEAD);
	int rc;

	*seq = 0;
	memset(hash, 0, PR_SHA256_LEN);
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == PR_SHA256_LEN)
			memcpy(hash, sqlite3_column_blob(st, 1), PR_SHA256_LEN);
	} else if (rc != SQLITE_DONE) {
		dberr(s, "chain: head");
		done(st);
		return -1;
	}
	done(st);
	return 0;
}

int pr_chain_add(struct pr_store *s, const char *kind, int64_t ref, int64_t first_row,
		 int64_t nrows)
{
	struct pr_chain_rec r = { .ref = ref, .first_row = first_row, .nrows = nrows };
	sqlite3_stmt *st;
	bool found;
	int rc;

	if (pr_store_schema_version(s) < PR_CHAIN_SCHEMA)
		return 0;
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	if (head_of(s, &r.seq, r.prev))
		return -1;
	r.seq++;
	r.time = now_ns();
	if (content_of(s, &r, r.content, &found) || rec_hash(&r, r.hash))
		return -1;
	if (!(st = cst(s, C_INSERT)))
		return -1;
	rc = sqlite3_bind_int64(st, 1, r.seq);
	rc = rc ?: sqlite3_bind_int64(st, 2, (int64_t)r.time);
	rc = rc ?: sqlite3_bind_text(st, 3, r.kind, -1, SQLITE_STATIC);
	rc = rc ?: sqlite3_bind_int64(st, 4, r.ref);
	rc = rc ?: sqlite3_bind_int64(st, 5, r.first_row);
	rc = rc ?: sqlite3_bind_int64(st, 6, r.nrows);
	rc = rc ?: sqlite3_bind_blob(st, 7, r.content, PR_SHA256_LEN, SQLITE_STATIC);
	rc = rc ?: sqlite3_bind_blob(st, 8, r.prev, PR_SHA256_LEN, SQLITE_STATIC);
	rc = rc ?: sqlite3_bind_blob(st, 9, r.hash, PR_SHA256_LEN, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		cerr(s, "chain: bind: %s", sqlite3_errstr(rc));
		done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		dberr(s, "chain: add");
		done(st);
		return -1;
	}
	done(st);
	return 0;
}

static int exec1(struct pr_store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(pr_store__db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		dberr(s, "chain");
		return -1;
	}
	rc = sqlite3_step(st);
	if (out)
		*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		dberr(s, "chain");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int pr_chain_genesis(struct pr_store *s, int from_version)
{
	int64_t m[5] = { 0 };
	static const char *const q[5] = {
		"SELECT coalesce(max(id), 0) FROM incidents",
		"SELECT coalesce(max(id), 0) FROM losses",
		"SELECT coalesce(max(id), 0) FROM runs",
		"SELECT coalesce(max(rowid), 0) FROM packets",
		"SELECT coalesce(max(id), 0) FROM pcap_segments",
	};
	uint8_t id[16];
	char hex[33];
	sqlite3_stmt *st;
	int rc;

	for (int i = 0; i < 5; i++)
		if (exec1(s, q[i], &m[i]))
			return -1;
	if (RAND_bytes(id, sizeof(id)) != 1) {
		cerr(s, "chain: no random bytes for the store id");
		return -1;
	}
	pr_hex(id, sizeof(id), hex);
	if (sqlite3_prepare_v2(pr_store__db(s),
			       "INSERT INTO chain_genesis (id, store_id, from_version, max_incident,"
			       " max_loss, max_run, max_packet, max_segment)"
			       " VALUES (1, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		dberr(s, "chain: genesis");
		return -1;
	}
	rc = sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	rc = rc ?: sqlite3_bind_int(st, 2, from_version);
	for (int i = 0; i < 5; i++)
		rc = rc ?: sqlite3_bind_int64(st, 3 + i, m[i]);
	rc = rc ?: (sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR);
	if (rc != SQLITE_OK)
		dberr(s, "chain: genesis");
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return -1;
	return pr_chain_add(s, "genesis", 1, 0, 0);
}

int pr_chain_segment(struct pr_store *s, int64_t id)
{
	uint8_t h[PR_SHA256_LEN];
	char path[4200], hex[65];
	sqlite3_stmt *st;
	int rc;

	if (pr_store_schema_version(s) < PR_CHAIN_SCHEMA)
		return 0;
	pr_seg_path(path, sizeof(path), pr_store__pcapdir(s), id, false);
	if (pr_sha256_file(path, h)) {
		cerr(s, "%s: cannot hash: %s", path, strerror(errno));
		return -1;
	}
	pr_hex(h, sizeof(h), hex);
	if (sqlite3_prepare_v2(pr_store__db(s), "UPDATE pcap_segments SET sha256 = ? WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		dberr(s, "chain: segment");
		return -1;
	}
	rc = sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	rc = rc ?: sqlite3_bind_int64(st, 2, id);
	rc = rc ?: (sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR);
	if (rc != SQLITE_OK)
		dberr(s, "chain: segment");
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return -1;
	return pr_chain_add(s, "segment", id, 0, 0);
}

int pr_store_chain_prune(struct pr_store *s, int64_t prune_id)
{
	int64_t head;
	uint8_t h[PR_SHA256_LEN];
	sqlite3_stmt *st;
	int rc;

	if (pr_store_schema_version(s) < PR_CHAIN_SCHEMA)
		return 0;
	if (head_of(s, &head, h))
		return -1;
	if (sqlite3_prepare_v2(pr_store__db(s),
		"UPDATE chain SET gone = ?1 WHERE gone = 0 AND ("
		" (kind IN ('incident', 'append') AND NOT EXISTS"
		"   (SELECT 1 FROM incidents i WHERE i.id = chain.ref))"
		" OR (kind = 'flow' AND NOT EXISTS (SELECT 1 FROM flows f WHERE f.flow_id = chain.ref))"
		" OR (kind = 'packets' AND (SELECT count(*) FROM packets k"
		"   WHERE k.rowid >= chain.ref AND k.rowid < chain.ref + chain.nrows) < chain.nrows)"
		" OR (kind = 'segment' AND NOT EXISTS (SELECT 1 FROM pcap_segments g WHERE g.id = chain.ref))"
		" OR (kind = 'loss' AND NOT EXISTS (SELECT 1 FROM losses l WHERE l.id = chain.ref))"
		" OR (kind = 'run' AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = chain.ref)))",
		-1, &st, NULL) != SQLITE_OK) {
		dberr(s, "chain: prune");
		return -1;
	}
	rc = sqlite3_bind_int64(st, 1, head + 1);
	rc = rc ?: (sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR);
	if (rc != SQLITE_OK)
		dberr(s, "chain: prune");
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return -1;
	return pr_chain_add(s, "prune", prune_id, 0, 0);
}

/* ---- reading ---- */

static int read_rec(sqlite3_stmt *st, struct pr_chain_rec *r)
{
	const unsigned char *k;

	memset(r, 0, sizeof(*r));
	r->seq = sqlite3_column_int64(st, 0);
	r->time = (uint64_t)sqlite3_column_int64(st, 1);
	k = sqlite3_column_text(st, 2);
	snprintf(r->kind, sizeof(r->kind), "%s", k ? (const char *)k : "");
	r->ref = sqlite3_column_int64(st, 3);
	r->first_row = sqlite3_column_int64(st, 4);
	r->nrows = sqlite3_column_int64(st, 5);
	r->gone = sqlite3_column_int64(st, 9);
	if (sqlite3_column_bytes(st, 6) != PR_SHA256_LEN ||
	    sqlite3_column_bytes(st, 7) != PR_SHA256_LEN ||
	    sqlite3_column_bytes(st, 8) != PR_SHA256_LEN)
		return -1; /* damaged: lengths wrong */
	memcpy(r->content, sqlite3_column_blob(st, 6), PR_SHA256_LEN);
	memcpy(r->prev, sqlite3_column_blob(st, 7), PR_SHA256_LEN);
	memcpy(r->hash, sqlite3_column_blob(st, 8), PR_SHA256_LEN);
	return 0;
}

static int need_chain(struct pr_store *s)
{
	int v = pr_store_schema_version(s);

	if (v >= PR_CHAIN_SCHEMA)
		return 0;
	cerr(s, "store schema %d has no hash chain (tamper evidence starts with schema %d; "
	     "run polrecd once to start one)", v, PR_CHAIN_SCHEMA);
	return -1;
}

int pr_chain_head(struct pr_store *s, int64_t *seq, uint8_t hash[PR_SHA256_LEN],
		  char store_id[33])
{
	sqlite3_stmt *st;
	const unsigned char *t;

	store_id[0] = '\0';
	if (need_chain(s) || head_of(s, seq, hash) || !(st = cst(s, C_GENESIS_ID)))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && (t = sqlite3_column_text(st, 0)))
		snprintf(store_id, 33, "%s", (const char *)t);
	done(st);
	return 0;
}

long pr_chain_incident_records(struct pr_store *s, int64_t incident_id, pr_chain_cb cb,
			       void *arg)
{
	struct pr_chain_rec r;
	sqlite3_stmt *st;
	long n = 0;
	int rc;

	if (need_chain(s))
		return -1;
	if (sqlite3_prepare_v2(pr_store__db(s),
		"SELECT seq, time, kind, ref, first_row, nrows, content, prev, hash, gone FROM chain"
		" WHERE (kind IN ('incident', 'append') AND ref = ?1)"
		" OR (kind = 'flow' AND ref IN (SELECT flow_id FROM flows WHERE incident_id = ?1))"
		" ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		dberr(s, "chain");
		return -1;
	}
	sqlite3_bind_int64(st, 1, incident_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_rec(st, &r)) {
			cerr(s, "chain record %" PRId64 ": damaged row", (int64_t)sqlite3_column_int64(st, 0));
			n = -1;
			break;
		}
		n++;
		if (cb && cb(&r, arg))
			break;
	}
	if (n >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		dberr(s, "chain");
		n = -1;
	}
	sqlite3_finalize(st);
	return n;
}

/* ---- verifying ---- */

struct genesis {
	bool seen;
	int64_t max_incident, max_loss, max_run, max_packet;
};

static const char *ref_name(const char *kind)
{
	if (!strcmp(kind, "incident") || !strcmp(kind, "append"))
		return "incident";
	if (!strcmp(kind, "packets"))
		return "packet row";
	if (!strcmp(kind, "segment"))
		return "pcap segment";
	return kind;
}

/* "chain record 17 (incident 12)" */
static void rec_name(const struct pr_chain_rec *r, char *buf, size_t n)
{
	if (!strcmp(r->kind, "append"))
		snprintf(buf, n, "chain record %" PRId64 " (events %" PRId64 "-%" PRId64
			 " of incident %" PRId64 ")", r->seq, r->first_row,
			 r->first_row + r->nrows - 1, r->ref);
	else if (!strcmp(r->kind, "packets"))
		snprintf(buf, n, "chain record %" PRId64 " (packet rows %" PRId64 "-%" PRId64 ")",
			 r->seq, r->ref, r->ref + r->nrows - 1);
	else
		snprintf(buf, n, "chain record %" PRId64 " (%s %" PRId64 ")", r->seq,
			 ref_name(r->kind), r->ref);
}

static int read_genesis(struct pr_store *s, int64_t ref, struct genesis *g, char *sid)
{
	sqlite3_stmt *st = cst(s, C_GENESIS);
	const unsigned char *t;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ref);
	if (sqlite3_step(st) == SQLITE_ROW) {
		t = sqlite3_column_text(st, 1);
		snprintf(sid, 33, "%s", t ? (const char *)t : "");
		g->max_incident = sqlite3_column_int64(st, 3);
		g->max_loss = sqlite3_column_int64(st, 4);
		g->max_run = sqlite3_column_int64(st, 5);
		g->max_packet = sqlite3_column_int64(st, 6);
		g->seen = true;
	}
	done(st);
	return 0;
}

/* violations == 1 + joined events; 0 ok, 1 not, -1 error */
static int check_violations(struct pr_store *s, int64_t iid)
{
	sqlite3_stmt *st = cst(s, C_VIOLATIONS);
	int rc, bad = 0;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, iid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		bad = sqlite3_column_int64(st, 0) != 1 + sqlite3_column_int64(st, 1);
	else if (rc != SQLITE_DONE)
		bad = -1, dberr(s, "verify");
	done(st);
	return bad;
}

/* The record that should have come at this place: the one whose prev is
 * want (0 if none). */
static int64_t successor(struct pr_store *s, const uint8_t want[PR_SHA256_LEN], int64_t not_seq)
{
	sqlite3_stmt *st = cst(s, C_SUCCESSOR);
	int64_t seq = 0;

	if (!st)
		return -1;
	sqlite3_bind_blob(st, 1, want, PR_SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, not_seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	done(st);
	return seq;
}

/* One record in place: 0 ok, 1 bad (r->msg), -1 error. */
static int check_record(struct pr_store *s, const struct pr_chain_rec *c, int64_t want_seq,
			const uint8_t want_prev[PR_SHA256_LEN], struct pr_verify_result *res,
			struct genesis *g)
{
	uint8_t content[PR_SHA256_LEN], h[PR_SHA256_LEN];
	char name[160];
	bool found;
	int64_t m;
	int v;

	rec_name(c, name, sizeof(name));
	if (c->seq != want_seq) {
		snprintf(res->msg, sizeof(res->msg), want_seq + 1 == c->seq
			 ? "chain record %" PRId64 " missing (deleted)"
			 : "chain records %" PRId64 " to %" PRId64 " missing (deleted)",
			 want_seq, c->seq - 1);
		return 1;
	}
	if (memcmp(c->prev, want_prev, PR_SHA256_LEN)) {
		m = successor(s, want_prev, c->seq);
		if (m < 0)
			return -1;
		if (m > c->seq)
			snprintf(res->msg, sizeof(res->msg),
				 "chain records %" PRId64 " and %" PRId64 " out of order", c->seq, m);
		else
			snprintf(res->msg, sizeof(res->msg),
				 "%s does not follow chain record %" PRId64
				 " (a record was removed, inserted or rewritten)", name, c->seq - 1);
		return 1;
	}
	if (c->seq == 1 && strcmp(c->kind, "genesis")) {
		snprintf(res->msg, sizeof(res->msg), "%s: the chain does not start with its genesis "
			 "record (rewritten)", name);
		return 1;
	}
	if (c->gone) {
		/* rows removed by a prune: the stored digest stands for them */
		memcpy(content, c->content, PR_SHA256_LEN);
		found = true;
		res->pruned++;
	} else if (content_of(s, c, content, &found)) {
		return -1;
	}
	{
		struct pr_chain_rec t = *c;

		memcpy(t.content, content, PR_SHA256_LEN);
		if (rec_hash(&t, h)) {
			cerr(s, "verify: SHA-256 failed");
			return -1;
		}
	}
	if (memcmp(h, c->hash, PR_SHA256_LEN)) {
		if (!found)
			snprintf(res->msg, sizeof(res->msg), "%s: %s missing (deleted)", name,
				 !strcmp(c->kind, "append") ? "events" : !strcmp(c->kind, "packets")
				 ? "packet rows" : "record");
		else if (!memcmp(content, c->content, PR_SHA256_LEN))
			snprintf(res->msg, sizeof(res->msg), "%s: chain row changed", name);
		else
			snprintf(res->msg, sizeof(res->msg), "%s: content changed", name);
		return 1;
	}
	if (!c->gone && !strcmp(c->kind, "incident")) {
		v = check_violations(s, c->ref);
		if (v < 0)
			return -1;
		if (v) {
			snprintf(res->msg, sizeof(res->msg), "%s: content changed (violations does "
				 "not match its joined events)", name);
			return 1;
		}
	}
	if (!strcmp(c->kind, "genesis") && c->seq == 1 &&
	    read_genesis(s, c->ref, g, res->store_id))
		return -1;
	return 0;
}

struct cover_q {
	const char *sql;   /* ?1 the genesis bound; returns (id[, seq]) of the first uncovered */
	const char *what;  /* what the row is, in the message */
	int two;
	int min_version;   /* the schema version that has the table (0: all) */
};

static const struct cover_q cover[] = {
	{ "SELECT id FROM incidents WHERE id > ?1 AND NOT EXISTS (SELECT 1 FROM chain c"
	  " WHERE c.kind = 'incident' AND c.ref = incidents.id) ORDER BY id LIMIT 1",
	  "incident", 0, 0 },
	{ "SELECT incident_id, seq FROM incident_events e WHERE incident_id > ?1 AND NOT EXISTS"
	  " (SELECT 1 FROM chain c WHERE c.kind IN ('incident', 'append') AND c.ref = e.incident_id"
	  " AND e.seq >= c.first_row AND e.seq < c.first_row + c.nrows)"
	  " ORDER BY incident_id, seq LIMIT 1",
	  "event", 1, 0 },
	{ "SELECT flow_id FROM flows f WHERE incident_id > ?1 AND NOT EXISTS (SELECT 1 FROM chain c"
	  " WHERE c.kind = 'flow' AND c.ref = f.flow_id) ORDER BY flow_id LIMIT 1",
	  "flow", 0, 0 },
	{ "SELECT id FROM losses WHERE id > ?2 AND NOT EXISTS (SELECT 1 FROM chain c"
	  " WHERE c.kind = 'loss' AND c.ref = losses.id) ORDER BY id LIMIT 1",
	  "loss", 0, 0 },
	{ "SELECT id FROM runs WHERE id > ?3 AND NOT EXISTS (SELECT 1 FROM chain c"
	  " WHERE c.kind = 'run' AND c.ref = runs.id) ORDER BY id LIMIT 1",
	  "run", 0, 0 },
	{ "SELECT rowid FROM packets k WHERE rowid > ?4 AND coalesce((SELECT c.ref + c.nrows"
	  " FROM chain c WHERE c.kind = 'packets' AND c.ref <= k.rowid ORDER BY c.ref DESC LIMIT 1),"
	  " 0) <= k.rowid ORDER BY rowid LIMIT 1",
	  "packet row", 0, 0 },
	/* every prune row is named by its prune record (which covers it) */
	{ "SELECT rowid FROM prunes p WHERE NOT EXISTS (SELECT 1 FROM chain c"
	  " WHERE c.kind = 'prune' AND c.ref = p.rowid) ORDER BY rowid LIMIT 1",
	  "prune record", 0, 5 },
	{ "SELECT id FROM policy_versions v WHERE NOT EXISTS (SELECT 1 FROM chain c"
	  " WHERE c.kind = 'policy' AND c.ref = v.id) ORDER BY id LIMIT 1",
	  "policy version", 0, 6 },
};

/* The chain's largest ref of a kind: rows above it are past the tail. */
static int past_tail(struct pr_store *s, int q, int64_t id)
{
	static const char *const k[] = { "incident", "incident", "flow", "loss", "run", "packets",
					 "prune", "policy" };
	sqlite3_stmt *st;
	int past = 0;

	if (q == 2)
		return 0; /* flow ids are not in order */
	if (sqlite3_prepare_v2(pr_store__db(s), "SELECT coalesce(max(ref), 0) FROM chain"
			       " WHERE kind = ?1", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, k[q], -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		past = id > sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return past;
}

static int check_cover(struct pr_store *s, const struct genesis *g, struct pr_verify_result *r)
{
	for (size_t i = 0; i < sizeof(cover) / sizeof(cover[0]); i++) {
		sqlite3_stmt *st;
		int rc;

		if (pr_store_schema_version(s) < cover[i].min_version)
			continue;
		if (sqlite3_prepare_v2(pr_store__db(s), cover[i].sql, -1, &st, NULL) != SQLITE_OK) {
			dberr(s, "verify");
			return -1;
		}
		sqlite3_bind_int64(st, 1, g->max_incident);
		sqlite3_bind_int64(st, 2, g->max_loss);
		sqlite3_bind_int64(st, 3, g->max_run);
		sqlite3_bind_int64(st, 4, g->max_packet);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			int64_t a = sqlite3_column_int64(st, 0);
			const char *tail = past_tail(s, (int)i, a)
				? ", or the chain's tail was cut" : "";

			if (cover[i].two)
				snprintf(r->msg, sizeof(r->msg), "incident %" PRId64 ": event %" PRId64
					 " not in the chain (inserted%s)", a,
					 (int64_t)sqlite3_column_int64(st, 1), tail);
			else
				snprintf(r->msg, sizeof(r->msg), "%s %" PRId64 " not in the chain "
					 "(inserted%s)", cover[i].what, a, tail);
		} else if (rc != SQLITE_DONE) {
			dberr(s, "verify");
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_ROW)
			return 1;
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/* gone must name a later prune record. */
static int check_gone(struct pr_store *s, struct pr_verify_result *r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(pr_store__db(s),
			       "SELECT c.seq, c.gone FROM chain c LEFT JOIN chain p ON p.seq = c.gone"
			       " WHERE c.gone != 0 AND (p.seq IS NULL OR p.kind != 'prune'"
			       " OR p.seq <= c.seq) ORDER BY c.seq LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		dberr(s, "verify");
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(r->msg, sizeof(r->msg), "chain record %" PRId64 ": marked removed by "
			 "record %" PRId64 ", which is no later prune record (changed)",
			 (int64_t)sqlite3_column_int64(st, 0), (int64_t)sqlite3_column_int64(st, 1));
	else if (rc != SQLITE_DONE)
		dberr(s, "verify");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int check_checkpoint(struct pr_store *s, const struct pr_verify_opts *o,
			    struct pr_verify_result *r)
{
	const struct pr_checkpoint *cp = o->cp;
	const char *name = o->cp_name ? o->cp_name : "(checkpoint)";
	sqlite3_stmt *st;
	struct pr_chain_rec c;
	int rc;

	if (strcmp(cp->store_id, r->store_id)) {
		snprintf(r->msg, sizeof(r->msg), "checkpoint %s is for store %s, not this one (%s)",
			 name, cp->store_id, r->store_id[0] ? r->store_id : "no id");
		return 1;
	}
	if (cp->seq > r->head_seq) {
		snprintf(r->msg, sizeof(r->msg), "the chain ends at %" PRId64 " but checkpoint %s "
			 "says %" PRId64 " (truncated)", r->head_seq, name, cp->seq);
		return 1;
	}
	if (!(st = cst(s, C_BY_SEQ)))
		return -1;
	sqlite3_bind_int64(st, 1, cp->seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && !read_rec(st, &c) && !memcmp(c.hash, cp->hash, PR_SHA256_LEN)) {
		done(st);
		return 0;
	}
	done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		dberr(s, "verify");
		return -1;
	}
	snprintf(r->msg, sizeof(r->msg), "chain record %" PRId64 " does not match checkpoint %s "
		 "(the chain was rewritten)", cp->seq, name);
	return 1;
}

static int check_segments(struct pr_store *s, struct pr_verify_result *r)
{
	sqlite3_stmt *st;
	uint8_t h[PR_SHA256_LEN];
	char path[4200], hex[65];
	int rc, bad = 0;

	if (sqlite3_prepare_v2(pr_store__db(s),
			       "SELECT g.id, g.sha256 FROM pcap_segments g JOIN chain c"
			       " ON c.kind = 'segment' AND c.ref = g.id AND c.gone = 0"
			       " WHERE g.sha256 != '' ORDER BY g.id", -1, &st, NULL) != SQLITE_OK) {
		dberr(s, "verify");
		return -1;
	}
	while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const unsigned char *want = sqlite3_column_text(st, 1);

		pr_seg_path(path, sizeof(path), pr_store__pcapdir(s), id, false);
		if (pr_sha256_file(path, h)) {
			snprintf(r->msg, sizeof(r->msg), "pcap segment %" PRId64 " (%.200s): %s", id, path,
				 errno == ENOENT ? "file missing (deleted)" : strerror(errno));
			bad = 1;
			break;
		}
		pr_hex(h, sizeof(h), hex);
		r->segments_checked++;
		if (!want || strcmp((const char *)want, hex)) {
			snprintf(r->msg, sizeof(r->msg), "pcap segment %" PRId64 " (%.200s): file changed "
				 "(its SHA-256 is not the one chained)", id, path);
			bad = 1;
		}
	}
	if (!bad && rc != SQLITE_DONE) {
		dberr(s, "verify");
		bad = -1;
	}
	sqlite3_finalize(st);
	return bad;
}

static int verify_walk(struct pr_store *s, struct pr_verify_result *r, struct genesis *g)
{
	sqlite3_stmt *st = cst(s, C_WALK);
	uint8_t prev[PR_SHA256_LEN] = { 0 };
	struct pr_chain_rec c;
	int64_t want = 1;
	int rc, bad = 0;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_rec(st, &c)) {
			snprintf(r->msg, sizeof(r->msg), "chain record %" PRId64 ": damaged row "
				 "(hash lengths)", (int64_t)sqlite3_column_int64(st, 0));
			bad = 1;
			break;
		}
		bad = check_record(s, &c, want, prev, r, g);
		if (bad)
			break;
		memcpy(prev, c.hash, PR_SHA256_LEN);
		want = c.seq + 1;
		r->records++;
	}
	if (!bad && rc != SQLITE_DONE) {
		dberr(s, "verify");
		bad = -1;
	}
	done(st);
	if (bad)
		return bad;
	r->head_seq = want - 1;
	memcpy(r->head_hash, prev, PR_SHA256_LEN);
	if (!g->seen) {
		snprintf(r->msg, sizeof(r->msg), "chain record 1 missing (deleted)");
		return 1;
	}
	return 0;
}

int pr_chain_verify(struct pr_store *s, const struct pr_verify_opts *o,
		    struct pr_verify_result *r)
{
	static const struct pr_verify_opts none;
	struct genesis g = { 0 };
	sqlite3 *db = pr_store__db(s);
	int bad;

	memset(r, 0, sizeof(*r));
	o = o ? o : &none;
	if (need_chain(s))
		return -1;
	/* one read snapshot for the whole check */
	if (sqlite3_exec(db, "SAVEPOINT pr_verify", NULL, NULL, NULL) != SQLITE_OK) {
		dberr(s, "verify");
		return -1;
	}
	bad = verify_walk(s, r, &g);
	if (!bad && o->cp)
		bad = check_checkpoint(s, o, r);
	if (!bad)
		bad = check_gone(s, r);
	if (!bad)
		bad = check_cover(s, &g, r);
	if (!bad && o->full) {
		int v = pr_store_check(s, 1);

		if (v == 1)
			snprintf(r->msg, sizeof(r->msg), "integrity check: %s", pr_store_errmsg(s));
		bad = v;
		if (!bad)
			bad = check_segments(s, r);
	}
	sqlite3_exec(db, "RELEASE pr_verify", NULL, NULL, NULL);
	for (char *p = r->msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	return bad;
}

/* ---- checkpoints ---- */

static FILE *open_key_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE *f;

	if (fd < 0 || !(f = fdopen(fd, "r"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

static EVP_PKEY *read_private(const char *path, char *err, size_t errlen)
{
	FILE *f = open_key_file(path, err, errlen);
	EVP_PKEY *k;

	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 private key in PEM "
			 "(make one with: openssl genpkey -algorithm ed25519)", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static EVP_PKEY *read_public(const char *path, char *err, size_t errlen)
{
	FILE *f = open_key_file(path, err, errlen);
	EVP_PKEY *k;

	if (!f)
		return NULL;
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k) {
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 public key in PEM "
			 "(openssl pkey -in KEY -pubout)", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static void esc_path(const char *p, char *out, size_t n)
{
	size_t j = 0;

	for (; *p && j + 5 < n; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x21 || c >= 0x7f || c == '\\')
			j += (size_t)snprintf(out + j, n - j, "\\x%02x", c);
		else
			out[j++] = (char)c;
	}
	out[j] = '\0';
}

char *pr_checkpoint_make(const struct pr_checkpoint *cp, const char *store_path,
			 const char *key_pem_path, char *err, size_t errlen)
{
	EVP_PKEY *k = read_private(key_pem_path, err, errlen);
	EVP_MD_CTX *md = NULL;
	uint8_t pub[32], sig[64];
	size_t publen = sizeof(pub), siglen = sizeof(sig);
	char hash[65], pubhex[65], path[1024], b64[128], *text = NULL;
	int n;

	if (!k)
		return NULL;
	if (EVP_PKEY_get_raw_public_key(k, pub, &publen) != 1 || publen != 32) {
		snprintf(err, errlen, "%s: cannot read the public half", key_pem_path);
		goto out;
	}
	pr_hex(cp->hash, PR_SHA256_LEN, hash);
	pr_hex(pub, 32, pubhex);
	esc_path(store_path, path, sizeof(path));
	text = malloc(4096);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	n = snprintf(text, 4096, "polrec-checkpoint 1\nstore_id %s\nstore %s\nseq %" PRId64
		     "\nhash %s\ntime %" PRIu64 "\nkey %s\n", cp->store_id, path, cp->seq, hash,
		     cp->time, pubhex);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)text, (size_t)n) != 1) {
		snprintf(err, errlen, "%s: signing failed", key_pem_path);
		free(text);
		text = NULL;
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	snprintf(text + n, 4096 - (size_t)n, "signature %s\n", b64);
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return text;
}

static int cp_fail(char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "checkpoint %s: %s", path, what);
	return -1;
}

static int cp_parse(char *text, size_t signed_len, struct pr_checkpoint *cp, const char *path,
		    char *err, size_t errlen)
{
	char *line, *save = NULL, *end;
	int have = 0;

	text[signed_len] = '\0';
	line = strtok_r(text, "\n", &save);
	if (!line || strcmp(line, "polrec-checkpoint 1"))
		return cp_fail(err, errlen, path, "not a polrec checkpoint (version 1)");
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *v = strchr(line, ' ');

		if (!v)
			return cp_fail(err, errlen, path, "malformed line");
		*v++ = '\0';
		if (!strcmp(line, "store_id")) {
			if (strlen(v) != 32)
				return cp_fail(err, errlen, path, "bad store_id");
			memcpy(cp->store_id, v, 33);
			have |= 1;
		} else if (!strcmp(line, "seq")) {
			errno = 0;
			cp->seq = strtoll(v, &end, 10);
			if (errno || *end || cp->seq < 1)
				return cp_fail(err, errlen, path, "bad seq");
			have |= 2;
		} else if (!strcmp(line, "hash")) {
			if (pr_unhex(v, cp->hash, PR_SHA256_LEN))
				return cp_fail(err, errlen, path, "bad hash");
			have |= 4;
		} else if (!strcmp(line, "time")) {
			cp->time = strtoull(v, NULL, 10);
		}
	}
	if (have != 7)
		return cp_fail(err, errlen, path, "store_id, seq or hash missing");
	return 0;
}

int pr_checkpoint_read(const char *path, const char *pub_pem_path, struct pr_checkpoint *cp,
		       char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *md = NULL;
	char text[8192], *sigline;
	unsigned char sig[128];
	size_t n;
	int siglen, rc = -1;
	FILE *f;

	memset(cp, 0, sizeof(*cp));
	if (!(f = open_key_file(path, err, errlen)))
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (n == sizeof(text) - 1 || strlen(text) != n)
		return cp_fail(err, errlen, path, "not a polrec checkpoint (too long or binary)");
	sigline = strstr(text, "\nsignature ");
	if (!sigline)
		return cp_fail(err, errlen, path, "no signature");
	sigline++;
	{
		char *b = sigline + strlen("signature "), *nl = strchr(b, '\n');
		size_t blen = nl ? (size_t)(nl - b) : strlen(b);

		if (blen != 88 || (nl && nl[1]))
			return cp_fail(err, errlen, path, "malformed signature line");
		siglen = EVP_DecodeBlock(sig, (const unsigned char *)b, (int)blen);
		if (siglen != 66) /* 64 bytes and the padding's 2 */
			return cp_fail(err, errlen, path, "malformed signature");
	}
	if (!(k = read_public(pub_pem_path, err, errlen)))
		return -1;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestVerify(md, sig, 64, (const unsigned char *)text,
			     (size_t)(sigline - text)) != 1) {
		cp_fail(err, errlen, path, "bad signature (not signed by this key, or changed)");
		goto out;
	}
	rc = cp_parse(text, (size_t)(sigline - text), cp, path, err, errlen);
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}
