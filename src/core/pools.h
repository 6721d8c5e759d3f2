/* The pools xentui works with at once: one per configured server (and the
 * demo's, and a URL from the command line), each with its own connection,
 * object cache and operations while it is connected. Screens name an
 * object of one pool with a qualified ref, "ID/OpaqueRef:...": two pools
 * may well use the same refs. */
#ifndef XENTUI_POOLS_H
#define XENTUI_POOLS_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "config.h"
#include "loop.h"
#include "net.h"
#include "ops.h"
#include "xapi.h"

struct metrics;

struct pool {
	int id;               /* for this run, never reused: qualified refs name it */
	struct server_cfg cfg; /* a copy: name (the label), url, user, password source, ... */
	bool saved;           /* cfg is in the configuration file */
	bool demo;            /* the simulator --demo started */
	bool cert_asked;      /* the interface is asking about its certificate */
	/* while connected or trying to; all NULL when disconnected */
	struct xapi *x;
	struct cache *cache;
	struct ops *ops;
	struct metrics *metrics; /* performance data (issue 13): idle until a screen wants some */
	bool closing;         /* logging out */
	char *live_url;       /* where it was last live: another one means the master moved */
};

enum pool_state {
	POOL_DISCONNECTED,
	POOL_CONNECTING, /* logging in or loading the objects */
	POOL_CONNECTED,  /* loaded and live */
	POOL_RETRYING,   /* lost: reconnecting by itself */
	POOL_FAILED,     /* needs the user: a password, a certificate */
};

struct pools;
/* Every cache event of every pool, and CACHE_LOADED + CACHE_STATUS when a
 * pool connects or disconnects (its cache may then be NULL). */
typedef void (*pools_fn)(struct pools *ps, struct pool *p, enum cache_op op, const char *cls, const char *ref,
			 void *ud);
typedef void (*pools_op_fn)(struct pools *ps, struct pool *p, struct op *op, void *ud);

struct pools *pools_new(struct loop *l, struct net *n, const char *known_hosts);
/* Drops every connection at once (no logout): their pending calls are
 * answered "connection closed" now, while their owners still exist. */
void pools_drop_all(struct pools *ps);
/* Frees everything (dropping what is still connected). */
void pools_free(struct pools *ps);
/* What the pools connect with: a connection of its own (to a host joining
 * a pool) uses the same network and accepted certificates. */
struct net *pools_net(const struct pools *ps);
const char *pools_known_hosts(const struct pools *ps);
void pools_subscribe(struct pools *ps, pools_fn fn, void *ud);
void pools_unsubscribe(struct pools *ps, pools_fn fn, void *ud);
/* Every change of an op of any pool (progress, end). */
void pools_on_op(struct pools *ps, pools_op_fn fn, void *ud);

/* Adds a disconnected pool for cfg (copied). */
struct pool *pools_add(struct pools *ps, const struct server_cfg *cfg, bool saved);
/* Forgets a pool (dropping its connection if it has one). */
void pools_remove(struct pools *ps, struct pool *p);
size_t pools_count(const struct pools *ps);
struct pool *pools_at(const struct pools *ps, size_t i);
struct pool *pools_by_id(const struct pools *ps, int id);
struct pool *pools_by_name(const struct pools *ps, const char *name);
/* Pools with a cache (connected or on their way). */
int pools_active(const struct pools *ps);
/* The first pool with a cache, or NULL. */
struct pool *pools_first_active(const struct pools *ps);

enum connect_result {
	CONNECT_STARTED,       /* also while password_command runs, as a child on the loop */
	CONNECT_NEED_PASSWORD, /* no source and none typed: ask, then call again with it */
	CONNECT_FAILED,        /* *err says why (a password file that cannot be read) */
};
/* Connects (password NULL: the typed one or the server's source). A
 * password_command runs on the loop first (SECRET_COMMAND_TIMEOUT_MS at
 * most): the pool is "connecting" meanwhile, and if it fails the pool is
 * "failed" with the sentence, which pool_take_failure hands out once. */
enum connect_result pool_connect(struct pools *ps, struct pool *p, const char *password, char **err);
/* Logs out, then drops the connection; done (may be NULL) after that. */
void pool_disconnect(struct pools *ps, struct pool *p, void (*done)(struct pool *p, void *ud), void *ud);
/* A server that does not answer a logout: each pool drops its connection
 * after POOL_LOGOUT_MS, and the program, closing them all at once, leaves
 * a second later (LOGOUT_WAIT_MS) so every pool has let go first. */
#define POOL_LOGOUT_MS 3000
#define LOGOUT_WAIT_MS (POOL_LOGOUT_MS + 1000)
/* Logs every pool out; done is called once none is connected any more. */
void pools_close_all(struct pools *ps, void (*done)(void *ud), void *ud);
/* Replaces the pool's settings (they apply at the next connection). */
void pool_set_cfg(struct pool *p, const struct server_cfg *cfg);
/* The password typed (or given) this run, kept by the pool's connection
 * code alone and never written anywhere; NULL forgets it, so that
 * connecting asks again. Screens can set it, never read it. */
void pool_set_password(struct pool *p, const char *password);
/* A password was typed (or given) this run. */
bool pool_has_password(const struct pool *p);
/* The environment for a child run for this pool's server (a `xentui
 * backup` or `xentui vm` run, which cannot ask), made before fork (a forked
 * child of a threaded process must not allocate): ours, with var set to the
 * password (the one typed, else the one the connection logged in with), or
 * without var when there is none (or p is NULL). The child passes it to execve; the parent
 * frees it with pool_child_env_free, which wipes the password. */
char **pool_child_env(const struct pool *p, const char *var);
void pool_child_env_free(char **env);
/* No password source and none typed: connecting will ask (never for a
 * unix: socket, where xapi lets root in without one). */
bool pool_needs_password(const struct pool *p);
/* Its URL is a unix: socket: dom0's own xapi, root without a password. */
bool pool_is_local(const struct pool *p);
/* A gate on every call of every connection, now and later (xapi_set_gate:
 * the console's lock), and the held calls sent or failed. */
void pools_set_gate(struct pools *ps, xapi_gate_fn fn, void *ud);
void pools_gate_open(struct pools *ps, bool send, const char *msg);

/* Appends the password the pool's connection logged in with to a call's
 * parameters (Pool.join sends the master's); false when not connected. */
bool pool_push_password(const struct pool *p, struct xv *params);

/* The state in a word or two, and *why a sentence for failures ("" else);
 * why, p and ref below may be NULL when the caller does not want them. */
enum pool_state pool_state(const struct pool *p, const char **why);
/* A failure found before any connection (password_command's), not said
 * yet: the sentence (the pool's; valid until it next connects), or NULL. */
const char *pool_take_failure(struct pool *p);
const char *pool_state_name(enum pool_state s);

/* "ID/REF" into buf (n >= 16 + the ref's length); returns buf. */
char *pool_qref(const struct pool *p, const char *ref, char *buf, size_t n);
#define QREF_MAX 192
/* The pool a qualified ref names (NULL when it is gone), *ref the pool's own ref. */
struct pool *pools_resolve(const struct pools *ps, const char *qref, const char **ref);
/* The record a qualified ref names, if its pool is connected and has it. */
const struct xv *pools_lookup(const struct pools *ps, const char *qref, struct pool **p, const char **ref);

#endif
