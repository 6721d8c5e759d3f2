/* The run report: the run record as a plain-text mail, and its sending
 * through libcurl's SMTP. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bkutil.h"
#include "net.h"
#include "sanitize.h"
#include "secret.h"
#include "util.h"

#define LINE_MAX_BYTES 900 /* SMTP allows 998 per line */

static const char *jstr(struct json_object *o, const char *key)
{
	const char *s = bk_jstr(o, key);

	return s ? s : "";
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *x;

	return json_object_object_get_ex(o, key, &x) ? json_object_get_int64(x) : 0;
}

/* "Label: value" with value made printable (pool strings, CR/LF gone) and cut
 * short enough for one SMTP line. */
static void field(struct buf *b, const char *indent, const char *label, const char *value)
{
	char *s = sanitize(value ? value : "");
	size_t n = strlen(s);

	if (n > LINE_MAX_BYTES) {
		n = LINE_MAX_BYTES;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--; /* not inside a UTF-8 character */
	}
	buf_printf(b, "%s%s: %.*s%s\r\n", indent, label, (int)n, s, n < strlen(s) ? "..." : "");
	free(s);
}

static void local_time(int64_t t, char out[64])
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, 64, "%Y-%m-%d %H:%M:%S %z", &tm);
}

static void duration(double secs, char out[32])
{
	long s = (long)(secs + 0.5);

	if (s >= 3600)
		snprintf(out, 32, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, 32, "%ld:%02ld", s / 60, s % 60);
}

/* RFC 5322's date, in English whatever the locale. */
static void rfc_date(int64_t t, char out[64])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;
	char zone[8];

	localtime_r(&tt, &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(out, 64, "%s, %02d %s %04d %02d:%02d:%02d %s", days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
}

/* A header value: as is when printable ASCII, else an RFC 2047 encoded word. */
static char *header_text(const char *s)
{
	char *clean = sanitize(s);
	bool ascii = true;
	unsigned char *enc;
	char *out;
	size_t n = strlen(clean);

	for (const char *p = clean; *p; p++)
		if ((unsigned char)*p >= 0x80)
			ascii = false;
	if (ascii)
		return clean;
	enc = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(enc, (const unsigned char *)clean, (int)n);
	out = xasprintf("=?UTF-8?B?%s?=", enc);
	free(enc);
	free(clean);
	return out;
}

bool report_is_failure(struct json_object *rec)
{
	struct json_object *vms;

	if (strcmp(jstr(rec, "result"), "success") != 0)
		return true;
	if (json_object_object_get_ex(rec, "vms", &vms))
		for (size_t i = 0; i < json_object_array_length(vms); i++)
			if (strcmp(jstr(json_object_array_get_idx(vms, i), "state"), "ok") != 0)
				return true;
	return false;
}

char *report_message(const struct smtp_cfg *m, const struct job_cfg *job, struct json_object *rec, int64_t date)
{
	struct json_object *vms = NULL;
	size_t n = 0, nok = 0, nskipped = 0;
	struct buf b;
	char t[64], h[24], d[32], *subject, *hs, *name = sanitize(job->name);
	unsigned char rnd[12];

	if (json_object_object_get_ex(rec, "vms", &vms))
		n = json_object_array_length(vms);
	for (size_t i = 0; i < n; i++) {
		const char *st = jstr(json_object_array_get_idx(vms, i), "state");
		nok += strcmp(st, "ok") == 0;
		nskipped += strcmp(st, "skipped") == 0;
	}
	if (job->mode == BMODE_METADATA || !n)
		subject = xasprintf("[xentui] backup job %s: %s", job->name, jstr(rec, "result"));
	else
		subject = xasprintf("[xentui] backup job %s: %s, %zu of %zu VM%s ok%s%.0zu%s", job->name,
				    jstr(rec, "result"), nok, n, n == 1 ? "" : "s", nskipped ? ", " : "", nskipped,
				    nskipped ? " skipped" : "");
	buf_init(&b);
	hs = header_text(subject);
	rfc_date(date, t);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	buf_printf(&b, "From: xentui <%s>\r\nTo: ", m->from);
	for (size_t i = 0; i < m->nto; i++)
		buf_printf(&b, "%s<%s>", i ? ",\r\n " : "", m->to[i]); /* folded: no header line too long */
	buf_printf(&b, "\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <", hs, t);
	for (size_t i = 0; i < sizeof(rnd); i++)
		buf_printf(&b, "%02x", rnd[i]);
	buf_printf(&b, ".%lld@xentui>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
		   (long long)date);
	free(hs);
	free(subject);
	buf_printf(&b, "Job: %s\r\n", name);
	field(&b, "", "Mode", bmode_name(job->mode));
	field(&b, "", "Result", jstr(rec, "result"));
	local_time(jint(rec, "start"), t);
	field(&b, "", "Start", t);
	local_time(jint(rec, "end"), t);
	field(&b, "", "End", t);
	duration((double)(jint(rec, "end") - jint(rec, "start")), d);
	field(&b, "", "Duration", d);
	bk_human((uint64_t)jint(rec, "bytes"), h);
	field(&b, "", "Size", h);
	if (bk_jstr(rec, "error"))
		field(&b, "", "Error", bk_jstr(rec, "error"));
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(vms, i), *x;
		double secs = json_object_object_get_ex(v, "duration", &x) ? json_object_get_double(x) : 0;
		char *vn = sanitize(jstr(v, "name")), *vu = sanitize(jstr(v, "uuid"));
		buf_printf(&b, "\r\nVM %s%s%s%s\r\n", vn, *vu ? " (" : "", vu, *vu ? ")" : "");
		free(vn);
		free(vu);
		field(&b, "  ", "State", jstr(v, "state"));
		bk_human((uint64_t)jint(v, "bytes"), h);
		field(&b, "  ", "Size", h);
		duration(secs, d);
		field(&b, "  ", "Duration", d);
		if (bk_jstr(v, "note"))
			field(&b, "  ", "Note", bk_jstr(v, "note"));
		if (bk_jstr(v, "error"))
			field(&b, "  ", "Error", bk_jstr(v, "error"));
		if (bk_jstr(v, "warning"))
			field(&b, "  ", "Warning", bk_jstr(v, "warning"));
	}
	buf_puts(&b, "\r\n-- \r\nxentui backup\r\n");
	free(name);
	return buf_steal(&b);
}

