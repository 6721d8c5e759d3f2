/* The JSON-RPC codec against replies in xapi's own shapes (WIRE.md 3): the
 * same values and errors as the XML-RPC path, streamed in any pieces, and
 * hostile input turned into a sentence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "json.h"
#include "jsonrpc.h"
#include "strpool.h"
#include "util.h"
#include "xmlrpc.h"

/* The envelope {Status, Value | ErrorDescription} of a decoded reply (a copy). */
static struct xv *envelope(const char *json, size_t len)
{
	struct xmlrpc_msg m;
	char *err = NULL;
	struct xv *v;

	if (!jsonrpc_decode(json, len, &m, &err))
		fail_msg("decode failed: %s", err);
	assert_int_equal(xv_len(m.params), 1);
	v = xv_copy(xv_at(m.params, 0));
	xmlrpc_msg_free(&m);
	return v;
}

static char *decode_error(const char *json, size_t len)
{
	struct xmlrpc_msg m;
	char *err = NULL;

	if (jsonrpc_decode(json, len, &m, &err)) {
		xmlrpc_msg_free(&m);
		fail_msg("decoded what should be refused: %.80s", json);
	}
	assert_non_null(err);
	return err;
}

static void assert_refused(const char *json, size_t len, const char *words)
{
	char *err = decode_error(json, len);

	if (!strstr(err, words))
		fail_msg("error '%s' does not say '%s'", err, words);
	for (const char *p = err; *p; p++)
		assert_true((unsigned char)*p >= 0x20); /* one line, no control bytes */
	free(err);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_success_v1_v2(void **state)
{
	struct xv *e = envelope(S("{\"jsonrpc\":\"2.0\",\"result\":\"OpaqueRef:0c1e\",\"id\":1}"));

	assert_string_equal(xv_str(xv_struct_get(e, "Status")), "Success");
	assert_string_equal(xv_str(xv_struct_get(e, "Value")), "OpaqueRef:0c1e");
	xv_free(e);
	/* v1: error null beside the result, in either order */
	e = envelope(S("{\"error\":null,\"result\":\"\",\"id\":7}"));
	assert_string_equal(xv_str(xv_struct_get(e, "Status")), "Success");
	assert_string_equal(xv_str(xv_struct_get(e, "Value")), "");
	xv_free(e);
}

static void assert_error_description(const char *json, size_t len, const char *const *want, size_t n)
{
	struct xv *e = envelope(json, len);
	const struct xv *ed = xv_struct_get(e, "ErrorDescription");

	assert_string_equal(xv_str(xv_struct_get(e, "Status")), "Failure");
	assert_int_equal(xv_len(ed), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(xv_str(xv_at(ed, i)), want[i]);
	xv_free(e);
}

static void test_failures(void **state)
{
	static const char *const bad_power[] = {"VM_BAD_POWER_STATE", "OpaqueRef:b002", "halted", "running"};
	static const char *const session[] = {"SESSION_INVALID", "OpaqueRef:x"};
	static const char *const booting[] = {"HOST_STILL_BOOTING"};
	static const char *const removed[] = {"MESSAGE_REMOVED"};

	assert_error_description(S("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"VM_BAD_POWER_STATE\",\"data\":"
				   "[\"OpaqueRef:b002\",\"halted\",\"running\"]},\"id\":\"a1\"}"),
				 bad_power, 4);
	assert_error_description(S("{\"result\":null,\"error\":[\"SESSION_INVALID\",\"OpaqueRef:x\"],\"id\":7}"), session, 2);
	/* xapi's quirk: an array, id 0, whatever was asked */
	assert_error_description(S("{\"jsonrpc\":\"2.0\",\"error\":[\"HOST_STILL_BOOTING\"],\"id\":0}"), booting, 1);
	assert_error_description(S("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"MESSAGE_REMOVED\",\"data\":[]},"
				   "\"id\":1}"),
				 removed, 1);
	assert_refused(S("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1},\"id\":1}"), "without a message");
}

/* A VM record as xapi's Yojson writes it. */
static const char records_json[] =
	"{\"jsonrpc\":\"2.0\",\"result\":{\"OpaqueRef:a\":{\"uuid\":\"3d9b6a4e-1111-4222-8333-444455556666\","
	"\"name_label\":\"caf\\u00e9 \\\"q\\\" \\\\ \\u0000x\\u001by\\ttab \xe2\x82\xac \xff\","
	"\"power_state\":\"Halted\",\"memory_static_max\":4294967296,\"VCPUs_at_startup\":2,\"domid\":-1,"
	"\"is_a_template\":false,\"other_config\":{\"base_template_name\":\"Debian\",\"k\\u0026<\":\"v\"},"
	"\"allowed_operations\":[\"start\",\"clone\"],\"resident_on\":\"OpaqueRef:NULL\","
	"\"VCPUs_utilisation\":{\"0\":0.0123,\"1\":1e+20},\"PV_args\":\"dropped\",\"PV_big\":{\"x\":[[[{\"y\":1}]]]},"
	"\"nan\":NaN,\"inf\":Infinity,\"ninf\":-Infinity,\"last_booted\":\"20250319T04:16:24Z\"},"
	"\"OpaqueRef:b\":{\"name_label\":\"\\ud83d\\ude00\",\"power_state\":\"Running\"}},\"id\":2}";

/* What a cache drops: the PV_ fields of each record (depth 3). */
static int drop_pv(void *ud, int depth, const char *name, const struct xmlrpc_at *at)
{
	(void)at;
	int *calls = ud;

	(*calls)++;
	assert_true(depth >= 2);
	return depth != 3 || strncmp(name, "PV_", 3) != 0;
}

static void test_records_filtered(void **state)
{
	struct jsonrpc_decoder *d = jsonrpc_decoder_new();
	struct strpool *pool = strpool_new();
	struct xmlrpc_msg m;
	const struct xv *v, *a, *oc;
	int64_t i;
	double x;
	bool b;
	int calls = 0;

	jsonrpc_decoder_set_pool(d, pool, true);
	jsonrpc_decoder_set_filter(d, drop_pv, &calls);
	assert_true(jsonrpc_decoder_feed(d, records_json, sizeof(records_json) - 1));
	assert_true(jsonrpc_decoder_finish(d, &m));
	jsonrpc_decoder_free(d);
	assert_true(calls > 10);
	v = xv_struct_get(xv_at(m.params, 0), "Value");
	assert_int_equal(xv_len(v), 2);
	a = xv_struct_get(v, "OpaqueRef:a");
	assert_null(xv_struct_get(a, "PV_args"));
	assert_null(xv_struct_get(a, "PV_big"));
	/* control bytes dropped as xapi's XML writer drops them, TAB kept,
	 * bytes that are not UTF-8 as U+FFFD, as the XML decoder does */
	assert_string_equal(xv_str(xv_struct_get(a, "name_label")),
			    "caf\xc3\xa9 \"q\" \\ xy\ttab \xe2\x82\xac \xef\xbf\xbd");
	assert_string_equal(xv_str(xv_struct_get(xv_struct_get(v, "OpaqueRef:b"), "name_label")), "\xf0\x9f\x98\x80");
	assert_true(xv_get_int64(xv_struct_get(a, "memory_static_max"), &i) && i == 4294967296LL);
	assert_true(xv_get_int64(xv_struct_get(a, "domid"), &i) && i == -1);
	assert_true(xv_get_bool(xv_struct_get(a, "is_a_template"), &b) && !b);
	oc = xv_struct_get(a, "other_config");
	assert_string_equal(xv_str(xv_struct_get(oc, "base_template_name")), "Debian");
	assert_string_equal(xv_str(xv_struct_get(oc, "k&<")), "v");
	assert_string_equal(xv_str(xv_at(xv_struct_get(a, "allowed_operations"), 1)), "clone");
	assert_true(xv_get_double(xv_struct_get(xv_struct_get(a, "VCPUs_utilisation"), "0"), &x) && x == 0.0123);
	assert_true(xv_get_double(xv_struct_get(xv_struct_get(a, "VCPUs_utilisation"), "1"), &x) && x == 1e20);
	assert_true(xv_get_double(xv_struct_get(a, "nan"), &x) && isnan(x));
	assert_true(xv_get_double(xv_struct_get(a, "inf"), &x) && isinf(x) && x > 0);
	assert_true(xv_get_double(xv_struct_get(a, "ninf"), &x) && isinf(x) && x < 0);
	assert_string_equal(xv_str(xv_struct_get(a, "last_booted")), "20250319T04:16:24Z");
	/* refs and enums pooled: one node for every holder */
	assert_ptr_equal(xv_struct_get(a, "power_state"), xv_struct_get(a, "power_state"));
	xmlrpc_msg_free(&m);
	strpool_free(pool);
}

/* The XML-RPC reading of a value equals the JSON-RPC one, ints being bare
 * strings in XML-RPC (what xv_get_int64 reads either way). */
static bool same_value(const struct xv *x, const struct xv *j)
{
	int64_t a, b;

	if (x->type == XV_STRING && j->type == XV_INT)
		return xv_get_int64(x, &a) && xv_get_int64(j, &b) && a == b;
	if (x->type == XV_DATETIME && j->type == XV_STRING)
		return strcmp(xv_str(x), xv_str(j)) == 0;
	if (x->type != j->type || xv_len(x) != xv_len(j))
		return false;
	if (x->type == XV_ARRAY) {
		for (size_t i = 0; i < xv_len(x); i++)
			if (!same_value(xv_at(x, i), xv_at(j, i)))
				return false;
		return true;
	}
	if (x->type == XV_STRUCT) {
		for (size_t i = 0; i < xv_len(x); i++)
			if (strcmp(xv_key_at(x, i), xv_key_at(j, i)) != 0 || !same_value(xv_value_at(x, i), xv_value_at(j, i)))
				return false;
		return true;
	}
	return xv_equal(x, j);
}

static void test_same_values_as_xmlrpc(void **state)
{
	struct xv *rec = xv_struct(), *m = xv_struct(), *ops = xv_array(), *all = xv_struct();
	struct buf xml, json;
	struct xmlrpc_msg xm, jm;
	char *err = NULL;

	xv_struct_add(rec, "uuid", xv_string("3d9b6a4e-1111-4222-8333-444455556666"));
	xv_struct_add(rec, "name_label", xv_string("caf\xc3\xa9 <&> \"q\" \xe2\x82\xac"));
	xv_struct_add(rec, "memory_static_max", xv_int(4294967296LL));
	xv_struct_add(rec, "VCPUs_at_startup", xv_int(2));
	xv_struct_add(rec, "is_a_template", xv_bool(true));
	xv_struct_add(rec, "cpu", xv_double(0.25));
	xv_struct_add(rec, "start_time", xv_datetime("20250319T04:16:24Z"));
	xv_struct_add(m, "base_template_name", xv_string("Debian"));
	xv_struct_add(rec, "other_config", m);
	xv_array_push(ops, xv_string("start"));
	xv_array_push(ops, xv_string("clone"));
	xv_struct_add(rec, "allowed_operations", ops);
	xv_struct_add(all, "OpaqueRef:a", rec);
	buf_init(&xml);
	buf_init(&json);
	xmlrpc_encode_success(&xml, all);
	buf_puts(&json, "{\"jsonrpc\":\"2.0\",\"result\":");
	json_encode_value(&json, all);
	buf_puts(&json, ",\"id\":1}");
	assert_true(xmlrpc_decode(xml.data, xml.len, &xm, &err));
	if (!jsonrpc_decode(json.data, json.len, &jm, &err))
		fail_msg("%s", err);
	assert_true(same_value(xv_at(xm.params, 0), xv_at(jm.params, 0)));
	xmlrpc_msg_free(&xm);
	xmlrpc_msg_free(&jm);
	buf_free(&xml);
	buf_free(&json);
	xv_free(all);
}

static void test_hostile(void **state)
{
	struct buf b;
	char *err;

	/* deep nesting: kept and dropped members alike */
	buf_init(&b);
	buf_puts(&b, "{\"result\":");
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, '[');
	assert_refused(b.data, b.len, "deeper than");
	buf_reset(&b);
	buf_puts(&b, "{\"id\":");
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, '[');
	assert_refused(b.data, b.len, "deeper than");
	buf_free(&b);
	/* huge numbers */
	assert_refused(S("{\"result\":99999999999999999999,\"id\":1}"), "64 bits");
	assert_refused(S("{\"result\":-99999999999999999999,\"id\":1}"), "64 bits");
	assert_refused(S("{\"result\":1e999,\"id\":1}"), "out of range");
	assert_refused(S("{\"result\":1000000000000000000000000000000000000000000000000000000000000000000000000.5,"
			 "\"id\":1}"),
		       "digits");
	/* duplicate keys: in the envelope, and in a record */
	assert_refused(S("{\"result\":1,\"result\":2,\"id\":1}"), "twice");
	assert_refused(S("{\"result\":{\"OpaqueRef:a\":{\"name_label\":\"x\",\"name_label\":\"y\"}},\"id\":1}"), "twice");
	/* bytes no JSON has: invalid UTF-8 or a raw control byte outside
	 * strings, a raw control byte or NUL inside one, a NUL anywhere */
	assert_refused(S("{\"result\":\xff,\"id\":1}"), "malformed JSON");
	assert_refused(S("{\"result\":\"a\x01" "b\",\"id\":1}"), "malformed JSON");
	assert_refused("{\"result\":\"a\0b\",\"id\":1}", 19, "malformed JSON");
	assert_refused("{\"result\":1\0,\"id\":1}", 20, "malformed JSON");
	/* not a reply */
	assert_refused(S(""), "empty");
	assert_refused(S("[1,2]"), "one object");
	assert_refused(S("\"x\""), "object");
	assert_refused(S("{\"id\":1}"), "without a result");
	assert_refused(S("{\"error\":null,\"id\":1}"), "without a result");
	assert_refused(S("{\"result\":1,\"id\":1"), "ends early");
	assert_refused(S("{\"result\":1,\"id\":1}{}"), "malformed JSON");
	assert_refused(S("{\"result\":Nope,\"id\":1}"), "NaN or Infinity");
	assert_refused(S("{\"result\":Infin"), "inside a word");
	assert_refused(S("{\"result\":tru}"), "malformed JSON");
	assert_refused(S("<html><body>404 Not Found</body></html>"), "malformed JSON");
	/* a NUL escaped is a string's byte like any control: dropped, as in XML-RPC */
	{
		struct xv *e = envelope(S("{\"result\":\"a\\u0000b\",\"id\":1}"));
		assert_string_equal(xv_str(xv_struct_get(e, "Value")), "ab");
		assert_int_equal(xv_struct_get(e, "Value")->n, 2);
		xv_free(e);
	}
	/* a lone surrogate is no character: U+FFFD */
	{
		struct xv *e = envelope(S("{\"result\":\"\\udc00\",\"id\":1}"));
		assert_string_equal(xv_str(xv_struct_get(e, "Value")), "\xef\xbf\xbd");
		xv_free(e);
	}
	err = decode_error(S("{\"result\":[1,2,}"));
	free(err);
}

