// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* `polq pcap`: classic pcap through libpcap, pcapng through our writer. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "query/export.h"
#include "query/render.h"

#ifndef POLREC_VERSION
#define POLREC_VERSION "0.1.0"
#endif

#define NSEC_PER_SEC UINT64_C(1000000000)

/* pcapng block types and options (draft-ietf-opsawg-pcapng) */
#define PCAPNG_SHB          0x0a0d0d0au
#define PCAPNG_IDB          0x00000001u
#define PCAPNG_EPB          0x00000006u
#define PCAPNG_BOM          0x1a2b3c4du
#define OPT_ENDOFOPT        0
#define OPT_COMMENT         1
#define OPT_SHB_USERAPPL    4
#define OPT_IF_NAME         2
#define OPT_IF_DESCRIPTION  3
#define OPT_IF_TSRESOL      9
#define OPT_EPB_FLAGS       2
#define EPB_FLAG_INBOUND    0x1u
#define EPB_FLAG_OUTBOUND   0x2u
#define LINKTYPE_RAW        101

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int w32(FILE *f, uint32_t v)
{
	return fwrite(&v, sizeof(v), 1, f) == 1 ? 0 : -1;
}

static int w16(FILE *f, uint16_t v)
{
	return fwrite(&v, sizeof(v), 1, f) == 1 ? 0 : -1;
}

/* n bytes and zeros up to a multiple of 4 */
static int wpad(FILE *f, const void *d, size_t n)
{
	static const uint8_t zero[4];

	if (n && fwrite(d, 1, n, f) != n)
		return -1;
	n = pad4(n) - n;
	return n && fwrite(zero, 1, n, f) != n ? -1 : 0;
}

static size_t opt_size(size_t n)
{
	return 4 + pad4(n);
}

static int wopt(FILE *f, uint16_t code, const void *d, size_t n)
{
	if (w16(f, code) || w16(f, (uint16_t)n))
		return -1;
	return wpad(f, d, n);
}

