/* Keyboard layouts as scancodes: see keymap.h. */
#include "keymap.h"
#include "util.h"

#include <rfb/keysym.h>
#include <strings.h>

#define NKEYS 48

/* The main block's keys, row by row (the space bar is handled apart), as
 * QEMU numbers them: the XT scancode. 0x56 is the ISO key left of Z. */
static const uint8_t key_code[NKEYS] = {
	0x29, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x2b,
	0x56, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
};

/* Per key, four characters in UTF-8: plain, Shift, AltGr, Shift+AltGr; a
 * space is "nothing there" (the space bar is apart). */
static const char *const layouts[KEYMAP_COUNT][NKEYS] = {
	[KEYMAP_US] = {
		"`~  ", "1!  ", "2@  ", "3#  ", "4$  ", "5%  ", "6^  ", "7&  ", "8*  ", "9(  ", "0)  ", "-_  ", "=+  ",
		"qQ  ", "wW  ", "eE  ", "rR  ", "tT  ", "yY  ", "uU  ", "iI  ", "oO  ", "pP  ", "[{  ", "]}  ",
		"aA  ", "sS  ", "dD  ", "fF  ", "gG  ", "hH  ", "jJ  ", "kK  ", "lL  ", ";:  ", "'\"  ", "\\|  ",
		"   ¦", "zZ  ", "xX  ", "cC  ", "vV  ", "bB  ", "nN  ", "mM  ", ",<  ", ".>  ", "/?  ",
	},
	[KEYMAP_DE] = {
		"^°¬ ", "1!¹¡", "2\"² ", "3§³£", "4$¼¤", "5%½ ", "6&¬ ", "7/{ ", "8([ ", "9)]±", "0=}°", "ß?\\¿", "´`¸ ",
		"qQ@ ", "wW  ", "eE  ", "rR¶®", "tT  ", "zZ ¥", "uU  ", "iI  ", "oOøØ", "pPþÞ", "üÜ¨ ", "+*~¯",
		"aAæÆ", "sS  ", "dDðÐ", "fF ª", "gG  ", "hH  ", "jJ  ", "kK &", "lL  ", "öÖ  ", "äÄ^ ", "#' `",
		"<>| ", "yY» ", "xX« ", "cC¢©", "vV  ", "bB  ", "nN  ", "mMµº", ",;·×", ".: ÷", "-_  ",
	},
	[KEYMAP_FR] = {
		"²~¬ ", "&1¹¡", "é2~ ", "\"3#£", "'4{$", "(5[ ", "-6| ", "è7` ", "_8\\ ", "ç9^±", "à0@°", ")°]¿", "=+} ",
		"aAæÆ", "zZ«<", "eE ¢", "rR¶®", "tT  ", "yY ¥", "uU  ", "iI  ", "oOøØ", "pPþÞ", "^¨  ", "$£¤¯",
		"qQ@ ", "sSß§", "dDðÐ", "fF ª", "gG  ", "hH  ", "jJ  ", "kK &", "lL  ", "mMµº", "ù%^ ", "*µ` ",
		"<>|¦", "wW  ", "xX»>", "cC¢©", "vV  ", "bB  ", "nN  ", ",?´ ", ";. ×", ":/·÷", "!§  ",
	},
	[KEYMAP_UK] = {
		"`¬| ", "1!¹¡", "2\"² ", "3£³ ", "4$ ¼", "5%½ ", "6^¾ ", "7&{ ", "8*[ ", "9(]±", "0)}°", "-_\\¿", "=+  ",
		"qQ@ ", "wW  ", "eE  ", "rR¶®", "tT  ", "yY ¥", "uU  ", "iI  ", "oOøØ", "pPþÞ", "[{  ", "]}  ",
		"aAæÆ", "sSß§", "dDðÐ", "fF ª", "gG  ", "hH  ", "jJ  ", "kK &", "lL  ", ";:  ", "'@  ", "#~  ",
		"\\||¦", "zZ«<", "xX»>", "cC¢©", "vV  ", "bB  ", "nN  ", "mMµº", ",< ×", ".>·÷", "/?  ",
	},
};

static const char *const names[KEYMAP_COUNT] = {"us", "de", "fr", "uk"};

int keymap_by_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < KEYMAP_COUNT; i++)
		if (strcasecmp(name, names[i]) == 0)
			return i;
	if (strcasecmp(name, "en-us") == 0)
		return KEYMAP_US;
	if (strcasecmp(name, "gb") == 0 || strcasecmp(name, "en-gb") == 0)
		return KEYMAP_UK;
	return -1;
}

