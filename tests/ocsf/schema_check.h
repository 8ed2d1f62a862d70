/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Check OCSF records against a copy of the schema's JSON definitions
 * (tests/data/ocsf-1.2.0). Nothing is hand-listed: a class's attributes
 * are its own merged over what it extends (base_event last), with every
 * "$include" (includes/, profiles/) merged in as the schema defines; an
 * attribute that came from a profile counts only when the record names
 * that profile in metadata.profiles. Objects likewise (extends,
 * $include), recursively for every object a record holds.
 *
 * A record fails when: an attribute with requirement "required" is
 * missing or null; an attribute is not in its class or object (outside
 * json_t/object_t values such as unmapped); a value has the wrong JSON
 * type for its schema type (arrays where is_array); an integer is not in
 * its enum; an object's at_least_one/just_one constraint fails; or
 * category_uid/type_uid do not agree with class_uid and activity_id.
 */
#ifndef OCSF_SCHEMA_CHECK_H
#define OCSF_SCHEMA_CHECK_H

#include <stddef.h>

struct json_object;
struct ocsf_schema;

/* NULL with a one-line error in err. */
struct ocsf_schema *ocsf_schema_load(const char *dir, char *err, size_t errlen);
void ocsf_schema_free(struct ocsf_schema *s);
/* The number of problems in rec; the first ones, one per line
 * ("path: what"), in out (always NUL-terminated). */
int ocsf_schema_check(struct ocsf_schema *s, struct json_object *rec, char *out, size_t outlen);
/* The attribute names the schema requires of class_uid's records with
 * these profiles active (NULL-terminated, comma-separated), for tests that
 * want to see the list is not empty. -1 when the class is unknown. */
int ocsf_schema_required(struct ocsf_schema *s, int class_uid, const char *profiles,
			 char *out, size_t outlen);

#endif /* OCSF_SCHEMA_CHECK_H */
