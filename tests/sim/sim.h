/* xapi-sim's global settings and role, shared by its parts. */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

struct sim {
	/* from the command line */
	const char *bind;
	int port;
	bool tls;
	char user[128];
	char password[256];
	int hosts;
	int vms;
	uint64_t seed;
	const char *join_as_slave_of;
	const char *faults;

	/* run time */
	char address[128];      /* what this host answers to: the bind address */
	char url[192];          /* https://127.0.0.1:PORT */
	char fingerprint[100];  /* SHA-256 of the certificate, hex with colons */
	bool is_slave;          /* a pool member: logins get HOST_IS_SLAVE */
	char master_address[128];
	int master_port;
	struct obj *local_host; /* the host record this process stands for */
	char pool_secret[64];
};

extern struct sim sim;

#endif
