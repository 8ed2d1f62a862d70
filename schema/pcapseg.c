// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pcap segments: writing with libpcap, reading records at indexed offsets.
 *
 * A writer owns one open segment. Records go through pcap_dump into a
 * FILE we opened ourselves (O_EXCL|O_NOFOLLOW, 0600), so the offset of
 * each record is ftello before pcap_dump. Readers never trust the index
 * alone: the 16-byte record header must agree with it (time, caplen,
 * len) and the record must lie inside the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "schema/pcapseg.h"

#define NSEC_PER_SEC   UINT64_C(1000000000)
#define PCAP_MAGIC_NS  0xa1b23c4du

__attribute__((format(printf, 3, 4)))
static int seg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -1;
}

int pr_seg_path(char *buf, size_t n, const char *pcapdir, int64_t id, bool part)
{
	int len = part ? snprintf(buf, n, "%s/.seg-%" PRId64 ".pcap.part", pcapdir, id)
		       : snprintf(buf, n, "%s/seg-%" PRId64 ".pcap", pcapdir, id);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

int64_t pr_seg_parse_name(const char *name, bool *part)
{
	const char *p = name, *suffix;
	int64_t id = 0;

	*part = *p == '.';
	if (*part)
		p++;
	if (strncmp(p, "seg-", 4))
		return -1;
	p += 4;
	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (id > (INT64_MAX - 9) / 10)
			return -1;
		id = id * 10 + (*p - '0');
	}
	suffix = *part ? ".pcap.part" : ".pcap";
	return strcmp(p, suffix) ? -1 : id;
}

/* ---- writing ---- */

static void writer_reset(struct pr_seg_writer *w)
{
	memset(w, 0, sizeof(*w));
}

int pr_seg_create(struct pr_seg_writer *w, const char *pcapdir, int64_t id,
		  char *err, size_t errlen)
{
	char path[4096];
	int fd, e;

	writer_reset(w);
	if (pr_seg_path(path, sizeof(path), pcapdir, id, true))
		return seg_err(err, errlen, "pcap segment %" PRId64 ": path too long", id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		seg_err(err, errlen, "%s: cannot create: %s", path, strerror(e));
		return e == EEXIST ? -2 : -1;
	}
	w->f = fdopen(fd, "wb");
	if (!w->f) {
		close(fd);
		unlink(path);
		return seg_err(err, errlen, "%s: %s", path, strerror(errno));
	}
	w->pd = pcap_open_dead_with_tstamp_precision(DLT_RAW, PR_STORE_SNAPLEN,
						     PCAP_TSTAMP_PRECISION_NANO);
	if (w->pd)
		w->dump = pcap_dump_fopen(w->pd, w->f);
	if (!w->dump) {
		seg_err(err, errlen, "%s: libpcap: %s", path,
			w->pd ? pcap_geterr(w->pd) : "cannot open a dead handle");
		if (w->pd)
			pcap_close(w->pd);
		fclose(w->f);
		unlink(path);
		writer_reset(w);
		return -1;
	}
	w->id = id;
	w->bytes = PR_PCAP_FILE_HDR;
	w->dirty = true;
	return 0;
}

int pr_seg_append(struct pr_seg_writer *w, const struct pr_packet_rec *p, uint64_t *offset,
		  char *err, size_t errlen)
{
	struct pcap_pkthdr h = { 0 };
	off_t off = ftello(w->f);

	if (off < 0)
		return seg_err(err, errlen, "pcap segment %" PRId64 ": ftell: %s", w->id,
			       strerror(errno));
	h.ts.tv_sec = (time_t)(p->time / NSEC_PER_SEC);
	h.ts.tv_usec = (suseconds_t)(p->time % NSEC_PER_SEC); /* ns: NANO precision */
	h.caplen = p->caplen;
	h.len = p->len;
	pcap_dump((u_char *)w->dump, &h, p->data);
	if (ferror(w->f))
		return seg_err(err, errlen, "pcap segment %" PRId64 ": write failed", w->id);
	*offset = (uint64_t)off;
	w->bytes = (uint64_t)off + PR_PCAP_REC_HDR + p->caplen;
	w->dirty = true;
	return 0;
}

int pr_seg_flush(struct pr_seg_writer *w, char *err, size_t errlen)
{
	if (pcap_dump_flush(w->dump) || ferror(w->f))
		return seg_err(err, errlen, "pcap segment %" PRId64 ": flush: %s", w->id,
			       strerror(errno ? errno : EIO));
	return 0;
}

int pr_seg_sync(struct pr_seg_writer *w, char *err, size_t errlen)
{
	if (!w->dirty)
		return 0;
	if (pr_seg_flush(w, err, errlen))
		return -1;
	if (fdatasync(fileno(w->f)))
		return seg_err(err, errlen, "pcap segment %" PRId64 ": fdatasync: %s", w->id,
			       strerror(errno));
	w->dirty = false;
	return 0;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd); /* best effort: the rename is durable sooner or later */
		close(fd);
	}
}

int pr_seg_finish(struct pr_seg_writer *w, const char *pcapdir, char *err, size_t errlen)
{
	char part[4096], done[4096];
	int rc = 0;

	if (!w->id)
		return 0;
	if (pr_seg_flush(w, err, errlen) || fsync(fileno(w->f)))
		rc = rc ?: seg_err(err, errlen, "pcap segment %" PRId64 ": sync: %s", w->id,
				   strerror(errno ? errno : EIO));
	pcap_dump_close(w->dump); /* closes w->f */
	pcap_close(w->pd);
	if (pr_seg_path(part, sizeof(part), pcapdir, w->id, true) ||
	    pr_seg_path(done, sizeof(done), pcapdir, w->id, false))
		rc = rc ?: seg_err(err, errlen, "pcap segment %" PRId64 ": path too long", w->id);
	else if (rename(part, done))
		rc = rc ?: seg_err(err, errlen, "%s: rename to %s: %s", part, done, strerror(errno));
	else
		sync_dir(pcapdir);
	writer_reset(w);
	return rc;
}

