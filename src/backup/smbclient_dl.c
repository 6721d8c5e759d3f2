/* libsmbclient, loaded when an smb:// repository is first opened instead of
 * at every start of xentui: Samba's ninety-odd libraries cost each run
 * (`xentui list` included) about 23 ms of the dynamic linker's relocation
 * and 10 MB of mappings, for the few runs that use an SMB share. The
 * functions repo_smb.c calls are defined here with libsmbclient.h's own
 * types, each calling the library's through a pointer dlsym() fills; the
 * client is linked without -lsmbclient (see the Makefile). smbc_new_context
 * loads it and, if it cannot, fails as libsmbclient does (NULL, errno set):
 * every other function takes a context that call made. */
#ifndef XENTUI_STATIC /* the static build has no SMB (scripts/static/pins) */

#include <dlfcn.h>
#include <errno.h>
#include <libsmbclient.h>
#include <stdbool.h>

#define SMB_FUNCS(X)                                                                                         \
	X(smbc_new_context)                                                                                  \
	X(smbc_init_context)                                                                                 \
	X(smbc_free_context)                                                                                 \
	X(smbc_setDebug)                                                                                     \
	X(smbc_setTimeout)                                                                                   \
	X(smbc_setOptionUserData)                                                                            \
	X(smbc_getOptionUserData)                                                                            \
	X(smbc_setFunctionAuthDataWithContext)                                                               \
	X(smbc_setOptionUseKerberos)                                                                         \
	X(smbc_setOptionFallbackAfterKerberos)                                                               \
	X(smbc_setOptionNoAutoAnonymousLogin)                                                                \
	X(smbc_getFunctionOpen)                                                                              \
	X(smbc_getFunctionRead)                                                                              \
	X(smbc_getFunctionWrite)                                                                             \
	X(smbc_getFunctionLseek)                                                                             \
	X(smbc_getFunctionClose)                                                                             \
	X(smbc_getFunctionStat)                                                                              \
	X(smbc_getFunctionFstat)                                                                             \
	X(smbc_getFunctionStatVFS)                                                                           \
	X(smbc_getFunctionUnlink)                                                                            \
	X(smbc_getFunctionRename)                                                                            \
	X(smbc_getFunctionMkdir)                                                                             \
	X(smbc_getFunctionRmdir)                                                                             \
	X(smbc_getFunctionOpendir)                                                                           \
	X(smbc_getFunctionReaddirPlus2)                                                                      \
	X(smbc_getFunctionClosedir)

#define DECLARE(f) static __typeof__(f) *p_##f;
SMB_FUNCS(DECLARE)

/* Once: true when every function was found (never unloaded: repo_smb.c
 * keeps a context for the process's life anyway). */
static bool load(void)
{
	static int state; /* 0: not tried, 1: loaded, -1: failed */
	void *h;

	if (state)
		return state > 0;
	state = -1;
	h = dlopen("libsmbclient.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return false;
#define LOOK_UP(f)                                    \
	if (!(*(void **)(&p_##f) = dlsym(h, #f))) \
		return false;
	SMB_FUNCS(LOOK_UP)
	state = 1;
	return true;
}

SMBCCTX *smbc_new_context(void)
{
	if (!load()) {
		errno = ELIBACC; /* "cannot start an SMB client: Can not access a needed shared library" */
		return NULL;
	}
	return p_smbc_new_context();
}

SMBCCTX *smbc_init_context(SMBCCTX *c)
{
	return p_smbc_init_context(c);
}

int smbc_free_context(SMBCCTX *c, int shutdown_ctx)
{
	return p_smbc_free_context(c, shutdown_ctx);
}

void smbc_setDebug(SMBCCTX *c, int debug)
{
	p_smbc_setDebug(c, debug);
}

void smbc_setTimeout(SMBCCTX *c, int timeout)
{
	p_smbc_setTimeout(c, timeout);
}

void smbc_setOptionUserData(SMBCCTX *c, void *user_data)
{
	p_smbc_setOptionUserData(c, user_data);
}

void *smbc_getOptionUserData(SMBCCTX *c)
{
	return p_smbc_getOptionUserData(c);
}

void smbc_setFunctionAuthDataWithContext(SMBCCTX *c, smbc_get_auth_data_with_context_fn fn)
{
	p_smbc_setFunctionAuthDataWithContext(c, fn);
}

void smbc_setOptionUseKerberos(SMBCCTX *c, smbc_bool b)
{
	p_smbc_setOptionUseKerberos(c, b);
}

void smbc_setOptionFallbackAfterKerberos(SMBCCTX *c, smbc_bool b)
{
	p_smbc_setOptionFallbackAfterKerberos(c, b);
}

void smbc_setOptionNoAutoAnonymousLogin(SMBCCTX *c, smbc_bool b)
{
	p_smbc_setOptionNoAutoAnonymousLogin(c, b);
}

/* The getters of the file functions, one line each. */
#define GETTER(name, type)          \
	type name(SMBCCTX *c)       \
	{                           \
		return p_##name(c); \
	}
GETTER(smbc_getFunctionOpen, smbc_open_fn)
GETTER(smbc_getFunctionRead, smbc_read_fn)
GETTER(smbc_getFunctionWrite, smbc_write_fn)
GETTER(smbc_getFunctionLseek, smbc_lseek_fn)
GETTER(smbc_getFunctionClose, smbc_close_fn)
GETTER(smbc_getFunctionStat, smbc_stat_fn)
GETTER(smbc_getFunctionFstat, smbc_fstat_fn)
GETTER(smbc_getFunctionStatVFS, smbc_statvfs_fn)
GETTER(smbc_getFunctionUnlink, smbc_unlink_fn)
GETTER(smbc_getFunctionRename, smbc_rename_fn)
GETTER(smbc_getFunctionMkdir, smbc_mkdir_fn)
GETTER(smbc_getFunctionRmdir, smbc_rmdir_fn)
GETTER(smbc_getFunctionOpendir, smbc_opendir_fn)
GETTER(smbc_getFunctionReaddirPlus2, smbc_readdirplus2_fn)
GETTER(smbc_getFunctionClosedir, smbc_closedir_fn)

#endif
