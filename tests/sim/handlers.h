/* HTTP handlers (each returns true if the connection stays usable). */
#ifndef SIM_HANDLERS_H
#define SIM_HANDLERS_H

#include "http.h"

bool handle_console(struct http_req *r);

#endif
