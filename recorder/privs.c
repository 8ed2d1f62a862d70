// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Dropping privileges per thread (see privs.h). libcap. */
#include <errno.h>
#include <sys/prctl.h>

#include "recorder/privs.h"

int pr_privs_drop(const cap_value_t *keep, size_t n)
{
	cap_t caps = cap_init();
	int rc = -1;

	if (!caps)
		return -1;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which
	 * the thread still has */
	for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++) {
		int kept = 0;

		for (size_t i = 0; i < n; i++)
			kept |= keep[i] == v;
		if (!kept && CAP_IS_SUPPORTED(v) && cap_drop_bound(v) && errno != EINVAL)
			goto out;
	}
	if ((n && (cap_set_flag(caps, CAP_EFFECTIVE, (int)n, keep, CAP_SET) ||
		   cap_set_flag(caps, CAP_PERMITTED, (int)n, keep, CAP_SET))) ||
	    cap_set_proc(caps) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		goto out;
	rc = 0;
out:
	cap_free(caps);
	return rc;
}
