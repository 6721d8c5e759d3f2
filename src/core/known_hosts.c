#include "known_hosts.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cfgread.h"
#include "config.h"
#include "util.h"

static const char *const entry_keys[] = {"host", "sha256", NULL};

/* Every entry well formed, so that a typo never reads as "not known". */
static bool check_tree(config_t *cfg, const char *path, char **err)
{
	config_setting_t *root = config_root_setting(cfg), *hosts;

	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
		if (strcmp(config_setting_name(m), "hosts") != 0)
			return cfg_fail(err, path, m, "unknown setting '%s' (known_hosts holds only hosts = ( ... );)",
					config_setting_name(m));
	}
	hosts = config_lookup(cfg, "hosts");
	if (!hosts)
		return true;
	if (config_setting_type(hosts) != CONFIG_TYPE_LIST)
		return cfg_fail(err, path, hosts, "hosts must be a list: hosts = ( { host = \"...\"; sha256 = \"...\"; } );");
	for (int i = 0; i < config_setting_length(hosts); i++) {
		config_setting_t *e = config_setting_get_elem(hosts, (unsigned)i);
		const char *h = NULL, *fp = NULL;
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			return cfg_fail(err, path, e, "each host is a group: { host = \"h:443\"; sha256 = \"...\"; }");
		if (!cfg_check_keys(e, entry_keys, "known_hosts", path, err))
			return false;
		if (!config_setting_lookup_string(e, "host", &h) || !*h)
			return cfg_fail(err, path, e, "this entry has no host = \"name:port\";");
		if (!config_setting_lookup_string(e, "sha256", &fp) || strlen(fp) != 64
		    || strspn(fp, "0123456789abcdefABCDEF") != 64)
			return cfg_fail(err, path, e, "the entry for %s has no sha256 of 64 hex digits", h);
	}
	return true;
}

/* Reads path into cfg (initialised either way): an absent file is empty. */
static bool load(const char *path, config_t *cfg, char **err)
{
	struct stat st;

	config_init(cfg);
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return true;
		*err = xasprintf("%s: cannot read it: %s", path, strerror(errno));
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		*err = xasprintf("%s: known_hosts is a directory, not a file", path);
		return false;
	}
	if (config_read_file(cfg, path) != CONFIG_TRUE) {
		if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
			*err = xasprintf("%s: cannot read it: %s", path, strerror(errno));
		else
			*err = xasprintf("%s:%d: %s (fix or remove the line; until then no certificate is trusted)", path,
					 config_error_line(cfg), config_error_text(cfg));
		return false;
	}
	if (!check_tree(cfg, path, err)) {
		char *e = xasprintf("%s (fix or remove the entry; until then no certificate is trusted)", *err);
		free(*err);
		*err = e;
		return false;
	}
	return true;
}

int known_hosts_find(const char *path, const char *hostport, char out[65], char **err)
{
	config_t cfg;
	config_setting_t *hosts;
	int found = 0;

	if (!path)
		return 0;
	if (!load(path, &cfg, err)) {
		config_destroy(&cfg);
		return -1;
	}
	hosts = config_lookup(&cfg, "hosts");
	for (int i = 0; hosts && i < config_setting_length(hosts); i++) {
		config_setting_t *e = config_setting_get_elem(hosts, (unsigned)i);
		const char *h = NULL, *fp = NULL;
		if (config_setting_lookup_string(e, "host", &h) && config_setting_lookup_string(e, "sha256", &fp)
		    && strcmp(h, hostport) == 0) {
			for (int k = 0; k < 65; k++)
				out[k] = (char)tolower((unsigned char)fp[k]);
			found = 1;
		}
	}
	config_destroy(&cfg);
	return found;
}

bool known_hosts_lookup(const char *path, const char *hostport, char out[65])
{
	char *err = NULL;
	int r = known_hosts_find(path, hostport, out, &err);

	free(err);
	return r == 1;
}

bool known_hosts_check(const char *path, char **err)
{
	config_t cfg;
	bool ok;

	if (!path)
		return true;
	ok = load(path, &cfg, err);
	config_destroy(&cfg);
	return ok;
}

bool known_hosts_add(const char *path, const char *hostport, const char *sha256, char **err)
{
	config_t cfg;
	config_setting_t *hosts, *e;
	bool ok;

	if (!load(path, &cfg, err)) {
		char *e2 = xasprintf("the certificate was not saved: %s", *err);
		free(*err);
		*err = e2;
		config_destroy(&cfg);
		return false;
	}
	hosts = config_lookup(&cfg, "hosts");
	if (!hosts)
		hosts = config_setting_add(config_root_setting(&cfg), "hosts", CONFIG_TYPE_LIST);
	for (int i = config_setting_length(hosts) - 1; i >= 0; i--) {
		const char *h = NULL;
		e = config_setting_get_elem(hosts, (unsigned)i);
		if (config_setting_lookup_string(e, "host", &h) && strcmp(h, hostport) == 0)
			config_setting_remove_elem(hosts, (unsigned)i);
	}
	e = config_setting_add(hosts, NULL, CONFIG_TYPE_GROUP);
	config_setting_set_string(config_setting_add(e, "host", CONFIG_TYPE_STRING), hostport);
	config_setting_set_string(config_setting_add(e, "sha256", CONFIG_TYPE_STRING), sha256);
	/* atomic_write makes the file 0600 from its first byte */
	ok = config_write_atomic(&cfg, path, err);
	if (!ok) {
		char *e2 = xasprintf("the certificate was not saved: %s", *err);
		free(*err);
		*err = e2;
	}
	config_destroy(&cfg);
	return ok;
}

bool cert_pem_sha256(const char *pem, char out[65])
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	bool ok = cert && X509_digest(cert, EVP_sha256(), md, &len) && len == 32;

	for (unsigned i = 0; ok && i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	X509_free(cert);
	BIO_free(bio);
	return ok;
}
