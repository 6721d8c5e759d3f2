/* HTTP handlers (each returns true if the connection stays usable). */
#ifndef SIM_HANDLERS_H
#define SIM_HANDLERS_H

#include "http.h"

bool handle_console(struct http_req *r);

/* The data handlers: rrd.c, xva_export.c, xva_import.c, rawvdi.c, dbdump.c */
bool handle_rrd_updates(struct http_req *r);
bool handle_host_rrd(struct http_req *r);
bool handle_vm_rrd(struct http_req *r);
bool handle_sr_rrd(struct http_req *r);
bool handle_export(struct http_req *r);
bool handle_import(struct http_req *r);
bool handle_export_raw_vdi(struct http_req *r);
bool handle_import_raw_vdi(struct http_req *r);
bool handle_xmldbdump(struct http_req *r);

#endif
