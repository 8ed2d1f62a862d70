// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policies from several files: --policy files, --policy-dir directories,
 * or the installed directories (/etc/polrec/policies.d, then the vendor
 * /usr/lib/polrec/policies.d), merged into one policy.
 *
 * The directories follow systemd's drop-in rules (systemd.unit(5),
 * tmpfiles.d(5)) because that is what an administrator of a Debian host
 * already knows: a file in /etc replaces the vendor file of the same name,
 * a symlink to /dev/null (or an empty file) masks it, and files load in
 * file name order, whichever directory they come from. Only regular
 * files (or symlinks to them) ending in ".yaml" count; anything else
 * (editor backups, *.dpkg-old) is ignored, as systemd ignores them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "recorder/policy.h"

#define SUFFIX ".yaml"

void pr_strlist_free(struct pr_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int strlist_add(struct pr_strlist *l, char *s)
{
	char **v;

	if (!s)
		return -1;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return -1;
	}
	v[l->n++] = s;
	l->v = v;
	return 0;
}

static char *join(const char *dir, const char *name)
{
	char *s;

	return asprintf(&s, "%s/%s", dir, name) < 0 ? NULL : s;
}

/* One entry of a drop-in directory: its name, where it is, masked? */
struct entry {
	char *name;
	char *path;
	int masked;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int has_suffix(const char *s)
{
	size_t n = strlen(s);

	return n > strlen(SUFFIX) && !strcmp(s + n - strlen(SUFFIX), SUFFIX);
}

/* A mask: what resolves to /dev/null (char device 1:3, however the link
 * is spelled), or an empty file (systemd also accepts the latter, which is
 * what a package manager can ship). st: stat() of the entry. */
static int is_mask(const struct stat *st)
{
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3))
		return 1;
	return S_ISREG(st->st_mode) && st->st_size == 0;
}

/* Add dir's entries whose names no earlier directory had; *seen counts
 * every *.yaml name it holds. */
static int scan_dir(const char *dir, int must_exist, struct entry **v, size_t *n,
		    size_t *seen, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		if (!must_exist && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: cannot open the policy directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		struct entry e = {0};
		struct stat st;
		size_t i;

		if (de->d_name[0] == '.' || !has_suffix(de->d_name))
			continue;
		(*seen)++;
		for (i = 0; i < *n && strcmp((*v)[i].name, de->d_name); i++)
			;
		if (i < *n)
			continue; /* an earlier directory has it */
		e.name = strdup(de->d_name);
		e.path = join(dir, de->d_name);
		if (!e.name || !e.path)
			goto oom;
		/* stat follows the link: a link to /dev/null is a char device */
		if (stat(e.path, &st)) {
			snprintf(err, errlen, "%s: cannot stat: %s", e.path, strerror(errno));
			free(e.name);
			free(e.path);
			rc = -1;
			break;
		}
		e.masked = is_mask(&st);
		if (!e.masked && !S_ISREG(st.st_mode)) {
			/* a directory or device named *.yaml: it takes the name (a
			 * vendor file of that name must not come back silently), so
			 * it is an error, said where */
			snprintf(err, errlen, "%s: not a regular file (a mask is a symlink to "
				 "/dev/null or an empty file)", e.path);
			free(e.name);
			free(e.path);
			rc = -1;
			break;
		}
		struct entry *t = realloc(*v, (*n + 1) * sizeof(**v));

		if (!t)
			goto oom;
		*v = t;
		(*v)[(*n)++] = e;
		continue;
oom:
		free(e.name);
		free(e.path);
		snprintf(err, errlen, "%s: out of memory", dir);
		rc = -1;
		break;
	}
	closedir(d);
	return rc;
}

