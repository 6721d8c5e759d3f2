/* Where a password comes from: the terminal (echo off), a file only its
 * owner can read, an environment variable, or a command's output. Never
 * argv, never a log. */
#ifndef XENTUI_SECRET_H
#define XENTUI_SECRET_H

#include <stdint.h>

struct loop;

/* How long a password_command may take before it is killed. */
#define SECRET_COMMAND_TIMEOUT_MS 30000

/* Each returns a new string, or NULL with *err set. */
char *secret_from_file(const char *path, char **err);
char *secret_from_env(const char *var, char **err);
/* Blocking (for the command line): the same child as secret_command_start,
 * on a loop of its own, with the same timeout. */
char *secret_from_command(const char *cmd, char **err);
char *secret_prompt(const char *prompt, char **err);
/* Overwrites and frees. */
void secret_free(char *s);

/* A password_command running as a child on the loop: stdin /dev/null, a
 * session of its own (it can never touch the terminal), stdout's first
 * line the password, stderr's first line (sanitised) said on failure.
 * fn gets the password (its to free with secret_free) or NULL and a
 * sentence; it is called once, from the loop, after which the handle is
 * gone. */
struct secret_cmd;
typedef void (*secret_cmd_fn)(char *password, const char *err, void *ud);
struct secret_cmd *secret_command_start(struct loop *l, const char *cmd, int64_t timeout_ms, secret_cmd_fn fn,
					void *ud);
/* Kills the command (if still running) and frees it; fn is not called. */
void secret_command_cancel(struct secret_cmd *c);

#endif
