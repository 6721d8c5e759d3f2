/* The question asked when a server presents a certificate not seen before:
 * one wording and fingerprint layout for connecting to a pool and for
 * adding a host to one. */
#ifndef XENTUI_UI_CERTDIALOG_H
#define XENTUI_UI_CERTDIALOG_H

#include "dialog.h"

/* A confirm dialog (Accept / Refuse): who presents it (an address or URL),
 * fingerprint_hex its SHA-256 in hex (shown as "AB:12:..."), whose
 * certificate it must be to accept it ("this host's"). */
struct dialog *dialog_unknown_certificate(const char *who, const char *fingerprint_hex, const char *whose);

#endif
