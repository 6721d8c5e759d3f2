/* One way to replace a file: a temporary file made in the same folder
 * (mkstemp, 0600), written whole, fsync'd, renamed over the name, and the
 * folder fsync'd, so a reader or a crash sees the old file or the new one,
 * never half of either. A symlink is written through to its target, so a
 * dotfiles link stays a link. */
#ifndef XENTUI_ATOMICFILE_H
#define XENTUI_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Makes the missing folders above path (0700). */
void mkdirs_for(const char *path);
/* *err (to free) names the file and the reason. */
bool atomic_write(const char *path, const void *data, size_t n, char **err);

#endif
