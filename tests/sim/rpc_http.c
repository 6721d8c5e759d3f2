/* The two RPC endpoints: XML-RPC on every POST path but /jsonrpc, and
 * JSON-RPC (v1 and v2) on /jsonrpc, both as xapi frames them (WIRE.md 1-3),
 * with the injected faults applied to the answer. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastenc.h"
#include "faults.h"
#include "http.h"
#include "json.h"
#include "rpc.h"
#include "sessions.h"
#include "util.h"
#include "xmlrpc.h"

bool rpc_http_xml(struct http_req *r, const char *body, size_t len);
bool rpc_http_json(struct http_req *r, const char *body, size_t len);

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void error_page(struct http_req *r, const char *why)
{
	char *page = xasprintf("<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; "
			       "please wait a while and try again. If the problem persists, please contact your "
			       "support representative.<h1> Additional information </h1>%s</body></html>",
			       why);

	r->keep_alive = false;
	http_respond(r, 500, "text/html", page, strlen(page), NULL);
	free(page);
}

/* Sends the answer to a call of method, damaged as the fault rules say. A
 * held answer is announced on stderr first: the call has run, so a test can
 * change the pool after it and before the client hears the answer. */
static bool send_answer(struct http_req *r, const char *method, const struct fault_action *f, const char *ctype,
			const struct buf *b)
{
	if (f->delay_ms) {
		fprintf(stderr, "xapi-sim: --faults: %s has run, its answer held %d ms\n", method, f->delay_ms);
		sleep_ms(f->delay_ms);
	}
	if (f->http500) {
		error_page(r, "Injected fault (http500)");
		return false;
	}
	if (f->drop) {
		char *hdr = xasprintf("content-length: %zu\r\n", b->len);
		http_respond_head(r, 200, ctype, hdr);
		free(hdr);
		conn_write(r->conn, b->data, b->len / 2);
		return false;
	}
	if (f->truncate) {
		http_respond(r, 200, ctype, b->data, b->len / 2, NULL);
		return true;
	}
	http_respond(r, 200, ctype, b->data, b->len, NULL);
	return true;
}

bool rpc_http_xml(struct http_req *r, const char *body, size_t len)
{
	struct xmlrpc_msg m;
	struct rpc_result res;
	struct fault_action f;
	struct buf out;
	char *err = NULL;
	bool keep;

	if (!xmlrpc_decode_strict(body, len, &m, &err)) {
		char *why = xasprintf("Xmlrpc.Parse_error: %s", err);
		error_page(r, why);
		free(why);
		free(err);
		return false;
	}
	if (!m.is_call) {
		error_page(r, "Xmlrpc.Parse_error: expected a methodCall");
		xmlrpc_msg_free(&m);
		return false;
	}
	faults_for_call(m.method, &f);
	if (f.expire)
		sessions_expire_all();
	buf_init(&out);
	memset(&res, 0, sizeof(res));
	/* get_all_records is written straight from the objects */
	if (!fastenc_xml_response(m.method, m.params, &out)) {
		rpc_dispatch(m.method, m.params, false, &res);
		if (res.raw)
			xmlrpc_encode_response(&out, res.value);
		else if (res.error)
			xmlrpc_encode_failure(&out, res.error);
		else
			xmlrpc_encode_success(&out, res.value);
	}
	keep = send_answer(r, m.method, &f, "text/xml", &out);
	buf_free(&out);
	xv_free(res.value);
	xv_free(res.error);
	xmlrpc_msg_free(&m);
	return keep;
}

static struct xv *from_json(struct json_object *j)
{
	struct xv *v;

	switch (json_object_get_type(j)) {
	case json_type_null:
		return xv_nil();
	case json_type_boolean:
		return xv_bool(json_object_get_boolean(j));
	case json_type_int:
		return xv_int(json_object_get_int64(j));
	case json_type_double:
		return xv_double(json_object_get_double(j));
	case json_type_string:
		return xv_string_n(json_object_get_string(j), (size_t)json_object_get_string_len(j));
	case json_type_array:
		v = xv_array();
		for (size_t i = 0; i < json_object_array_length(j); i++)
			xv_array_push(v, from_json(json_object_array_get_idx(j, i)));
		return v;
	case json_type_object:
		v = xv_struct();
		json_object_object_foreach(j, key, val)
			xv_struct_add(v, key, from_json(val));
		return v;
	}
	return xv_nil();
}

