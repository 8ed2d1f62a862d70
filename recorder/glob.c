// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Path globs. The matcher simulates the pattern as an NFA over its byte
 * offsets: the set of live pattern positions is a bitset, advanced once per
 * path byte. Work is O(len(path) * len(pattern)) in the worst case and no
 * input can make it backtrack exponentially ("*a*a*a*a*b" on a long path
 * costs the same as any other pattern of that length). No allocation: the
 * two bitsets live on the stack, which is why patterns are capped at
 * PR_GLOB_MAX_LEN bytes.
 */
#include <stdint.h>
#include <string.h>

#include "recorder/policy.h"

#define WORDS ((PR_GLOB_MAX_LEN + 1 + 63) / 64)

enum tok_type { T_LIT, T_ANY, T_CLASS, T_STAR, T_DSTAR };

struct tok {
	enum tok_type type;
	size_t len;                    /* bytes of pattern it spans */
};

/* Length of the class starting at p[i] == '[', including the closing ']',
 * or 0 when it is unterminated. A ']' right after '[' (or after '[!' or
 * '[^') is a member, as in fnmatch. */
static size_t class_len(const char *p, size_t i, size_t n)
{
	size_t j = i + 1;

	if (j < n && (p[j] == '!' || p[j] == '^'))
		j++;
	if (j < n && p[j] == ']')
		j++;
	while (j < n && p[j] != ']')
		j++;
	return j < n ? j - i + 1 : 0;
}

static struct tok tok_at(const char *p, size_t i, size_t n)
{
	struct tok t = { T_LIT, 1 };
	size_t cl;

	switch (p[i]) {
	case '*':
		if (i + 1 < n && p[i + 1] == '*')
			t = (struct tok){ T_DSTAR, 2 };
		else
			t.type = T_STAR;
		break;
	case '?':
		t.type = T_ANY;
		break;
	case '[':
		cl = class_len(p, i, n);
		if (cl)
			t = (struct tok){ T_CLASS, cl };
		break;
	}
	return t;
}

static int class_match(const unsigned char *cl, size_t len, unsigned char c)
{
	size_t i = 1, end = len - 1;   /* skip '[' and ']' */
	int neg = 0, hit = 0;

	if (cl[i] == '!' || cl[i] == '^') {
		neg = 1;
		i++;
	}
	for (; i < end; i++) {
		if (i + 2 < end && cl[i + 1] == '-') {
			if (c >= cl[i] && c <= cl[i + 2])
				hit = 1;
			i += 2;
		} else if (cl[i] == c) {
			hit = 1;
		}
	}
	return hit != neg;
}

/* Does the single-byte token at p[i] accept c? Stars are handled apart. */
static int tok_accepts(const char *p, size_t i, struct tok t, unsigned char c)
{
	switch (t.type) {
	case T_LIT:
		return (unsigned char)p[i] == c;
	case T_ANY:
		return c != '/';
	case T_CLASS:
		return c != '/' && class_match((const unsigned char *)p + i, t.len, c);
	default:
		return 0;
	}
}

static inline void bit_set(uint64_t *b, size_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

static inline int bit_get(const uint64_t *b, size_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

// "/" followed by "**" that ends the pattern or is followed by '/': the
// pair may match nothing, so "/etc/**" matches "/etc".
static int optional_slash(const char *p, size_t i, size_t n)
{
	return i + 2 < n && p[i] == '/' && p[i + 1] == '*' && p[i + 2] == '*' &&
	       (i + 3 == n || p[i + 3] == '/');
}

// Add the positions reachable from live ones without consuming a byte:
// past a star (it may match nothing) and past an optional "/**". Moves
// are forward only, so one ascending pass is a fixpoint.
static void closure(const char *p, size_t n, uint64_t *live)
{
	for (size_t w = 0; w <= n / 64; w++) {
		uint64_t bits = live[w];

		while (bits) {
			size_t b = (size_t)__builtin_ctzll(bits), i = w * 64 + b;
			struct tok t;

			if (i >= n)
				break;
			t = tok_at(p, i, n);
			if (t.type == T_STAR || t.type == T_DSTAR)
				bit_set(live, i + t.len);
			else if (optional_slash(p, i, n))
				bit_set(live, i + 3);
			/* re-read: the move may have set a later bit of this word */
			bits = b == 63 ? 0 : live[w] & (~0ull << (b + 1));
		}
	}
}

static int step(const char *p, size_t n, const uint64_t *live, uint64_t *next,
		unsigned char c)
{
	int any = 0;

	memset(next, 0, (n / 64 + 1) * sizeof(*next));
	for (size_t w = 0; w <= n / 64; w++) {
		uint64_t bits = live[w];

		while (bits) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
			struct tok t;

			bits &= bits - 1;
			if (i >= n)
				continue;
			t = tok_at(p, i, n);
			if ((t.type == T_STAR && c != '/') || t.type == T_DSTAR) {
				bit_set(next, i);
				any = 1;
			} else if (tok_accepts(p, i, t, c)) {
				bit_set(next, i + t.len);
				any = 1;
			}
		}
	}
	return any;
}

int pr_glob_match(const char *pattern, const char *path)
{
	uint64_t a[WORDS], b[WORDS], *live = a, *next = b, *tmp;
	size_t n = strnlen(pattern, PR_GLOB_MAX_LEN + 1);

	if (n > PR_GLOB_MAX_LEN)
		return 0;
	memset(live, 0, (n / 64 + 1) * sizeof(*live));
	bit_set(live, 0);
	closure(pattern, n, live);
	for (const char *s = path; *s; s++) {
		if (!step(pattern, n, live, next, (unsigned char)*s))
			return 0;
		closure(pattern, n, next);
		tmp = live;
		live = next;
		next = tmp;
	}
	return bit_get(live, n);
}

const char *pr_glob_check(const char *pattern)
{
	size_t n = strnlen(pattern, PR_GLOB_MAX_LEN + 1);

	if (n == 0)
		return "empty pattern";
	if (n > PR_GLOB_MAX_LEN)
		return "pattern longer than 4096 bytes";
	if (pattern[0] != '/' && strncmp(pattern, "**", 2) != 0)
		return "pattern must be absolute (start with '/' or '**')";
	for (size_t i = 0; i < n; i++) {
		if (pattern[i] != '[')
			continue;
		if (!class_len(pattern, i, n))
			return "unterminated character class '[' (write [[] for a literal '[')";
		i += class_len(pattern, i, n) - 1;
	}
	return NULL;
}

size_t pr_glob_prefix_len(const char *pattern)
{
	return strcspn(pattern, "*?[");
}
