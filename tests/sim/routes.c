/* The HTTP handlers xapi serves besides the RPC endpoints (api-http.tsv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"

const struct http_route http_routes[] = {
	{"CONNECT", "/console", handle_console},
	{NULL, NULL, NULL},
};
