// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_polq_args: polq's whole command line. query/polq.c is compiled into
 * this target with -Dmain=polq_main (its parsers are static) and
 * -Dpr_store_open=fz_polq_store_open, so every store it opens is the one
 * prepared here, read-only, whatever --store or $POLREC_STORE say.
 *
 * Input: argv words separated by NUL bytes (at most 16 words of at most
 * 256 bytes), run as `polq --store TMP WORD...` on a fresh copy each time.
 * Inputs that could select a command that writes files or reads paths
 * from the command line (pcap, export, checkpoint, verify-bundle: any word
 * that is a prefix of one, which is how polq selects commands) are
 * skipped, and the working directory is the temporary one.
 * stdout goes to memory, stderr to /dev/null.
 *
 * polq's terminal parts are replaced too (-Dpr_follow_signals=...,
 * -Dpr_follow_sleep=..., -Dpr_pager_start=...): no signal handler of the
 * fuzzer is touched, no pager is forked, and `incidents -f` polls the
 * store once and then stops as if interrupted.
 *
 * Also, each word goes through the exported parsers behind --since,
 * --until and --process (pr_parse_when, pr_parse_rfc3339,
 * pr_parse_duration, pr_parse_process_id) with round-trip checks, in a
 * fixed time zone with summer time (TZ=CET-1CEST,M3.5.0,M10.5.0/3).
 *
 * Checks: the exit status is 0, 1 or 2; JSON output is one valid JSON
 * object per line in valid UTF-8 without an ESC byte; text output has no
 * raw control byte besides polq's own colour codes (PR_SGR_*), which are
 * taken out before the check.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "query/render.h"
#include "schema/store.h"
#include "tests/fuzz/fuzz_common.h"

int polq_main(int argc, char **argv);
int fz_polq_store_open(struct pr_store **out, const char *dir, enum pr_store_mode mode,
		       char *err, size_t errlen);
int fz_polq_follow_signals(void);
bool fz_polq_follow_sleep(unsigned int ms);
bool fz_polq_pager_start(void);

#define MAX_WORDS 16
#define MAX_WORD 256

static char *store;   /* the prepared store */
static FILE *devnull;

/* Every pr_store_open in polq.c lands here. */
int fz_polq_store_open(struct pr_store **out, const char *dir, enum pr_store_mode mode,
		       char *err, size_t errlen)
{
	(void)dir;
	if (mode != PR_STORE_READ) {
		fprintf(stderr, "fuzz: polq opened the store for writing\n");
		abort();
	}
	return pr_store_open(out, store, PR_STORE_READ, err, errlen);
}

static int follow_rounds; /* polls left for incidents -f, per input */

int fz_polq_follow_signals(void)
{
	return 0;
}

bool fz_polq_follow_sleep(unsigned int ms)
{
	(void)ms;
	return follow_rounds-- > 0;
}