/* Strings of every length up to 24 with an escaped control byte, a tab, a
 * two-byte character or an invalid byte at every position (the word-wise
 * check's tail overlaps; the byte-wise rest is one compare), and integers
 * at the edges of the copy-free path (18 digits) and of 64 bits. */
static void test_strings_and_integers_every_length(void **state)
{
	static const struct {
		const char *in, *out;
	} odd[] = {
		{"\\u0001", ""}, {"\\t", "\t"}, {"\xc3\xa9", "\xc3\xa9"}, {"\xff", "\xef\xbf\xbd"}, {"\x7f", "\x7f"},
	};
	static const struct {
		const char *text;
		int64_t v;
	} ints[] = {
		{"0", 0}, {"-0", 0}, {"7", 7}, {"-7", -7}, {"123456789012345678", 123456789012345678LL},
		{"-123456789012345678", -123456789012345678LL}, {"1234567890123456789", 1234567890123456789LL},
		{"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN},
	};
	struct buf in, want;

	(void)state;
	buf_init(&in);
	buf_init(&want);
	for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++)
		for (size_t len = 1; len <= 24; len++)
			for (size_t pos = 0; pos < len; pos++) {
				struct xv *e;
				buf_reset(&in);
				buf_reset(&want);
				buf_puts(&in, "{\"result\":\"");
				for (size_t i = 0; i < len; i++) {
					buf_puts(&in, i == pos ? odd[k].in : "a");
					buf_puts(&want, i == pos ? odd[k].out : "a");
				}
				buf_puts(&in, "\",\"id\":1}");
				e = envelope(in.data, in.len);
				assert_string_equal(xv_str(xv_struct_get(e, "Value")), want.data);
				xv_free(e);
			}
	for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
		struct xv *e;
		int64_t v;
		buf_reset(&in);
		buf_printf(&in, "{\"result\":%s,\"id\":1}", ints[k].text);
		e = envelope(in.data, in.len);
		assert_int_equal(xv_struct_get(e, "Value")->type, XV_INT);
		assert_true(xv_get_int64(xv_struct_get(e, "Value"), &v));
		assert_true(v == ints[k].v);
		xv_free(e);
	}
	assert_refused(S("{\"result\":9223372036854775808,\"id\":1}"), "64 bits");
	assert_refused(S("{\"result\":-9223372036854775809,\"id\":1}"), "64 bits");
	{
		struct xv *e = envelope(S("{\"result\":[1.5,1e3,-0.0,12345678901234567e2],\"id\":1}"));
		struct xv *a = xv_struct_get(e, "Value");
		double x;
		for (size_t i = 0; i < 4; i++)
			assert_int_equal(xv_at(a, i)->type, XV_DOUBLE);
		assert_true(xv_get_double(xv_at(a, 3), &x) && x == 1234567890123456700.0);
		xv_free(e);
	}
	buf_free(&in);
	buf_free(&want);
}

