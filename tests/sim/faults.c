#include "faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum kind { K_DROP, K_DELAY, K_500, K_TRUNCATE, K_EXPIRE, K_SLOW, K_CUT };

struct rule {
	enum kind kind;
	long arg;
	char *method; /* NULL: every call (for cut: every data transfer) */
	long count;   /* -1: unlimited */
	long after;   /* skip this many matches first */
	long seen;
};

static struct rule *rules;
static int nrules;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool parse_rule(char *s, struct rule *r, char **err)
{
	static const struct {
		const char *name;
		enum kind kind;
		bool needs_arg;
	} kinds[] = {
		{"drop", K_DROP, false}, {"delay", K_DELAY, true}, {"http500", K_500, false},
		{"truncate", K_TRUNCATE, false}, {"expire", K_EXPIRE, false}, {"slow", K_SLOW, true},
		{"cut", K_CUT, true},
	};
	char *at = strchr(s, '@'), *star = strchr(s, '*'), *colon = strchr(s, ':'), *eq = strchr(s, '=');
	size_t i;

	memset(r, 0, sizeof(*r));
	r->count = -1;
	if (at) {
		*at = '\0';
		r->after = strtol(at + 1, NULL, 10);
	}
	if (star) {
		*star = '\0';
		r->count = strtol(star + 1, NULL, 10);
	}
	if (colon) {
		*colon = '\0';
		r->method = xstrdup(colon + 1);
	}
	if (eq) {
		*eq = '\0';
		r->arg = strtol(eq + 1, NULL, 10);
	}
	for (i = 0; i < ARRAY_LEN(kinds); i++)
		if (strcmp(s, kinds[i].name) == 0)
			break;
	if (i == ARRAY_LEN(kinds)) {
		*err = xasprintf("unknown fault '%s' (drop, delay=MS, http500, truncate, expire, slow=BPS, cut=BYTES)", s);
		return false;
	}
	if (kinds[i].needs_arg && !eq) {
		*err = xasprintf("fault '%s' needs a value: %s=N", s, s);
		return false;
	}
	r->kind = kinds[i].kind;
	if (r->kind == K_CUT && (r->arg < 0 || (r->method && r->method[0] != '/'))) {
		*err = xasprintf("fault 'cut' takes BYTES >= 0 and a handler path (cut=BYTES:/export_raw_vdi)");
		return false;
	}
	return true;
}

bool faults_parse(const char *spec, char **err)
{
	char *copy = xstrdup(spec), *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct rule r;
		if (!parse_rule(tok, &r, err)) {
			free(r.method);
			free(copy);
			return false;
		}
		rules = xrealloc(rules, (size_t)(nrules + 1) * sizeof(*rules));
		rules[nrules++] = r;
	}
	free(copy);
	return true;
}

void faults_free(void)
{
	for (int i = 0; i < nrules; i++)
		free(rules[i].method);
	free(rules);
	rules = NULL;
	nrules = 0;
}

void faults_for_call(const char *method, struct fault_action *a)
{
	if (strncmp(method, "Async.", 6) == 0)
		method += 6;
	memset(a, 0, sizeof(*a));
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nrules; i++) {
		struct rule *r = &rules[i];
		/* slow and cut are for the data handlers (faults_slow_bps, faults_cut_for) */
		if (r->kind == K_SLOW || r->kind == K_CUT || (r->method && strcmp(r->method, method) != 0))
			continue;
		r->seen++;
		if (r->seen <= r->after || (r->count >= 0 && r->seen > r->after + r->count))
			continue;
		switch (r->kind) {
		case K_DROP: a->drop = true; break;
		case K_DELAY: a->delay_ms += (int)r->arg; break;
		case K_500: a->http500 = true; break;
		case K_TRUNCATE: a->truncate = true; break;
		case K_EXPIRE: a->expire = true; break;
		case K_SLOW:
		case K_CUT: break;
		}
	}
	pthread_mutex_unlock(&lock);
}

long faults_slow_bps(void)
{
	for (int i = 0; i < nrules; i++)
		if (rules[i].kind == K_SLOW)
			return rules[i].arg;
	return 0;
}

long faults_cut_for(const char *path)
{
	long cut = -1;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < nrules; i++) {
		struct rule *r = &rules[i];
		if (r->kind != K_CUT || (r->method && strcmp(r->method, path) != 0))
			continue;
		r->seen++;
		if (r->seen <= r->after || (r->count >= 0 && r->seen > r->after + r->count))
			continue;
		if (cut < 0 || r->arg < cut)
			cut = r->arg;
	}
	pthread_mutex_unlock(&lock);
	return cut;
}
