/* The JSON-RPC decoder on many records in a row, as a cache load reads them
 * (a filter and a pool): the members of each record foretold by the last
 * record's (jsonrpc.c's struct jname) give the same records as decoding
 * each one alone, whether the next record has the same members, fewer,
 * more, others, another order or a mended name; a kept name repeated after
 * a foretold run is still an error, in any piece sizes; a dropped name
 * repeated is not (as before); NaN and Infinity are found outside strings
 * at any offset. AddressSanitizer sees any overrun. */
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
#include "xmlrpc.h"

/* What a cache drops: the PV_ fields of each record (depth 3), and its
 * platform once the record has said it is no template (a verdict the
 * decoder asks for in each record), and then in its other_config (depth 4)
 * all but the xo: keys. */
static int drop_pv(void *ud, int depth, const char *name, const struct xmlrpc_at *at)
{
	bool tmpl = false;

	(void)ud;
	if (depth == 3 && strcmp(name, "platform") == 0)
		return (xv_get_bool(xv_struct_get(at->obj, "is_a_template"), &tmpl) && !tmpl ? XMLRPC_DROP : XMLRPC_KEEP)
		       | XMLRPC_ASK;
	if (depth == 4) /* asked in each map: a in other_config, or elsewhere */
		return (at->obj_name && strcmp(at->obj_name, "other_config") == 0 && strncmp(name, "xo:", 3) != 0
				&& xv_get_bool(xv_struct_get(at->outer, "is_a_template"), &tmpl) && !tmpl
			? XMLRPC_DROP
			: XMLRPC_KEEP)
		       | XMLRPC_ASK;
	return depth != 3 || strncmp(name, "PV_", 3) != 0;
}

/* The records of {"result": {ref: record, ...}} fed in pieces of step
 * bytes (0: at once); NULL and *err set on an error. */
static struct xv *decode(const char *json, size_t step, struct strpool *pool, char **err)
{
	struct jsonrpc_decoder *d = jsonrpc_decoder_new();
	size_t len = strlen(json);
	struct xmlrpc_msg m;
	struct xv *v = NULL;
	bool ok = true;

	jsonrpc_decoder_set_pool(d, pool, true);
	jsonrpc_decoder_set_filter(d, drop_pv, NULL);
	for (size_t i = 0; ok && i < len; i += step ? step : len)
		ok = jsonrpc_decoder_feed(d, json + i, step && len - i > step ? step : len - i);
	if (ok && jsonrpc_decoder_finish(d, &m)) {
		v = xv_copy(xv_struct_get(xv_at(m.params, 0), "Value"));
		xmlrpc_msg_free(&m);
	} else {
		*err = xstrdup(jsonrpc_decoder_error(d));
	}
	jsonrpc_decoder_free(d);
	return v;
}

/* Each record of the reply against the same record decoded alone. */
static void assert_each_alone(const char *const *records, size_t n, size_t step)
{
	struct strpool *pool = strpool_new();
	struct buf all;
	struct xv *v;
	char *err = NULL;

	buf_init(&all);
	buf_puts(&all, "{\"jsonrpc\":\"2.0\",\"result\":{");
	for (size_t i = 0; i < n; i++)
		buf_printf(&all, "%s\"OpaqueRef:%zu\":%s", i ? "," : "", i, records[i]);
	buf_puts(&all, "},\"id\":1}");
	v = decode(all.data, step, pool, &err);
	if (!v)
		fail_msg("decode failed: %s", err);
	assert_int_equal(xv_len(v), n);
	for (size_t i = 0; i < n; i++) {
		char *one = xasprintf("{\"jsonrpc\":\"2.0\",\"result\":{\"OpaqueRef:%zu\":%s},\"id\":1}", i, records[i]);
		struct xv *alone = decode(one, 0, pool, &err);
		if (!alone)
			fail_msg("record %zu alone: %s", i, err);
		if (!xv_equal(xv_value_at(v, i), xv_value_at(alone, 0)))
			fail_msg("record %zu differs from itself decoded alone (pieces of %zu)", i, step);
		xv_free(alone);
		free(one);
	}
	xv_free(v);
	buf_free(&all);
	strpool_free(pool);
}

