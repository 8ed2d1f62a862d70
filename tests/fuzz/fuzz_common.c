// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Helpers shared by the fuzz targets: see fuzz_common.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "schema/store.h"
#include "tests/fuzz/fuzz_common.h"

/* ---- files ---- */

#define FZ_MAX_DIRS 8
static char *tempdirs[FZ_MAX_DIRS];
static int ntempdirs;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void fz_rmtree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void rm_tempdirs(void)
{
	if (getenv("POLREC_FUZZ_KEEP"))
		return;
	for (int i = 0; i < ntempdirs; i++)
		fz_rmtree(tempdirs[i]);
}

char *fz_tempdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *d;

	if (!base || !*base)
		base = "/tmp";
	if (ntempdirs == FZ_MAX_DIRS || asprintf(&d, "%s/polrec-fuzz-%s.XXXXXX", base, tag) < 0 ||
	    !mkdtemp(d)) {
		fprintf(stderr, "fuzz: cannot create a temporary directory: %s\n", strerror(errno));
		abort();
	}
	if (!ntempdirs)
		atexit(rm_tempdirs);
	tempdirs[ntempdirs++] = d;
	return d;
}

void fz_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	const char *p = data;

	if (fd < 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		abort();
	}
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w <= 0) {
			fprintf(stderr, "fuzz: writing %s: %s\n", path, strerror(errno));
			abort();
		}
		p += w;
		len -= (size_t)w;
	}
	close(fd);
}

/* ---- a small store ---- */

#define T0 1764150086000000000ull /* 2025-11-26T09:41:26Z */

static void die_store(struct pr_store *s, const char *what)
{
	fprintf(stderr, "fuzz: making the store: %s: %s\n", what, s ? pr_store_errmsg(s) : "");
	abort();
}

static struct pr_proc_rec mkproc(uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart,
				 const char *exe)
{
	static const char argv[] = "sh\0-c\0echo 'a\nb' \xff\xfe\0";

	return (struct pr_proc_rec){
		.pid = pid, .ppid = ppid, .start_boot = start, .pstart_boot = pstart,
		.start_time = T0 - 60000000000ull + start,
		.uid = 1000, .gid = 1000, .loginuid = 4294967295u, .sessionid = 7,
		.user = "us\ner\xff", .exe = exe,
		.argv = argv, .argv_len = sizeof(argv) - 1, .argc = 3,
		.flags = 2, .cwd = "/home/u\n/\xc3\x28",
		.cgroup_id = 4242, .cgroup = "/user.slice/x\ny",
		.container_id = "", .sha256 = "ab12",
	};
}

/* An IPv4 TCP packet 10.0.0.1:40000 -> 10.0.0.2:80 with a payload. */
static size_t mkpacket(uint8_t *b, size_t cap, bool reply)
{
	static const char payload[] = "GET /\xff\x01 HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t plen = sizeof(payload) - 1, len = 40 + plen;

	if (cap < len)
		abort();
	memset(b, 0, 40);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[8] = 64;
	b[9] = 6; /* TCP */
	uint8_t a[4] = { 10, 0, 0, 1 }, z[4] = { 10, 0, 0, 2 };
	memcpy(b + 12, reply ? z : a, 4);
	memcpy(b + 16, reply ? a : z, 4);
	b[20] = reply ? 0 : 0x9c, b[21] = reply ? 80 : 0x40;   /* sport */
	b[22] = reply ? 0x9c : 0, b[23] = reply ? 0x40 : 80;   /* dport */
	b[32] = 0x50; /* data offset 5 */
	b[33] = 0x18; /* PSH ACK */
	memcpy(b + 40, payload, plen);
	return len;
}

