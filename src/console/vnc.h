/* A VNC (RFB) console session for the viewer (issue 7), off the event loop.
 *
 * libvncclient's handshake and reads block, so each session runs them in its
 * own thread. That thread only copies framebuffer updates into a shared
 * buffer (under a mutex, with the union of the dirty rectangles) and wakes
 * the loop through a pipe; the loop then calls vnc_process() on the main
 * thread, which feeds the dirty rectangle to the text recogniser (fbtext,
 * not thread-safe, so it only ever runs on the main thread).
 *
 * Three ways in: an already-connected socket, a TCP HOST:PORT (`xentui
 * --vnc`), and xapi's console proxy: libcurl connects (CONNECT_ONLY, TLS
 * pinned to the pool's fingerprint), sends `CONNECT /console?...&session_id=`
 * and reads the 200; a pump thread then moves bytes between curl and one end
 * of a socketpair whose other end libvncclient reads. */
#ifndef XENTUI_VNC_H
#define XENTUI_VNC_H

#include <stdbool.h>
#include <stdint.h>

#include "fbtext.h"
#include "psf.h"

enum vnc_state { VNC_CONNECTING, VNC_CONNECTED, VNC_DISCONNECTED };

struct vnc;

/* Starts a session on fd, an already-connected stream socket (taken: it is
 * closed by vnc_close() at the latest). font is borrowed (NULL: the
 * built-in fonts only, see fbtext.h). NULL only if the
 * thread or pipe cannot be made (then fd is closed). */
struct vnc *vnc_open_fd(int fd, const struct psf_font *font);

/* Starts a session to "HOST:PORT" ("[v6]:PORT" too); connecting happens in
 * the session's thread. */
struct vnc *vnc_open_tcp(const char *hostport, const struct psf_font *font);

/* Starts a session through xapi's console proxy: base_url is where to
 * connect (http[s]://host[:port]: the host the VM runs on, which the caller
 * works out from the location and the pool's URL, see screens/console.c);
 * location the console record's location, of which only the path and query
 * are used; session the session id; fingerprint the SHA-256 (64 hex digits)
 * the TLS certificate must have, NULL for http. */
struct vnc *vnc_open_xapi(const char *base_url, const char *location, const char *session, const char *fingerprint,
			  const struct psf_font *font);

/* Readable when vnc_process() has work (add it to the loop's poll set). */
int vnc_notify_fd(const struct vnc *v);

/* Drains the notification pipe and applies pending framebuffer changes to
 * the recogniser. Returns the number of cells that changed (0 if none); a
 * state change is seen through vnc_state(). Main thread only. */
size_t vnc_process(struct vnc *v);

/* The current state; w/h (the framebuffer size when connected) and reason
 * (when disconnected; valid until the next vnc_process/vnc_close) may be NULL. */
enum vnc_state vnc_state(struct vnc *v, int *w, int *h, const char **reason);

/* The recogniser holding the screen's text (main thread only). */
struct fbtext *vnc_text(struct vnc *v);

/* Asks the server for the whole framebuffer again (a non-incremental
 * update request). False if not connected. */
bool vnc_refresh(struct vnc *v);

/* The framebuffer scaled to pw x ph pixels (box average), 0x00RRGGBB into
 * out (pw * ph of them). False (out untouched) before the first update. */
bool vnc_picture(struct vnc *v, int pw, int ph, uint32_t *out);

/* Sends one X keysym press or release. False if not connected. To a
 * server that takes scancodes (vnc_scancodes()) it goes with the key's
 * scancode on the guest's layout (src/console/keymap.h). */
bool vnc_send_key(struct vnc *v, uint32_t keysym, bool down);

/* Types one character (a Unicode code point). A server that takes
 * scancodes gets the key the guest's layout has it on, with Shift and AltGr
 * pressed around it as that layout needs; any other server (xapi's vncterm
 * for PV guests and the host's console, which take keysyms as characters)
 * gets the character's keysym alone. False if not connected. */
bool vnc_type(struct vnc *v, uint32_t cp);

/* Whether the server takes scancodes: it answered libvncclient's offer of
 * QEMU's extended key events (QEMU always does, vncterm and libvncserver
 * never do), so keys go to it as scancodes, whatever QEMU's own -k keymap. */
bool vnc_scancodes(struct vnc *v);

/* The guest's keyboard layout (enum keymap_layout; KEYMAP_US at first). */
void vnc_set_keymap(struct vnc *v, int layout);
int vnc_keymap(const struct vnc *v);

/* Ends the session (shuts the socket so the thread's read returns, joins it)
 * and frees everything. NULL is fine. */
void vnc_close(struct vnc *v);

#endif
