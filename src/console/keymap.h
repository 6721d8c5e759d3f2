/* The keys a guest's keyboard layout needs for a character (issue 14).
 *
 * QEMU's VNC server (the one xapi tunnels to for HVM guests) delivers key
 * presses to the guest as scancodes, so what a key types is decided by the
 * guest's own layout, and Shift or AltGr reach the guest only if the viewer
 * presses them. A VNC viewer on a keyboard sends what the person pressed; a
 * terminal program receives characters, so it must work out the presses: for
 * a character on layout L, the key (its PC/XT scancode, as QEMU numbers them:
 * 0x80 set for E0-prefixed keys) and whether Shift and AltGr are held.
 *
 * The tables are the layouts' main block (the same physical keys on every PC
 * keyboard), written for us, de, fr and uk as xkb and Linux's console
 * layouts (console-setup, kbd) place them, in their "nodeadkeys" form as
 * QEMU's own keymaps are: on a guest whose layout has dead keys, ^ ` ´ ~
 * may wait for the next key there. tests/unit/test_keymap.c checks them
 * against QEMU's keymap files (/usr/share/qemu/keymaps). */
#ifndef XENTUI_KEYMAP_H
#define XENTUI_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum keymap_layout { KEYMAP_US, KEYMAP_DE, KEYMAP_FR, KEYMAP_UK, KEYMAP_COUNT };

#define KEYMAP_SC_SHIFT 0x2a /* left Shift */
#define KEYMAP_SC_ALTGR 0xb8 /* right Alt (E0 38), AltGr on European layouts */
#define KEYMAP_MAX_EVENTS 6  /* Shift, AltGr, the key: down and up */

/* One key press or release: the X keysym and the scancode (0: no scancode
 * known, send the keysym alone). */
struct keymap_event {
	uint32_t keysym;
	uint16_t code;
	bool down;
};

/* The layout named ("us", "de", "fr", "uk"; also "en-us", "gb", "en-gb",
 * any case), or -1. */
int keymap_by_name(const char *name);
const char *keymap_name(int layout);

/* "us, de, fr, uk": the names keymap_by_name() takes, for messages. */
const char *keymap_names(void);

/* The X keysym of a Unicode character (Latin-1 as is, others 0x01000000 + cp). */
uint32_t keymap_keysym(uint32_t cp);

/* The events that type cp on layout: Shift (Shift_L) and AltGr
 * (ISO_Level3_Shift) pressed around the key as the layout needs, released
 * in reverse order. A character the layout has no key for is one press and
 * release of its keysym with code 0. Returns how many (at most
 * KEYMAP_MAX_EVENTS) were written to ev. */
size_t keymap_type(int layout, uint32_t cp, struct keymap_event *ev);

/* The scancode of a keysym pressed on its own: Return, Tab, arrows, F1-F12,
 * modifiers..., or the key a character is on (ignoring the modifiers it
 * needs: Ctrl-z presses the key that types 'z' on the layout). 0 if none. */
uint16_t keymap_code(int layout, uint32_t keysym);

/* Where cp is on layout: its key's scancode and level (0 plain, 1 Shift,
 * 2 AltGr, 3 Shift+AltGr). False if the layout has no key for it. */
bool keymap_find(int layout, uint32_t cp, uint16_t *code, int *level);

#endif
