// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* OCSF records against the schema's own definitions (schema_check.h). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema_check.h"

#define MAX_CLASSES 64
#define MAX_OBJECTS 128
#define MAX_DEPTH 64

struct resolved {
	char *name;
	struct json_object *attrs;       /* name -> merged attribute (+ "_profile") */
	struct json_object *constraints; /* borrowed from attrs' owner, or NULL */
	int class_uid, category_uid;
};

struct ocsf_schema {
	char *dir;
	struct json_object *dict, *types, *categories;
	struct json_object *event_files; /* name -> parsed class file */
	struct resolved classes[MAX_CLASSES];
	size_t nclasses;
	struct resolved objects[MAX_OBJECTS];
	size_t nobjects;
	struct json_object *keep;        /* parsed files we borrow from */
};

struct report {
	char *out;
	size_t len, used;
	int problems;
};

__attribute__((format(printf, 2, 3)))
static void problem(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->problems++;
	if (r->used + 1 >= r->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->out + r->used, r->len - r->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	r->used += (size_t)n;
	if (r->used + 1 < r->len) {
		r->out[r->used++] = '\n';
		r->out[r->used] = '\0';
	} else {
		r->used = r->len - 1;
	}
}

static struct json_object *load(struct ocsf_schema *s, const char *rel)
{
	char path[4096];
	struct json_object *o;

	if (snprintf(path, sizeof(path), "%s/%s", s->dir, rel) >= (int)sizeof(path))
		return NULL;
	o = json_object_from_file(path);
	if (o)
		json_object_array_add(s->keep, o);
	return o;
}

/* Merge src (an "attributes" object) into dst: "$include" first, then
 * the attributes themselves overlaying field by field (enums united). */
static int merge_attrs(struct ocsf_schema *s, struct json_object *dst, struct json_object *src,
		       const char *profile)
{
	struct json_object *inc;

	if (json_object_object_get_ex(src, "$include", &inc)) {
		size_t n = json_object_is_type(inc, json_type_array) ? json_object_array_length(inc) : 0;

		for (size_t i = 0; i < n; i++) {
			const char *rel = json_object_get_string(json_object_array_get_idx(inc, i));
			struct json_object *f = load(s, rel), *meta, *name, *attrs;
			const char *prof = profile;

			if (!f || !json_object_object_get_ex(f, "attributes", &attrs)) {
				fprintf(stderr, "ocsf schema: cannot read %s/%s\n", s->dir, rel);
				return -1;
			}
			if (json_object_object_get_ex(f, "meta", &meta) &&
			    !strcmp(json_object_get_string(meta), "profile") &&
			    json_object_object_get_ex(f, "name", &name))
				prof = json_object_get_string(name);
			if (merge_attrs(s, dst, attrs, prof))
				return -1;
		}
	}
	json_object_object_foreach(src, key, val) {
		struct json_object *cur;

		if (!strcmp(key, "$include"))
			continue;
		if (!json_object_object_get_ex(dst, key, &cur)) {
			cur = json_object_new_object();
			if (profile)
				json_object_object_add(cur, "_profile", json_object_new_string(profile));
			json_object_object_add(dst, key, cur);
		}
		json_object_object_foreach(val, field, fv) {
			struct json_object *old;

			if (!strcmp(field, "enum") && json_object_object_get_ex(cur, "enum", &old)) {
				json_object_object_foreach(fv, ek, ev)
					json_object_object_add(old, ek, json_object_get(ev));
				continue;
			}
			if (!strcmp(field, "enum")) {
				struct json_object *copy = json_object_new_object();

				json_object_object_foreach(fv, ek, ev)
					json_object_object_add(copy, ek, json_object_get(ev));
				json_object_object_add(cur, "enum", copy);
				continue;
			}
			json_object_object_add(cur, field, json_object_get(fv));
		}
	}
	return 0;
}

/* Every class file under events/, by name. */
static void scan_events(struct ocsf_schema *s, const char *rel)
{
	char path[4096], sub[4096];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name);
		struct json_object *f, *name;

		if (d->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, d->d_name);
		if (n > 5 && !strcmp(d->d_name + n - 5, ".json")) {
			f = load(s, sub);
			if (f && json_object_object_get_ex(f, "name", &name))
				json_object_object_add(s->event_files, json_object_get_string(name),
						       json_object_get(f));
		} else {
			scan_events(s, sub);
		}
	}
	closedir(dir);
}

/* A class (events/) or object (objects/) with everything it extends. */
static struct json_object *resolve_attrs(struct ocsf_schema *s, const char *name, bool object,
					 struct json_object **constraints, int depth)
{
	struct json_object *f = NULL, *ext, *attrs, *dst, *c;
	char rel[512];

