#include "certdialog.h"

#include <stdlib.h>

#include "util.h"

/* "ab12cd..." as "AB:12:CD:...", as browsers show fingerprints. */
static char *fingerprint_text(const char *hex)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2)
		buf_printf(&b, "%s%c%c", i ? ":" : "", hex[i] >= 'a' ? hex[i] - 32 : hex[i],
			   hex[i + 1] >= 'a' ? hex[i + 1] - 32 : hex[i + 1]);
	return buf_steal(&b);
}

struct dialog *dialog_unknown_certificate(const char *who, const char *fingerprint_hex, const char *whose)
{
	char *fp = fingerprint_text(fingerprint_hex);
	char *text = xasprintf("%s presents a certificate xentui has not seen before.\n\nSHA-256 fingerprint:\n%s\n\n"
			       "Accept it only if it is %s (on the host: "
			       "openssl x509 -noout -fingerprint -sha256 -in /etc/xensource/xapi-ssl.pem).",
			       who, fp, whose);
	struct dialog *d = dialog_confirm("Unknown certificate", text, "Accept", "Refuse", true);

	free(text);
	free(fp);
	return d;
}