void fz_make_store(const char *dir)
{
	struct pr_proc_rec lin[3] = {
		mkproc(300, 3000, 200, 2000, "/bin/sh"),
		mkproc(200, 2000, 1, 10, "/usr/sbin/ng\xe2\x80\xaeinx"),
		mkproc(1, 10, 0, 0, "/sbin/init"),
	};
	struct pr_event_rec ev[3] = {
		{ .time = T0 - 12300000000ull, .kind = "exec", .pid = 300, .start_boot = 3000,
		  .path = "/bin/sh", .path2 = "", .detail = "", .mark = PR_MARK_CONTEXT },
		{ .time = T0, .kind = "write", .pid = 300, .start_boot = 3000,
		  .path = "/etc/sha\ndow\xff", .path2 = "", .detail = "flags=O_WRONLY\t\x1b[2J",
		  .mark = PR_MARK_VIOLATION },
		{ .time = T0 + 800000000ull, .kind = "rename", .pid = 300, .start_boot = 3000,
		  .path = "/etc/passwd", .path2 = "/tmp/x\ny", .detail = "", .mark = PR_MARK_CONTEXT },
	};
	struct pr_event_rec joined = {
		.time = T0 + 3100000000ull, .kind = "write", .pid = 300, .start_boot = 3000,
		.path = "/etc/group", .path2 = "", .detail = "", .mark = PR_MARK_JOINED,
	};
	struct pr_incident_rec inc = {
		.time = T0, .policy = "web tier", .rule = "files.protect", .severity = "high",
		.kind = "file", .action = "write", .path = "/etc/sha\ndow\xff",
		.expected = "files.protect /etc/**", .actual = "wrote \xff\n",
		.proc = lin[0], .lost_events = 3, .follow_until = T0 + 30000000000ull,
	};
	struct pr_net_rec net = {
		.direction = "egress", .protocol = "tcp", .src = "10.0.0.1", .sport = 40000,
		.dst = "10.0.0.2", .dport = 80, .result = "ok", .flow_id = 42,
	};
	struct pr_incident_rec ninc = {
		.time = T0 + 5000000000ull, .policy = "egress", .rule = "network.egress",
		.severity = "critical", .kind = "network", .action = "connect",
		.path = "tcp 10.0.0.1:40000 -> 10.0.0.2:80", .expected = "network.egress: nothing allowed",
		.actual = "connect", .proc = lin[0], .net = &net,
		.follow_until = T0 + 35000000000ull,
	};
	struct pr_flow_rec flows[2] = {
		{ .flow_id = 42, .time = ninc.time, .role = "violation", .protocol = "tcp",
		  .local = "10.0.0.1", .lport = 40000, .remote = "10.0.0.2", .rport = 80,
		  .pid = 300, .start_boot = 3000, .exe = "/bin/sh" },
		{ .flow_id = 43, .time = ninc.time + 1000, .role = "follow", .protocol = "udp",
		  .local = "::1", .lport = 5353, .remote = "fd00::2", .rport = 53,
		  .pid = 300, .start_boot = 3000, .exe = "/bin/sh" },
	};
	uint8_t pk[3][128];
	struct pr_packet_rec pkts[3];
	struct pr_store *s;
	char err[512];
	int64_t id, nid;

	if (pr_store_open(&s, dir, PR_STORE_WRITE, err, sizeof(err))) {
		fprintf(stderr, "fuzz: making the store: %s\n", err);
		abort();
	}
	if (pr_store_begin(s))
		die_store(s, "begin");
	id = pr_store_add_incident(s, &inc, lin, 3, ev, 3);
	if (id < 0)
		die_store(s, "incident");
	if (pr_store_append_events(s, id, &joined, 1))
		die_store(s, "append");
	nid = pr_store_add_incident(s, &ninc, lin, 3, NULL, 0);
	if (nid < 0)
		die_store(s, "network incident");
	for (int i = 0; i < 2; i++) {
		flows[i].incident_id = nid;
		if (pr_store_add_flow(s, &flows[i]))
			die_store(s, "flow");
	}
	for (int i = 0; i < 3; i++) {
		size_t len = mkpacket(pk[i], sizeof(pk[i]), i == 1);

		pkts[i] = (struct pr_packet_rec){
			.flow_id = 42, .time = ninc.time + (uint64_t)i * 1000, .len = (uint32_t)len + 100,
			.caplen = (uint32_t)len, .dir = i == 1 ? 0 : 1, .data = pk[i],
		};
	}
	if (pr_store_add_packets(s, pkts, 3))
		die_store(s, "packets");
	if (pr_store_add_loss(s, T0 - 1000000000ull, T0, "kernel-ringbuf", "file", 312))
		die_store(s, "loss");
	if (pr_store_add_run(s, T0 - 100000000000ull, "start", "fuzz"))
		die_store(s, "run");
	if (pr_store_commit(s))
		die_store(s, "commit");
	pr_store_close(s);
}