static void test_records_as_alone(void **state)
{
	static const char *const records[] = {
		"{\"uuid\":\"u0\",\"name_label\":\"a\",\"PV_args\":\"x\",\"power_state\":\"Running\",\"other_config\":{\"k\":\"v\"}}",
		/* the same members */
		"{\"uuid\":\"u1\",\"name_label\":\"b\",\"PV_args\":\"y\",\"power_state\":\"Halted\",\"other_config\":{\"k\":\"w\"}}",
		/* fewer */
		"{\"uuid\":\"u2\",\"name_label\":\"c\"}",
		/* more, after the same start */
		"{\"uuid\":\"u3\",\"name_label\":\"d\",\"PV_args\":\"z\",\"power_state\":\"Paused\",\"other_config\":{},"
		"\"tags\":[\"t\"],\"PV_kernel\":\"k\"}",
		/* another order */
		"{\"power_state\":\"Running\",\"uuid\":\"u4\",\"PV_args\":\"\",\"name_label\":\"e\"}",
		"{\"power_state\":\"Running\",\"uuid\":\"u5\",\"PV_args\":\"\",\"name_label\":\"f\"}",
		/* a name that is mended (a control byte dropped): another name */
		"{\"power_state\":\"Running\",\"uu\\u0001id\":\"u6\",\"PV_args\":\"\",\"name_label\":\"g\"}",
		"{\"power_state\":\"Running\",\"uuid\":\"u7\",\"PV_args\":\"\",\"name_label\":\"h\"}",
		/* a dropped name twice is no error (its values are never read) */
		"{\"power_state\":\"Running\",\"uuid\":\"u8\",\"PV_args\":\"1\",\"PV_args\":\"2\",\"name_label\":\"i\"}",
		/* empty, then the usual again */
		"{}",
		"{\"power_state\":\"Running\",\"uuid\":\"u10\",\"PV_args\":\"\",\"name_label\":\"j\"}",
		/* a name of 47 bytes and one of 48 (too long to be learned) */
		"{\"power_state\":\"Running\",\"n2345678901234567890123456789012345678901234567\":1,"
		"\"n23456789012345678901234567890123456789012345678\":2}",
		"{\"power_state\":\"Running\",\"n2345678901234567890123456789012345678901234567\":3,"
		"\"n23456789012345678901234567890123456789012345678\":4}",
	};
	size_t n = sizeof(records) / sizeof(records[0]);

	(void)state;
	assert_each_alone(records, n, 0);
	assert_each_alone(records, n, 1);
	assert_each_alone(records, n, 7);
}

/* A kept name twice in a record whose first members were foretold. */
/* A verdict asked for in each record follows each record, foretold or not:
 * platform and other_config's a are dropped where is_a_template came first
 * and said false, kept where it said true or came after. */
static void test_asked_in_each_record(void **state)
{
#define OC ",\"other_config\":{\"a\":\"1\",\"xo:b\":\"2\"}"
	static const char *const records[] = {
		"{\"is_a_template\":false,\"name_label\":\"a\",\"platform\":{\"x\":\"1\"}" OC ",\"uuid\":\"u0\"}",
		"{\"is_a_template\":true,\"name_label\":\"b\",\"platform\":{\"x\":\"2\"}" OC ",\"uuid\":\"u1\"}",
		"{\"is_a_template\":false,\"name_label\":\"c\",\"platform\":{\"x\":\"3\"}" OC ",\"uuid\":\"u2\"}",
		"{\"platform\":{\"x\":\"4\"}" OC ",\"is_a_template\":false,\"uuid\":\"u3\"}",
		"{\"is_a_template\":true,\"name_label\":\"e\",\"platform\":{\"x\":\"5\"}" OC ",\"uuid\":\"u4\"}",
		"{\"is_a_template\":false,\"name_label\":\"f\",\"platform\":{\"x\":\"6\"}" OC ",\"uuid\":\"u5\"}",
		/* a map of the same depth first, whose a is kept */
		"{\"is_a_template\":false,\"HVM_boot_params\":{\"a\":\"c\"},\"platform\":{}" OC ",\"uuid\":\"u6\"}",
	};
#undef OC
	static const bool kept[] = {false, true, false, true, true, false, false};
	size_t n = sizeof(records) / sizeof(records[0]);
	static const size_t steps[] = {0, 1, 7};

	(void)state;
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		struct strpool *pool = strpool_new();
		struct buf all;
		struct xv *v;
		char *err = NULL;

		assert_each_alone(records, n, steps[k]);
		buf_init(&all);
		buf_puts(&all, "{\"jsonrpc\":\"2.0\",\"result\":{");
		for (size_t i = 0; i < n; i++)
			buf_printf(&all, "%s\"OpaqueRef:%zu\":%s", i ? "," : "", i, records[i]);
		buf_puts(&all, "},\"id\":1}");
		v = decode(all.data, steps[k], pool, &err);
		if (!v)
			fail_msg("decode failed: %s", err);
		for (size_t i = 0; i < n; i++) {
			const struct xv *rec = xv_value_at(v, i);
			const struct xv *oc = xv_struct_get(rec, "other_config");
			if ((xv_struct_get(rec, "platform") != NULL) != kept[i])
				fail_msg("record %zu: platform %s (pieces of %zu)", i, kept[i] ? "dropped" : "kept", steps[k]);
			if ((xv_struct_get(oc, "a") != NULL) != kept[i] || !xv_struct_get(oc, "xo:b"))
				fail_msg("record %zu: other_config's a %s (pieces of %zu)", i, kept[i] ? "dropped" : "kept",
					 steps[k]);
			assert_non_null(xv_struct_get(rec, "uuid"));
		}
		xv_free(v);
		buf_free(&all);
		strpool_free(pool);
	}
}