bool rpc_http_json(struct http_req *r, const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *req = json_tokener_parse_ex(tok, body, (int)len);
	struct json_object *jv, *jm, *jp, *jid;
	struct rpc_result res;
	struct fault_action f;
	struct xv *params;
	struct buf out;
	size_t mark;
	bool v2 = false, keep, fast;
	const char *why = NULL;

	json_tokener_free(tok);
	if (!req || !json_object_is_type(req, json_type_object))
		why = "Jsonrpc.Malformed_method_request: not a JSON object";
	else if (json_object_object_get_ex(req, "jsonrpc", &jv)
		 && !(json_object_is_type(jv, json_type_string) && strcmp(json_object_get_string(jv), "2.0") == 0))
		why = "Jsonrpc.Malformed_method_request: bad jsonrpc version";
	else if (!json_object_object_get_ex(req, "method", &jm) || !json_object_is_type(jm, json_type_string))
		why = "Jsonrpc.Malformed_method_request: no method";
	else if (!json_object_object_get_ex(req, "id", &jid) || !jid
		 || !(json_object_is_type(jid, json_type_int) || json_object_is_type(jid, json_type_string)))
		why = "Jsonrpc.Malformed_method_request: id is mandatory";
	if (!why) {
		v2 = json_object_object_get_ex(req, "jsonrpc", &jv);
		if (!json_object_object_get_ex(req, "params", &jp) || !jp) {
			if (!v2)
				why = "Jsonrpc.Malformed_method_request: params must be an array";
		} else if (!json_object_is_type(jp, json_type_array)
			   && !(v2 && json_object_is_type(jp, json_type_object))) {
			why = "Jsonrpc.Malformed_method_request: params must be an array";
		}
	}
	if (why) {
		error_page(r, why);
		json_object_put(req);
		return false;
	}
	if (!jp) {
		params = xv_array();
	} else if (json_object_is_type(jp, json_type_object)) {
		params = xv_array();
		xv_array_push(params, from_json(jp));
	} else {
		params = from_json(jp);
	}
	faults_for_call(json_object_get_string(jm), &f);
	if (f.expire)
		sessions_expire_all();
	buf_init(&out);
	buf_putc(&out, '{');
	if (v2)
		buf_puts(&out, "\"jsonrpc\":\"2.0\",");
	mark = out.len;
	memset(&res, 0, sizeof(res));
	/* get_all_records is written straight from the objects, into the reply */
	buf_puts(&out, "\"result\":");
	fast = fastenc_json_result(json_object_get_string(jm), params, &out);
	if (!fast) {
		out.len = mark;
		out.data[mark] = '\0';
		rpc_dispatch(json_object_get_string(jm), params, true, &res);
	}
	if (fast) {
		if (!v2)
			buf_puts(&out, ",\"error\":null");
	} else if (res.error) { /* v2's error object, or v1's result null and error */
		if (v2) {
			buf_puts(&out, "\"error\":{\"code\":1,\"message\":");
			fastenc_json_value(&out, xv_at(res.error, 0));
			buf_puts(&out, ",\"data\":[");
			for (size_t i = 1; i < xv_len(res.error); i++) {
				if (i > 1)
					buf_putc(&out, ',');
				fastenc_json_value(&out, xv_at(res.error, i));
			}
			buf_puts(&out, "]}");
		} else {
			buf_puts(&out, "\"result\":null,\"error\":");
			fastenc_json_value(&out, res.error);
		}
	} else {
		buf_puts(&out, "\"result\":");
		fastenc_json_value(&out, res.value);
		if (!v2)
			buf_puts(&out, ",\"error\":null");
	}
	buf_puts(&out, ",\"id\":");
	buf_puts(&out, json_object_to_json_string_ext(jid, JSON_C_TO_STRING_PLAIN));
	buf_putc(&out, '}');
	keep = send_answer(r, json_object_get_string(jm), &f, "application/json", &out);
	buf_free(&out);
	xv_free(res.value);
	xv_free(res.error);
	xv_free(params);
	json_object_put(req);
	return keep;
}
