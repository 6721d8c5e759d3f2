/* A self-signed certificate, as a fresh XCP-ng host has, made at start. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http.h"

static X509 *make_cert(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	char san[160];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 24 * 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "IP:%s", cn);
	if (strspn(cn, "0123456789.:") != strlen(cn))
		snprintf(san, sizeof(san), "DNS:%s", cn);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, key, EVP_sha256());
	return x;
}

SSL_CTX *tls_server_ctx(const char *common_name, char *fingerprint, size_t fplen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *cert;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!ctx || !key) {
		fprintf(stderr, "xapi-sim: cannot set up TLS\n");
		return NULL;
	}
	cert = make_cert(key, common_name);
	SSL_CTX_use_certificate(ctx, cert);
	SSL_CTX_use_PrivateKey(ctx, key);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	X509_digest(cert, EVP_sha256(), md, &mdlen);
	if (fplen)
		fingerprint[0] = '\0';
	for (unsigned i = 0; i < mdlen && 2 * i + 3 <= fplen; i++)
		snprintf(fingerprint + 2 * i, 3, "%02x", md[i]);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ctx;
}
