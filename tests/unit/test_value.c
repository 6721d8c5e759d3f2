/* src/core/value.c and strpool.c as the cache uses them on a large pool:
 * records whose keys live in one shared vector (xv_struct_shape) read,
 * copy, compare and change as ordinary structs; the shared empty map and
 * list and the decoders' shared ints are never changed or freed; short
 * strings from the slab's cells and a pool's carved strings keep their
 * text. AddressSanitizer (make build/san/unit/test_value) sees any leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jsonrpc.h"
#include "strpool.h"
#include "util.h"
#include "value.h"

/* {uuid, name_label, VCPUs_max} with keys from the pool, as decoded. */
static struct xv *record(struct strpool *p, const char *uuid, const char *name, int64_t vcpus)
{
	struct xv *r = xv_struct();

	xv_struct_add_borrowed(r, strpool_get(p, "uuid", 4), xv_string(uuid));
	xv_struct_add_borrowed(r, strpool_get(p, "name_label", 10), xv_string(name));
	xv_struct_add_borrowed(r, strpool_get(p, "VCPUs_max", 9), xv_int(vcpus));
	return r;
}

static void test_shaped_reads_as_before(void **state)
{
	struct strpool *p = strpool_new();
	struct xv *a = record(p, "u-1", "web", 2), *b = record(p, "u-2", "db", 4), *plain = record(p, "u-1", "web", 2);
	const char *keys[3];
	int64_t n = 0;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		keys[i] = xv_key_at(a, i);
	assert_true(xv_struct_shape(a, keys));
	assert_true(xv_struct_shape(b, keys));
	assert_int_equal(xv_len(a), 3);
	assert_string_equal(xv_str(xv_struct_get(a, "name_label")), "web");
	assert_string_equal(xv_str(xv_struct_get(b, "name_label")), "db");
	assert_true(xv_get_int64(xv_struct_get(b, "VCPUs_max"), &n));
	assert_int_equal(n, 4);
	assert_null(xv_struct_get(a, "power_state"));
	assert_string_equal(xv_key_at(b, 1), "name_label");
	assert_string_equal(xv_str(xv_value_at(b, 0)), "u-2");
	assert_true(xv_equal(a, plain));
	assert_true(xv_equal(plain, a));
	assert_false(xv_equal(a, b));
	{
		struct xv *c = xv_copy(b);
		assert_true(xv_equal(c, b));
		xv_struct_set(c, "name_label", xv_string("other"));
		assert_string_equal(xv_str(xv_struct_get(b, "name_label")), "db");
		xv_free(c);
	}
	/* a shape whose keys differ is refused, and the struct left alone */
	{
		const char *wrong[3] = {keys[0], keys[2], keys[1]};
		assert_false(xv_struct_shape(plain, wrong));
		assert_string_equal(xv_str(xv_struct_get(plain, "name_label")), "web");
	}
	xv_free(a);
	xv_free(b);
	xv_free(plain);
	strpool_free(p);
}

static void test_shaped_changes_unshape(void **state)
{
	struct strpool *p = strpool_new();
	struct xv *a = record(p, "u-1", "web", 2);
	const char *keys[3];
	struct xv *taken;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		keys[i] = xv_key_at(a, i);
	assert_true(xv_struct_shape(a, keys));
	xv_struct_set(a, "name_label", xv_string("web-2")); /* in place */
	assert_string_equal(xv_str(xv_struct_get(a, "name_label")), "web-2");
	xv_struct_set(a, "power_state", xv_string("Running")); /* a new key */
	assert_int_equal(xv_len(a), 4);
	assert_string_equal(xv_str(xv_struct_get(a, "power_state")), "Running");
	assert_string_equal(xv_str(xv_struct_get(a, "uuid")), "u-1");
	taken = xv_struct_take(a, "uuid");
	assert_string_equal(xv_str(taken), "u-1");
	xv_free(taken);
	assert_true(xv_struct_del(a, "VCPUs_max"));
	assert_int_equal(xv_len(a), 2);
	xv_free(a);

	/* removing from a shaped struct, and filtering it */
	a = record(p, "u-3", "mail", 1);
	assert_true(xv_struct_shape(a, keys));
	assert_true(xv_struct_del(a, "uuid"));
	assert_string_equal(xv_key_at(a, 0), "name_label");
	assert_int_equal(xv_len(a), 2);
	xv_free(a);
	strpool_free(p);
}

static int keep_none(const char *key, void *ud)
{
	(void)key, (void)ud;
	return 0;
}

