#include "net.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "util.h"

struct xfer {
	CURL *easy;
	net_done_fn done;
	void *ud;
	struct xfer *next;
};

struct net {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	struct xfer *xfers;
	int active;
	CURLSH *share; /* TLS sessions and DNS, resumed across transfers */
	/* a done callback may free the net that called it (its owner finished):
	 * net_free then only marks it, and check_done frees it on the way out */
	int dispatching; /* check_done's running (a callback may run one more) */
	bool dead;
};

static void destroy(struct net *n)
{
	while (n->xfers) {
		struct xfer *x = n->xfers;
		n->xfers = x->next;
		curl_multi_remove_handle(n->multi, x->easy);
		free(x);
	}
	if (n->timer)
		loop_timer_cancel(n->loop, n->timer);
	curl_multi_cleanup(n->multi);
	curl_share_cleanup(n->share);
	free(n);
}

static void check_done(struct net *n)
{
	CURLMsg *m;
	int left;

	n->dispatching++;
	while (!n->dead && (m = curl_multi_info_read(n->multi, &left))) {
		struct xfer **p;

		if (m->msg != CURLMSG_DONE)
			continue;
		for (p = &n->xfers; *p; p = &(*p)->next)
			if ((*p)->easy == m->easy_handle)
				break;
		if (*p) {
			struct xfer *x = *p;
			CURLcode rc = m->data.result;
			*p = x->next;
			curl_multi_remove_handle(n->multi, x->easy);
			n->active--;
			x->done(x->easy, rc, x->ud);
			free(x);
		}
	}
	if (--n->dispatching == 0 && n->dead)
		destroy(n);
}

static void on_fd(struct loop *l, int fd, int events, void *ud)
{
	struct net *n = ud;
	int running;
	int ev = ((events & LOOP_IN) ? CURL_CSELECT_IN : 0) | ((events & LOOP_OUT) ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(n->multi, fd, ev, &running);
	check_done(n);
}

static void on_timer(struct loop *l, void *ud)
{
	struct net *n = ud;
	int running;

	n->timer = NULL;
	curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(n);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *ud, void *sockp)
{
	struct net *n = ud;
	int ev = 0;

	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= LOOP_IN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= LOOP_OUT;
	loop_watch(n->loop, s, what == CURL_POLL_REMOVE ? 0 : ev, on_fd, n);
	return 0;
}

static int timer_cb(CURLM *multi, long ms, void *ud)
{
	struct net *n = ud;

	if (n->timer) {
		loop_timer_cancel(n->loop, n->timer);
		n->timer = NULL;
	}
	if (ms >= 0)
		n->timer = loop_timer(n->loop, ms, on_timer, n);
	return 0;
}

struct net *net_new(struct loop *l)
{
	struct net *n = xcalloc(1, sizeof(*n));

	n->loop = l;
	n->multi = curl_multi_init();
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
	/* a few kept-alive connections per host serve every call: opening one per
	 * parallel call would cost a TLS handshake each */
	curl_multi_setopt(n->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 6L);
	n->share = curl_share_init();
	curl_share_setopt(n->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(n->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	return n;
}

void net_free(struct net *n)
{
	if (!n)
		return;
	if (n->dispatching)
		n->dead = true; /* from a done callback: check_done frees it */
	else
		destroy(n);
}

void net_start(struct net *n, CURL *easy, net_done_fn done, void *ud)
{
	struct xfer *x = xcalloc(1, sizeof(*x));

	x->easy = easy;
	x->done = done;
	x->ud = ud;
	x->next = n->xfers;
	n->xfers = x;
	n->active++;
	curl_easy_setopt(easy, CURLOPT_SHARE, n->share);
	curl_multi_add_handle(n->multi, easy);
}

void net_cancel(struct net *n, CURL *easy)
{
	for (struct xfer **p = &n->xfers; *p; p = &(*p)->next)
		if ((*p)->easy == easy) {
			struct xfer *x = *p;
			*p = x->next;
			curl_multi_remove_handle(n->multi, easy);
			n->active--;
			free(x);
			return;
		}
}

int net_active(const struct net *n)
{
	return n->active;
}

static int verify_pinned(X509_STORE_CTX *st, void *arg)
{
	const char *want = arg;
	X509 *cert = X509_STORE_CTX_get0_cert(st);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char seen[65] = "";

	if (!cert || !X509_digest(cert, EVP_sha256(), md, &len))
		return 0;
	for (unsigned i = 0; i < len && i < 32; i++)
		snprintf(seen + 2 * i, 3, "%02x", md[i]);
	if (strcmp(seen, want) != 0)
		return 0;
	X509_STORE_CTX_set_error(st, X509_V_OK);
	return 1;
}

static CURLcode ssl_ctx_cb(CURL *curl, void *ctx, void *arg)
{
	SSL_CTX_set_cert_verify_callback(ctx, verify_pinned, arg);
	return CURLE_OK;
}

void net_pin_certificate(CURL *easy, const char *fp)
{
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L); /* the fingerprint decides */
	curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, (void *)fp);
}

void net_system_cas(CURL *easy)
{
	static const char *const bundles[] = {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"};
	for (size_t i = 0; i < ARRAY_LEN(bundles); i++)
		if (access(bundles[i], R_OK) == 0) {
			curl_easy_setopt(easy, CURLOPT_CAINFO, bundles[i]);
			return;
		}
}

void net_transfer_defaults(CURL *easy, char *errbuf, long stall_s)
{
	net_system_cas(easy);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "xentui/0.1");
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, stall_s);
}

/* What curl has no option for: give up after 3 unanswered probes, and on
 * data unacknowledged for 10 s (TCP_USER_TIMEOUT also ends a keepalive that
 * goes unanswered). Harmless on a unix socket, where they fail. */
static int keepalive_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = NET_KEEPALIVE_COUNT;
	unsigned int user_timeout = NET_SILENCE_MS;

	if (purpose == CURLSOCKTYPE_IPCXN) {
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	}
	return CURL_SOCKOPT_OK;
}

void net_keepalive(CURL *easy)
{
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, (long)NET_KEEPALIVE_IDLE_S);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, (long)NET_KEEPALIVE_INTERVAL_S);
	curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, keepalive_sockopt);
}
