/* What the storage screens (storage.c: the SR list, sr.c: one SR) share:
 * the new-SR forms (sr_new.c), ISO uploads with their progress
 * (sr_upload.c), and the SR actions both screens offer. */
#ifndef XENTUI_SCREENS_STORAGE_H
#define XENTUI_SCREENS_STORAGE_H

#include <curses.h>
#include <stdbool.h>

#include "app.h"

/* Asks which kind of SR to make in pool p, then only what that kind needs. */
void sr_new_start(struct app *app, struct pool *p);

/* Asks for a local file and a name, then uploads it into the ISO SR sr_qref
 * (or, when NULL, one the user picks among p's ISO SRs). */
void sr_upload_start(struct app *app, struct pool *p, const char *sr_qref);
/* Uploads running or just finished into sr (pool id, ref), or into any SR
 * (sr NULL). */
int sr_uploads_count(int pool_id, const char *sr);
bool sr_uploads_running(int pool_id, const char *sr);
/* Draws one line per upload from row y (at most rows); returns rows used. */
int sr_uploads_draw(struct app *app, WINDOW *w, int y, int rows, int cols, int pool_id, const char *sr);
/* Cancels the running uploads into sr (any SR when NULL); false if none. */
bool sr_uploads_cancel(int pool_id, const char *sr);

/* Beside the default SR's name in lists: short, so that no width hides it
 * (a column was the first to go at 80 columns). */
#define DEFAULT_MARK "*"

/* The key that makes an SR its pool's default, on :storage, an SR's screen
 * and :pool alike (D destroys, everywhere). */
#define SR_DEFAULT_KEY 'P'
#define SR_DEFAULT_KEY_TEXT "P"

/* SR actions on the SR named by qref (both screens). */
void sr_rescan(struct app *app, const char *qref);
void sr_set_default(struct app *app, const char *qref);
void sr_remove(struct app *app, const char *qref);
/* Straight to the typed-name question that destroys the SR. */
void sr_destroy(struct app *app, const char *qref);
/* True when the SR holds ISO images (an upload can go there). */
bool sr_is_iso(const struct xv *sr);
/* The default SR of the SR's pool is this one. */
bool sr_is_default(const struct cache *c, const char *ref);
/* Why sr cannot be its pool's default SR (a sentence to free), or NULL
 * when it may: one rule for :storage and :pool, as Xen Orchestra's: a
 * shared SR holding virtual disks. */
char *sr_default_refusal(const struct cache *c, const struct xv *sr);
/* "host name" for an SR with one PBD (local storage), "" for shared ones. */
const char *sr_host_name(const struct cache *c, const struct xv *sr);

#endif
