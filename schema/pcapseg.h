/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pcap segments: the packet bytes of the store, DIR/pcap/seg-<id>.pcap
 * (finished) and DIR/pcap/.seg-<id>.pcap.part (being written). Classic
 * pcap, LINKTYPE_RAW, nanosecond timestamps, snaplen 65535, written with
 * libpcap; read back record by record at the offsets the index keeps.
 * Internal to the store layer (schema/store.c).
 *
 * Errors: -1 with one line in err naming the segment (and offset).
 */
#ifndef POLREC_PCAPSEG_H
#define POLREC_PCAPSEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "schema/store.h"

#define PR_PCAP_DIR       "pcap"
#define PR_PCAP_FILE_HDR  24u
#define PR_PCAP_REC_HDR   16u
#define PR_LINKTYPE_RAW   101u

/* DIR/pcap/seg-<id>.pcap, or .seg-<id>.pcap.part when part. */
int pr_seg_path(char *buf, size_t n, const char *pcapdir, int64_t id, bool part);
/* Parses "seg-<id>.pcap" (part false) or ".seg-<id>.pcap.part" (part
 * true); returns the id, or -1 when name is neither. */
int64_t pr_seg_parse_name(const char *name, bool *part);

struct pcap;
struct pcap_dumper;

struct pr_seg_writer {
	int64_t id;              /* 0: none open */
	FILE *f;
	struct pcap *pd;
	struct pcap_dumper *dump;
	uint64_t bytes;          /* file size after the last record */
	bool dirty;              /* written since the last sync */
};

/* Create .seg-<id>.pcap.part (O_CREAT|O_EXCL|O_NOFOLLOW, 0600) and write
 * the file header. Returns 0, -1, or -2 when the file exists already. */
int pr_seg_create(struct pr_seg_writer *w, const char *pcapdir, int64_t id,
		  char *err, size_t errlen);
/* Append one record; *offset is where its 16-byte header starts. */
int pr_seg_append(struct pr_seg_writer *w, const struct pr_packet_rec *p, uint64_t *offset,
		  char *err, size_t errlen);
/* pcap_dump_flush: the records reach the file (readers see them). */
int pr_seg_flush(struct pr_seg_writer *w, char *err, size_t errlen);
/* fdatasync when dirty. */
int pr_seg_sync(struct pr_seg_writer *w, char *err, size_t errlen);
/* Flush, fsync, close and rename to seg-<id>.pcap; always closes. */
int pr_seg_finish(struct pr_seg_writer *w, const char *pcapdir, char *err, size_t errlen);

struct pr_seg_reader {
	int64_t id;              /* 0: none open */
	FILE *f;
	bool swapped;            /* written on a host of the other byte order */
	uint64_t size;
	char path[4096];
};

/* Open segment id for reading: the .part first when the index says it is
 * open, else the finished name; the other one when that is missing (the
 * writer may rename it in between). */
int pr_seg_reader_open(struct pr_seg_reader *r, const char *pcapdir, int64_t id, bool open,
		       char *err, size_t errlen);
/* Read the record at offset into buf (PR_STORE_SNAPLEN bytes) and check
 * its header against want (time, caplen, len). */
int pr_seg_read(struct pr_seg_reader *r, uint64_t offset, const struct pr_packet_rec *want,
		uint8_t *buf, char *err, size_t errlen);
void pr_seg_reader_close(struct pr_seg_reader *r);

#endif /* POLREC_PCAPSEG_H */
