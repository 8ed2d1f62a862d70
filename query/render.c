// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* polq's renderers: safe bytes, time, and the text and JSON forms. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "probes/events.h"
#include "query/render.h"

#define NSEC_PER_SEC 1000000000ull
#define ID_UNSET 0xffffffffu /* loginuid/sessionid of a process outside a login */

/* ---------------------------------------------------------------------- */
/* UTF-8 and base64                                                        */

size_t pr_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	uint32_t v, min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool pr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = pr_utf8_seq(u + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

char *pr_utf8_fix(const char *s, size_t len, size_t *outlen)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 3) {
		errno = ENOMEM;
		return NULL;
	}
	out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	o = out;
	while (i < len) {
		n = pr_utf8_seq(u + i, len - i, &cp);
		if (n) {
			memcpy(o, u + i, n);
			o += n;
			i += n;
		} else {
			memcpy(o, repl, 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	if (outlen)
		*outlen = (size_t)(o - out);
	return out;
}

char *pr_base64(const void *src, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = src;
	size_t i, olen;
	char *out, *o;
	uint32_t v;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2) {
		errno = ENOMEM;
		return NULL;
	}
	olen = (len + 2) / 3 * 4;
	out = malloc(olen + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8 | u[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 0x3f];
		*o++ = tab[(v >> 6) & 0x3f];
		*o++ = tab[v & 0x3f];
	}
	if (i < len) {
		v = (uint32_t)u[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)u[i + 1] << 8;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 0x3f];
		*o++ = i + 1 < len ? tab[(v >> 6) & 0x3f] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* ---------------------------------------------------------------------- */
/* C-style escaping for text output                                        */

/* Printable code points beyond ASCII: not C1 controls, and not the
 * invisible characters that reorder or break a terminal line (bidi
 * embeddings/overrides/isolates, marks, line/paragraph separators, BOM). */
/* Printable: not a control (C0, C1), not a format character (Unicode
 * category Cf: invisible, or reordering text as bidi controls do), not a
 * line or paragraph separator. Those are escaped, so a stored name can
 * neither hide text nor make it read in another order. */
static bool cp_printable(uint32_t cp)
{
	static const uint32_t cf[][2] = {
		{ 0x00ad, 0x00ad }, { 0x0600, 0x0605 }, { 0x061c, 0x061c }, { 0x06dd, 0x06dd },
		{ 0x070f, 0x070f }, { 0x0890, 0x0891 }, { 0x08e2, 0x08e2 }, { 0x180e, 0x180e },
		{ 0x200b, 0x200f }, { 0x2028, 0x202e }, { 0x2060, 0x2064 }, { 0x2066, 0x206f },
		{ 0xfeff, 0xfeff }, { 0xfff9, 0xfffb }, { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
		{ 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
		{ 0xe0001, 0xe0001 }, { 0xe0020, 0xe007f },
	};

	if (cp < 0xa0)
		return false;
	for (size_t i = 0; i < sizeof(cf) / sizeof(cf[0]); i++)
		if (cp >= cf[i][0] && cp <= cf[i][1])
			return false;
	return true;
}

static char *esc_byte(char *o, unsigned char c, bool quoted)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\\': *o++ = '\\'; *o++ = '\\'; return o;
	case '\n': *o++ = '\\'; *o++ = 'n'; return o;
	case '\t': *o++ = '\\'; *o++ = 't'; return o;
	case '\r': *o++ = '\\'; *o++ = 'r'; return o;
	case '"':
		if (quoted)
			*o++ = '\\';
		*o++ = '"';
		return o;
	}
	if (c >= 0x20 && c < 0x7f) {
		*o++ = (char)c;
		return o;
	}
	*o++ = '\\';
	*o++ = 'x';
	*o++ = hex[c >> 4];
	*o++ = hex[c & 0xf];
	return o;
}

static bool needs_quotes(const char *s, size_t len)
{
	return !len || memchr(s, ' ', len) || memchr(s, '"', len);
}

char *pr_esc_dup(const char *s, size_t len, unsigned int flags)
{
	const unsigned char *u = (const unsigned char *)s;
	bool quoted = (flags & PR_ESC_WORD) && needs_quotes(s, len);
	size_t i = 0, n;
	char *out, *o;
	uint32_t cp;

	if (len > (SIZE_MAX - 3) / 4) {
		errno = ENOMEM;
		return NULL;
	}
	out = malloc(len * 4 + 3);
	if (!out)
		return NULL;
	o = out;
	if (quoted)
		*o++ = '"';
	while (i < len) {
		n = pr_utf8_seq(u + i, len - i, &cp);
		if (n > 1 && cp_printable(cp)) {
			memcpy(o, u + i, n);
			o += n;
			i += n;
		} else {
			o = esc_byte(o, u[i], quoted);
			i++;
		}
	}
	if (quoted)
		*o++ = '"';
	*o = '\0';
	return out;
}

int pr_esc_write(FILE *f, const char *s, size_t len, unsigned int flags)
{
	char *e = pr_esc_dup(s ? s : "", s ? len : 0, flags);
	int err;

	if (!e)
		return -1;
	err = fputs(e, f) < 0 ? -1 : 0;
	free(e);
	return err;
}

int pr_esc_puts(FILE *f, const char *s, unsigned int flags)
{
	return pr_esc_write(f, s, s ? strlen(s) : 0, flags);
}

int pr_esc_argv(FILE *f, const char *argv, size_t len)
{
	size_t i = 0, n;

	while (argv && i < len) {
		n = strnlen(argv + i, len - i);
		if (i && fputc(' ', f) == EOF)
			return -1;
		if (pr_esc_write(f, argv + i, n, PR_ESC_WORD))
			return -1;
		i += n + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* JSON building blocks                                                    */

/* Add v (consumed) as obj[key]; -1 when v is NULL or the add fails. */
static int jadd(struct json_object *obj, const char *key, struct json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(obj, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int jadd_i64(struct json_object *obj, const char *key, int64_t v)
{
	return jadd(obj, key, json_object_new_int64(v));
}

static int jadd_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return jadd(obj, key, json_object_new_uint64(v));
}

static int jadd_bool(struct json_object *obj, const char *key, bool v)
{
	return jadd(obj, key, json_object_new_boolean(v));
}

/* A JSON string of s[0..len): valid UTF-8 as is, else U+FFFD-fixed;
 * *fixed tells which. */
static struct json_object *jstr_bytes(const char *s, size_t len, bool *fixed)
{
	struct json_object *v;
	size_t flen;
	char *fix;

	*fixed = !pr_utf8_valid(s, len);
	if (!*fixed)
		return json_object_new_string_len(s, (int)len);
	fix = pr_utf8_fix(s, len, &flen);
	if (!fix)
		return NULL;
	v = json_object_new_string_len(fix, (int)flen);
	free(fix);
	return v;
}

static struct json_object *jb64(const char *s, size_t len)
{
	struct json_object *v;
	char *b = pr_base64(s, len);

	if (!b)
		return NULL;
	v = json_object_new_string(b);
	free(b);
	return v;
}

int pr_json_add_bytes(struct json_object *obj, const char *key, const char *s, size_t len)
{
	char key_b64[64];
	bool fixed;

	if (!s)
		s = "", len = 0;
	if (len > INT32_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (jadd(obj, key, jstr_bytes(s, len, &fixed)))
		return -1;
	if (!fixed)
		return 0;
	if ((size_t)snprintf(key_b64, sizeof(key_b64), "%s_b64", key) >= sizeof(key_b64)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return jadd(obj, key_b64, jb64(s, len));
}

int pr_json_add_str(struct json_object *obj, const char *key, const char *s)
{
	return pr_json_add_bytes(obj, key, s, s ? strlen(s) : 0);
}

/* Append every NUL-separated word of argv to arr, as text (b64 false) or
 * as base64 (b64 true). Returns -1 on ENOMEM, else whether any word was not
 * valid UTF-8. */
static int argv_fill(struct json_object *arr, const char *argv, size_t len, bool b64)
{
	struct json_object *v;
	bool fixed, any = false;
	size_t i = 0, n;

	while (argv && i < len) {
		n = strnlen(argv + i, len - i);
		fixed = false;
		v = b64 ? jb64(argv + i, n) : jstr_bytes(argv + i, n, &fixed);
		if (!v || json_object_array_add(arr, v)) {
			json_object_put(v);
			return -1;
		}
		any |= fixed;
		i += n + 1;
	}
	return any;
}

int pr_json_add_argv(struct json_object *obj, const char *argv, size_t len)
{
	struct json_object *arr = json_object_new_array();
	int any;

	if (!arr)
		return -1;
	if (len > INT32_MAX) {
		json_object_put(arr);
		errno = E2BIG;
		return -1;
	}
	any = argv_fill(arr, argv, len, false);
	if (any < 0) {
		json_object_put(arr);
		return -1;
	}
	if (jadd(obj, "argv", arr))
		return -1;
	if (!any)
		return 0;
	arr = json_object_new_array();
	if (!arr)
		return -1;
	if (argv_fill(arr, argv, len, true) < 0) {
		json_object_put(arr);
		return -1;
	}
	return jadd(obj, "argv_b64", arr);
}

int pr_json_add_time(struct json_object *obj, const char *key, uint64_t t)
{
	char buf[PR_TIME_LEN];

	return jadd(obj, key, json_object_new_string(pr_fmt_time(t, buf)));
}

int pr_json_print(FILE *f, struct json_object *o)
{
	const char *s;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	return fputs(s, f) < 0 || fputc('\n', f) == EOF ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Time                                                                    */

char *pr_fmt_time(uint64_t t, char buf[PR_TIME_LEN])
{
	time_t secs = (time_t)(t / NSEC_PER_SEC);
	struct tm tm;
	size_t n;

	/* uint64 ns end in 2554: the year always has four digits. */
	if (!gmtime_r(&secs, &tm) || !(n = strftime(buf, PR_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(buf, PR_TIME_LEN, "@%" PRIu64, t);
		return buf;
	}
	snprintf(buf + n, PR_TIME_LEN - n, ".%09uZ", (unsigned int)(t % NSEC_PER_SEC));
	return buf;
}

/* Exactly n decimal digits at *p into *v; advances *p. */
static bool take_digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

static bool take_char(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return false;
	(*p)++;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The fraction after '.', into ns: digits past the ninth are ignored. */
static bool take_fraction(const char **p, uint64_t *ns)
{
	uint64_t scale = NSEC_PER_SEC / 10;
	const char *s = *p;

	*ns = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++, scale /= 10)
		*ns += (uint64_t)(*s - '0') * scale;
	*p = s;
	return true;
}

/* "Z" or "+hh:mm"/"-hh:mm" into seconds east of UTC. */
static bool take_offset(const char **p, int64_t *off)
{
	int sign, hh, mm;

	if (take_char(p, "Zz")) {
		*off = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!take_digits(p, 2, &hh) || !take_char(p, ":") || !take_digits(p, 2, &mm) ||
	    hh > 23 || mm > 59)
		return false;
	*off = sign * (int64_t)(hh * 3600 + mm * 60);
	return true;
}

int pr_parse_rfc3339(const char *s, uint64_t *ns)
{
	int y, mo, d, h, mi, sec;
	uint64_t frac = 0;
	int64_t off, t;

	if (!take_digits(&s, 4, &y) || !take_char(&s, "-") || !take_digits(&s, 2, &mo) ||
	    !take_char(&s, "-") || !take_digits(&s, 2, &d) || !take_char(&s, "Tt ") ||
	    !take_digits(&s, 2, &h) || !take_char(&s, ":") || !take_digits(&s, 2, &mi) ||
	    !take_char(&s, ":") || !take_digits(&s, 2, &sec))
		return -EINVAL;
	if (take_char(&s, ".") && !take_fraction(&s, &frac))
		return -EINVAL;
	if (!take_offset(&s, &off) || *s)
		return -EINVAL;
	/* sec 60 is a leap second: it counts as the next minute's first. */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (t < 0 || (uint64_t)t > (UINT64_MAX - frac) / NSEC_PER_SEC)
		return -ERANGE;
	*ns = (uint64_t)t * NSEC_PER_SEC + frac;
	return 0;
}

/* Duration units, as systemd.time(7) spells them (months and years are
 * left out: their length varies, and "M" would be one letter from "m"). */
static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "usec", 1000 }, { "us", 1000 },
	{ "msec", 1000000 }, { "ms", 1000000 },
	{ "seconds", NSEC_PER_SEC }, { "second", NSEC_PER_SEC }, { "sec", NSEC_PER_SEC },
	{ "s", NSEC_PER_SEC },
	{ "minutes", 60 * NSEC_PER_SEC }, { "minute", 60 * NSEC_PER_SEC },
	{ "min", 60 * NSEC_PER_SEC }, { "m", 60 * NSEC_PER_SEC },
	{ "hours", 3600 * NSEC_PER_SEC }, { "hour", 3600 * NSEC_PER_SEC },
	{ "hr", 3600 * NSEC_PER_SEC }, { "h", 3600 * NSEC_PER_SEC },
	{ "days", 86400 * NSEC_PER_SEC }, { "day", 86400 * NSEC_PER_SEC },
	{ "d", 86400 * NSEC_PER_SEC },
	{ "weeks", 7 * 86400 * NSEC_PER_SEC }, { "week", 7 * 86400 * NSEC_PER_SEC },
	{ "w", 7 * 86400 * NSEC_PER_SEC },
};

/* The unit at s[0..end) (longest name first, as the table is ordered
 * within each unit), not followed by another letter; advances *p. 0 if
 * none. */
static uint64_t take_unit(const char **p, const char *end)
{
	size_t i, n, left = (size_t)(end - *p);

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		n = strlen(units[i].name);
		if (n <= left && !strncmp(*p, units[i].name, n) &&
		    (n == left || !isalpha((unsigned char)(*p)[n]))) {
			*p += n;
			return units[i].ns;
		}
	}
	return 0;
}

/* A duration in s[0..end). */
static int parse_duration_n(const char *s, const char *end, uint64_t *ns)
{
	uint64_t total = 0, v, unit;

	if (s == end)
		return -EINVAL;
	while (s < end) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (v = 0; s < end && isdigit((unsigned char)*s); s++) {
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
				return -ERANGE;
		}
		while (s < end && *s == ' ')
			s++;
		unit = take_unit(&s, end);
		if (!unit)
			return -EINVAL;
		if (__builtin_mul_overflow(v, unit, &v) || __builtin_add_overflow(total, v, &total))
			return -ERANGE;
		/* "1h 30min": spaces between parts, never at the end */
		while (s + 1 < end && *s == ' ' && (s[1] == ' ' || isdigit((unsigned char)s[1])))
			s++;
	}
	*ns = total;
	return 0;
}

int pr_parse_duration(const char *s, uint64_t *ns)
{
	return parse_duration_n(s, s + strlen(s), ns);
}

/* Local civil time (mktime, so $TZ and DST as the system knows them) plus
 * frac ns into epoch ns. Fields must already be in range. */
static int local_ns(struct tm *tm, uint64_t frac, uint64_t *ns)
{
	time_t t;

	tm->tm_isdst = -1;
	t = mktime(tm);
	if (t < 0)  /* before 1970, or mktime failed (-1) */
		return -ERANGE;
	if ((uint64_t)t > (UINT64_MAX - frac) / NSEC_PER_SEC)
		return -ERANGE;
	*ns = (uint64_t)t * NSEC_PER_SEC + frac;
	return 0;
}

/* "HH:MM" or "HH:MM:SS[.frac]" at *p into tm and *frac. */
static bool take_clock(const char **p, struct tm *tm, uint64_t *frac)
{
	int h, mi, sec = 0;

	*frac = 0;
	if (!take_digits(p, 2, &h) || !take_char(p, ":") || !take_digits(p, 2, &mi))
		return false;
	if (take_char(p, ":")) {
		if (!take_digits(p, 2, &sec))
			return false;
		if (take_char(p, ".") && !take_fraction(p, frac))
			return false;
	}
	if (h > 23 || mi > 59 || sec > 60)
		return false;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = sec;
	return true;
}

/* journalctl's local forms: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.frac]]"
 * ('T' for the space too), in the local time zone. */
static int parse_local_date(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	uint64_t frac = 0;
	int y, mo, d;

	if (!take_digits(&s, 4, &y) || !take_char(&s, "-") || !take_digits(&s, 2, &mo) ||
	    !take_char(&s, "-") || !take_digits(&s, 2, &d))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -EINVAL;
	if (*s && (!take_char(&s, "Tt ") || !take_clock(&s, &tm, &frac)))
		return -EINVAL;
	if (*s)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	return local_ns(&tm, frac, ns);
}

/* Local midnight, days after (or before) the day of now; or with clock
 * set, that time of today. */
static int local_day(uint64_t now, int days, const char *clock, uint64_t *ns)
{
	time_t t = (time_t)(now / NSEC_PER_SEC);
	uint64_t frac = 0;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return -ERANGE;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (clock && (!take_clock(&clock, &tm, &frac) || *clock))
		return -EINVAL;
	tm.tm_mday += days; /* mktime normalises the month */
	return local_ns(&tm, frac, ns);
}

/* "@SECONDS[.frac]" since the epoch. */
static int parse_epoch(const char *s, uint64_t *ns)
{
	uint64_t v = 0, frac = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -ERANGE;
	}
	if (take_char(&s, ".") && !take_fraction(&s, &frac))
		return -EINVAL;
	if (*s)
		return -EINVAL;
	if (v > (UINT64_MAX - frac) / NSEC_PER_SEC)
		return -ERANGE;
	*ns = v * NSEC_PER_SEC + frac;
	return 0;
}

/* "-DUR", "+DUR", "DUR ago" or a bare "DUR" (that long ago). */
static int parse_relative(const char *s, uint64_t now, uint64_t *ns)
{
	static const char ago[] = " ago";
	size_t len = strlen(s), alen = sizeof(ago) - 1;
	int sign = -1, err;
	uint64_t d;

	if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		s++;
		len--;
	} else if (len > alen && !strcmp(s + len - alen, ago)) {
		len -= alen;
	}
	err = parse_duration_n(s, s + len, &d);
	if (err)
		return err;
	if (sign < 0) {
		if (d > now)
			return -ERANGE;
		*ns = now - d;
		return 0;
	}
	if (__builtin_add_overflow(now, d, ns))
		return -ERANGE;
	return 0;
}

static bool starts_with_date(const char *s)
{
	return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	       isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-';
}

int pr_parse_when(const char *s, uint64_t now, uint64_t *ns)
{
	static const struct {
		const char *word;
		int days;
	} words[] = { { "yesterday", -1 }, { "today", 0 }, { "tomorrow", 1 } };
	int err;

	if (!strcmp(s, "now")) {
		*ns = now;
		return 0;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i].word))
			return local_day(now, words[i].days, NULL, ns);
	if (*s == '@')
		return parse_epoch(s + 1, ns);
	if (starts_with_date(s)) {
		/* with a zone it is RFC 3339 (UTC); without, local time */
		err = pr_parse_rfc3339(s, ns);
		return err == -EINVAL ? parse_local_date(s, ns) : err;
	}
	if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':')
		return local_day(now, 0, s, ns);
	return parse_relative(s, now, ns);
}

char *pr_fmt_offset(int64_t ns, char buf[PR_OFFSET_LEN])
{
	/* |INT64_MIN| does not fit an int64: negate in uint64 */
	uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	uint64_t ms = mag / 1000000, sec = ms / 1000;
	unsigned int frac = (unsigned int)(ms % 1000);
	char sign = ns < 0 ? '-' : '+';

	if (sec < 60)
		snprintf(buf, PR_OFFSET_LEN, "%c%u.%03us", sign, (unsigned int)sec, frac);
	else if (sec < 3600)
		snprintf(buf, PR_OFFSET_LEN, "%c%um%02u.%03us", sign, (unsigned int)(sec / 60),
			 (unsigned int)(sec % 60), frac);
	else
		snprintf(buf, PR_OFFSET_LEN, "%c%" PRIu64 "h%02um%02u.%03us", sign, sec / 3600,
			 (unsigned int)(sec / 60 % 60), (unsigned int)(sec % 60), frac);
	return buf;
}

int64_t pr_time_offset(uint64_t t, uint64_t ref)
{
	uint64_t d;

	if (t >= ref) {
		d = t - ref;
		return d > INT64_MAX ? INT64_MAX : (int64_t)d;
	}
	d = ref - t;
	return d > INT64_MAX ? INT64_MIN : -(int64_t)d;
}

/* ---------------------------------------------------------------------- */
/* Process identity                                                        */

char *pr_fmt_process_id(uint32_t pid, uint64_t start_boot, char buf[PR_PROCESS_ID_LEN])
{
	snprintf(buf, PR_PROCESS_ID_LEN, "%" PRIu32 ":%" PRIu64, pid, start_boot);
	return buf;
}

/* Decimal digits only (no sign, no spaces), at least one, no overflow. */
static bool take_u64(const char **p, uint64_t max, uint64_t *v)
{
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return false;
	for (*v = 0; isdigit((unsigned char)*s); s++) {
		if (__builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(*s - '0'), v) || *v > max)
			return false;
	}
	*p = s;
	return true;
}

