/* The XML-RPC codec against samples in xapi's own format (WIRE.md 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "strpool.h"
#include "xmlrpc.h"

static struct xv *decode_response_value(const char *xml)
{
	struct xmlrpc_msg m;
	char *err = NULL;
	struct xv *v;

	if (!xmlrpc_decode(xml, strlen(xml), &m, &err))
		fail_msg("decode failed: %s", err);
	assert_false(m.is_call);
	assert_int_equal(xv_len(m.params), 1);
	v = xv_copy(xv_at(m.params, 0));
	xmlrpc_msg_free(&m);
	return v;
}

static void test_xapi_success_envelope(void **state)
{
	const char *xml = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
			  "<member><name>Status</name><value>Success</value></member>"
			  "<member><name>Value</name><value><struct>"
			  "<member><name>memory_static_max</name><value>2147483648</value></member>"
			  "<member><name>is_a_template</name><value><boolean>0</boolean></value></member>"
			  "<member><name>empty</name><value/></member>"
			  "<member><name>typed</name><value><string>a &amp; b</string></value></member>"
			  "<member><name>util</name><value><struct><member><name>0</name>"
			  "<value><double>0.0123</double></value></member></struct></value></member>"
			  "<member><name>ops</name><value><array><data><value>start</value>"
			  "<value>clone</value></data></array></value></member>"
			  "<member><name>t</name><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></member>"
			  "<member><name>n</name><value><double>nan</double></value></member>"
			  "<member><name>nil</name><value><nil/></value></member>"
			  "</struct></value></member></struct></value></param></params></methodResponse>";
	struct xv *v = decode_response_value(xml);
	struct xv *rec = xv_struct_get(v, "Value");
	int64_t i;
	bool b;
	double d;

	assert_string_equal(xv_str(xv_struct_get(v, "Status")), "Success");
	assert_true(xv_get_int64(xv_struct_get(rec, "memory_static_max"), &i));
	assert_true(i == 2147483648LL);
	assert_true(xv_get_bool(xv_struct_get(rec, "is_a_template"), &b));
	assert_false(b);
	assert_string_equal(xv_str(xv_struct_get(rec, "empty")), "");
	assert_string_equal(xv_str(xv_struct_get(rec, "typed")), "a & b");
	assert_true(xv_get_double(xv_struct_get(xv_struct_get(rec, "util"), "0"), &d));
	assert_true(d > 0.0122 && d < 0.0124);
	assert_int_equal(xv_len(xv_struct_get(rec, "ops")), 2);
	assert_string_equal(xv_str(xv_at(xv_struct_get(rec, "ops"), 1)), "clone");
	assert_int_equal(xv_struct_get(rec, "t")->type, XV_DATETIME);
	assert_true(xv_get_double(xv_struct_get(rec, "n"), &d));
	assert_true(d != d);
	assert_int_equal(xv_struct_get(rec, "nil")->type, XV_NIL);
	xv_free(v);
}

static void test_whitespace_kept_in_bare_values(void **state)
{
	struct xv *v = decode_response_value(
		"<methodResponse><params><param><value>  two words \n</value></param></params></methodResponse>");

	assert_string_equal(xv_str(v), "  two words \n");
	xv_free(v);
	v = decode_response_value("<methodResponse><params><param><value>\n <array><data>\n</data></array>\n</value>"
				  "</param></params></methodResponse>");
	assert_int_equal(v->type, XV_ARRAY);
	assert_int_equal(xv_len(v), 0);
	xv_free(v);
}

static void test_round_trip(void **state)
{
	struct xv *s = xv_struct();
	struct xv *a = xv_array();
	struct xmlrpc_msg m;
	struct buf b;
	char *err = NULL;

	xv_array_push(a, xv_string("x<y>&\"z\""));
	xv_array_push(a, xv_int(-42));
	xv_array_push(a, xv_double(1e20));
	xv_array_push(a, xv_bool(true));
	xv_struct_add(s, "key & <odd>", a);
	xv_struct_add(s, "when", xv_datetime("19700101T00:00:00Z"));
	buf_init(&b);
	xmlrpc_encode_call(&b, "VM.set_other_config", &s, 1);
	assert_true(xmlrpc_decode(b.data, b.len, &m, &err));
	assert_true(m.is_call);
	assert_string_equal(m.method, "VM.set_other_config");
	{
		struct xv *got = xv_at(m.params, 0);
		struct xv *arr = xv_struct_get(got, "key & <odd>");
		int64_t i;
		double d;
		bool bo;

		assert_non_null(arr);
		assert_string_equal(xv_str(xv_at(arr, 0)), "x<y>&\"z\"");
		/* ints travel bare, as xapi sends them */
		assert_true(xv_get_int64(xv_at(arr, 1), &i));
		assert_true(i == -42);
		assert_true(xv_get_double(xv_at(arr, 2), &d) && d == 1e20);
		assert_true(xv_get_bool(xv_at(arr, 3), &bo) && bo);
	}
	xmlrpc_msg_free(&m);
	buf_free(&b);
	xv_free(s);
}

