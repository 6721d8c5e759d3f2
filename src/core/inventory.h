/* dom0's inventory, /etc/xensource-inventory: KEY='value' lines that xapi
 * reads at start (INSTALLATION_UUID names this host). XENTUI_INVENTORY
 * names another file (tests). */
#ifndef XENTUI_INVENTORY_H
#define XENTUI_INVENTORY_H

/* The value of key in the inventory (quotes removed), or NULL when the file
 * or the key is missing. Free it. */
char *inventory_get(const char *key);
/* The same from a given file. */
char *inventory_get_from(const char *path, const char *key);

#endif