/* Every split point (and byte by byte) gives what one piece gives. */
static void test_every_split(void **state)
{
	const char *doc = records_json;
	size_t len = sizeof(records_json) - 1;
	struct xmlrpc_msg whole, m;
	char *err = NULL;

	assert_true(jsonrpc_decode(doc, len, &whole, &err));
	for (size_t k = 0; k <= len; k++) {
		struct jsonrpc_decoder *d = jsonrpc_decoder_new();
		assert_true(jsonrpc_decoder_feed(d, doc, k));
		assert_true(jsonrpc_decoder_feed(d, doc + k, len - k));
		if (!jsonrpc_decoder_finish(d, &m))
			fail_msg("split at %zu: %s", k, jsonrpc_decoder_error(d));
		jsonrpc_decoder_free(d);
		/* NaN is not equal to itself: compare the rest */
		xv_struct_del(xv_struct_get(xv_struct_get(xv_at(m.params, 0), "Value"), "OpaqueRef:a"), "nan");
		xv_struct_del(xv_struct_get(xv_struct_get(xv_at(whole.params, 0), "Value"), "OpaqueRef:a"), "nan");
		assert_true(xv_equal(xv_at(whole.params, 0), xv_at(m.params, 0)));
		xmlrpc_msg_free(&m);
	}
	{
		struct jsonrpc_decoder *d = jsonrpc_decoder_new();
		struct strpool *pool = strpool_new();
		jsonrpc_decoder_set_pool(d, pool, true);
		for (size_t k = 0; k < len; k++)
			assert_true(jsonrpc_decoder_feed(d, doc + k, 1));
		assert_true(jsonrpc_decoder_finish(d, &m));
		jsonrpc_decoder_free(d);
		xv_struct_del(xv_struct_get(xv_struct_get(xv_at(m.params, 0), "Value"), "OpaqueRef:a"), "nan");
		assert_true(xv_equal(xv_at(whole.params, 0), xv_at(m.params, 0)));
		xmlrpc_msg_free(&m);
		strpool_free(pool);
	}
	xmlrpc_msg_free(&whole);
	/* a bad reply is refused at every split too, never crashing */
	for (size_t k = 0; k <= 20; k++) {
		static const char bad[] = "{\"result\":[1,Infinit]}";
		struct jsonrpc_decoder *d = jsonrpc_decoder_new();
		bool ok = jsonrpc_decoder_feed(d, bad, k < sizeof(bad) - 1 ? k : sizeof(bad) - 1);
		if (ok && k < sizeof(bad) - 1)
			ok = jsonrpc_decoder_feed(d, bad + k, sizeof(bad) - 1 - k);
		assert_false(ok && jsonrpc_decoder_finish(d, &m));
		jsonrpc_decoder_free(d);
	}
}

static void test_encode_call(void **state)
{
	struct xv *p[3];
	struct buf b;

	p[0] = xv_string("root");
	p[1] = xv_string("pa\"ss\n");
	p[2] = xv_int(42);
	buf_init(&b);
	jsonrpc_encode_call(&b, "session.login_with_password", p, 3, 7);
	buf_putc(&b, '\0');
	assert_string_equal(b.data, "{\"jsonrpc\":\"2.0\",\"method\":\"session.login_with_password\","
				    "\"params\":[\"root\",\"pa\\\"ss\\n\",42],\"id\":7}");
	buf_free(&b);
	for (int i = 0; i < 3; i++)
		xv_free(p[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_v1_v2),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_records_filtered),
		cmocka_unit_test(test_same_values_as_xmlrpc),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_strings_and_integers_every_length),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_encode_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
