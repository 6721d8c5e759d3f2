/* pool.*: join, eject and designate_new_master across xapi-sim processes. */
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"

static struct xv *pool_designate_new_master(struct call *c, struct xv **err)
{
	struct obj *h;
	struct obj *pool;

	db_lock();
	h = arg_obj(c, 0, "host", err);
	pool = db_first("pool");
	if (!h || !pool) {
		db_unlock();
		return NULL;
	}
	if (db_ref(pool, "master") == h) {
		db_unlock();
		return xv_string("");
	}
	if (strcmp(db_str(h, "address"), sim.address) == 0) {
		/* a host this process simulates itself: only the record changes */
		db_set_ref(pool, "master", h);
		sim.local_host = h;
		db_unlock();
		return xv_string("");
	}
	db_unlock();
	*err = err_new("NOT_IMPLEMENTED", "pool.designate_new_master (to another xapi-sim process)", NULL);
	return NULL;
}

bool pool_join_at_start(const char *master, char **err)
{
	*err = xasprintf("--join-as-slave-of %s: not available yet", master);
	return false;
}

const struct handler calls_pool[] = {
	{"pool.designate_new_master", pool_designate_new_master, 1500, H_UNLOCKED},
	{NULL, NULL, 0, 0},
};
