/* The xapi error codes a connection, a login or the event feed can meet
 * reach the header's status line: each must read as a sentence, never as
 * the raw code. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "errors.h"
#include "util.h"

/* The code with the parameters xapi sends (datamodel_errors.ml). */
static const char *const codes[][3] = {
	{"HOST_STILL_BOOTING", NULL, NULL},
	{"HOST_IS_SLAVE", "192.0.2.1", NULL},
	{"SESSION_INVALID", "OpaqueRef:1", NULL},
	{"SESSION_NOT_REGISTERED", "OpaqueRef:1", NULL},
	{"SESSION_AUTHENTICATION_FAILED", "root", "bad password"},
	{"SESSION_AUTHORIZATION_FAILED", "alice", "no role"},
	{"RBAC_PERMISSION_DENIED", "event.from", "no permission"},
	{"PERMISSION_DENIED", "no", NULL},
	{"EVENTS_LOST", NULL, NULL},
	{"EVENT_FROM_TOKEN_PARSE_FAILURE", "x", NULL},
	{"EVENT_SUBSCRIPTION_PARSE_FAILURE", "x", NULL},
	{"HOST_MASTER_CANNOT_TALK_BACK", "192.0.2.1", NULL},
	{"HOST_UNKNOWN_TO_MASTER", "h", NULL},
	{"HOST_IN_EMERGENCY_MODE", NULL, NULL},
	{"HOST_BROKEN", NULL, NULL},
	{"HOST_NOT_LIVE", NULL, NULL},
	{"HOST_HAS_NO_MANAGEMENT_IP", NULL, NULL},
	{"TOO_MANY_PENDING_TASKS", NULL, NULL},
	{"MESSAGE_METHOD_UNKNOWN", "event.from", NULL},
	{"MESSAGE_REMOVED", NULL, NULL},
	{"MESSAGE_DEPRECATED", NULL, NULL},
	{"NOT_SUPPORTED_DURING_UPGRADE", NULL, NULL},
	{"INTERNAL_ERROR", "boom", NULL},
	{"XMLRPC_UNMARSHAL_FAILURE", "int", "string"},
};

static void test_connection_codes_are_sentences(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
		struct xv *e = xv_array();
		char *s, shown[512];
		bool raw;

		xv_array_push(e, xv_string(codes[i][0]));
		for (int k = 1; k < 3 && codes[i][k]; k++)
			xv_array_push(e, xv_string(codes[i][k]));
		s = error_sentence(e, NULL);
		/* the code itself, a placeholder left, or a parameter missing ("?") */
		raw = strstr(s, codes[i][0]) || strchr(s, '{') || strstr(s, " ?") || strstr(s, "'?'");
		snprintf(shown, sizeof(shown), "%s", s);
		free(s);
		xv_free(e);
		if (raw)
			fail_msg("%s reads \"%s\"", codes[i][0], shown);
	}
}

static void test_booting_in_words(void **state)
{
	struct xv *e = xv_array();
	char *s;

	xv_array_push(e, xv_string("HOST_STILL_BOOTING"));
	s = error_sentence(e, NULL);
	assert_non_null(strstr(s, "starting up"));
	free(s);
	xv_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_codes_are_sentences),
		cmocka_unit_test(test_booting_in_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