const char *keymap_name(int layout)
{
	return layout >= 0 && layout < KEYMAP_COUNT ? names[layout] : "us";
}

const char *keymap_names(void)
{
	return "us, de, fr, uk";
}

uint32_t keymap_keysym(uint32_t cp)
{
	return cp < 0x100 ? cp : 0x01000000u | cp;
}

/* The next character of a table string (valid UTF-8 of at most 2 bytes). */
static uint32_t next_cp(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;

	if (p[0] < 0x80) {
		*s += 1;
		return p[0];
	}
	*s += 2;
	return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
}

bool keymap_find(int layout, uint32_t cp, uint16_t *code, int *level)
{
	if (layout < 0 || layout >= KEYMAP_COUNT)
		layout = KEYMAP_US;
	if (cp == ' ') {
		*code = 0x39;
		*level = 0;
		return true;
	}
	/* the lowest level wins (fewest modifiers), then the first key */
	for (int lv = 0; lv < 4; lv++)
		for (int k = 0; k < NKEYS; k++) {
			const char *s = layouts[layout][k];
			uint32_t c = 0;

			for (int i = 0; i <= lv; i++)
				c = next_cp(&s);
			if (c == cp && c != ' ') {
				*code = key_code[k];
				*level = lv;
				return true;
			}
		}
	return false;
}

size_t keymap_type(int layout, uint32_t cp, struct keymap_event *ev)
{
	uint32_t sym = keymap_keysym(cp);
	uint16_t code;
	int level;
	size_t n = 0;

	if (!keymap_find(layout, cp, &code, &level)) {
		ev[0] = (struct keymap_event){sym, 0, true};
		ev[1] = (struct keymap_event){sym, 0, false};
		return 2;
	}
	if (level & 1)
		ev[n++] = (struct keymap_event){XK_Shift_L, KEYMAP_SC_SHIFT, true};
	if (level & 2)
		ev[n++] = (struct keymap_event){XK_ISO_Level3_Shift, KEYMAP_SC_ALTGR, true};
	ev[n++] = (struct keymap_event){sym, code, true};
	ev[n++] = (struct keymap_event){sym, code, false};
	if (level & 2)
		ev[n++] = (struct keymap_event){XK_ISO_Level3_Shift, KEYMAP_SC_ALTGR, false};
	if (level & 1)
		ev[n++] = (struct keymap_event){XK_Shift_L, KEYMAP_SC_SHIFT, false};
	return n;
}

uint16_t keymap_code(int layout, uint32_t keysym)
{
	static const struct {
		uint32_t sym;
		uint16_t code;
	} special[] = {
		{XK_Escape, 0x01}, {XK_BackSpace, 0x0e}, {XK_Tab, 0x0f}, {XK_ISO_Left_Tab, 0x0f},
		{XK_Return, 0x1c}, {XK_Control_L, 0x1d}, {XK_Shift_L, 0x2a}, {XK_Shift_R, 0x36},
		{XK_Alt_L, 0x38}, {XK_Meta_L, 0x38}, {XK_Caps_Lock, 0x3a}, {XK_Num_Lock, 0x45},
		{XK_Scroll_Lock, 0x46}, {XK_F11, 0x57}, {XK_F12, 0x58}, {XK_KP_Enter, 0x9c},
		{XK_Control_R, 0x9d}, {XK_Alt_R, 0xb8}, {XK_ISO_Level3_Shift, 0xb8}, {XK_Mode_switch, 0xb8},
		{XK_Home, 0xc7}, {XK_Up, 0xc8}, {XK_Page_Up, 0xc9}, {XK_Left, 0xcb}, {XK_Right, 0xcd},
		{XK_End, 0xcf}, {XK_Down, 0xd0}, {XK_Page_Down, 0xd1}, {XK_Insert, 0xd2}, {XK_Delete, 0xd3},
		{XK_Super_L, 0xdb}, {XK_Super_R, 0xdc}, {XK_Menu, 0xdd},
	};
	uint16_t code;
	int level;

	if (keysym >= XK_F1 && keysym <= XK_F10)
		return (uint16_t)(0x3b + (keysym - XK_F1));
	for (size_t i = 0; i < ARRAY_LEN(special); i++)
		if (special[i].sym == keysym)
			return special[i].code;
	if (keysym >= 0x20 && keysym < 0x100 && keymap_find(layout, keysym, &code, &level))
		return code;
	if ((keysym & 0xFF000000u) == 0x01000000u && keymap_find(layout, keysym & 0xFFFFFF, &code, &level))
		return code;
	return 0;
}