static void test_repeat_after_foretold(void **state)
{
	static const char *const docs[] = {
		"{\"result\":{\"OpaqueRef:a\":{\"uuid\":\"1\",\"name_label\":\"a\",\"power_state\":\"x\"},"
		"\"OpaqueRef:b\":{\"uuid\":\"2\",\"name_label\":\"b\",\"uuid\":\"3\"}},\"id\":1}",
		"{\"result\":{\"OpaqueRef:a\":{\"uuid\":\"1\",\"name_label\":\"a\",\"power_state\":\"x\"},"
		"\"OpaqueRef:b\":{\"uuid\":\"2\",\"name_label\":\"b\",\"power_state\":\"x\",\"name_label\":\"c\"}},\"id\":1}",
		"{\"result\":{\"OpaqueRef:a\":{\"uuid\":\"1\",\"name_label\":\"a\"},"
		"\"OpaqueRef:b\":{\"uuid\":\"2\",\"name_label\":\"b\"},"
		"\"OpaqueRef:c\":{\"name_label\":\"c\",\"uuid\":\"3\",\"name_label\":\"d\"}},\"id\":1}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		for (size_t step = 0; step <= 5; step += 5) {
			struct strpool *pool = strpool_new();
			char *err = NULL;
			struct xv *v = decode(docs[i], step, pool, &err);
			if (v)
				fail_msg("document %zu: a repeated key was accepted", i);
			assert_non_null(strstr(err, "appears twice"));
			free(err);
			strpool_free(pool);
		}
}

/* Yojson's NaN and Infinity outside strings at every offset of the 64-byte
 * blocks the scanner reads, strings around them full of N, I, escaped
 * quotes and "NaN" itself, fed whole and in pieces: the literals are
 * numbers and the strings unchanged. */
static void test_literals_at_every_offset(void **state)
{
	(void)state;
	for (size_t pad = 0; pad < 130; pad++) {
		struct buf doc;
		struct xmlrpc_msg m;
		const struct xv *v;
		double x;
		char *want = xcalloc(1, pad + 1);

		memset(want, 'N', pad);
		for (size_t k = 0; k < pad; k += 3)
			want[k] = 'I';
		buf_init(&doc);
		buf_printf(&doc, "{\"result\":{\"s\":\"%s\",\"a\":NaN,\"t\":\"x\\\"NaN\\\"%s\",\"b\":-Infinity,"
			   "\"c\":[Infinity,\"Infinity\"]},\"id\":1}", want, want);
		for (size_t step = 0; step <= 64; step += 13) {
			struct jsonrpc_decoder *d = jsonrpc_decoder_new();
			bool ok = true;
			for (size_t i = 0; ok && i < doc.len; i += step ? step : doc.len)
				ok = jsonrpc_decoder_feed(d, doc.data + i, step && doc.len - i > step ? step : doc.len - i);
			if (!ok || !jsonrpc_decoder_finish(d, &m))
				fail_msg("pad %zu step %zu: %s", pad, step, jsonrpc_decoder_error(d));
			jsonrpc_decoder_free(d);
			v = xv_struct_get(xv_at(m.params, 0), "Value");
			assert_string_equal(xv_str(xv_struct_get(v, "s")), want);
			assert_true(xv_get_double(xv_struct_get(v, "a"), &x) && x != x);
			assert_true(xv_get_double(xv_struct_get(v, "b"), &x) && x < -1e308);
			assert_true(xv_get_double(xv_at(xv_struct_get(v, "c"), 0), &x) && x > 1e308);
			assert_string_equal(xv_str(xv_at(xv_struct_get(v, "c"), 1)), "Infinity");
			assert_true(strncmp(xv_str(xv_struct_get(v, "t")), "x\"NaN\"", 6) == 0);
			xmlrpc_msg_free(&m);
		}
		buf_free(&doc);
		free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_as_alone),
		cmocka_unit_test(test_asked_in_each_record),
		cmocka_unit_test(test_repeat_after_foretold),
		cmocka_unit_test(test_literals_at_every_offset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
