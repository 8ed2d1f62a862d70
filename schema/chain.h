/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Tamper evidence: the store's hash chain (schema 004-chain.sql), written
 * by the store layer inside the transaction of each record and checked by
 * `polq verify`; signed checkpoints of the chain head (Ed25519); SHA-256
 * helpers. Crypto is OpenSSL libcrypto (EVP), nothing home-made.
 *
 * Chain record kinds and what each covers (the canonical bytes, read back
 * from the database rows, so the writer and the verifier run one code):
 *   genesis  the chain_genesis row (store id, ids older than the chain)
 *   incident the incidents row (without violations, which joined events
 *            raise later: verify checks it equals 1 + the joined events),
 *            the violator's snapshot, the network side, the lineage
 *            snapshot (depth order) and the events written with it
 *            (seq first_row .. first_row + nrows - 1)
 *   append   events appended later (pr_store_append_events): the seq range
 *   flow     the flows row
 *   packets  the packet index rows of one pr_store_add_packets call
 *            (rowids ref .. ref + nrows - 1)
 *   segment  a closed pcap segment: its pcap_segments row including the
 *            file's SHA-256 (polq verify --full rehashes the files)
 *   loss     the losses row;  run  the runs row
 * *   prune    the list of chain seqs it marked gone, and its prunes row when
 *            that table exists
 *   policy   a policy_versions row, text included (schema 6)
 * Schema 6 adds a "boot" section (boot_id, boot_time; for incidents also
 * policy_version) to incident, loss, run and prune records, only for rows
 * that have those columns set: records written before the migration keep
 * the content they were chained with.
 * Not covered: the processes table (the latest image of each process,
 * which `polq tree` shows; updated in place by design), packet bytes in a
 * segment that is still open, rows older than a migrated store's genesis.
 */
#ifndef POLREC_CHAIN_H
#define POLREC_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/store.h"

#define PR_SHA256_LEN 32
#define PR_CHAIN_SCHEMA 4 /* first schema version with the chain */

/* SHA-256 of a buffer / of a file (opened O_NOFOLLOW); 0 or -1 (errno). */
int pr_sha256(const void *p, size_t n, uint8_t out[PR_SHA256_LEN]);
int pr_sha256_file(const char *path, uint8_t out[PR_SHA256_LEN]);
int pr_sha256_fd(int fd, uint8_t out[PR_SHA256_LEN]); /* reads to EOF */
/* lowercase hex, 2n chars + NUL */
void pr_hex(const uint8_t *p, size_t n, char *out);
/* parses exactly 2n hex digits; 0 or -1 */
int pr_unhex(const char *s, uint8_t *out, size_t n);

/* One chain row as stored. */
struct pr_chain_rec {
	int64_t seq;
	uint64_t time;
	char kind[16];
	int64_t ref, first_row, nrows, gone;
	uint8_t content[PR_SHA256_LEN], prev[PR_SHA256_LEN], hash[PR_SHA256_LEN];
};

/* The preimage of a record's hash (header, prev, content); returns its
 * length (at most PR_CHAIN_PREIMAGE_MAX). */
#define PR_CHAIN_PREIMAGE_MAX 160
size_t pr_chain_preimage(const struct pr_chain_rec *r, uint8_t *out);

/* The head: the last record (seq 0 and zero hash when the chain is empty)
 * and the store id from genesis ("" when none). 0, or -1 (error in
 * pr_store_errmsg; a store older than version 4 has no chain: -1). */
int pr_chain_head(struct pr_store *s, int64_t *seq, uint8_t hash[PR_SHA256_LEN],
		  char store_id[33]);

/* The chain records of one incident (incident, append, flow) in seq
 * order. cb nonzero stops. Returns how many, or -1. */
typedef int (*pr_chain_cb)(const struct pr_chain_rec *r, void *arg);
long pr_chain_incident_records(struct pr_store *s, int64_t incident_id, pr_chain_cb cb,
			       void *arg);

/* A checkpoint to check the chain against (from pr_checkpoint_read). */
struct pr_checkpoint {
	char store_id[33];
	int64_t seq;
	uint8_t hash[PR_SHA256_LEN];
	uint64_t time;
};

struct pr_verify_opts {
	bool full;                       /* also integrity_check and segment files */
	const struct pr_checkpoint *cp;  /* NULL: none */
	const char *cp_name;             /* its file name, for messages */
};

struct pr_verify_result {
	int64_t records;                 /* chain records checked */
	int64_t head_seq;
	uint8_t head_hash[PR_SHA256_LEN];
	int64_t segments_checked;        /* --full: files rehashed */
	int64_t pruned;                  /* records whose rows a prune removed */
	int from_version;                /* genesis: 0 new store, else migrated from */
	char store_id[33];
	char msg[512];                   /* the first problem, one line */
};

/* Recompute the whole chain. 0 sound, 1 tampered (r->msg names the first
 * bad record), -1 the check could not run (pr_store_errmsg). Streams the
 * rows: memory does not grow with the store. */
int pr_chain_verify(struct pr_store *s, const struct pr_verify_opts *o,
		    struct pr_verify_result *r);

/* ---- checkpoints: signed with an Ed25519 key kept outside the store ---- */

/* Text, one "key value" per line; the last line "signature <base64>" signs
 * every byte before it:
 *   polrec-checkpoint 1
 *   store_id <32 hex>
 *   store <path, C-escaped>
 *   seq <n>
 *   hash <64 hex>
 *   time <epoch ns>
 *   key <64 hex: the raw Ed25519 public key>
 *   signature <base64>
 * Returns a malloc'd file text, or NULL with err. */
char *pr_checkpoint_make(const struct pr_checkpoint *cp, const char *store_path,
			 const char *key_pem_path, char *err, size_t errlen);
/* Read and check a checkpoint against the public key (PEM). 0, or -1 with
 * err ("bad signature", "not a checkpoint", ...). */
int pr_checkpoint_read(const char *path, const char *pub_pem_path, struct pr_checkpoint *cp,
		       char *err, size_t errlen);

/* ---- for schema/store.c only ---- */
struct pr_chain;
struct sqlite3;
void pr_chain_free(struct pr_chain *c);
/* Append a record (inside the caller's transaction/savepoint). */
int pr_chain_add(struct pr_store *s, const char *kind, int64_t ref, int64_t first_row,
		 int64_t nrows);
/* Migration to version 4: the genesis record (from_version: the store's
 * version before). */
int pr_chain_genesis(struct pr_store *s, int from_version);
/* A closed segment: hash its file into pcap_segments.sha256 and chain it. */
int pr_chain_segment(struct pr_store *s, int64_t id);

/* store.c's accessors for chain.c */
struct sqlite3 *pr_store__db(struct pr_store *s);
struct pr_chain **pr_store__chain(struct pr_store *s);
const char *pr_store__pcapdir(struct pr_store *s);
char *pr_store__err(struct pr_store *s); /* PR_STORE_ERR_MAX bytes */
#define PR_STORE_ERR_MAX 512

#endif /* POLREC_CHAIN_H */
