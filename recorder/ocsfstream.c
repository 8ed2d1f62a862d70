// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * polrecd --ocsf-stream PATH: every committed incident, read back from the
 * store and rendered by query/ocsf.c (so polq export -o ocsf says the
 * same), appended to PATH as NDJSON for a shipper that tails it (rsyslog
 * imfile). Runs on the writer thread, after the commit.
 *
 * - One write() per incident (the finding and its activity records, whole
 *   lines): a tailer never reads half a line, and an incident's records
 *   never straddle a rotation. A short write is cut back off the file
 *   (ftruncate to where it started), so a torn line never stays.
 * - Rotation by rename: PATH -> PATH.1 -> ... -> PATH.keep (the oldest is
 *   removed) when the next incident would take PATH past max_bytes. An
 *   incident larger than max_bytes is written whole into a fresh file.
 * - The stream is never allowed to stop recording: a failure is counted,
 *   logged the first time (and when it recovers), and the store still
 *   holds the incident for polq export -o ocsf.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "query/ocsf.h"
#include "recorder/polrecd.h"

struct pr_ocsf_stream {
	char *path;
	uint64_t max_bytes;
	unsigned keep;
	int fd;
	uint64_t size;
	uint64_t written, failed, rotations;
	int failing; /* the last attempt failed (logged once) */
};

static int stream_open_fd(struct pr_ocsf_stream *st)
{
	struct stat sb = {0};

	/* O_NONBLOCK: a FIFO put in its place must not stall the writer */
	st->fd = open(st->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		      0600);
	if (st->fd < 0)
		return -1;
	if (fstat(st->fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
		int err = errno;

		if (err == 0 || !sb.st_mode || !S_ISREG(sb.st_mode))
			err = EINVAL; /* not a regular file */
		if (S_ISREG(sb.st_mode) && sb.st_uid != geteuid())
			err = EPERM;  /* someone else's file: they could read the evidence */
		close(st->fd);
		st->fd = -1;
		errno = err;
		return -1;
	}
	/* an existing file keeps nobody else's access */
	if ((sb.st_mode & 07777) != 0600 && fchmod(st->fd, 0600)) {
		close(st->fd);
		st->fd = -1;
		return -1;
	}
	st->size = (uint64_t)sb.st_size;
	return 0;
}

struct pr_ocsf_stream *pr_ocsf_stream_open(const char *path, uint64_t max_bytes, unsigned keep)
{
	struct pr_ocsf_stream *st = calloc(1, sizeof(*st));

	if (!st || !(st->path = strdup(path))) {
		free(st);
		pr_log("--ocsf-stream %s: out of memory", path);
		return NULL;
	}
	st->max_bytes = max_bytes;
	st->keep = keep;
	if (stream_open_fd(st)) {
		pr_log("--ocsf-stream %s: %s", path, strerror(errno));
		free(st->path);
		free(st);
		return NULL;
	}
	return st;
}

/* PATH.keep goes, PATH.i -> PATH.i+1, PATH -> PATH.1, a new PATH. */
static int stream_rotate(struct pr_ocsf_stream *st)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	snprintf(to, sizeof(to), "%s.%u", st->path, st->keep);
	if (unlink(to) && errno != ENOENT)
		return -1;
	for (unsigned i = st->keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", st->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", st->path, i);
		if (rename(from, to) && errno != ENOENT)
			return -1;
	}
	snprintf(to, sizeof(to), "%s.1", st->path);
	if (rename(st->path, to) && errno != ENOENT)
		return -1;
	st->rotations++;
	return stream_open_fd(st);
}

static int stream_append(struct pr_ocsf_stream *st, const char *buf, size_t len)
{
	ssize_t n;

	struct stat sb;

	if (st->fd < 0 && stream_open_fd(st))
		return -1;
	/* the file may have been cut or rotated by someone else (copytruncate):
	 * go by what it holds, never by a stale size */
	if (fstat(st->fd, &sb) == 0)
		st->size = (uint64_t)sb.st_size;
	if (st->size && st->size + len > st->max_bytes && stream_rotate(st))
		return -1;
	n = write(st->fd, buf, len);
	if (n == (ssize_t)len) {
		st->size += len;
		return 0;
	}
	/* a torn line must not stay for the tailer: cut it back off */
	if (n > 0) {
		if (ftruncate(st->fd, (off_t)st->size))
			pr_log("--ocsf-stream %s: cannot cut a partial line off: %s", st->path,
			       strerror(errno));
		errno = ENOSPC;
	}
	return -1;
}

void pr_ocsf_stream_incident(struct pr_store *s, int64_t id, void *arg)
{
	struct pr_ocsf_stream *st = arg;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = pr_export_render(s, id, PR_FMT_OCSF, &buf, &len);
	if (rc == 0 && stream_append(st, buf, len) == 0) {
		st->written++;
		if (st->failing)
			pr_log("--ocsf-stream %s: writing again (incident %" PRId64 "); %" PRIu64
			       " incidents were not streamed", st->path, id, st->failed);
		st->failing = 0;
		free(buf);
		return;
	}
	st->failed++;
	if (!st->failing)
		pr_log("--ocsf-stream %s: incident %" PRId64 " not streamed (it is in the store): "
		       "%s; further failures are counted, not logged", st->path, id,
		       rc ? (rc > 0 ? "not found" : pr_store_errmsg(s)) : strerror(errno));
	st->failing = 1;
	free(buf);
}

void pr_ocsf_stream_stats(struct pr_ocsf_stream *st, uint64_t *written, uint64_t *failed,
			  uint64_t *rotations)
{
	*written = st->written;
	*failed = st->failed;
	*rotations = st->rotations;
}

void pr_ocsf_stream_close(struct pr_ocsf_stream *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	free(st->path);
	free(st);
}