/* ---- input reader ---- */

static void **pool;
static size_t npool, cappool;

static void *pooled(void *p)
{
	if (!p)
		abort();
	if (npool == cappool) {
		cappool = cappool ? cappool * 2 : 64;
		pool = realloc(pool, cappool * sizeof(*pool));
		if (!pool)
			abort();
	}
	pool[npool++] = p;
	return p;
}

void fz_pool_free(void)
{
	for (size_t i = 0; i < npool; i++)
		free(pool[i]);
	npool = 0;
}

uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

uint32_t fz_u32(struct fz_in *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | fz_u8(in);
	return v;
}

uint64_t fz_u64(struct fz_in *in)
{
	return (uint64_t)fz_u32(in) << 32 | fz_u32(in);
}

char *fz_bytes(struct fz_in *in, size_t max, size_t *len)
{
	size_t n = fz_u8(in);
	char *s;

	if (n > max)
		n = max;
	if (n > in->n)
		n = in->n;
	s = pooled(malloc(n + 1));
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	in->n -= n;
	*len = n;
	return s;
}

char *fz_str(struct fz_in *in, size_t max)
{
	size_t n;
	char *s = fz_bytes(in, max, &n);

	for (size_t i = 0; i < n; i++)
		if (!s[i])
			s[i] = '\n'; /* keep the length: NUL cannot be in a string */
	return s;
}

/* ---- checks ---- */

static void fail(const char *what, const char *why, const char *s, size_t len)
{
	fprintf(stderr, "fuzz: %s: %s; output (%zu bytes):\n", what, why, len);
	fwrite(s, 1, len, stderr);
	fputc('\n', stderr);
	abort();
}

/* Strict RFC 3629 decoding, written independently of render.c. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

void fz_check_utf8(const char *what, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0, n; i < len; i += n) {
		n = utf8_next(u + i, len - i, &cp);
		if (!n)
			fail(what, "not valid UTF-8", s, len);
	}
}

static long count_lines(const char *what, const char *s, size_t len)
{
	long n = 0;

	if (len && s[len - 1] != '\n')
		fail(what, "output does not end with a newline", s, len);
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

void fz_check_json_lines(const char *what, const char *s, size_t len, long lines)
{
	long n = count_lines(what, s, len);

	fz_check_utf8(what, s, len);
	if (lines >= 0 && n != lines)
		fail(what, "unexpected number of lines", s, len);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t l = (size_t)(nl - (s + i));
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o;

		if (!tok)
			abort();
		o = json_tokener_parse_ex(tok, s + i, (int)l);
		if (!o || json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != l || !json_object_is_type(o, json_type_object))
			fail(what, "a line is not one JSON object", s + i, l);
		json_object_put(o);
		json_tokener_free(tok);
		i += l + 1;
	}
}

void fz_check_text(const char *what, const char *s, size_t len, long lines)
{
	const unsigned char *u = (const unsigned char *)s;
	long n = count_lines(what, s, len);
	uint32_t cp;

	fz_check_utf8(what, s, len);
	if (lines >= 0 && n != lines)
		fail(what, "unexpected number of lines (a name forged a line?)", s, len);
	for (size_t i = 0, k; i < len; i += k) {
		k = utf8_next(u + i, len - i, &cp);
		if ((cp < 0x20 && cp != '\n') || (cp >= 0x7f && cp < 0xa0) || cp == 0x200e ||
		    cp == 0x200f || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
			fail(what, "a control or bidi character reached text output", s, len);
	}
}