int pr_policy_sources_list(const struct pr_policy_sources *s, struct pr_strlist *out,
			   size_t *nmasked, char *err, size_t errlen)
{
	int explicit = s->nfiles || s->ndirs;
	const char *const *dirs = explicit ? s->dirs : s->default_dirs;
	size_t ndirs = explicit ? s->ndirs : s->ndefault_dirs;
	struct entry *v = NULL;
	size_t n = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*nmasked = 0;
	for (size_t i = 0; i < s->nfiles; i++)
		if (strlist_add(out, strdup(s->files[i])))
			goto oom;
	for (size_t i = 0; i < ndirs; i++) {
		size_t seen = 0;

		if (scan_dir(dirs[i], explicit, &v, &n, &seen, err, errlen))
			goto out;
		if (explicit && !seen) {
			snprintf(err, errlen, "%s: no policy file (*" SUFFIX ") in this directory",
				 dirs[i]);
			goto out;
		}
	}
	qsort(v, n, sizeof(*v), by_name);
	for (size_t i = 0; i < n; i++) {
		if (v[i].masked) {
			(*nmasked)++;
			continue;
		}
		if (strlist_add(out, v[i].path))
			goto oom;
		v[i].path = NULL;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory listing the policy files");
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
	if (rc)
		pr_strlist_free(out);
	return rc;
}

static int by_exp_name(const void *a, const void *b)
{
	const struct pr_expectation *x = *(const struct pr_expectation *const *)a;
	const struct pr_expectation *y = *(const struct pr_expectation *const *)b;
	int c = strcmp(x->name, y->name);

	/* equal names: the one loaded first comes first */
	return c ? c : x < y ? -1 : x > y;
}

/* Two expectations of one name in different files (the parser already
 * refused a duplicate inside one file). */
static int check_names(const struct pr_policy *p, char *err, size_t errlen)
{
	const struct pr_expectation **v;
	int rc = 0;

	if (p->n < 2)
		return 0;
	v = malloc(p->n * sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory merging the policy files");
		return -1;
	}
	for (size_t i = 0; i < p->n; i++)
		v[i] = &p->exps[i];
	qsort(v, p->n, sizeof(*v), by_exp_name);
	for (size_t i = 1; i < p->n; i++) {
		if (strcmp(v[i - 1]->name, v[i]->name))
			continue;
		snprintf(err, errlen,
			 "%s:%d:%d: duplicate expectation name \"%s\" (already used by the document at %s:%d:%d)",
			 v[i]->source, v[i]->line, v[i]->col, v[i]->name, v[i - 1]->source,
			 v[i - 1]->line, v[i - 1]->col);
		rc = -1;
		break;
	}
	free(v);
	return rc;
}

int pr_policy_merge(struct pr_policy **parts, size_t n, struct pr_policy **out,
		    char *err, size_t errlen)
{
	struct pr_policy *m = calloc(1, sizeof(*m));
	size_t total = 0, k = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		total += parts[i]->n;
	if (!m || !(m->exps = calloc(total ? total : 1, sizeof(*m->exps))) ||
	    !(m->sources = calloc(n ? n : 1, sizeof(*m->sources))) ||
	    !(m->source_name = strdup(n ? parts[0]->source_name : "<policy>"))) {
		snprintf(err, errlen, "out of memory merging the policy files");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		/* the merged policy owns each file name its expectations point at */
		m->sources[m->nsources++] = parts[i]->source_name;
		parts[i]->source_name = NULL;
		memcpy(&m->exps[k], parts[i]->exps, parts[i]->n * sizeof(*m->exps));
		k += parts[i]->n;
		parts[i]->n = 0;
	}
	m->n = k;
	for (size_t i = 0; i < n; i++)
		pr_policy_free(parts[i]);
	if (check_names(m, err, errlen)) {
		pr_policy_free(m);
		return -1;
	}
	*out = m;
	return 0;
fail:
	pr_policy_free(m);
	for (size_t i = 0; i < n; i++)
		pr_policy_free(parts[i]);
	return -1;
}

static void put_be64(unsigned char b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)v;
}

/* Append n bytes to the growing buffer *t (*len used, *cap allocated). */
static int text_put(char **t, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (!t)
		return 1;
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *nt;

		while (c < *len + n + 1)
			c *= 2;
		if (!(nt = realloc(*t, c)))
			return 0;
		*t = nt;
		*cap = c;
	}
	memcpy(*t + *len, p, n);
	*len += n;
	(*t)[*len] = '\0';
	return 1;
}

int pr_policy_load_files(const struct pr_strlist *files, struct pr_policy **out,
			 char sha256[65], char *err, size_t errlen)
{
	return pr_policy_load_files_text(files, out, sha256, NULL, NULL, err, errlen);
}

int pr_policy_load_files_text(const struct pr_strlist *files, struct pr_policy **out,
			      char sha256[65], char **text, size_t *text_len,
			      char *err, size_t errlen)
{
	size_t tcap = 0, tlen = 0;
	struct pr_policy **parts = calloc(files->n ? files->n : 1, sizeof(*parts));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE], len8[8];
	unsigned int dlen = 0;
	size_t i;
	int ok;

	*out = NULL;
	sha256[0] = '\0';
	if (text) {
		*text = NULL;
		*text_len = 0;
	}
	if (!parts || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "out of memory loading the policy files");
		goto fail;
	}
	if (!files->n) {
		snprintf(err, errlen, "no policy file to load");
		goto fail;
	}
	for (i = 0; i < files->n; i++) {
		char *buf;
		size_t len;
		int rc;

		if (pr_policy_read_file(files->v[i], &buf, &len, err, errlen))
			goto fail;
		ok = 1;
		if (files->n > 1) {
			put_be64(len8, len);
			ok = EVP_DigestUpdate(md, files->v[i], strlen(files->v[i]) + 1) &&
			     EVP_DigestUpdate(md, len8, sizeof(len8)) &&
			     text_put(text, &tlen, &tcap, files->v[i], strlen(files->v[i]) + 1) &&
			     text_put(text, &tlen, &tcap, len8, sizeof(len8));
		}
		ok = ok && EVP_DigestUpdate(md, buf, len) && text_put(text, &tlen, &tcap, buf, len);
		rc = pr_policy_parse(buf, len, files->v[i], &parts[i], err, errlen);
		free(buf);
		if (rc)
			goto fail;
		if (!ok) {
			snprintf(err, errlen, "%s: cannot compute the SHA-256", files->v[i]);
			goto fail;
		}
	}
	if (!EVP_DigestFinal_ex(md, digest, &dlen) || dlen != 32) {
		snprintf(err, errlen, "cannot compute the policy's SHA-256");
		goto fail;
	}
	for (unsigned b = 0; b < 32; b++)
		snprintf(sha256 + 2 * b, 3, "%02x", digest[b]);
	EVP_MD_CTX_free(md);
	ok = pr_policy_merge(parts, files->n, out, err, errlen);
	free(parts);
	if (ok) {
		if (text) {
			free(*text);
			*text = NULL;
		}
		return -1;
	}
	if (text)
		*text_len = tlen;
	return 0;
fail:
	if (text) {
		free(*text);
		*text = NULL;
	}
	EVP_MD_CTX_free(md);
	for (i = 0; parts && i < files->n; i++)
		pr_policy_free(parts[i]);
	free(parts);
	return -1;
}