static void test_failure_envelope_and_control_bytes(void **state)
{
	struct xv *e = xv_array();
	struct buf b;
	struct xv *v;

	xv_array_push(e, xv_string("VM_BAD_POWER_STATE"));
	xv_array_push(e, xv_string("name\x01with\x1b[31mcontrol"));
	buf_init(&b);
	xmlrpc_encode_failure(&b, e);
	assert_non_null(strstr(b.data, "<value>Failure</value>"));
	/* xapi drops control bytes it cannot put in XML */
	assert_null(strchr(b.data, '\x1b'));
	v = decode_response_value(b.data);
	assert_string_equal(xv_str(xv_at(xv_struct_get(v, "ErrorDescription"), 1)), "namewith[31mcontrol");
	xv_free(v);
	xv_free(e);
	buf_free(&b);
}

static void expect_error(const char *xml, const char *fragment)
{
	struct xmlrpc_msg m;
	char *err = NULL;

	assert_false(xmlrpc_decode(xml, strlen(xml), &m, &err));
	char copy[256];

	assert_non_null(err);
	snprintf(copy, sizeof(copy), "%s", err);
	free(err);
	if (!strstr(copy, fragment))
		fail_msg("error '%s' lacks '%s'", copy, fragment);
}

static void test_malformed_input(void **state)
{
	expect_error("", "empty");
	expect_error("<methodResponse><params><param><value>", "XML");
	expect_error("<methodResponse><params><param><value><int>12x</int></value></param></params></methodResponse>",
		     "bad integer");
	expect_error("<methodResponse></methodResponse>", "without <params>");
	expect_error("<methodCall><params></params></methodCall>", "without <methodName>");
	expect_error("<html><body>500</body></html>", "not an XML-RPC");
	expect_error("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><methodResponse/>", "DOCTYPE");
	expect_error("<methodResponse><params><param><value><struct><member><value>1</value></member>"
		     "</struct></value></param></params></methodResponse>",
		     "without a name");
	expect_error("<methodResponse><params><param><value>&bogus;</value></param></params></methodResponse>",
		     "malformed XML");
}

static void test_streaming_feed(void **state)
{
	const char *xml = "<methodResponse><params><param><value><array><data><value>a</value>"
			  "<value><i4>7</i4></value></data></array></value></param></params></methodResponse>";
	struct xmlrpc_decoder *d = xmlrpc_decoder_new();
	struct xmlrpc_msg m;
	int64_t i;

	/* one byte at a time, as a slow network could deliver it */
	for (size_t k = 0; xml[k]; k++)
		assert_true(xmlrpc_decoder_feed(d, xml + k, 1));
	assert_true(xmlrpc_decoder_finish(d, &m));
	assert_true(xv_get_int64(xv_at(xv_at(m.params, 0), 1), &i) && i == 7);
	xmlrpc_msg_free(&m);
	xmlrpc_decoder_free(d);

	/* an error mid-stream frees whatever was half built */
	d = xmlrpc_decoder_new();
	xmlrpc_decoder_feed(d, "<methodResponse><params><param><value><struct><member><name>a</name>"
			       "<value><array><data><value>x</value>", 80);
	xmlrpc_decoder_free(d);
}

/* A client's records share one node per pooled string and two booleans;
 * they read the same as unshared ones, and freeing them frees no node twice
 * (ASan watches) while the pool frees the shared ones. */
static void test_shared_nodes(void **state)
{
	const char *xml = "<methodResponse><params><param><value><array><data>"
			  "<value><struct><member><name>VM</name><value>OpaqueRef:abc</value></member>"
			  "<member><name>empty</name><value><boolean>1</boolean></value></member></struct></value>"
			  "<value><struct><member><name>VM</name><value>OpaqueRef:abc</value></member>"
			  "<member><name>empty</name><value><boolean>1</boolean></value></member></struct></value>"
			  "</data></array></value></param></params></methodResponse>";
	struct strpool *pool = strpool_new();
	struct xmlrpc_msg m, plain;
	struct xv *a, *b;
	bool on;

	for (int share = 0; share < 2; share++) {
		struct xmlrpc_decoder *d = xmlrpc_decoder_new();

		xmlrpc_decoder_set_pool(d, pool, share);
		assert_true(xmlrpc_decoder_feed(d, xml, strlen(xml)));
		assert_true(xmlrpc_decoder_finish(d, share ? &m : &plain));
		xmlrpc_decoder_free(d);
	}
	a = xv_at(xv_at(m.params, 0), 0);
	b = xv_at(xv_at(m.params, 0), 1);
	assert_ptr_equal(xv_struct_get(a, "VM"), xv_struct_get(b, "VM"));
	assert_ptr_equal(xv_struct_get(a, "empty"), xv_struct_get(b, "empty"));
	assert_true(xv_get_bool(xv_struct_get(b, "empty"), &on) && on);
	assert_true(xv_equal(xv_at(m.params, 0), xv_at(plain.params, 0)));
	/* unshared: each holder has its own node */
	assert_ptr_not_equal(xv_struct_get(xv_at(xv_at(plain.params, 0), 0), "VM"),
			     xv_struct_get(xv_at(xv_at(plain.params, 0), 1), "VM"));
	/* a copy is the caller's own, shared or not */
	a = xv_copy(a);
	xmlrpc_msg_free(&m);
	xmlrpc_msg_free(&plain);
	assert_string_equal(xv_str(xv_struct_get(a, "VM")), "OpaqueRef:abc");
	xv_free(a);
	strpool_free(pool);
}

