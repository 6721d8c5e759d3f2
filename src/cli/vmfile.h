/* `xentui vm export VM FILE` and `xentui vm import FILE --sr SR`: a VM to
 * an .xva file on this computer and back (Xen Orchestra's Export VM and
 * Import VM), streamed through xapi's /export and /import with the backup
 * engine's blocking session; the interface runs it as a child process. */
#ifndef XENTUI_CLI_VMFILE_H
#define XENTUI_CLI_VMFILE_H

/* argv[0] is "vm". Exit status 0, 1 (a failure, one line on stderr) or 2. */
int vm_main(int argc, char **argv);

#endif
