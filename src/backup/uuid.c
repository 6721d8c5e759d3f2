/* UUIDs as text ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx") and as the 16 bytes
 * a VHD's footer and header hold, in the same order. */
#include "vhd.h"

#include <stdio.h>

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool uuid_parse(const char *s, uint8_t out[16])
{
	int k = 0;

	if (!s)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		int hi = hexval(s[i]), lo;
		if (hi < 0 || (lo = hexval(s[++i])) < 0)
			return false;
		out[k++] = (uint8_t)(hi << 4 | lo);
	}
	return s[36] == '\0' && k == 16;
}

void uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
		 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}