/* The filter sees the struct a member would join as decoded so far, and
 * that struct's name in the one around it (platform's x: in the record);
 * a verdict with XMLRPC_ASK is asked for in each struct, one without it is
 * remembered for that name (the pool turns the decoder's memory on). */
static int drop_platform_of_vms(void *ud, int depth, const char *name, const struct xmlrpc_at *at)
{
	bool tmpl = false;
	int *asked = ud;

	if (depth == 3 && strcmp(name, "platform") == 0) {
		asked[0]++;
		return (xv_get_bool(xv_struct_get(at->obj, "is_a_template"), &tmpl) && !tmpl ? XMLRPC_DROP : XMLRPC_KEEP)
		       | XMLRPC_ASK;
	}
	if (depth == 4) { /* in a platform kept: x, unless the record says it is no template */
		asked[1]++;
		assert_non_null(at->obj_name);
		assert_string_equal(at->obj_name, "platform");
		return (xv_get_bool(xv_struct_get(at->outer, "is_a_template"), &tmpl) && !tmpl ? XMLRPC_DROP : XMLRPC_KEEP)
		       | XMLRPC_ASK;
	}
	if (depth == 3) /* a record is its ref's value in the Value map */
		assert_memory_equal(at->obj_name, "OpaqueRef:", 10);
	return depth != 3 || strcmp(name, "PV_args") != 0;
}

static void test_filter_asks_each_struct(void **state)
{
	static const char *const recs[] = {
		"<member><name>is_a_template</name><value><boolean>0</boolean></value></member>"
		"<member><name>PV_args</name><value>a</value></member>"
		"<member><name>platform</name><value><struct><member><name>x</name><value>1</value></member></struct></value></member>",
		"<member><name>is_a_template</name><value><boolean>1</boolean></value></member>"
		"<member><name>PV_args</name><value>b</value></member>"
		"<member><name>platform</name><value><struct><member><name>x</name><value>2</value></member></struct></value></member>",
		"<member><name>is_a_template</name><value><boolean>0</boolean></value></member>"
		"<member><name>PV_args</name><value>c</value></member>"
		"<member><name>platform</name><value><struct><member><name>x</name><value>3</value></member></struct></value></member>",
		"<member><name>platform</name><value><struct><member><name>x</name><value>4</value></member></struct></value></member>"
		"<member><name>is_a_template</name><value><boolean>0</boolean></value></member>",
	};
	static const bool kept[] = {false, true, false, true};
	struct strpool *pool = strpool_new();
	struct xmlrpc_decoder *d = xmlrpc_decoder_new();
	struct xmlrpc_msg m;
	struct buf xml;
	int asked[2] = {0, 0}; /* platform, its x */
	struct xv *all;

	(void)state;
	buf_init(&xml);
	buf_puts(&xml, "<methodResponse><params><param><value><struct>"
		       "<member><name>Status</name><value>Success</value></member><member><name>Value</name><value><struct>");
	for (size_t i = 0; i < 4; i++)
		buf_printf(&xml, "<member><name>OpaqueRef:%zu</name><value><struct>%s</struct></value></member>", i, recs[i]);
	buf_puts(&xml, "</struct></value></member></struct></value></param></params></methodResponse>");
	xmlrpc_decoder_set_pool(d, pool, true);
	xmlrpc_decoder_set_filter(d, drop_platform_of_vms, asked);
	/* in pieces of 5 bytes: names cut anywhere */
	for (size_t k = 0; k < xml.len; k += 5)
		assert_true(xmlrpc_decoder_feed(d, xml.data + k, xml.len - k < 5 ? xml.len - k : 5));
	assert_true(xmlrpc_decoder_finish(d, &m));
	xmlrpc_decoder_free(d);
	assert_int_equal(asked[0], 4);
	assert_int_equal(asked[1], 2); /* the platforms of records 1 and 3 */
	all = xv_struct_get(xv_at(m.params, 0), "Value");
	assert_int_equal(xv_len(all), 4);
	for (size_t i = 0; i < 4; i++) {
		const struct xv *rec = xv_value_at(all, i);
		assert_int_equal(xv_struct_get(rec, "platform") != NULL, kept[i]);
		assert_null(xv_struct_get(rec, "PV_args"));
		assert_non_null(xv_struct_get(rec, "is_a_template"));
	}
	xmlrpc_msg_free(&m);
	buf_free(&xml);
	strpool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xapi_success_envelope),
		cmocka_unit_test(test_whitespace_kept_in_bare_values),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_failure_envelope_and_control_bytes),
		cmocka_unit_test(test_malformed_input),
		cmocka_unit_test(test_streaming_feed),
		cmocka_unit_test(test_shared_nodes),
		cmocka_unit_test(test_filter_asks_each_struct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
