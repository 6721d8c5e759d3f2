/* xapi errors as sentences, and the sanitiser every pool string goes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <locale.h>

#include "errors.h"
#include "sanitize.h"

static struct xv *err_of(const char *code, const char *a, const char *b, const char *c)
{
	struct xv *e = xv_array();

	xv_array_push(e, xv_string(code));
	if (a)
		xv_array_push(e, xv_string(a));
	if (b)
		xv_array_push(e, xv_string(b));
	if (c)
		xv_array_push(e, xv_string(c));
	return e;
}

static void check(struct xv *e, const char *want)
{
	char *s = error_sentence(e, NULL);

	assert_string_equal(s, want);
	free(s);
	xv_free(e);
}

static void test_sentences(void **state)
{
	check(err_of("HOST_NOT_ENOUGH_FREE_MEMORY", "4294967296", "1073741824", NULL),
	      "not enough free memory on the host: 4.0 GiB needed, 1.0 GiB available");
	/* as host.evacuate's plan raises it: the VM only (no cache here: its ref) */
	check(err_of("HOST_NOT_ENOUGH_FREE_MEMORY", "OpaqueRef:vm1", NULL, NULL),
	      "OpaqueRef:vm1 fits in the free memory of no other host");
	/* without a cache, refs stay refs */
	check(err_of("VM_BAD_POWER_STATE", "OpaqueRef:1", "halted", "running"),
	      "VM OpaqueRef:1 is running; it must be halted for this");
	check(err_of("SR_BACKEND_FAILURE_73", "", "NFS mount error", ""), "storage error: NFS mount error");
	/* unknown codes are shown raw, with their parameters */
	check(err_of("SOMETHING_NEW", "a", "b", NULL), "SOMETHING_NEW (a, b)");
	check(err_of("HOST_NOT_DISABLED", NULL, NULL, NULL), "the host must be disabled (maintenance mode) first");
}

static void test_sanitize(void **state)
{
	char *s;

	/* an escape sequence in a VM name is drawn, not obeyed */
	s = sanitize("evil\x1b[2J\x1b]0;title\x07name\r\nnext");
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\n'));
	assert_string_equal(s, "evil?[2J?]0;title?name??next");
	free(s);
	/* invalid UTF-8 becomes U+FFFD, valid stays */
	s = sanitize("caf\xc3\xa9 \xff\xfe ok");
	assert_string_equal(s, "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd ok");
	free(s);
	/* C1 controls (U+009B is a CSI) and bidi overrides are neutralised */
	s = sanitize("a\xc2\x9b" "31mb\xe2\x80\xaex");
	assert_string_equal(s, "a?31mb?x");
	free(s);
	assert_int_equal(text_width("abc"), 3);
	assert_int_equal(text_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* two wide CJK characters */
	s = text_truncate("a-very-long-vm-name", 8, 0);
	assert_string_equal(s, "a-very-\xe2\x80\xa6");
	assert_int_equal(text_width(s), 8);
	free(s);
	s = text_truncate("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, 1);
	assert_true(text_width(s) <= 4);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sentences),
		cmocka_unit_test(test_sanitize),
	};
	/* wcwidth needs a UTF-8 locale */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
