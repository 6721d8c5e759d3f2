/* The nfs:// and smb:// repositories of the static build (make static), which
 * links neither libnfs nor libsmbclient: opening one says so and why. */
#include "repo_int.h"

#include <string.h>

#include "util.h"

static bool none_open(struct repo *r, const struct remote_cfg *rc, void **state, char **err)
{
	const char *url = rc->url ? rc->url : "";
	*state = NULL;
	const char *lib = strncmp(url, "nfs:", 4) == 0 ? "libnfs" : "libsmbclient";
	*err = xasprintf("the URL '%s' needs %s, which this static build of xentui leaves out: "
			 "mount the share and name it as a file:// repository, use an s3:// one, "
			 "or a build of xentui linked with %s (make deb)", url, lib, lib);
	return false;
}

const struct repo_ops repo_nfs_ops = {.scheme = "nfs", .open = none_open};
const struct repo_ops repo_smb_ops = {.scheme = "smb", .open = none_open};