int pr_parse_process_id(const char *s, uint32_t *pid, uint64_t *start_boot)
{
	uint64_t p, st = 0;

	if (!take_u64(&s, UINT32_MAX, &p) || !p)
		return -EINVAL;
	if (take_char(&s, ":") && !take_u64(&s, UINT64_MAX, &st))
		return -EINVAL;
	if (*s)
		return -EINVAL;
	*pid = (uint32_t)p;
	*start_boot = st;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Event marks                                                             */

const char *pr_mark_name(int mark)
{
	switch (mark) {
	case PR_MARK_VIOLATION: return "violation";
	case PR_MARK_JOINED: return "joined";
	}
	return "context";
}

/* Does any event carry the violation mark (a store of version 3 or later
 * and a writer that marks)? */
static bool marks_known(const struct pr_incident_full *full)
{
	size_t i;

	for (i = 0; i < full->nevents; i++)
		if (full->events[i].mark == PR_MARK_VIOLATION)
			return true;
	return false;
}

static enum pr_event_mark mark_of(const struct pr_incident_full *full, size_t i, bool known)
{
	const struct pr_event_rec *e = &full->events[i];
	const struct pr_incident_rec *inc = &full->inc;

	if (e->mark == PR_MARK_VIOLATION || e->mark == PR_MARK_JOINED)
		return (enum pr_event_mark)e->mark;
	if (!known && e->time == inc->time && e->pid == inc->proc.pid &&
	    e->start_boot == inc->proc.start_boot)
		return PR_MARK_VIOLATION;
	return PR_MARK_CONTEXT;
}

enum pr_event_mark pr_event_mark_of(const struct pr_incident_full *full, size_t i)
{
	return mark_of(full, i, marks_known(full));
}

/* ---------------------------------------------------------------------- */
/* JSON renderers                                                          */

static int jadd_process_id(struct json_object *o, uint32_t pid, uint64_t start_boot)
{
	char id[PR_PROCESS_ID_LEN];

	return jadd(o, "process_id", json_object_new_string(pr_fmt_process_id(pid, start_boot, id)));
}

/* exe_truncated / argv_truncated appear only when true. */
static int jadd_trunc(struct json_object *o, const struct pr_proc_rec *p)
{
	if ((p->flags & PR_F_PATH_TRUNC) && jadd_bool(o, "exe_truncated", true))
		return -1;
	if ((p->flags & PR_F_ARGV_TRUNC) && jadd_bool(o, "argv_truncated", true))
		return -1;
	return 0;
}

/* The violator as incidents list it. */
static struct json_object *json_proc_brief(const struct pr_proc_rec *p)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_i64(o, "pid", p->pid) || pr_json_add_str(o, "exe", p->exe) ||
	    pr_json_add_argv(o, p->argv, p->argv_len) || jadd_i64(o, "uid", p->uid) ||
	    pr_json_add_str(o, "user", p->user) || jadd_u64(o, "start_time", p->start_boot) ||
	    jadd_process_id(o, p->pid, p->start_boot) || jadd_trunc(o, p)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *pr_json_process(const struct pr_proc_rec *p)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_i64(o, "pid", p->pid) || jadd_i64(o, "ppid", p->ppid) ||
	    pr_json_add_str(o, "exe", p->exe) || pr_json_add_argv(o, p->argv, p->argv_len) ||
	    jadd_i64(o, "uid", p->uid) || pr_json_add_str(o, "user", p->user) ||
	    jadd_u64(o, "start_time", p->start_boot) ||
	    jadd_process_id(o, p->pid, p->start_boot) || pr_json_add_time(o, "started", p->start_time) ||
	    jadd_trunc(o, p))
		goto fail;
	if (p->exit_time &&
	    (pr_json_add_time(o, "exited", p->exit_time) || jadd_i64(o, "exit_code", p->exit_code)))
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* The NetworkPolicies an incident names: polrecd stores the expectation
 * as "NetworkPolicy/NS/NAME[,NS/NAME...]" (Kubernetes names hold no ','
 * or '/'); NULL for any other expectation. */
