/* nbdkit behind VDI.get_nbd_info (see nbdexport.h). */
#include "nbdexport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rpc.h"
#include "schema.h"
#include "sim.h"
#include "util.h"
#include "vdidata.h"

extern char **environ;

struct server {
	bool started, failed;
	int port;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char top[200];            /* the private folder; "" until made */
static char *cert_pem;           /* the TLS server's certificate */
static struct server servers[2]; /* [0] TLS (nbd), [1] plain (insecure_nbd) */
static int watch_fd = -1;        /* write end of the pipe every nbdkit watches */
static int watch_r = -1;         /* its read end, given to each nbdkit as fd 3 */

static const char *address(void)
{
	return sim.address[0] ? sim.address : "127.0.0.1";
}

static bool write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t n = strlen(text);
	bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok;
}

static char *pem_of(int (*w)(BIO *, void *), void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	w(b, obj);
	n = BIO_get_mem_data(b, &data);
	out = xmalloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

static int w_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static int w_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

/* A self-signed certificate for this host's address (as its xapi-ssl.pem). */
static bool make_pki(const char *dir)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *name;
	char san[160], path[400], *kp;
	bool ok;

	if (!key || !x) {
		EVP_PKEY_free(key);
		X509_free(x);
		return false;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 24 * 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)address(), -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "%s:%s", strspn(address(), "0123456789.:abcdefABCDEF") == strlen(address()) ? "IP" : "DNS",
		 address());
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san))) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, key, EVP_sha256());
	cert_pem = pem_of(w_cert, x);
	kp = pem_of(w_key, key);
	snprintf(path, sizeof(path), "%s/server-key.pem", dir);
	ok = write_file(path, kp, 0600);
	snprintf(path, sizeof(path), "%s/server-cert.pem", dir);
	ok = ok && write_file(path, cert_pem, 0644);
	snprintf(path, sizeof(path), "%s/ca-cert.pem", dir);
	ok = ok && write_file(path, cert_pem, 0644);
	free(kp);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

/* A port nothing listens on now, on our address. */
static int free_port(void)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, port = -1;

	if (getaddrinfo(address(), "0", &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return port;
}

static bool can_connect(int port)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	char ps[16];
	bool ok = false;
	int fd;

	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(address(), ps, &hints, &ai) != 0)
		return false;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ok;
}

static bool make_top(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[320];
	int p[2];

	if (top[0])
		return true;
	snprintf(top, sizeof(top), "%s/xapi-sim-nbd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		top[0] = '\0';
		return false;
	}
	snprintf(path, sizeof(path), "%s/exports", top);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/pki", top);
	mkdir(path, 0700);
	if (!make_pki(path) || pipe2(p, O_CLOEXEC) != 0)
		return false;
	/* the read end goes to each nbdkit; this process holds the write end until it dies */
	watch_fd = p[1];
	watch_r = p[0];
	return true;
}

static bool spawn(int which)
{
	char script[1024], port[16];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	pid_t pid;
	int rc;
	const char *argv[] = {"/bin/sh", "-c", script, top, NULL};

	servers[which].port = free_port();
	if (servers[which].port <= 0)
		return false;
	snprintf(port, sizeof(port), "%d", servers[which].port);
	/* nbdkit exits when the pipe closes (this process gone), then the folder goes */
	snprintf(script, sizeof(script),
		 "nbdkit -f -i '%s' -p %s %s --filter=exitwhen --filter=log file dir=\"$0/exports\" "
		 "logfile=\"$0/nbdkit%s.log\" exit-when-pipe-closed=3 exit-when-poll=1; rm -rf \"$0\"",
		 address(), port, which == 0 ? "--tls=require --tls-certificates=\"$0/pki\"" : "--tls=off",
		 which == 0 ? "" : "-insecure");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	posix_spawn_file_actions_adddup2(&fa, watch_r, 3);
	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &at, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		return false;
	for (int i = 0; i < 500; i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		if (can_connect(servers[which].port)) {
			fprintf(stderr, "xapi-sim: nbdkit serves VDIs over NBD%s on %s:%d, log %s/nbdkit%s.log\n",
				which == 0 ? " with TLS" : " without TLS", address(), servers[which].port, top,
				which == 0 ? "" : "-insecure");
			return true;
		}
		nanosleep(&ts, NULL);
	}
	return false;
}

static bool ensure(int which)
{
	if (servers[which].started)
		return true;
	if (servers[which].failed || !make_top() || !spawn(which)) {
		if (!servers[which].failed)
			fprintf(stderr, "xapi-sim: cannot start nbdkit (is it installed?)\n");
		servers[which].failed = true;
		return false;
	}
	servers[which].started = true;
	return true;
}

/* The VDI's bytes now, as a sparse file named name in the exports folder. */
static bool export_file(struct obj *vdi, const char *name)
{
	struct vdata *d = vdata_get(vdi);
	uint64_t size = (uint64_t)db_int(vdi, "virtual_size");
	char tmp[600], path[600];
	unsigned char *buf = xmalloc(VDATA_BLOCK);
	int fd;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s/exports/.%s.tmp", top, name);
	snprintf(path, sizeof(path), "%s/exports/%s", top, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && ftruncate(fd, (off_t)size) == 0;
	for (uint64_t off = 0; ok && off < size; off += VDATA_BLOCK) {
		size_t n = size - off < VDATA_BLOCK ? (size_t)(size - off) : VDATA_BLOCK;
		if (vdata_is_zero(d, off, n))
			continue;
		vdata_read(d, off, buf, n);
		ok = pwrite(fd, buf, n, (off_t)off) == (ssize_t)n;
	}
	if (fd >= 0)
		close(fd);
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
	free(buf);
	vdata_put(d);
	return ok;
}

struct xv *nbdexport_info(struct obj *vdi, struct obj *session, struct xv **err)
{
	const struct cls *nc = schema_class("network");
	bool want[2] = {false, false};
	struct xv *out = xv_array();
	char name[300];
	bool have;

	for (struct obj *o = db.head[nc->idx]; o; o = o->cnext) {
		want[0] |= db_set_has(o, "purpose", "nbd");
		want[1] |= db_set_has(o, "purpose", "insecure_nbd");
	}
	if (!want[0] && !want[1])
		return out;
	if (strcmp(db_str(vdi, "type"), "cbt_metadata") == 0) {
		xv_free(out);
		*err = err_new("VDI_INCOMPATIBLE_TYPE", vdi->ref, "cbt_metadata", NULL);
		return NULL;
	}
	snprintf(name, sizeof(name), "%s?session_id=%s", db_str(vdi, "uuid"), session ? session->ref : "");
	pthread_mutex_lock(&lock);
	for (int w = 0; w < 2; w++)
		want[w] = want[w] && ensure(w);
	have = (want[0] || want[1]) && export_file(vdi, name);
	for (int w = 0; w < 2 && have; w++) {
		struct xv *r;
		if (!want[w])
			continue;
		r = xv_struct();
		xv_struct_set(r, "exportname", xv_string(name));
		xv_struct_set(r, "address", xv_string(address()));
		xv_struct_set(r, "port", xv_int(servers[w].port));
		xv_struct_set(r, "cert", xv_string(w == 0 ? cert_pem : ""));
		xv_struct_set(r, "subject", xv_string(w == 0 ? address() : ""));
		xv_array_push(out, r);
	}
	pthread_mutex_unlock(&lock);
	return out;
}
