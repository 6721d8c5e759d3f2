/* `xentui backup run|due|list|verify|test|restore`: the backup engine's
 * command line, in its own process (it may block and fork). */
#ifndef XENTUI_CLI_BACKUP_H
#define XENTUI_CLI_BACKUP_H

/* argv[0] is "backup"; returns the exit status (0, 1 failure, 2 usage). */
int backup_main(int argc, char **argv);

#endif