/* ---- reading ---- */

static uint32_t get32(const uint8_t *b, bool swapped)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

static int reader_header(struct pr_seg_reader *r, char *err, size_t errlen)
{
	uint8_t h[PR_PCAP_FILE_HDR];
	uint32_t magic, linktype;

	if (r->size < PR_PCAP_FILE_HDR || fread(h, 1, sizeof(h), r->f) != sizeof(h))
		return seg_err(err, errlen, "%s: truncated file header (%" PRIu64 " bytes)",
			       r->path, r->size);
	memcpy(&magic, h, 4);
	r->swapped = magic == __builtin_bswap32(PCAP_MAGIC_NS);
	if (magic != PCAP_MAGIC_NS && !r->swapped)
		return seg_err(err, errlen, "%s: not a nanosecond pcap file (magic 0x%08x)",
			       r->path, magic);
	linktype = get32(h + 20, r->swapped) & 0x0fffffff;
	if (linktype != PR_LINKTYPE_RAW)
		return seg_err(err, errlen, "%s: link type %u, want %u (raw IP)", r->path,
			       linktype, PR_LINKTYPE_RAW);
	return 0;
}

static FILE *open_ro(const char *path, uint64_t *size, int *e)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		*e = errno;
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		*e = EINVAL;
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "rb");
	if (!f) {
		*e = errno;
		close(fd);
		return NULL;
	}
	*size = (uint64_t)st.st_size;
	return f;
}

int pr_seg_reader_open(struct pr_seg_reader *r, const char *pcapdir, int64_t id, bool open,
		       char *err, size_t errlen)
{
	char other[sizeof(r->path)];
	int e = 0;

	pr_seg_reader_close(r);
	if (pr_seg_path(r->path, sizeof(r->path), pcapdir, id, open) ||
	    pr_seg_path(other, sizeof(other), pcapdir, id, !open))
		return seg_err(err, errlen, "pcap segment %" PRId64 ": path too long", id);
	r->f = open_ro(r->path, &r->size, &e);
	if (!r->f && e == ENOENT) {
		memcpy(r->path, other, sizeof(other));
		r->f = open_ro(r->path, &r->size, &e);
	}
	if (!r->f)
		return seg_err(err, errlen, "pcap segment %" PRId64 ": %s: %s", id, r->path,
			       e == EINVAL ? "not a regular file" : strerror(e));
	if (reader_header(r, err, errlen)) {
		pr_seg_reader_close(r);
		return -1;
	}
	r->id = id;
	return 0;
}

/* The file may have grown since it was opened (an open segment). */
static int reader_refresh_size(struct pr_seg_reader *r)
{
	struct stat st;

	if (fstat(fileno(r->f), &st))
		return -1;
	r->size = (uint64_t)st.st_size;
	return 0;
}

int pr_seg_read(struct pr_seg_reader *r, uint64_t offset, const struct pr_packet_rec *want,
		uint8_t *buf, char *err, size_t errlen)
{
	uint8_t h[PR_PCAP_REC_HDR];
	uint32_t sec, nsec, caplen, len;
	uint64_t end;

	if (want->caplen > PR_STORE_SNAPLEN || want->caplen > want->len)
		return seg_err(err, errlen, "%s: offset %" PRIu64 ": index says caplen %u len %u "
			       "(damaged index)", r->path, offset, want->caplen, want->len);
	end = offset + PR_PCAP_REC_HDR + want->caplen;
	if (end > r->size && reader_refresh_size(r))
		return seg_err(err, errlen, "%s: fstat: %s", r->path, strerror(errno));
	if (offset < PR_PCAP_FILE_HDR || offset > INT64_MAX || end > r->size)
		return seg_err(err, errlen, "%s: offset %" PRIu64 ": record beyond the end of the "
			       "file (%" PRIu64 " bytes; truncated segment?)", r->path, offset,
			       r->size);
	if (fseeko(r->f, (off_t)offset, SEEK_SET) || fread(h, 1, sizeof(h), r->f) != sizeof(h))
		return seg_err(err, errlen, "%s: offset %" PRIu64 ": cannot read the record header",
			       r->path, offset);
	sec = get32(h, r->swapped);
	nsec = get32(h + 4, r->swapped);
	caplen = get32(h + 8, r->swapped);
	len = get32(h + 12, r->swapped);
	if (caplen != want->caplen || len != want->len ||
	    sec != (uint32_t)(want->time / NSEC_PER_SEC) || nsec != want->time % NSEC_PER_SEC)
		return seg_err(err, errlen, "%s: offset %" PRIu64 ": record (caplen %u len %u time "
			       "%u.%09u) does not match the index (caplen %u len %u time %" PRIu64
			       ".%09" PRIu64 ")", r->path, offset, caplen, len, sec, nsec,
			       want->caplen, want->len, want->time / NSEC_PER_SEC,
			       want->time % NSEC_PER_SEC);
	if (caplen && fread(buf, 1, caplen, r->f) != caplen)
		return seg_err(err, errlen, "%s: offset %" PRIu64 ": short read of %u bytes",
			       r->path, offset, caplen);
	return 0;
}

void pr_seg_reader_close(struct pr_seg_reader *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
	r->id = 0;
}
