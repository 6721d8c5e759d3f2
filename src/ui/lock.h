/* The lock at a host's own console (issue 17). xentui logged in as root
 * through xapi's local socket with no password, as xsconsole does, so every
 * call that changes something waits (xapi_set_gate on every pool) until the
 * person types root's password, which the host itself checks by a login
 * over TLS; viewing stays free. It locks again after an idle time and on
 * Ctrl-L. */
#ifndef XENTUI_UI_LOCK_H
#define XENTUI_UI_LOCK_H

#include <stdbool.h>

struct app;
struct net;
struct lock;
struct screen;

struct lock_opts {
	int idle_s;              /* seconds without a key before it locks again; 0: never */
	const char *url;         /* where the password is checked; NULL: lock_set_url */
	const char *fingerprint; /* that host's certificate (hex SHA-256); NULL: the local
				  * xapi's own PEM if readable, else known_hosts */
	const char *known_hosts;
	/* a screen that changes things by itself being open (the console: its
	 * keys reach a guest, or dom0's own shell), opened only once unlocked */
	const struct screen *gated;
};

/* Locked from the start; gates every pool of the app. */
struct lock *lock_new(struct app *app, struct net *net, const struct lock_opts *o);
/* Held calls fail; call before the pools go. */
void lock_free(struct lock *l);
/* This host's address, once known: https://ADDRESS (unless the options named a URL). */
void lock_set_address(struct lock *l, const char *address);
bool lock_locked(const struct lock *l);
/* Ctrl-L: locks now. */
void lock_engage(struct lock *l);
/* app_push asks first: true when s is the gated screen and it is locked
 * (s opens with arg, a string, once the password is right). */
bool lock_push(struct lock *l, const struct screen *s, const void *arg);
/* Opens the password dialog (nothing waits on it: the person does again
 * what they wanted once unlocked). */
void lock_ask(struct lock *l);
/* A key was pressed: the idle time starts again. */
void lock_activity(struct lock *l);
/* True when method only reads (get_*, event.*, session.*, ...): never held. */
bool lock_method_reads(const char *method);

#endif
