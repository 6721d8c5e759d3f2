/* The XenAPI surface as xapi's datamodel defines it (generated tables from
 * the TSV files in tests/sim/api): classes, their fields and messages, errors, enums. */
#ifndef SIM_API_H
#define SIM_API_H

#include <stddef.h>

struct api_field {
	const char *name;
	const char *type;      /* e.g. "(string -> string) map", "VM ref set" */
	const char *qualifier; /* RW, RO/constructor, RO/runtime */
	const char *flags;     /* lifecycle, e.g. deprecated:boston */
	const char *deflt;     /* default when absent from create, or NULL */
};

struct api_param {
	const char *type;
	const char *name;
};

struct api_message {
	const char *name;
	const struct api_param *params; /* session first where it takes one */
	int nparams;
	const char *result;
	const char *flags;    /* async, implicit, no_session, accessor, ... */
	const char *defaults; /* "name=value; name=value" for trailing params */
};

struct api_class {
	const char *name;
	const struct api_field *fields;
	int nfields;
	const struct api_message *messages;
	int nmessages;
};

struct api_error {
	const char *code;
	const char *params;
};

struct api_enum {
	const char *name;
	const char *values; /* "a, b, c" */
};

extern const struct api_class api_classes[];
extern const int api_nclasses;
extern const struct api_error api_errors[];
extern const int api_nerrors;
extern const struct api_enum api_enums[];
extern const int api_nenums;

#endif
