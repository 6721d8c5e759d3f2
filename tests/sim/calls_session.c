/* session.*: logins as xapi answers them (WIRE.md 6). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "rpc.h"
#include "sessions.h"
#include "sim.h"
#include "util.h"

struct obj *session_new(const char *user, const char *originator, bool pool)
{
	char ref[REF_LEN];
	struct obj *s;

	db_secret_ref(ref);
	s = db_create_ref(schema_class("session"), ref);
	if (sim.local_host)
		db_set_ref(s, "this_host", sim.local_host);
	db_set_now(s, "last_active");
	db_set_now(s, "validation_time");
	db_set_bool(s, "pool", pool);
	db_set_bool(s, "is_local_superuser", true);
	db_set_str(s, "auth_user_name", user);
	db_set_str(s, "originator", originator);
	return s;
}

void sessions_expire_all(void)
{
	const struct cls *c = schema_class("session");
	struct obj *o, *next;

	db_lock();
	for (o = db.head[c->idx]; o; o = next) {
		next = o->cnext;
		if (!db_bool(o, "pool"))
			db_delete(o);
	}
	db_unlock();
}

static void sleep_s(int s)
{
	struct timespec ts = {s, 0};

	nanosleep(&ts, NULL);
}

/* Unlocked: a failed login waits 5 s, as xapi does, without holding the database. */
static struct xv *login_with_password(struct call *c, struct xv **err)
{
	const char *user = arg_str(c, 0);
	const char *pwd = arg_str(c, 1);
	struct obj *s;
	struct xv *ref;

	db_lock();
	if (sim.is_slave) {
		*err = err_new("HOST_IS_SLAVE", sim.master_address, NULL);
		db_unlock();
		return NULL;
	}
	db_unlock();
	/* xapi_session.ml: a request on the local unix socket is preauthenticated
	 * root (Context.preauth), so any name and password log in */
	if (!http_local && (strcmp(user, sim.user) != 0 || strcmp(pwd, sim.password) != 0)) {
		sleep_s(5);
		*err = err_new("SESSION_AUTHENTICATION_FAILED", user, "Authentication failure", NULL);
		return NULL;
	}
	db_lock();
	s = session_new(user, arg_str(c, 3), false);
	ref = xv_string(s->ref);
	db_unlock();
	return ref;
}

static struct xv *slave_local_login_with_password(struct call *c, struct xv **err)
{
	/* the local root account only; the local socket is preauthenticated */
	if (!http_local && (strcmp(arg_str(c, 0), sim.user) != 0 || strcmp(arg_str(c, 1), sim.password) != 0)) {
		*err = err_new("SESSION_AUTHENTICATION_FAILED", arg_str(c, 0), "Authentication failure", NULL);
		return NULL;
	}
	return xv_string(session_new(arg_str(c, 0), "", true)->ref);
}

static struct xv *slave_login(struct call *c, struct xv **err)
{
	if (strcmp(arg_str(c, 1), sim.pool_secret) != 0) {
		*err = err_new("SESSION_AUTHENTICATION_FAILED", "__dom0__", "Pool secret mismatch", NULL);
		return NULL;
	}
	return xv_string(session_new("__dom0__", "", true)->ref);
}

static struct xv *logout(struct call *c, struct xv **err)
{
	db_delete(c->session);
	return xv_string("");
}

static struct xv *change_password(struct call *c, struct xv **err)
{
	if (strcmp(arg_str(c, 0), sim.password) != 0) {
		*err = err_new("SESSION_AUTHENTICATION_FAILED", sim.user, "Authentication failure", NULL);
		return NULL;
	}
	snprintf(sim.password, sizeof(sim.password), "%s", arg_str(c, 1));
	return xv_string("");
}

static struct xv *get_all_subject_identifiers(struct call *c, struct xv **err)
{
	return xv_array();
}

const struct handler calls_session[] = {
	{"session.login_with_password", login_with_password, 0, H_UNLOCKED},
	{"session.slave_local_login_with_password", slave_local_login_with_password, 0, 0},
	{"session.slave_login", slave_login, 0, 0},
	{"session.logout", logout, 0, 0},
	{"session.local_logout", logout, 0, 0},
	{"session.change_password", change_password, 0, 0},
	{"session.get_all_subject_identifiers", get_all_subject_identifiers, 0, 0},
	{NULL, NULL, 0, 0},
};