static struct json_object *json_netpols(const char *policy)
{
	static const char pfx[] = "NetworkPolicy/";
	struct json_object *a;
	const char *s;

	if (!policy || strncmp(policy, pfx, sizeof(pfx) - 1))
		return NULL;
	s = policy + sizeof(pfx) - 1;
	/* only what polrecd writes: Kubernetes names, '/' and ',' */
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-/,") != strlen(s))
		return NULL;
	a = json_object_new_array();
	if (!a)
		return NULL;
	while (*s) {
		size_t n = strcspn(s, ",");
		struct json_object *v = json_object_new_string_len(s, (int)n);

		if (!v || json_object_array_add(a, v)) {
			json_object_put(v);
			json_object_put(a);
			return NULL;
		}
		s += n + (s[n] == ',');
	}
	return a;
}

static struct json_object *json_net(const struct pr_net_rec *n, const char *policy)
{
	struct json_object *o = json_object_new_object(), *np;

	if (!o)
		return NULL;
	if (pr_json_add_str(o, "direction", n->direction) ||
	    pr_json_add_str(o, "protocol", n->protocol) || pr_json_add_str(o, "src", n->src) ||
	    jadd_i64(o, "sport", n->sport) || pr_json_add_str(o, "dst", n->dst) ||
	    jadd_i64(o, "dport", n->dport) || pr_json_add_str(o, "result", n->result)) {
		json_object_put(o);
		return NULL;
	}
	np = json_netpols(policy);
	if (np && json_object_object_add(o, "networkPolicies", np)) {
		json_object_put(np);
		json_object_put(o);
		return NULL;
	}
	return o;
}

