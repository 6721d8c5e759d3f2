#include "member_filter.h"

#include <string.h>

/* What a cache drops while the records arrive: fields it never shows,
 * platform unless the record so far says it is a template, and in
 * other_config what is not xo:'s unless the record around says so (both
 * asked in each struct, so the decoders' per-struct verdicts are fuzzed
 * beside the remembered ones). */
int fuzz_member_filter(void *ud, int depth, const char *name, const struct xmlrpc_at *at)
{
	bool tmpl = false;

	(void)ud;
	if (depth >= 2 && strcmp(name, "platform") == 0)
		return (xv_get_bool(xv_struct_get(at->obj, "is_a_template"), &tmpl) && tmpl ? XMLRPC_KEEP : XMLRPC_DROP)
		       | XMLRPC_ASK;
	if (depth >= 4) /* asked in each map: other_config's, or another */
		return (at->obj_name && strcmp(at->obj_name, "other_config") == 0 && strncmp(name, "xo:", 3) != 0
				&& !(xv_get_bool(xv_struct_get(at->outer, "is_a_template"), &tmpl) && tmpl)
			? XMLRPC_DROP
			: XMLRPC_KEEP)
		       | XMLRPC_ASK;
	return depth < 2 || (name[0] != 'P' && strcmp(name, "other_config") != 0);
}