	if (depth > MAX_DEPTH)
		return NULL;
	if (object) {
		snprintf(rel, sizeof(rel), "objects/%s.json", name);
		f = load(s, rel);
	} else {
		json_object_object_get_ex(s->event_files, name, &f);
	}
	if (!f)
		return NULL;
	if (json_object_object_get_ex(f, "extends", &ext)) {
		dst = resolve_attrs(s, json_object_get_string(ext), object, constraints, depth + 1);
		if (!dst)
			return NULL;
	} else {
		dst = json_object_new_object();
	}
	if (json_object_object_get_ex(f, "constraints", &c) && json_object_object_length(c))
		*constraints = c;
	if (json_object_object_get_ex(f, "attributes", &attrs) && merge_attrs(s, dst, attrs, NULL)) {
		json_object_put(dst);
		return NULL;
	}
	return dst;
}

static struct resolved *find_object(struct ocsf_schema *s, const char *name)
{
	struct resolved *r;

	for (size_t i = 0; i < s->nobjects; i++)
		if (!strcmp(s->objects[i].name, name))
			return &s->objects[i];
	if (s->nobjects == MAX_OBJECTS)
		return NULL;
	r = &s->objects[s->nobjects];
	r->constraints = NULL;
	r->attrs = resolve_attrs(s, name, true, &r->constraints, 0);
	if (!r->attrs)
		return NULL;
	r->name = strdup(name);
	s->nobjects++;
	return r;
}

/* A class's category: its own, or what it extends says. */
static struct json_object *class_category(struct ocsf_schema *s, struct json_object *f)
{
	struct json_object *cat, *ext;

	for (int i = 0; f && i < MAX_DEPTH; i++) {
		if (json_object_object_get_ex(f, "category", &cat))
			return cat;
		if (!json_object_object_get_ex(f, "extends", &ext) ||
		    !json_object_object_get_ex(s->event_files, json_object_get_string(ext), &f))
			return NULL;
	}
	return NULL;
}

struct ocsf_schema *ocsf_schema_load(const char *dir, char *err, size_t errlen)
{
	struct ocsf_schema *s = calloc(1, sizeof(*s));
	struct json_object *cats, *t;
	char path[4096];

	if (!s)
		return NULL;
	s->dir = strdup(dir);
	s->keep = json_object_new_array();
	s->event_files = json_object_new_object();
	snprintf(path, sizeof(path), "%s/dictionary.json", dir);
	s->dict = json_object_from_file(path);
	snprintf(path, sizeof(path), "%s/categories.json", dir);
	s->categories = json_object_from_file(path);
	if (!s->dict || !s->categories ||
	    !json_object_object_get_ex(s->dict, "types", &t) ||
	    !json_object_object_get_ex(t, "attributes", &s->types) ||
	    !json_object_object_get_ex(s->categories, "attributes", &cats)) {
		snprintf(err, errlen, "%s: no readable dictionary.json and categories.json", dir);
		ocsf_schema_free(s);
		return NULL;
	}
	scan_events(s, "events");
	json_object_object_foreach(s->event_files, name, f) {
		struct json_object *uid, *cat, *cu, *c;
		struct resolved *r;

		if (!json_object_object_get_ex(f, "uid", &uid) || !(cat = class_category(s, f)) ||
		    !json_object_object_get_ex(cats, json_object_get_string(cat), &c) ||
		    !json_object_object_get_ex(c, "uid", &cu))
			continue; /* base_event and the abstract ones */
		if (s->nclasses == MAX_CLASSES)
			break;
		r = &s->classes[s->nclasses];
		r->attrs = resolve_attrs(s, name, false, &r->constraints, 0);
		if (!r->attrs) {
			snprintf(err, errlen, "%s: class %s: cannot resolve what it extends or includes",
				 dir, name);
			ocsf_schema_free(s);
			return NULL;
		}
		r->name = strdup(name);
		r->category_uid = json_object_get_int(cu);
		r->class_uid = r->category_uid * 1000 + json_object_get_int(uid);
		s->nclasses++;
	}
	if (!s->nclasses) {
		snprintf(err, errlen, "%s: no event classes under events/", dir);
		ocsf_schema_free(s);
		return NULL;
	}
	return s;
}

void ocsf_schema_free(struct ocsf_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nclasses; i++) {
		free(s->classes[i].name);
		json_object_put(s->classes[i].attrs);
	}
	for (size_t i = 0; i < s->nobjects; i++) {
		free(s->objects[i].name);
		json_object_put(s->objects[i].attrs);
	}
	json_object_put(s->dict);
	json_object_put(s->categories);
	json_object_put(s->event_files);
	json_object_put(s->keep);
	free(s->dir);
	free(s);
}

/* ---- checking ---- */

struct ctx {
	struct ocsf_schema *s;
	struct json_object *profiles; /* the record's metadata.profiles */
	struct report *rep;
};

