/* The HTTP handlers xapi serves besides the RPC endpoints (api-http.tsv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"

const struct http_route http_routes[] = {
	{"CONNECT", "/console", handle_console},
	{"GET", "/rrd_updates", handle_rrd_updates},
	{"GET", "/host_rrd", handle_host_rrd},
	{"GET", "/vm_rrd", handle_vm_rrd},
	{"GET", "/sr_rrd", handle_sr_rrd},
	{"GET", "/export", handle_export},
	{"PUT", "/import", handle_import},
	{"GET", "/export_raw_vdi", handle_export_raw_vdi},
	{"PUT", "/import_raw_vdi", handle_import_raw_vdi},
	{"GET", "/pool/xmldbdump", handle_xmldbdump},
	{NULL, NULL, NULL},
};
