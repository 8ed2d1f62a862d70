/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Dropping privileges, thread by thread. On Linux the capability sets,
 * the bounding set (PR_CAPBSET_DROP) and no_new_privs belong to a thread,
 * not to the process: a thread started before the main thread drops keeps
 * everything root had. So each of polrecd's threads drops its own: the
 * main thread after the probes are attached (it keeps what reading maps
 * and /proc needs), the store writer and the metrics HTTP server as they
 * start (they keep nothing).
 */
#ifndef POLREC_PRIVS_H
#define POLREC_PRIVS_H

#include <stddef.h>
#include <sys/capability.h>

/* The calling thread keeps only keep[0..n) (effective and permitted), every
 * other capability leaves its bounding set, and no_new_privs is set.
 * 0, or -1 with errno. */
int pr_privs_drop(const cap_value_t *keep, size_t n);

#endif /* POLREC_PRIVS_H */