static bool profile_active(const struct ctx *c, struct json_object *attr)
{
	struct json_object *p;
	size_t n;

	if (!json_object_object_get_ex(attr, "_profile", &p))
		return true;
	n = c->profiles ? json_object_array_length(c->profiles) : 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(c->profiles, i)),
			    json_object_get_string(p)))
			return true;
	return false;
}

static const char *field_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static bool field_bool(struct json_object *o, const char *k)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

/* The scalar base of a type: port_t -> integer_t, timestamp_t -> long_t. */
static const char *base_type(struct ocsf_schema *s, const char *t)
{
	for (int i = 0; i < 8; i++) {
		struct json_object *d;
		const char *up;

		if (!json_object_object_get_ex(s->types, t, &d) || !(up = field_str(d, "type")))
			return t;
		t = up;
	}
	return t;
}

static void check_object(struct ctx *c, struct json_object *obj, struct json_object *attrs,
			 struct json_object *constraints, const char *path, int depth);

static void check_one(struct ctx *c, struct json_object *v, const char *type,
		      struct json_object *en, const char *path, int depth)
{
	size_t tl = strlen(type);
	const char *base;
	bool ok;

	if (tl < 2 || strcmp(type + tl - 2, "_t")) {
		struct resolved *r;

		if (!json_object_is_type(v, json_type_object)) {
			problem(c->rep, "%s: want a %s object", path, type);
			return;
		}
		/* the generic object (unmapped): any attributes */
		if (!strcmp(type, "object"))
			return;
		r = find_object(c->s, type);
		if (!r) {
			problem(c->rep, "%s: object %s is not in the schema copy", path, type);
			return;
		}
		check_object(c, v, r->attrs, r->constraints, path, depth + 1);
		return;
	}
	base = base_type(c->s, type);
	if (!strcmp(base, "json_t"))
		return;
	if (!strcmp(base, "object_t"))
		ok = json_object_is_type(v, json_type_object);
	else if (!strcmp(base, "integer_t") || !strcmp(base, "long_t"))
		ok = json_object_is_type(v, json_type_int);
	else if (!strcmp(base, "float_t"))
		ok = json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
	else if (!strcmp(base, "boolean_t"))
		ok = json_object_is_type(v, json_type_boolean);
	else
		ok = json_object_is_type(v, json_type_string);
	if (!ok) {
		problem(c->rep, "%s: want %s (%s), got %s", path, type, base,
			json_type_to_name(json_object_get_type(v)));
		return;
	}
	if (en && json_object_is_type(v, json_type_int)) {
		char k[32];

		snprintf(k, sizeof(k), "%lld", (long long)json_object_get_int64(v));
		if (!json_object_object_get_ex(en, k, NULL))
			problem(c->rep, "%s: %s is not in its enum", path, k);
	}
}

static void check_value(struct ctx *c, const char *key, struct json_object *v,
			struct json_object *attr, const char *path, int depth)
{
	struct json_object *dattrs, *d = NULL, *en = NULL;
	const char *type;
	bool is_array;
	char sub[1024];

	if (json_object_object_get_ex(c->s->dict, "attributes", &dattrs))
		json_object_object_get_ex(dattrs, key, &d);
	type = field_str(attr, "type");
	if (!type)
		type = field_str(d, "type");
	if (!type) {
		problem(c->rep, "%s: no type in the dictionary", path);
		return;
	}
	is_array = field_bool(attr, "is_array") || field_bool(d, "is_array");
	if (!json_object_object_get_ex(attr, "enum", &en) && d)
		json_object_object_get_ex(d, "enum", &en);
	/* the classification's own uids: the schema's enums for them are
	 * placeholders (0); ocsf_schema_check checks them against the class */
	if (depth == 0 && (!strcmp(key, "class_uid") || !strcmp(key, "category_uid")))
		en = NULL;
	if (!is_array) {
		check_one(c, v, type, en, path, depth);
		return;
	}
	if (!json_object_is_type(v, json_type_array)) {
		problem(c->rep, "%s: want an array", path);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		if (snprintf(sub, sizeof(sub), "%s[%zu]", path, i) >= (int)sizeof(sub))
			sub[sizeof(sub) - 2] = '~';
		check_one(c, json_object_array_get_idx(v, i), type, en, sub, depth);
	}
}

static void check_constraints(struct ctx *c, struct json_object *obj, struct json_object *cons,
			      const char *path)
{
	static const char *const kinds[] = { "at_least_one", "just_one" };

	for (int k = 0; cons && k < 2; k++) {
		struct json_object *list;
		size_t present = 0, n;

		if (!json_object_object_get_ex(cons, kinds[k], &list) ||
		    !json_object_is_type(list, json_type_array))
			continue;
		n = json_object_array_length(list);
		for (size_t i = 0; i < n; i++)
			present += json_object_object_get_ex(
				obj, json_object_get_string(json_object_array_get_idx(list, i)), NULL);
		if (k == 0 ? present == 0 : present != 1)
			problem(c->rep, "%s: needs %s of %s", path, k == 0 ? "at least one" : "just one",
				json_object_to_json_string(list));
	}
}

