/* The simulated text console xapi-sim serves over RFB (VNC) for every VM and
 * every host's dom0, like a real XCP-ng console: a 720x400 VGA text screen
 * (80x25 cells of 9x16 pixels, drawn with the Linux console font, see
 * src/psf.h) showing a boot banner and a root shell that answers a few
 * commands (help, hostname, uname, echo, clear, ls, pwd, uptime, whoami,
 * exit). Deterministic: the same keys always give the same screen.
 * Instead of the shell it can show one of a few fixed text screens that real
 * consoles show (info->mode): a host's xsconsole status screen in the Linux
 * console font, and a Windows guest's boot manager, its recovery screen and
 * a BIOS POST screen drawn with the VGA ROM font, as a PC's VGA BIOS would. */
#ifndef XAPI_SIM_CONSOLE_H
#define XAPI_SIM_CONSOLE_H

#include <stdbool.h>

#define SIM_CONSOLE_COLS 80
#define SIM_CONSOLE_ROWS 25
#define SIM_CONSOLE_CELL_W 9
#define SIM_CONSOLE_CELL_H 16
#define SIM_CONSOLE_WIDTH (SIM_CONSOLE_COLS * SIM_CONSOLE_CELL_W)  /* 720 */
#define SIM_CONSOLE_HEIGHT (SIM_CONSOLE_ROWS * SIM_CONSOLE_CELL_H) /* 400 */

/* What the console shows. sim_console_serve() copies the strings first. */
struct sim_console_info {
	const char *title;    /* VM name_label, or "dom0"; the RFB desktop name */
	const char *hostname; /* in the prompt and `hostname`; NULL: made from title */
	bool is_dom0;         /* a host's dom0 (XCP-ng shell) rather than a guest (Debian) */
	const char *os_line;  /* first banner line's OS part, e.g. "Debian GNU/Linux 12"
			       * or "XCP-ng release 8.3.0 (xenenterprise)"; NULL: default */
	const char *mode;     /* what the screen shows (the VM's other_config:sim_console):
			       * NULL, "" or "shell": the shell; "xsconsole": a host's status
			       * screen and menu; "winboot": Windows Boot Manager's menu;
			       * "winrecovery": its "Windows failed to start" screen; "bios":
			       * a BIOS POST screen. Up/Down move the highlighted menu entry. */
	const char *font;     /* the VM's other_config:sim_console_font: an 8x16 font of
			       * /usr/share/consolefonts by name (e.g. "latarcyrheb-sun16")
			       * for the shell and xsconsole; NULL or "": the default */
};

/* Serves one RFB session on fd, an already-connected stream socket (after the
 * HTTP CONNECT; one end of a socketpair when the outer connection is TLS),
 * and returns when the viewer has gone. Takes ownership of fd: it is always
 * closed by the time this returns. Blocks the calling thread; several calls
 * may run at once in different threads (each has its own screen; the library
 * calls are serialised internally because libvncserver keeps global state).
 * fd must be below FD_SETSIZE (libvncserver uses select()); otherwise, or if
 * no console font is found, the error goes to stderr and fd is closed.
 * To end a session early (VM shut down), close or shutdown() the peer end.
 * Process-wide effects: SIGPIPE is ignored (libvncserver's rfbInitServer) and
 * libvncserver's rfbLog/rfbErr are replaced by a logger that prints only when
 * $XAPI_SIM_VNC_LOG is set (they would log every connection). */
void sim_console_serve(int fd, const struct sim_console_info *info);

#endif