struct upload {
	const char *p;
	size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct upload *u = ud;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;

	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static char *smtp_secret(const struct smtp_cfg *m, char **err)
{
	*err = NULL;
	if (m->password_file)
		return secret_from_file(m->password_file, err);
	if (m->password_env)
		return secret_from_env(m->password_env, err);
	if (m->password_command)
		return secret_from_command(m->password_command, err);
	return NULL;
}

bool report_send(const struct smtp_cfg *m, const char *msg, char **err)
{
	struct upload u = {msg, strlen(msg)};
	struct curl_slist *rcpt = NULL;
	char ebuf[CURL_ERROR_SIZE] = "", *from = xasprintf("<%s>", m->from), *pw = NULL;
	CURL *c;
	CURLcode rc;

	*err = NULL;
	if (m->user && (m->password_file || m->password_env || m->password_command) && !(pw = smtp_secret(m, err))) {
		char *e = *err;
		*err = xasprintf("the report could not be sent: the smtp password: %s", e ? e : "none");
		free(e);
		free(from);
		return false;
	}
	if (!(c = curl_easy_init())) {
		*err = xstrdup("libcurl could not start");
		secret_free(pw);
		free(from);
		return false;
	}
	for (size_t i = 0; i < m->nto; i++) {
		char *r = xasprintf("<%s>", m->to[i]);
		rcpt = curl_slist_append(rcpt, r);
		free(r);
	}
	curl_easy_setopt(c, CURLOPT_URL, m->url);
	/* smtp:// only with STARTTLS, unless security = "none" said so (then with no login: bconfig.c) */
	curl_easy_setopt(c, CURLOPT_USE_SSL, m->plain ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	if (m->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, m->ca_file);
	else
		net_system_cas(c); /* the static build has no compiled-in CA path */
	if (m->user)
		curl_easy_setopt(c, CURLOPT_USERNAME, m->user);
	if (pw)
		curl_easy_setopt(c, CURLOPT_PASSWORD, pw);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE, (long)u.left);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		*err = xasprintf("the report could not be sent through %s: %s", m->url, *ebuf ? ebuf : curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	secret_free(pw);
	free(from);
	return rc == CURLE_OK;
}

void report_after_run(const struct backup_cfg *bc, const struct job_cfg *job, struct json_object *rec)
{
	char *msg, *err = NULL;

	if (!bc->smtp || job->report == BREPORT_NEVER || (job->report == BREPORT_FAILURE && !report_is_failure(rec)))
		return;
	msg = report_message(bc->smtp, job, rec, (int64_t)time(NULL));
	if (report_send(bc->smtp, msg, &err)) {
		json_object_object_add(rec, "report", json_object_new_string("sent"));
	} else {
		fprintf(stderr, "xentui: job %s: %s\n", job->name, err);
		json_object_object_add(rec, "report_error", json_object_new_string(err));
	}
	free(err);
	free(msg);
}
