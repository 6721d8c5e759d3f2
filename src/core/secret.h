/* Where a password comes from: the terminal (echo off), a file only its
 * owner can read, an environment variable, or a command's output. Never
 * argv, never a log. */
#ifndef XENTUI_SECRET_H
#define XENTUI_SECRET_H

/* Each returns a new string, or NULL with *err set. */
char *secret_from_file(const char *path, char **err);
char *secret_from_env(const char *var, char **err);
char *secret_from_command(const char *cmd, char **err);
char *secret_prompt(const char *prompt, char **err);
/* Overwrites and frees. */
void secret_free(char *s);

#endif