static int wend(FILE *f, uint32_t total)
{
	if (w16(f, OPT_ENDOFOPT) || w16(f, 0))
		return -1;
	return w32(f, total);
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

int pr_pcapng_begin(FILE *f, const char *appl, const char *if_desc)
{
	static const char if_name[] = "polrec";
	size_t alen = appl ? strnlen(appl, 256) : 0;
	size_t dlen = if_desc ? utf8_cut(if_desc, 1024) : 0;
	uint32_t shb = 28 + (alen ? (uint32_t)opt_size(alen) : 0) + 4;
	uint8_t tsresol = 9; /* 10^-9 s */
	uint32_t idb = 20 + (uint32_t)opt_size(sizeof(if_name) - 1) +
		       (dlen ? (uint32_t)opt_size(dlen) : 0) + (uint32_t)opt_size(1) + 4;

	if (w32(f, PCAPNG_SHB) || w32(f, shb) || w32(f, PCAPNG_BOM) || w16(f, 1) || w16(f, 0) ||
	    w32(f, 0xffffffffu) || w32(f, 0xffffffffu) || /* section length unknown */
	    (alen && wopt(f, OPT_SHB_USERAPPL, appl, alen)) || wend(f, shb))
		return -1;
	/* one interface: the packets polrec kept, both directions (the EPB
	 * flags say which), raw IP; Wireshark shows its name and description */
	if (w32(f, PCAPNG_IDB) || w32(f, idb) || w16(f, LINKTYPE_RAW) || w16(f, 0) ||
	    w32(f, PR_STORE_SNAPLEN) || wopt(f, OPT_IF_NAME, if_name, sizeof(if_name) - 1) ||
	    (dlen && wopt(f, OPT_IF_DESCRIPTION, if_desc, dlen)) ||
	    wopt(f, OPT_IF_TSRESOL, &tsresol, 1) || wend(f, idb))
		return -1;
	return 0;
}


int pr_pcapng_packet(FILE *f, const struct pr_packet_rec *p, const char *comment)
{
	size_t clen = comment ? utf8_cut(comment, PR_PCAPNG_COMMENT_MAX) : 0;
	uint32_t flags = p->dir ? EPB_FLAG_OUTBOUND : EPB_FLAG_INBOUND;
	uint32_t total = (uint32_t)(28 + pad4(p->caplen) + (clen ? opt_size(clen) : 0) +
				    opt_size(4) + 4 + 4);

	if (p->caplen > PR_STORE_SNAPLEN || p->caplen > p->len) {
		errno = EINVAL;
		return -1;
	}
	if (w32(f, PCAPNG_EPB) || w32(f, total) || w32(f, 0) ||
	    w32(f, (uint32_t)(p->time >> 32)) || w32(f, (uint32_t)p->time) ||
	    w32(f, p->caplen) || w32(f, p->len) || wpad(f, p->data, p->caplen))
		return -1;
	if ((clen && wopt(f, OPT_COMMENT, comment, clen)) ||
	    wopt(f, OPT_EPB_FLAGS, &flags, 4) || wend(f, total))
		return -1;
	return 0;
}

char *pr_packet_comment(int64_t incident_id, const struct pr_flow_rec *f)
{
	char *exe = pr_esc_dup(f->exe ? f->exe : "", f->exe ? strlen(f->exe) : 0, 0);
	char *role = pr_esc_dup(f->role ? f->role : "", f->role ? strlen(f->role) : 0, 0);
	char *out = NULL;

	if (exe && role &&
	    asprintf(&out, "incident %" PRId64 " pid %" PRIu32 " exe %s flow %" PRIu64 " (%s)",
		     incident_id, f->pid, exe, f->flow_id, role) < 0)
		out = NULL;
	free(exe);
	free(role);
	return out;
}

/* ---- the export ---- */

struct export_ctx {
	enum pr_export_format fmt;
	int64_t id;
	FILE *f;
	pcap_dumper_t *dump;
	int err;          /* errno of a failed write */
};

static int export_cb(const struct pr_packet_rec *p, const struct pr_flow_rec *fl, void *arg)
{
	struct export_ctx *c = arg;
	struct pcap_pkthdr h = { 0 };
	char *comment;
	int rc;

	if (c->fmt == PR_EXPORT_PCAP) {
		h.ts.tv_sec = (time_t)(p->time / NSEC_PER_SEC);
		h.ts.tv_usec = (suseconds_t)(p->time % NSEC_PER_SEC); /* ns precision */
		h.caplen = p->caplen;
		h.len = p->len;
		pcap_dump((u_char *)c->dump, &h, p->data);
		rc = ferror(c->f) ? -1 : 0;
	} else {
		comment = pr_packet_comment(c->id, fl);
		rc = comment ? pr_pcapng_packet(c->f, p, comment) : -1;
		free(comment);
	}
	if (rc) {
		c->err = errno ? errno : EIO;
		return 1;
	}
	return 0;
}

__attribute__((format(printf, 3, 4)))
static long export_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int export_open(struct export_ctx *c, pcap_t **pd)
{
	char appl[64], desc[160];

	*pd = NULL;
	if (c->fmt == PR_EXPORT_PCAPNG) {
		snprintf(appl, sizeof(appl), "polq " POLREC_VERSION);
		snprintf(desc, sizeof(desc), "polrec incident %" PRId64 ": the packets of its flows "
			 "as the host saw them (cgroup_skb, both directions, raw IP)", c->id);
		return pr_pcapng_begin(c->f, appl, desc);
	}
	*pd = pcap_open_dead_with_tstamp_precision(DLT_RAW, PR_STORE_SNAPLEN,
						   PCAP_TSTAMP_PRECISION_NANO);
	if (!*pd)
		return -1;
	c->dump = pcap_dump_fopen(*pd, c->f);
	return c->dump ? 0 : -1;
}

/* Flush and close f (through the dumper when there is one). */
static int export_close(struct export_ctx *c, pcap_t *pd)
{
	int rc = 0;

	if (c->dump) {
		rc = pcap_dump_flush(c->dump) || ferror(c->f) ? -1 : 0;
		pcap_dump_close(c->dump); /* fclose(c->f) */
	} else {
		rc = fclose(c->f) ? -1 : 0;
	}
	if (pd)
		pcap_close(pd);
	return rc;
}

long pr_export_incident(struct pr_store *s, int64_t id, FILE *f, enum pr_export_format fmt,
			char *err, size_t errlen)
{
	struct export_ctx c = { .fmt = fmt, .id = id, .f = f };
	pcap_t *pd;
	long n;
	int e;

	errno = 0;
	if (export_open(&c, &pd)) {
		e = errno ? errno : EIO;
		if (c.dump || !pd)
			export_close(&c, pd);
		else {
			fclose(f);
			pcap_close(pd);
		}
		return export_err(err, errlen, "writing the capture header: %s", strerror(e));
	}
	n = pr_store_incident_packets(s, id, export_cb, &c);
	if (n < 0 && !c.err) {
		export_err(err, errlen, "%s", pr_store_errmsg(s));
		export_close(&c, pd);
		return -1;
	}
	if (export_close(&c, pd) && !c.err)
		c.err = errno ? errno : EIO;
	if (c.err)
		return export_err(err, errlen, "writing the capture: %s", strerror(c.err));
	return n;
}
