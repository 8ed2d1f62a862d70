/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * `polq pcap`: an incident's packets as a capture file for Wireshark.
 *
 * Classic pcap is written by libpcap (LINKTYPE_RAW, nanosecond
 * timestamps, snaplen 65535). pcapng has its own small writer (libpcap
 * 1.10 writes no pcapng): one Section Header Block, one Interface
 * Description Block (LINKTYPE_RAW, snaplen 65535, if_tsresol 9 = ns) and
 * one Enhanced Packet Block per packet, with an opt_comment naming the
 * incident, process and flow, and epb_flags giving the direction.
 * Blocks are in host byte order (the SHB byte-order magic says which).
 */
#ifndef POLREC_EXPORT_H
#define POLREC_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "schema/store.h"

enum pr_export_format {
	PR_EXPORT_PCAP = 0,
	PR_EXPORT_PCAPNG = 1,
};

/* Write every packet of incident id, in time order, to f, which is closed
 * in every case (libpcap's dumper owns it). Returns the number of packets
 * written (0: a valid empty capture), or -1 with one line in err (a store
 * or segment error, or a write error). */
long pr_export_incident(struct pr_store *s, int64_t id, FILE *f, enum pr_export_format fmt,
			char *err, size_t errlen);

/* The pcapng building blocks (0, or -1 on a write error). */
/* appl: the SHB's shb_userappl; if_desc: the interface's if_description
 * (UTF-8, cut to 1024 bytes; NULL = none); the interface is named "polrec". */
int pr_pcapng_begin(FILE *f, const char *appl, const char *if_desc);
/* comment: UTF-8 text, cut to PR_PCAPNG_COMMENT_MAX bytes; NULL = none. */
int pr_pcapng_packet(FILE *f, const struct pr_packet_rec *p, const char *comment);
#define PR_PCAPNG_COMMENT_MAX 2048

/* "incident 7 pid 1234 exe /usr/bin/curl flow 42 (violation)", exe
 * escaped C-style as text output is; malloc'd. */
char *pr_packet_comment(int64_t incident_id, const struct pr_flow_rec *f);

#endif /* POLREC_EXPORT_H */