static void check_object(struct ctx *c, struct json_object *obj, struct json_object *attrs,
			 struct json_object *constraints, const char *path, int depth)
{
	char sub[1024];

	if (depth > MAX_DEPTH) {
		problem(c->rep, "%s: nested too deep", path);
		return;
	}
	json_object_object_foreach(attrs, name, attr) {
		struct json_object *v;

		if (!profile_active(c, attr))
			continue;
		if (field_str(attr, "requirement") && !strcmp(field_str(attr, "requirement"), "required") &&
		    (!json_object_object_get_ex(obj, name, &v) || !v))
			problem(c->rep, "%s%s%s: required, missing", path, *path ? "." : "", name);
	}
	json_object_object_foreach(obj, key, val) {
		struct json_object *a;

		if (snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key) >=
		    (int)sizeof(sub))
			sub[sizeof(sub) - 2] = '~';
		if (!json_object_object_get_ex(attrs, key, &a) || !profile_active(c, a)) {
			problem(c->rep, "%s: not an attribute here", sub);
			continue;
		}
		if (val)
			check_value(c, key, val, a, sub, depth);
	}
	check_constraints(c, obj, constraints, *path ? path : "(record)");
}

static struct resolved *find_class(struct ocsf_schema *s, int class_uid)
{
	for (size_t i = 0; i < s->nclasses; i++)
		if (s->classes[i].class_uid == class_uid)
			return &s->classes[i];
	return NULL;
}

int ocsf_schema_check(struct ocsf_schema *s, struct json_object *rec, char *out, size_t outlen)
{
	struct report rep = { .out = out, .len = outlen };
	struct ctx c = { .s = s, .rep = &rep };
	struct json_object *v, *meta;
	struct resolved *cls;
	int64_t class_uid, activity;

	if (outlen)
		out[0] = '\0';
	if (!json_object_is_type(rec, json_type_object)) {
		problem(&rep, "(record): not a JSON object");
		return rep.problems;
	}
	if (!json_object_object_get_ex(rec, "class_uid", &v) || !json_object_is_type(v, json_type_int)) {
		problem(&rep, "class_uid: required, missing");
		return rep.problems;
	}
	class_uid = json_object_get_int64(v);
	cls = find_class(s, (int)class_uid);
	if (!cls) {
		problem(&rep, "class_uid: %lld is not a class of the schema copy", (long long)class_uid);
		return rep.problems;
	}
	if (json_object_object_get_ex(rec, "metadata", &meta))
		json_object_object_get_ex(meta, "profiles", &c.profiles);
	if (c.profiles && !json_object_is_type(c.profiles, json_type_array))
		c.profiles = NULL;
	check_object(&c, rec, cls->attrs, cls->constraints, "", 0);
	if (json_object_object_get_ex(rec, "category_uid", &v) &&
	    json_object_get_int64(v) != cls->category_uid)
		problem(&rep, "category_uid: %lld, but class %lld is in category %d",
			(long long)json_object_get_int64(v), (long long)class_uid, cls->category_uid);
	if (json_object_object_get_ex(rec, "activity_id", &v)) {
		activity = json_object_get_int64(v);
		if (json_object_object_get_ex(rec, "type_uid", &v) &&
		    json_object_get_int64(v) != class_uid * 100 + activity)
			problem(&rep, "type_uid: %lld, want class_uid * 100 + activity_id = %lld",
				(long long)json_object_get_int64(v), (long long)(class_uid * 100 + activity));
	}
	return rep.problems;
}

int ocsf_schema_required(struct ocsf_schema *s, int class_uid, const char *profiles, char *out,
			 size_t outlen)
{
	struct resolved *cls = find_class(s, class_uid);
	struct json_object *prof = json_object_new_array();
	struct ctx c = { .s = s, .profiles = prof };
	size_t used = 0;
	char *copy, *tok, *save;

	if (!cls) {
		json_object_put(prof);
		return -1;
	}
	copy = strdup(profiles ? profiles : "");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_object_array_add(prof, json_object_new_string(tok));
	free(copy);
	out[0] = '\0';
	json_object_object_foreach(cls->attrs, name, attr) {
		const char *req = field_str(attr, "requirement");

		if (req && !strcmp(req, "required") && profile_active(&c, attr) && used + 1 < outlen)
			used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "," : "", name);
	}
	if (used >= outlen)
		out[outlen - 1] = '\0';
	json_object_put(prof);
	return 0;
}
