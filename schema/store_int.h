/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Store internals for the store layer's other files (schema/prune.c):
 * accessors implemented in schema/store.c. Not for polrecd or polq. */
#ifndef POLREC_STORE_INT_H
#define POLREC_STORE_INT_H

#include <stdint.h>

#include "schema/store.h"

struct sqlite3;
struct sqlite3 *pr_store_sqlite(struct pr_store *s);
const char *pr_store_dir(struct pr_store *s);
const char *pr_store_pcap_dir(struct pr_store *s);
int pr_store_is_writer(struct pr_store *s);
/* The segment being written (0: none). */
int64_t pr_store_open_segment(struct pr_store *s);
/* Segment ids handed out from now on are at least next. */
void pr_store_segment_next_min(struct pr_store *s, int64_t next);
/* Set the one-line error pr_store_errmsg returns. */
void pr_store_set_error(struct pr_store *s, const char *msg);
/* The writer's boot id ("" when unreadable) and CLOCK_BOOTTIME now, for
 * the boot_id / boot_time columns every record carries (schema 6). */
const char *pr_store_boot_id(struct pr_store *s);
uint64_t pr_store_boottime_ns(void);
#define PR_STORE_BUSY_MS 5000 /* the busy timeout store.c sets */

#endif /* POLREC_STORE_INT_H */