static void test_shared_nodes_stay(void **state)
{
	struct xv *e = xv_empty_shared(XV_STRUCT), *l = xv_empty_shared(XV_ARRAY), *c;
	_Alignas(8) char cell[STRPOOL_CELL] = {0};
	struct xv *i = xv_int_shared(cell, 42);

	(void)state;
	assert_int_equal(e->type, XV_STRUCT);
	assert_int_equal(l->type, XV_ARRAY);
	xv_free(e); /* never freed */
	xv_struct_filter(e, keep_none, NULL);
	xv_shrink(e);
	assert_int_equal(xv_len(xv_empty_shared(XV_STRUCT)), 0);
	c = xv_copy(e); /* a copy is the caller's own, and may grow */
	xv_struct_set(c, "k", xv_string("v"));
	assert_int_equal(xv_len(c), 1);
	assert_int_equal(xv_len(e), 0);
	xv_free(c);
	xv_free(i); /* shared: left for its owner */
	assert_int_equal(i->u.i, 42);
	/* the cell's node, as it is: not a second one, and never another type */
	assert_ptr_equal(xv_int_shared(cell, 42), i);
	assert_null(xv_string_shared(cell, "42", 2));
}

static int keep_all(void *ud, int depth, const char *name, const struct xmlrpc_at *at)
{
	(void)at;
	(void)ud, (void)depth, (void)name;
	return true;
}

/* A get_all_records reply decoded as the cache does: one node per distinct
 * int and one empty map for every record's empty map. */
static void test_decoder_shares_ints_and_empties(void **state)
{
	static const char reply[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{"
				    "\"OpaqueRef:a\":{\"VCPUs_max\":4,\"memory\":8589934592,\"tags\":[],\"other_config\":{}},"
				    "\"OpaqueRef:b\":{\"VCPUs_max\":4,\"memory\":8589934592,\"tags\":[],\"other_config\":{}}}}";
	struct strpool *p = strpool_new();
	struct jsonrpc_decoder *d = jsonrpc_decoder_new();
	struct xmlrpc_msg m = {0};
	struct xv *res, *a, *b;

	(void)state;
	jsonrpc_decoder_set_pool(d, p, true);
	jsonrpc_decoder_set_filter(d, keep_all, NULL);
	assert_true(jsonrpc_decoder_feed(d, reply, sizeof(reply) - 1));
	assert_true(jsonrpc_decoder_finish(d, &m));
	res = xv_struct_get(xv_at(m.params, 0), "Value");
	a = xv_struct_get(res, "OpaqueRef:a");
	b = xv_struct_get(res, "OpaqueRef:b");
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(xv_struct_get(a, "VCPUs_max"), xv_struct_get(b, "VCPUs_max"));
	assert_ptr_equal(xv_struct_get(a, "memory"), xv_struct_get(b, "memory"));
	assert_int_equal(xv_struct_get(b, "memory")->u.i, 8589934592LL);
	assert_ptr_equal(xv_struct_get(a, "tags"), xv_empty_shared(XV_ARRAY));
	assert_ptr_equal(xv_struct_get(b, "other_config"), xv_empty_shared(XV_STRUCT));
	xmlrpc_msg_free(&m);
	jsonrpc_decoder_free(d);
	strpool_free(p); /* frees the shared int nodes */
}

static void test_pool_and_cells_keep_text(void **state)
{
	struct strpool *p = strpool_new();
	char buf[40000];
	const char *first[300];

	(void)state;
	xv_use_slab();
	for (int i = 0; i < 300; i++) {
		/* lengths around the string cells' 39 and the pool's long-string chunks */
		size_t n = (size_t)(i < 100 ? i : i < 200 ? 30 + i % 20 : 16000 + 50 * i);
		struct xv *v;
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)('a' + (k * 7 + (size_t)i) % 26);
		first[i] = strpool_get(p, buf, n);
		assert_int_equal(strlen(first[i]), n);
		assert_memory_equal(first[i], buf, n);
		v = xv_string_n(buf, n);
		assert_int_equal(v->n, n);
		assert_memory_equal(xv_str(v), buf, n);
		assert_int_equal(xv_str(v)[n], '\0');
		xv_free(v);
	}
	for (int i = 0; i < 300; i++)
		assert_ptr_equal(strpool_get(p, first[i], strlen(first[i])), first[i]);
	strpool_free(p);
	xv_slab_release();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shaped_reads_as_before),
		cmocka_unit_test(test_shaped_changes_unshape),
		cmocka_unit_test(test_shared_nodes_stay),
		cmocka_unit_test(test_decoder_shares_ints_and_empties),
		cmocka_unit_test(test_pool_and_cells_keep_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
