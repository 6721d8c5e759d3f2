/* Helpers shared by delta backups, retention, restore and verify: XenAPI
 * values to and from JSON (the .json records), SHA-256 of repository files,
 * small call wrappers. */
#ifndef XENTUI_BACKUP_BKUTIL_H
#define XENTUI_BACKUP_BKUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "bkhash.h"
#include "bxapi.h"
#include "point.h"
#include "repo.h"
#include "value.h"

/* A value as JSON and back (structs are objects, ints numbers). */
struct json_object *bk_xv_to_json(const struct xv *v);
struct xv *bk_json_to_xv(struct json_object *j);
/* obj[key] as a string, or NULL. */
const char *bk_jstr(struct json_object *obj, const char *key);

/* A SHA-256 context that never fails to exist (exits on out of memory). */
EVP_MD_CTX *bk_sha_new(void);
/* Finishes ctx (and frees it) into 64 hex digits. */
void bk_sha_hex(EVP_MD_CTX *ctx, char out[65]);
/* Reads a whole repository file: its SHA-256 (hashed on a worker thread
 * while the next piece is read) and size. */
bool bk_sha256_file(struct repo *r, const char *path, char out[65], uint64_t *size, char **err);

/* "1.2 GiB" */
void bk_human(uint64_t n, char out[24]);
/* "xo-vm-backups/<vm>/" + rel ("./" stripped); to free. */
char *bk_vm_path(const char *vm_uuid, const char *rel);

/* XenAPI calls with string arguments (NULL-terminated). */
struct xv *bk_call(struct bx *b, const char *method, char **err, ...) __attribute__((sentinel));
char *bk_call_str(struct bx *b, const char *method, char **err, ...) __attribute__((sentinel));
/* A void call; errors are ignored (clean-up paths). */
void bk_call_quiet(struct bx *b, const char *method, ...) __attribute__((sentinel));
/* xv struct field as a string (refs, enums, ints as xapi sends them). */
const char *bk_field(const struct xv *rec, const char *key);
/* A ref that names nothing: NULL, "" or OpaqueRef:NULL. */
bool bk_is_null(const char *ref);

/* Destroys a snapshot (or an imported VM) and the disks it holds. */
void bk_destroy_vm_and_disks(struct bx *b, const char *vm_ref);

/* The ref of the cls object (SR, VM ...) whose UUID what is, or NULL when
 * what is not shaped as a UUID or none has it (then look it up by name). */
char *bk_ref_by_uuid(struct bx *b, const char *cls, const char *what);

/* The bytes the disks behind vbds (VBD refs) use, about what an
 * uncompressed export weighs; or_size: a disk whose SR does not count what
 * it uses counts its virtual size (an upper bound) instead of nothing. */
uint64_t bk_disks_used(struct bx *b, const struct xv *vbds, bool or_size);

struct run_vm;
/* Records err (taken; fallback's copy when NULL) as v's error unless it
 * has one already; false, so that a mode can `return bk_fail(...)`. */
bool bk_fail(struct run_vm *v, char *err, const char *fallback);
/* The same for "what: why"; both taken. */
bool bk_fail_why(struct run_vm *v, char *what, char *why);

/* The point files whose path ends with suffix, or NULL. */
const struct point_file *bk_point_file(const struct point *p, const char *path);

/* Retention's merge (merge.c): folds the point old_ts of a VM into the
 * next point new_ts (a delta over it), on the repository, resumable from
 * the state file it writes first; deletes old_ts's point at the end. */
bool merge_points(struct repo *r, const char *vm_uuid, const char *job_id, const char *old_ts, const char *new_ts,
		  char **err);
/* The state file of an unfinished merge of job_id's points of a VM. */
char *merge_state_path(const char *vm_uuid, const char *job_id);
struct vhd_chain;
/* Streams chain c (closed here) as one whole VHD with footer uuid over full
 * (a temporary name, then committed); its size and SHA-256 in *size, sha. */
bool merge_write_whole(struct repo *r, const char *full, struct vhd_chain *c, const uint8_t uuid[16], uint64_t *size,
		       char sha[65], char **err);

#endif
