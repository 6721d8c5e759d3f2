/* The datamodel at run time: classes, field types and messages looked up by
 * name, built once at start from the generated API tables. */
#ifndef SIM_SCHEMA_H
#define SIM_SCHEMA_H

#include <stdbool.h>

#include "api.h"
#include "value.h"

enum ty_kind {
	TY_STRING,
	TY_INT,
	TY_FLOAT,
	TY_BOOL,
	TY_DATETIME,
	TY_ENUM,
	TY_REF,
	TY_RECORD,
	TY_SET,
	TY_MAP,
	TY_OPTION,
	TY_BATCH, /* event batch */
	TY_VOID,
};

struct ty {
	enum ty_kind kind;
	char *name;          /* enum name, or class name of a ref/record */
	const struct ty *a;  /* element of set/option, key of map */
	const struct ty *b;  /* value of map */
};

struct cls {
	int idx;
	const char *name;  /* as spelled on the wire: VM, host, VM_guest_metrics */
	char *lname;       /* lower-cased, for event class names */
	const struct api_class *api;
	int nfields;
	const struct ty **ftype;
	int f_uuid, f_name_label; /* -1 when the class has none */
};

void schema_init(void);
void schema_free(void);

extern struct cls *schema_classes;
extern int schema_nclasses;

const struct cls *schema_class(const char *name);       /* exact */
const struct cls *schema_class_ci(const char *name);    /* case-insensitive */
int schema_field(const struct cls *c, const char *field); /* -1 if absent */
const struct api_message *schema_message(const struct cls *c, const char *name);
const struct ty *ty_parse(const char *s);
bool schema_enum_has(const char *enum_name, const char *value, const char **canonical);

/* The value a field holds when nothing set it: its default, else zero. */
struct xv *schema_default(const struct cls *c, int field);
struct xv *ty_zero(const struct ty *t);
/* Parses a datamodel literal such as {"a" -> "b"}, OpaqueRef:NULL, 7. */
struct xv *ty_literal(const struct ty *t, const char *s);

/* Checks a wire value against a type, converting xapi's loose forms
 * (ints sent as strings, enums in any case). NULL, with *why set, if the
 * value cannot be of that type. */
struct xv *ty_coerce(const struct ty *t, const struct xv *v, const char **why);

#endif
