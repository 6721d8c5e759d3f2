/* Which backup jobs cover a VM, for its Backups tab: a job that names it
 * (name or uuid) or whose smart-mode rule takes it now, on the job's server;
 * as run.c selects VMs. The configuration is read again when it changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "backups.h"
#include "bconfig.h"
#include "cache.h"
#include "config.h"
#include "model.h"
#include "pools.h"
#include "util.h"
#include "value.h"

static struct backup_cfg bc;
static bool loaded;
static int64_t bc_mtime = -1;

static const struct backup_cfg *jobs_cfg(struct app *app)
{
	const char *path = app_config(app)->path;
	struct stat st;
	int64_t m = path && stat(path, &st) == 0 ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
	char *err = NULL;

	if (loaded && m == bc_mtime)
		return &bc;
	if (loaded)
		backup_cfg_free(&bc);
	memset(&bc, 0, sizeof(bc));
	bc_mtime = m;
	loaded = true;
	/* a configuration the Backups screen says is wrong: no jobs here */
	if (!backup_cfg_load(path && access(path, F_OK) == 0 ? path : NULL, &bc, &err))
		memset(&bc, 0, sizeof(bc));
	free(err);
	return &bc;
}

static bool tagged(const struct xv *vm, const char *tag)
{
	const struct xv *tags = rec_field(vm, "tags");

	for (size_t i = 0; i < xv_len(tags); i++)
		if (xv_str(xv_at(tags, i)) && strcmp(xv_str(xv_at(tags, i)), tag) == 0)
			return true;
	return false;
}

bool backup_job_takes_vm(const struct job_cfg *j, const struct pool *p, const struct xv *vm)
{
	bool any;

	if (j->mode == BMODE_METADATA || j->mode == BMODE_MIRROR || !vm_is_guest(vm))
		return false;
	if (j->server && p && strcmp(j->server, p->cfg.name) != 0)
		return false;
	if (j->nvms) {
		for (size_t k = 0; k < j->nvms; k++)
			if (strcmp(rec_str(vm, "uuid"), j->vms[k]) == 0 || strcmp(rec_str(vm, "name_label"), j->vms[k]) == 0)
				return true;
		return false;
	}
	if (j->npools && p && p->cache) {
		const char *pref;
		const struct xv *pr = pool_record(p->cache, &pref);
		bool mine = false;
		for (size_t k = 0; pr && k < j->npools; k++)
			mine |= strcmp(rec_str(pr, "uuid"), j->pools[k]) == 0 || strcmp(rec_str(pr, "name_label"), j->pools[k]) == 0;
		if (!mine)
			return false;
	}
	any = j->ntags == 0;
	for (size_t k = 0; k < j->ntags; k++)
		any |= tagged(vm, j->tags[k]);
	for (size_t k = 0; k < j->nexclude_tags; k++)
		any &= !tagged(vm, j->exclude_tags[k]);
	if (any && j->power_state && strcasecmp(rec_str(vm, "power_state"), j->power_state) != 0)
		any = false;
	return any;
}

size_t backup_vm_jobs(struct app *app, const char *vm_uuid, const struct job_cfg **out, size_t max)
{
	const struct backup_cfg *c = jobs_cfg(app);
	struct pools *ps = app_pools(app);
	size_t n = 0;

	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		const struct xv *vm = p->cache ? cache_by_uuid(p->cache, "VM", vm_uuid, NULL) : NULL;
		if (!vm)
			continue;
		for (size_t k = 0; k < c->njobs && n < max; k++)
			if (backup_job_takes_vm(&c->jobs[k], p, vm))
				out[n++] = &c->jobs[k];
		break;
	}
	return n;
}

void backup_vm_jobs_free(void)
{
	if (loaded)
		backup_cfg_free(&bc);
	loaded = false;
}
