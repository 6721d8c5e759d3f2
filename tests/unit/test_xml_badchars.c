/* Replies holding characters XML forbids decode, each such character
 * replaced by U+FFFD and the rest kept, however the reply is cut into
 * chunks (issue 19). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"
#include "xmlrpc.h"

#define FFFD "\xEF\xBF\xBD"

/* The reply's one string, decoded from doc fed in pieces of step bytes
 * (0: two pieces cut at split). NULL on a decode failure. */
static char *decode_string(const char *doc, size_t len, size_t step, size_t split)
{
	struct xmlrpc_decoder *d = xmlrpc_decoder_new();
	struct xmlrpc_msg m;
	char *out = NULL;
	bool ok = true;

	if (step) {
		for (size_t i = 0; i < len && ok; i += step)
			ok = xmlrpc_decoder_feed(d, doc + i, len - i < step ? len - i : step);
	} else {
		ok = xmlrpc_decoder_feed(d, doc, split) && xmlrpc_decoder_feed(d, doc + split, len - split);
	}
	if (ok && xmlrpc_decoder_finish(d, &m)) {
		const struct xv *v = xv_at(m.params, 0);
		if (xv_str(v))
			out = xstrndup(xv_str(v), v->n);
		xmlrpc_msg_free(&m);
	} else {
		print_message("decode failed: %s\n", xmlrpc_decoder_error(d));
	}
	xmlrpc_decoder_free(d);
	return out;
}

static void check(const char *body, size_t body_len, const char *want)
{
	const char *pre = "<?xml version=\"1.0\"?><methodResponse><params><param><value><string>";
	const char *post = "</string></value></param></params></methodResponse>";
	struct buf doc;

	buf_init(&doc);
	buf_puts(&doc, pre);
	buf_append(&doc, body, body_len);
	buf_puts(&doc, post);
	for (size_t step = 0; step <= 3; step++) {
		size_t splits = step ? 1 : doc.len + 1;
		for (size_t split = 0; split < splits; split++) {
			char *got = decode_string(doc.data, doc.len, step, split);
			if (!got || strcmp(got, want) != 0)
				fail_msg("body of %zu bytes, step %zu, split %zu: got '%s', want '%s'", body_len, step, split,
					 got ? got : "(failure)", want);
			free(got);
		}
	}
	buf_free(&doc);
}

#define CHECK(body, want) check(body, sizeof(body) - 1, want)

static void test_forbidden_characters_replaced(void **state)
{
	CHECK("a\xEF\xBF\xBE" "b", "a" FFFD "b");             /* U+FFFE */
	CHECK("a\xEF\xBF\xBF" "b", "a" FFFD "b");             /* U+FFFF */
	CHECK("a\x01" "b\x1F" "c\x0B" "d", "a" FFFD "b" FFFD "c" FFFD "d"); /* C0 */
	CHECK("a\0b", "a" FFFD "b");                          /* NUL */
	CHECK("a\xED\xA0\x80" "b\xED\xBF\xBF" "c", "a" FFFD "b" FFFD "c"); /* surrogates in UTF-8 */
	CHECK("a\xC0\x80" "b\xE0\x80\x80" "c", "a" FFFD FFFD "b" FFFD "c"); /* overlong */
	CHECK("a\xFF" "b\x80" "c\xF5\x80\x80\x80" "d", "a" FFFD "b" FFFD "c" FFFD FFFD FFFD FFFD "d");
	CHECK("a\xE2\x82" "b", "a" FFFD "b");                 /* cut short */
	CHECK("ab\xE2\x82", "ab" FFFD);                        /* cut by the tag */
	CHECK("a&#1;b&#xFFFE;c&#xD800;d&#x110000;e", "a" FFFD "b" FFFD "c" FFFD "d" FFFD "e");
	CHECK("\xEF\xBF\xBE\xEF\xBF\xBE", FFFD FFFD);
	/* anywhere in a run of plain text (read 8 bytes at a time) */
	for (int at = 0; at <= 20; at++) {
		char body[64], want[64];
		snprintf(body, sizeof(body), "%.*s\x01%.*s", at, "abcdefghijklmnopqrstu", 20 - at, "ABCDEFGHIJKLMNOPQRSTU");
		snprintf(want, sizeof(want), "%.*s" FFFD "%.*s", at, "abcdefghijklmnopqrstu", 20 - at, "ABCDEFGHIJKLMNOPQRSTU");
		check(body, strlen(body), want);
	}
}

static void test_allowed_characters_kept(void **state)
{
	CHECK("tab\there\nCR\r", "tab\there\nCR\n"); /* XML reads CR as LF */
	CHECK("\xC2\x85 \xC2\x9F \x7F", "\xC2\x85 \xC2\x9F \x7F"); /* C1 and DEL are XML */
	CHECK("\xE2\x80\xAE \xF0\x9F\x98\x80 \xEF\xBF\xBD \xF4\x8F\xBF\xBF", "\xE2\x80\xAE \xF0\x9F\x98\x80 \xEF\xBF\xBD \xF4\x8F\xBF\xBF");
	CHECK("&#65;&#x42;&amp;&#x1F600;", "AB&\xF0\x9F\x98\x80");
}

/* A document in another encoding is left to libxml2. */
static void test_other_encoding(void **state)
{
	const char *doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodResponse><params><param>"
			  "<value>caf\xE9</value></param></params></methodResponse>";
	for (size_t step = 1; step <= 2; step++) {
		char *got = decode_string(doc, strlen(doc), step, 0);
		assert_non_null(got);
		assert_string_equal(got, "caf\xC3\xA9");
		free(got);
	}
}

/* Broken structure is still an error: only characters are repaired. */
static void test_structure_still_checked(void **state)
{
	const char *doc = "<methodResponse><params><param><value>\xEF\xBF\xBE</valu></param></params></methodResponse>";
	char *err = NULL;
	struct xmlrpc_msg m;

	assert_false(xmlrpc_decode(doc, strlen(doc), &m, &err));
	assert_non_null(err);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_characters_replaced),
		cmocka_unit_test(test_allowed_characters_kept),
		cmocka_unit_test(test_other_encoding),
		cmocka_unit_test(test_structure_still_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