char *pr_payload_text(const uint8_t *head, size_t len)
{
	char *out = malloc(len + 1);
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++)
		out[i] = head[i] >= 0x20 && head[i] < 0x7f ? (char)head[i] : '.';
	out[len] = '\0';
	return out;
}

static int jadd_payload(struct json_object *o, const struct pr_flow_rec *f)
{
	char *text = pr_payload_text(f->head, f->head_len);
	int rc;

	if (!text)
		return -1;
	rc = jadd(o, "payload", json_object_new_string(text));
	free(text);
	return rc ?: jadd(o, "payload_b64", jb64((const char *)f->head, f->head_len));
}

struct json_object *pr_json_flow(const struct pr_flow_rec *f)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_u64(o, "flow_id", f->flow_id) || pr_json_add_time(o, "time", f->time) ||
	    pr_json_add_str(o, "role", f->role) || pr_json_add_str(o, "protocol", f->protocol) ||
	    pr_json_add_str(o, "local", f->local) || jadd_i64(o, "lport", f->lport) ||
	    pr_json_add_str(o, "remote", f->remote) || jadd_i64(o, "rport", f->rport) ||
	    jadd_i64(o, "pid", f->pid) || jadd_process_id(o, f->pid, f->start_boot) ||
	    pr_json_add_str(o, "exe", f->exe) || jadd_u64(o, "packets", f->packets) ||
	    jadd_u64(o, "bytes", f->bytes) || jadd_payload(o, f)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *json_flows(const struct pr_flow_rec *v, size_t n)
{
	struct json_object *arr = json_object_new_array(), *e;
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++) {
		e = pr_json_flow(&v[i]);
		if (!e || json_object_array_add(arr, e)) {
			json_object_put(e);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* {"id": N, "sha256": "..."}: the stored policy version that judged it. */
static struct json_object *json_policy_ref(const struct pr_incident_rec *inc)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_i64(o, "id", inc->policy_version) ||
	    pr_json_add_str(o, "sha256", inc->policy_sha256)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *pr_json_policy_version(const struct pr_policy_version *v)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_i64(o, "id", v->id) || pr_json_add_time(o, "time", v->time) ||
	    jadd_u64(o, "time_ns", v->time) || pr_json_add_str(o, "boot_id", v->boot_id) ||
	    pr_json_add_str(o, "sha256", v->sha256) || pr_json_add_str(o, "source", v->source) ||
	    jadd_u64(o, "expectations", v->expectations) ||
	    jadd_u64(o, "incidents", v->incidents) ||
	    (v->text && pr_json_add_bytes(o, "text", v->text, v->text_len))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *pr_json_incident(const struct pr_incident_rec *inc)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_i64(o, "id", inc->id) || pr_json_add_time(o, "time", inc->time) ||
	    jadd_u64(o, "time_ns", inc->time) || pr_json_add_str(o, "policy", inc->policy) ||
	    pr_json_add_str(o, "rule", inc->rule) || pr_json_add_str(o, "severity", inc->severity) ||
	    pr_json_add_str(o, "kind", inc->kind) || pr_json_add_str(o, "action", inc->action) ||
	    pr_json_add_str(o, "path", inc->path) || pr_json_add_str(o, "expected", inc->expected) ||
	    pr_json_add_str(o, "actual", inc->actual) ||
	    jadd(o, "process", json_proc_brief(&inc->proc)) ||
	    (inc->net && jadd(o, "network", json_net(inc->net, inc->policy))) ||
	    jadd_u64(o, "violations", inc->violations) ||
	    (inc->follow_until && (pr_json_add_time(o, "follow_until", inc->follow_until) ||
				   jadd_u64(o, "follow_until_ns", inc->follow_until))) ||
	    (inc->boot_id && (pr_json_add_str(o, "boot_id", inc->boot_id) ||
			      jadd_u64(o, "boot_time_ns", inc->boot_time))) ||
	    (inc->policy_version && jadd(o, "policy_version", json_policy_ref(inc)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *json_who(const struct pr_proc_rec *p)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_i64(o, "uid", p->uid) || pr_json_add_str(o, "user", p->user) ||
	    jadd_i64(o, "loginuid", p->loginuid) || jadd_i64(o, "sessionid", p->sessionid) ||
	    pr_json_add_str(o, "cgroup", p->cgroup) || jadd_u64(o, "cgroup_id", p->cgroup_id) ||
	    pr_json_add_str(o, "container_id", p->container_id) ||
	    pr_json_add_str(o, "sha256", p->sha256) || pr_json_add_str(o, "cwd", p->cwd)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The fields every event has, and its mark. */
static struct json_object *json_event(const struct pr_event_rec *e, int mark)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (pr_json_add_time(o, "time", e->time) || jadd_u64(o, "time_ns", e->time) ||
	    pr_json_add_str(o, "kind", e->kind) || jadd_i64(o, "pid", e->pid) ||
	    jadd_process_id(o, e->pid, e->start_boot) || pr_json_add_str(o, "path", e->path) ||
	    (e->path2 && *e->path2 && pr_json_add_str(o, "path2", e->path2)) ||
	    pr_json_add_str(o, "detail", e->detail) ||
	    pr_json_add_str(o, "mark", pr_mark_name(mark))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *pr_json_timeline_event(const struct pr_event_rec *e, int64_t incident_id)
{
	struct json_object *o = json_event(e, e->mark);

	if (o && jadd_i64(o, "incident", incident_id)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *json_loss(const struct pr_loss_rec *l);

static struct json_object *json_losses(const struct pr_loss_rec *v, size_t n)
{
	struct json_object *arr = json_object_new_array(), *l;
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++) {
		l = json_loss(&v[i]);
		if (!l || json_object_array_add(arr, l)) {
			json_object_put(l);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static struct json_object *json_procs(const struct pr_proc_rec *v, size_t n)
{
	struct json_object *arr = json_object_new_array(), *p;
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++) {
		p = pr_json_process(&v[i]);
		if (!p || json_object_array_add(arr, p)) {
			json_object_put(p);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* The incident's events, each with its offset from the violation. */
static struct json_object *json_events(const struct pr_incident_full *full)
{
	struct json_object *arr = json_object_new_array(), *e;
	bool known = marks_known(full);
	const struct pr_event_rec *ev;
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < full->nevents; i++) {
		ev = &full->events[i];
		e = json_event(ev, mark_of(full, i, known));
		if (e && jadd_i64(e, "offset_ns", pr_time_offset(ev->time, full->inc.time))) {
			json_object_put(e);
			e = NULL;
		}
		if (!e || json_object_array_add(arr, e)) {
			json_object_put(e);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

struct json_object *pr_json_incident_full(const struct pr_incident_full *f)
{
	struct json_object *o = pr_json_incident(&f->inc);

	if (!o)
		return NULL;
	if (jadd(o, "who", json_who(&f->inc.proc)) ||
	    jadd(o, "lineage", json_procs(f->lineage, f->nlineage)) ||
	    jadd(o, "events", json_events(f)) ||
	    jadd(o, "gaps", json_losses(f->gaps, f->ngaps)) ||
	    jadd_u64(o, "lost_events", f->inc.lost_events) ||
	    ((f->inc.net || f->nflows) && jadd(o, "flows", json_flows(f->flows, f->nflows)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *pr_json_tree(const struct pr_proc_rec *p, const struct pr_proc_list *lineage,
				 const struct pr_proc_list *children)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd(o, "process", pr_json_process(p)) ||
	    jadd(o, "lineage", json_procs(lineage->v, lineage->n)) ||
	    jadd(o, "children", json_procs(children->v, children->n))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *json_loss(const struct pr_loss_rec *l)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (pr_json_add_time(o, "from", l->from) || jadd_u64(o, "from_ns", l->from) ||
	    pr_json_add_time(o, "to", l->to) || jadd_u64(o, "to_ns", l->to) ||
	    pr_json_add_str(o, "stage", l->stage) || pr_json_add_str(o, "kind", l->kind) ||
	    jadd_u64(o, "count", l->count)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static uint64_t lost_total(const struct pr_stats *st)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < st->nlosses; i++)
		sum += st->losses[i].count;
	return sum;
}

struct json_object *pr_json_stats(const struct pr_stats *st)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (jadd_u64(o, "incidents", st->incidents) || jadd_u64(o, "processes", st->processes) ||
	    jadd_u64(o, "events", st->events) || jadd_u64(o, "lost_events", lost_total(st)) ||
	    jadd_u64(o, "flows", st->flows) || jadd_u64(o, "packets", st->packets) ||
	    jadd_u64(o, "pcap_segments", st->pcap_segments) ||
	    jadd_u64(o, "pcap_bytes", st->pcap_bytes) ||
	    jadd(o, "losses", json_losses(st->losses, st->nlosses))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---------------------------------------------------------------------- */
/* Text renderers                                                          */

/* Every text renderer is a sequence of writes; the first failure wins. */
#define TRY(expr)                   \
	do {                        \
		if ((expr) < 0)     \
			return -1;  \
	} while (0)

/* ---- colour: SGR codes, only ever these, only around escaped text ---- */

static bool color_on;

void pr_text_color(bool on)
{
	color_on = on;
}

/* The colour of a severity word, NULL for none (colour off, or a value
 * that is not one of the four). */
static const char *severity_sgr(const char *sev)
{
	static const struct {
		const char *name, *sgr;
	} sev_sgr[] = {
		{ "critical", PR_SGR_CRITICAL },
		{ "high", PR_SGR_HIGH },
		{ "medium", PR_SGR_MEDIUM },
		{ "low", PR_SGR_LOW },
	};

	for (size_t i = 0; color_on && sev && i < sizeof(sev_sgr) / sizeof(sev_sgr[0]); i++)
		if (!strcmp(sev, sev_sgr[i].name))
			return sev_sgr[i].sgr;
	return NULL;
}

/* Start (code) or end (PR_SGR_RESET) a coloured run; nothing for NULL. */
static int sgr(FILE *f, const char *code)
{
	return code && color_on && fputs(code, f) < 0 ? -1 : 0;
}

static int sgr_end(FILE *f, const char *code)
{
	return sgr(f, code ? PR_SGR_RESET : NULL);
}

/* A severity word, escaped, in its colour. */
static int text_severity(FILE *f, const char *sev, unsigned int flags)
{
	const char *code = severity_sgr(sev);

	if (sgr(f, code) || pr_esc_puts(f, sev, flags) || sgr_end(f, code))
		return -1;
	return 0;
}

static const char *or_else(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static const char *or_dash(const char *s)
{
	return or_else(s, "-");
}

int pr_text_incident_line(FILE *f, const struct pr_incident_rec *inc)
{
	char t[PR_TIME_LEN];

	TRY(fprintf(f, "%" PRId64 "  %s  ", inc->id, pr_fmt_time(inc->time, t)));
	TRY(text_severity(f, or_dash(inc->severity), PR_ESC_WORD));
	TRY(fputs("  ", f));
	TRY(pr_esc_puts(f, or_dash(inc->policy), PR_ESC_WORD));
	TRY(fputs("  ", f));
	TRY(pr_esc_puts(f, or_dash(inc->rule), PR_ESC_WORD));
	TRY(fputs("  ", f));
	TRY(pr_esc_puts(f, or_dash(inc->kind), PR_ESC_WORD));
	TRY(fprintf(f, "  %" PRIu32 "  ", inc->proc.pid));
	TRY(pr_esc_puts(f, inc->proc.exe, PR_ESC_WORD));
	TRY(fputs("  ", f));
	TRY(pr_esc_puts(f, inc->path, PR_ESC_WORD));
	TRY(fputc('\n', f));
	return 0;
}

/* "  label:      value\n" with value escaped (free text, spaces kept). */
static int text_field(FILE *f, const char *label, const char *value)
{
	TRY(fprintf(f, "  %-13s", label));
	TRY(pr_esc_puts(f, value, 0));
	TRY(fputc('\n', f));
	return 0;
}

/* A login or session id: its number, or "unset". */
static int text_id_field(FILE *f, const char *label, uint32_t v)
{
	if (v == ID_UNSET)
		return fprintf(f, "  %-13sunset\n", label) < 0 ? -1 : 0;
	return fprintf(f, "  %-13s%" PRIu32 "\n", label, v) < 0 ? -1 : 0;
}

/* One process on one line; fixed fields first, argv last so it cannot pose
 * as any of them. mark: "=> " for the process the output is about. */
static int text_proc(FILE *f, const struct pr_proc_rec *p, size_t depth, bool mark)
{
	char id[PR_PROCESS_ID_LEN], t[PR_TIME_LEN];

	TRY(fprintf(f, "%s%*s%s%s uid=%" PRIu32 "(", mark ? "=> " : "   ", (int)(depth * 2), "",
		    depth ? "`- " : "", pr_fmt_process_id(p->pid, p->start_boot, id), p->uid));
	TRY(pr_esc_puts(f, p->user, 0));
	TRY(fprintf(f, ") started=%s", pr_fmt_time(p->start_time, t)));
	if (p->exit_time)
		TRY(fprintf(f, " exited=%s code=%" PRId32, pr_fmt_time(p->exit_time, t), p->exit_code));
	TRY(fputs(" exe=", f));
	TRY(pr_esc_puts(f, p->exe, PR_ESC_WORD));
	if (p->flags & PR_F_PATH_TRUNC)
		TRY(fputs("(truncated)", f));
	TRY(fputs(" argv=", f));
	TRY(pr_esc_argv(f, p->argv, p->argv_len));
	if (p->flags & PR_F_ARGV_TRUNC)
		TRY(fputs(" ...(truncated)", f));
	TRY(fputc('\n', f));
	return 0;
}

/* "addr:port", IPv6 as "[addr]:port" (escaped: the store is not trusted). */
static int text_endpoint(FILE *f, const char *addr, uint16_t port)
{
	bool v6 = addr && strchr(addr, ':');

	TRY(fputs(v6 ? "[" : "", f));
	TRY(pr_esc_puts(f, or_dash(addr), 0));
	TRY(fprintf(f, "%s:%" PRIu16, v6 ? "]" : "", port));
	return 0;
}

/* "egress tcp 127.0.0.1:40000 -> 10.0.0.2:80  ECONNREFUSED" */
static int text_net(FILE *f, const struct pr_net_rec *n)
{
	TRY(fprintf(f, "  %-13s", "network:"));
	TRY(pr_esc_puts(f, or_dash(n->direction), PR_ESC_WORD));
	TRY(fputc(' ', f));
	TRY(pr_esc_puts(f, or_dash(n->protocol), PR_ESC_WORD));
	TRY(fputc(' ', f));
	TRY(text_endpoint(f, n->src, n->sport));
	TRY(fputs(" -> ", f));
	TRY(text_endpoint(f, n->dst, n->dport));
	TRY(fputs("  ", f));
	TRY(pr_esc_puts(f, or_dash(n->result), PR_ESC_WORD));
	TRY(fputc('\n', f));
	return 0;
}

int pr_text_flow_line(FILE *f, const struct pr_flow_rec *fl)
{
	char *payload;
	int rc;

	TRY(fputs("  ", f));
	TRY(pr_esc_puts(f, or_dash(fl->protocol), PR_ESC_WORD));
	TRY(fputc(' ', f));
	TRY(text_endpoint(f, fl->local, fl->lport));
	TRY(fputs(" -> ", f));
	TRY(text_endpoint(f, fl->remote, fl->rport));
	TRY(fputs("  ", f));
	TRY(pr_esc_puts(f, or_dash(fl->role), PR_ESC_WORD));
	TRY(fprintf(f, "  %" PRIu64 " packet%s %" PRIu64 " bytes", fl->packets,
		    fl->packets == 1 ? "" : "s", fl->bytes));
	if (fl->head_len) {
		payload = pr_payload_text(fl->head, fl->head_len);
		if (!payload)
			return -1;
		rc = fprintf(f, "  %s", payload);
		free(payload);
		TRY(rc);
	}
	TRY(fputc('\n', f));
	return 0;
}

/* After HOW, for network incidents (and any incident with flows). */
static int text_flows(FILE *f, const struct pr_incident_full *full)
{
	size_t i;

	if (!full->inc.net && !full->nflows)
		return 0;
	if (!full->nflows)
		return fputs("flows: none captured\n", f) < 0 ? -1 : 0;
	TRY(fputs("flows:\n", f));
	for (i = 0; i < full->nflows; i++)
		TRY(pr_text_flow_line(f, &full->flows[i]));
	return 0;
}

static int text_what(FILE *f, const struct pr_incident_rec *inc)
{
	char t[PR_TIME_LEN];

	TRY(fputs("WHAT\n", f));
	TRY(text_field(f, "expectation:", inc->policy));
	TRY(text_field(f, "rule:", inc->rule));
	TRY(fprintf(f, "  %-13s", "severity:"));
	TRY(text_severity(f, inc->severity, 0));
	TRY(fputc('\n', f));
	TRY(text_field(f, "expected:", inc->expected));
	TRY(text_field(f, "actual:", inc->actual));
	TRY(fprintf(f, "  %-13s", "action:"));
	TRY(sgr(f, PR_SGR_VIOLATION));
	TRY(pr_esc_puts(f, inc->action, PR_ESC_WORD));
	TRY(fputc(' ', f));
	TRY(pr_esc_puts(f, inc->path, PR_ESC_WORD));
	TRY(sgr_end(f, PR_SGR_VIOLATION));
	TRY(fputc('\n', f));
	if (inc->net)
		TRY(text_net(f, inc->net));
	if (inc->violations)
		TRY(fprintf(f, "  %-13s%" PRIu32 "%s\n", "violations:", inc->violations,
			    inc->violations > 1 ? " (later ones joined this incident)" : ""));
	if (inc->follow_until)
		TRY(fprintf(f, "  follow window: until %s\n", pr_fmt_time(inc->follow_until, t)));
	if (inc->policy_version) {
		TRY(fprintf(f, "  %-13s%" PRId64 " (sha256 ", "policy:", inc->policy_version));
		TRY(pr_esc_puts(f, inc->policy_sha256 ? inc->policy_sha256 : "-", PR_ESC_WORD));
		TRY(fputs("; polq policies ", f));
		TRY(fprintf(f, "%" PRId64 " prints it)\n", inc->policy_version));
	}
	return 0;
}

static int text_who(FILE *f, const struct pr_proc_rec *p)
{
	char id[PR_PROCESS_ID_LEN];

	TRY(fputs("WHO\n", f));
	TRY(fprintf(f, "  %-13s", "user:"));
	TRY(pr_esc_puts(f, or_else(p->user, "(unknown)"), 0));
	TRY(fprintf(f, " (uid %" PRIu32 ", gid %" PRIu32 ")\n", p->uid, p->gid));
	TRY(text_id_field(f, "login uid:", p->loginuid));
	TRY(text_id_field(f, "session:", p->sessionid));
	TRY(text_field(f, "cgroup:", or_else(p->cgroup, "(unknown)")));
	TRY(text_field(f, "container:", or_else(p->container_id, "(none)")));
	TRY(fprintf(f, "  %-13s%s ", "process:", pr_fmt_process_id(p->pid, p->start_boot, id)));
	TRY(pr_esc_puts(f, p->exe, PR_ESC_WORD));
	TRY(fputc('\n', f));
	TRY(text_field(f, "sha256:", or_else(p->sha256, "(unknown)")));
	TRY(text_field(f, "cwd:", or_else(p->cwd, "(unknown)")));
	return 0;
}

static int text_when(FILE *f, const struct pr_incident_rec *inc)
{
	char t[PR_TIME_LEN];

	TRY(fputs("WHEN\n", f));
	TRY(fprintf(f, "  %-13s%s (%" PRIu64 " ns since the epoch)\n", "time:",
		    pr_fmt_time(inc->time, t), inc->time));
	if (inc->boot_id) {
		TRY(fprintf(f, "  %-13s", "boot:"));
		TRY(pr_esc_puts(f, inc->boot_id, PR_ESC_WORD));
		TRY(fprintf(f, ", %" PRIu64 ".%09" PRIu64 " s since boot (the kernel's clock; "
			    "wall time is derived from it)\n", inc->boot_time / UINT64_C(1000000000),
			    inc->boot_time % UINT64_C(1000000000)));
	}
	return 0;
}

/* The lineage, oldest first; lineage[0] is the violator. */
static int text_lineage(FILE *f, const struct pr_proc_rec *v, size_t n, size_t marked)
{
	size_t i;

	for (i = 0; i < n; i++)
		TRY(text_proc(f, &v[n - 1 - i], i, n - 1 - i == marked));
	return 0;
}

/* "=> " for a violation; a joined one says so after its kind, where no
 * stored byte can forge it (the kind is one escaped word). */
static int text_event_head(FILE *f, const struct pr_event_rec *e, int mark,
			   const char *offset, int width)
{
	char t[PR_TIME_LEN];

	/* a violation's line is coloured to its end (the caller's '\n') */
	if (mark != PR_MARK_CONTEXT)
		TRY(sgr(f, PR_SGR_VIOLATION));
	TRY(fputs(mark == PR_MARK_CONTEXT ? "   " : "=> ", f));
	if (offset)
		TRY(fprintf(f, "%*s  ", width, offset));
	TRY(fprintf(f, "%s  ", pr_fmt_time(e->time, t)));
	TRY(pr_esc_puts(f, e->kind, PR_ESC_WORD));
	if (mark == PR_MARK_JOINED)
		TRY(fputs(" (joined)", f));
	return 0;
}

/* path, from=path2, detail: the free text last. */
static int text_event_tail(FILE *f, const struct pr_event_rec *e)
{
	TRY(pr_esc_puts(f, e->path, PR_ESC_WORD));
	if (e->path2 && *e->path2) {
		TRY(fputs("  from=", f));
		TRY(pr_esc_puts(f, e->path2, PR_ESC_WORD));
	}
	if (e->detail && *e->detail) {
		TRY(fputs("  ", f));
		TRY(pr_esc_puts(f, e->detail, 0));
	}
	return 0;
}

static int text_event(FILE *f, const struct pr_event_rec *e, int mark, const char *offset,
		      int width)
{
	TRY(text_event_head(f, e, mark, offset, width));
	TRY(fprintf(f, "  %" PRIu32 "  ", e->pid));
	TRY(text_event_tail(f, e));
	TRY(sgr_end(f, mark != PR_MARK_CONTEXT ? PR_SGR_VIOLATION : NULL));
	TRY(fputc('\n', f));
	return 0;
}

int pr_text_timeline_event(FILE *f, const struct pr_event_rec *e, int64_t incident_id)
{
	char id[PR_PROCESS_ID_LEN];

	TRY(text_event_head(f, e, e->mark, NULL, 0));
	TRY(fprintf(f, "  %s  ", pr_fmt_process_id(e->pid, e->start_boot, id)));
	TRY(text_event_tail(f, e));
	TRY(fprintf(f, "  incident %" PRId64, incident_id));
	TRY(sgr_end(f, e->mark != PR_MARK_CONTEXT ? PR_SGR_VIOLATION : NULL));
	TRY(fputc('\n', f));
	return 0;
}

/* The events as a timeline around the violation, offsets aligned. */
static int text_events(FILE *f, const struct pr_incident_full *full)
{
	char off[PR_OFFSET_LEN];
	bool known = marks_known(full);
	int width = 0, n;
	size_t i;

	for (i = 0; i < full->nevents; i++) {
		n = (int)strlen(pr_fmt_offset(pr_time_offset(full->events[i].time,
							     full->inc.time), off));
		width = n > width ? n : width;
	}
	TRY(fprintf(f, "  events (%zu, offsets from the violation, violations marked =>):\n",
		    full->nevents));
	for (i = 0; i < full->nevents; i++) {
		const struct pr_event_rec *e = &full->events[i];

		pr_fmt_offset(pr_time_offset(e->time, full->inc.time), off);
		TRY(text_event(f, e, mark_of(full, i, known), off, width));
	}
	return 0;
}

/* After HOW: "  312 file events lost between T1 and T2 (kernel-ringbuf)" */
static int text_gaps(FILE *f, const struct pr_incident_full *full)
{
	char from[PR_TIME_LEN], to[PR_TIME_LEN];
	size_t i;

	if (!full->ngaps)
		return 0;
	TRY(fputs("gaps:\n", f));
	for (i = 0; i < full->ngaps; i++) {
		const struct pr_loss_rec *l = &full->gaps[i];

		TRY(fprintf(f, "  %" PRIu64 " ", l->count));
		TRY(pr_esc_puts(f, or_dash(l->kind), PR_ESC_WORD));
		TRY(fprintf(f, " event%s lost between %s and %s (", l->count == 1 ? "" : "s",
			    pr_fmt_time(l->from, from), pr_fmt_time(l->to, to)));
		TRY(pr_esc_puts(f, or_dash(l->stage), PR_ESC_WORD));
		TRY(fputs(")\n", f));
	}
	return 0;
}

static int text_how(FILE *f, const struct pr_incident_full *full)
{
	const struct pr_incident_rec *inc = &full->inc;

	TRY(fputs("HOW\n", f));
	if (full->nlineage) {
		TRY(fprintf(f, "  lineage, from pid %" PRIu32 " down to the violator (=>):\n",
			    full->lineage[full->nlineage - 1].pid));
		TRY(text_lineage(f, full->lineage, full->nlineage, 0));
	} else {
		TRY(fputs("  lineage: none recorded\n", f));
		TRY(text_proc(f, &inc->proc, 0, true));
	}
	TRY(text_events(f, full));
	if (inc->lost_events)
		TRY(fprintf(f, "  lost events: %" PRIu64 " (context may be incomplete)\n",
			    inc->lost_events));
	return 0;
}

int pr_text_incident_full(FILE *f, const struct pr_incident_full *full)
{
	char t[PR_TIME_LEN];

	TRY(fprintf(f, "incident %" PRId64 "  %s\n", full->inc.id, pr_fmt_time(full->inc.time, t)));
	TRY(text_what(f, &full->inc));
	TRY(text_who(f, &full->inc.proc));
	TRY(text_when(f, &full->inc));
	TRY(text_how(f, full));
	TRY(text_gaps(f, full));
	TRY(text_flows(f, full));
	return 0;
}

int pr_text_tree(FILE *f, const struct pr_proc_rec *p, const struct pr_proc_list *lineage,
		 const struct pr_proc_list *children)
{
	size_t i, depth = lineage->n ? lineage->n - 1 : 0;
	char id[PR_PROCESS_ID_LEN];

	TRY(fprintf(f, "process %s\n", pr_fmt_process_id(p->pid, p->start_boot, id)));
	if (lineage->n)
		TRY(text_lineage(f, lineage->v, lineage->n, 0));
	else
		TRY(text_proc(f, p, 0, true));
	if (!children->n)
		return fputs("   (no recorded children)\n", f) < 0 ? -1 : 0;
	for (i = 0; i < children->n; i++)
		TRY(text_proc(f, &children->v[i], depth + 1, false));
	return 0;
}

int pr_text_stats(FILE *f, const struct pr_stats *st)
{
	char from[PR_TIME_LEN], to[PR_TIME_LEN];
	size_t i;

	TRY(fprintf(f, "incidents:   %" PRIu64 "\nprocesses:   %" PRIu64 "\nevents:      %" PRIu64
		    "\nflows:       %" PRIu64 "\npackets:     %" PRIu64
		    "\npcap:        %" PRIu64 " segment%s, %" PRIu64 " bytes"
		    "\nlost events: %" PRIu64 "\n",
		    st->incidents, st->processes, st->events, st->flows, st->packets,
		    st->pcap_segments, st->pcap_segments == 1 ? "" : "s", st->pcap_bytes,
		    lost_total(st)));
	for (i = 0; i < st->nlosses; i++) {
		const struct pr_loss_rec *l = &st->losses[i];

		TRY(fprintf(f, "  %s .. %s  ", pr_fmt_time(l->from, from), pr_fmt_time(l->to, to)));
		TRY(pr_esc_puts(f, or_dash(l->stage), PR_ESC_WORD));
		TRY(fputs("  ", f));
		TRY(pr_esc_puts(f, or_dash(l->kind), PR_ESC_WORD));
		TRY(fprintf(f, "  %" PRIu64 "\n", l->count));
	}
	return 0;
}

int pr_text_policy_version(FILE *f, const struct pr_policy_version *v)
{
	char t[PR_TIME_LEN];

	TRY(fprintf(f, "%" PRId64 "  %s  ", v->id, pr_fmt_time(v->time, t)));
	TRY(pr_esc_puts(f, v->sha256, PR_ESC_WORD));
	TRY(fprintf(f, "  %" PRIu32 " expectations  %" PRIu64 " incidents  ", v->expectations,
		    v->incidents));
	TRY(pr_esc_puts(f, v->source, PR_ESC_WORD));
	TRY(fputc('\n', f));
	return 0;
}