bool fz_polq_pager_start(void)
{
	return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fz_tempdir("polq");

	(void)argc;
	(void)argv;
	if (asprintf(&store, "%s/store", dir) < 0)
		abort();
	fz_make_store(store);
	unsetenv("POLREC_STORE");
	/* local times (--since "2026-03-29 02:30") read in a zone with DST */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	unsetenv("NO_COLOR");
	/* anything relative polq might still create lands in the temp dir */
	if (chdir(dir))
		abort();
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

/* Commands that write files or read paths named on the command line: pcap
 * (-o FILE), export (a bundle directory), checkpoint (a key, a signature),
 * verify-bundle (a directory). polq selects a command by any unambiguous
 * prefix, so an input with a word that could select one is skipped.
 * "verify" itself (a read-only check of the store) stays: its prefixes are
 * shared with verify-bundle and select verify or nothing. A new command
 * that writes must be added here. */
static const char *const denied[] = { "pcap", "export", "checkpoint", "verify-bundle" };

static bool selects_denied(const char *w, size_t len)
{
	for (size_t k = 0; k < sizeof(denied) / sizeof(denied[0]); k++) {
		size_t n = strlen(denied[k]);

		if (!len || len > n || strncmp(denied[k], w, len))
			continue;
		if (!strcmp(denied[k], "verify-bundle") && len <= strlen("verify"))
			continue;
		return true;
	}
	return false;
}

static const uint64_t NOW = 1764150086000000000ull;

/* A duration w (d ns) that --since reads as rw/t: "-w" and "w ago" read
 * the same, "+w" is now plus d. */
static void check_relative(const char *w, uint64_t d, int rw, uint64_t t)
{
	char buf[MAX_WORD + 8];
	uint64_t t2 = 0;
	int r2;

	snprintf(buf, sizeof(buf), "-%s", w);
	r2 = pr_parse_when(buf, NOW, &t2);
	if (r2 != rw || (!rw && t2 != t))
		goto bad;
	snprintf(buf, sizeof(buf), "%s ago", w);
	r2 = pr_parse_when(buf, NOW, &t2);
	if (r2 != rw || (!rw && t2 != t))
		goto bad;
	snprintf(buf, sizeof(buf), "+%s", w);
	r2 = pr_parse_when(buf, NOW, &t2);
	if (d > UINT64_MAX - NOW ? r2 != -ERANGE : (r2 || t2 != NOW + d))
		goto bad;
	return;
bad:
	fprintf(stderr, "fuzz: duration '%s' and '%s' disagree\n", w, buf);
	abort();
}

/* A copy of out without polq's own colour codes. */
static char *strip_sgr(const char *out, size_t len, size_t *outlen)
{
	static const char *const codes[] = { PR_SGR_CRITICAL, PR_SGR_HIGH, PR_SGR_MEDIUM,
					     PR_SGR_LOW, PR_SGR_VIOLATION, PR_SGR_RESET };
	char *o = malloc(len + 1);
	size_t i = 0, n = 0, k;

	if (!o)
		abort();
	while (i < len) {
		for (k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
			size_t cl = strlen(codes[k]);

			if (cl <= len - i && !memcmp(out + i, codes[k], cl)) {
				i += cl;
				break;
			}
		}
		if (k == sizeof(codes) / sizeof(codes[0]))
			o[n++] = out[i++];
	}
	*outlen = n;
	return o;
}

static void check_parsers(const char *w)
{
	char buf[PR_TIME_LEN], id[PR_PROCESS_ID_LEN];
	uint64_t t = 0, t2 = 0, d = 0, sb = 0;
	uint32_t pid = 0;
	int rc, rw;

	if (!pr_parse_rfc3339(w, &t)) {
		pr_fmt_time(t, buf);
		if (pr_parse_rfc3339(buf, &t2) || t2 != t) {
			fprintf(stderr, "fuzz: '%s' -> %llu -> %s does not read back\n", w,
				(unsigned long long)t, buf);
			abort();
		}
	}
	rc = pr_parse_duration(w, &d);
	rw = pr_parse_when(w, NOW, &t);
	if (!rc && ((d <= NOW && (rw || t != NOW - d)) || (d > NOW && rw != -ERANGE))) {
		fprintf(stderr, "fuzz: duration '%s' = %llu but --since reads %d/%llu\n", w,
			(unsigned long long)d, rw, (unsigned long long)t);
		abort();
	}
	if (rw && rw != -EINVAL && rw != -ERANGE)
		abort();
	if (!rc && strlen(w) < MAX_WORD)
		check_relative(w, d, rw, t);
	if (!pr_parse_process_id(w, &pid, &sb)) {
		if (!pid)
			abort();
		pr_fmt_process_id(pid, sb, id);
		uint32_t p2 = 0;
		uint64_t s2 = 0;
		if (pr_parse_process_id(id, &p2, &s2) || p2 != pid || s2 != sb)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *words[MAX_WORDS], *argv[MAX_WORDS + 4];
	size_t nw = 0, i = 0;
	char *out = NULL;
	size_t outlen = 0;
	FILE *saved_out, *saved_err, *mem;
	int argc = 0, rc;

	/* split at NULs; skip what is too long or names pcap before allocating */
	while (i <= size) {
		const uint8_t *nul = memchr(data + i, 0, size - i);
		size_t len = nul ? (size_t)(nul - (data + i)) : size - i;

		if (len > MAX_WORD || nw == MAX_WORDS)
			return 0;
		if (selects_denied((const char *)data + i, len))
			return 0;
		words[nw++] = (char *)data + i; /* bounds only; copied below */
		i += len + 1;
		if (!nul)
			break;
	}
	for (i = 0; i < nw; i++) {
		const char *w = words[i];
		size_t len = strnlen(w, size - (size_t)((const uint8_t *)w - data));

		words[i] = strndup(w, len);
		if (!words[i])
			abort();
	}
	for (i = 0; i < nw; i++)
		check_parsers(words[i]);

	/* a fresh argv: getopt permutes it */
	argv[argc++] = "polq";
	argv[argc++] = "--store";
	argv[argc++] = store;
	for (i = 0; i < nw; i++)
		argv[argc++] = words[i];
	argv[argc] = NULL;

	mem = open_memstream(&out, &outlen);
	if (!mem)
		abort();
	saved_out = stdout;
	saved_err = stderr;
	stdout = mem;
	stderr = devnull;
	optind = 0; /* glibc: full getopt reinitialisation */
	opterr = 0;
	follow_rounds = 1;
	rc = polq_main(argc, argv);
	stdout = saved_out;
	stderr = saved_err;
	if (fclose(mem))
		abort();
	if (getenv("POLREC_FUZZ_DEBUG")) /* see what a corpus file does */
		fprintf(stderr, "polq exit %d, stdout:\n%.*s\n", rc, (int)outlen, out);
	if (rc < 0 || rc > 2) {
		fprintf(stderr, "fuzz: polq exited %d\n", rc);
		abort();
	}
	if (outlen && out[0] == '{') {
		if (memchr(out, 0x1b, outlen)) {
			fprintf(stderr, "fuzz: an ESC byte in JSON output\n");
			abort();
		}
		fz_check_json_lines("polq --json", out, outlen, -1);
	} else {
		size_t tlen;
		char *text = strip_sgr(out, outlen, &tlen);

		fz_check_text("polq", text, tlen, -1);
		free(text);
	}
	free(out);
	for (i = 0; i < nw; i++)
		free(words[i]);
	return 0;
}
