/* xapi-sim: a simulated XCP-ng pool that speaks the real XenAPI. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "gen.h"
#include "http.h"
#include "pool.h"
#include "rpc.h"
#include "schema.h"
#include "sessions.h"
#include "sim.h"
#include "util.h"

struct sim sim;

static void usage(FILE *f)
{
	fputs("usage: xapi-sim [--bind ADDR] [--port N] [--unix PATH] [--tls | --plain] [--user U --password P]\n"
	      "                [--hosts N] [--vms N] [--seed S] [--join-as-slave-of ADDR:PORT] [--faults SPEC]\n"
	      "  --bind ADDR     address to listen on (default 127.0.0.1), or unix:PATH (plain HTTP)\n"
	      "  --port N        port (default 0: any free port)\n"
	      "  --unix PATH     also listen on unix:PATH (plain HTTP, dom0's local socket:\n"
	      "                  logins there are root's without a password, as xapi's)\n"
	      "  --tls, --plain  HTTPS with a self-signed certificate (default), or HTTP\n"
	      "  --user, --password   the credentials logins must give (default root / xapi-sim)\n"
	      "  --hosts N       hosts in the pool (default 3)\n"
	      "  --vms N         guest VMs (default 20)\n"
	      "  --seed S        makes the pool the same every time (default 1)\n"
	      "  --join-as-slave-of ADDR:PORT  join that master's pool once listening\n"
	      "  --faults SPEC   inject faults for tests (see tests/sim/README.md)\n"
	      "  --rate-limit-mbit N  send at most N Mbit/s in all (a slow link to the pool)\n"
	      "Prints 'xapi-sim listening on URL' once ready; runs until killed.\n",
	      f);
}

static int parse_int(const char *s, const char *opt, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < min || v > max) {
		fprintf(stderr, "xapi-sim: %s wants a number from %ld to %ld, not '%s'\n", opt, min, max, s);
		exit(2);
	}
	return (int)v;
}

/* SIGUSR1 expires every session; SIGTERM and SIGINT end the process. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;

	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			sessions_expire_all();
			continue;
		}
		/* not exit(): library destructors would race the connection threads */
		_exit(0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bind", required_argument, NULL, 'b'},
		{"port", required_argument, NULL, 'p'},
		{"unix", required_argument, NULL, 'U'},
		{"tls", no_argument, NULL, 'T'},
		{"plain", no_argument, NULL, 'P'},
		{"user", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'w'},
		{"hosts", required_argument, NULL, 'H'},
		{"vms", required_argument, NULL, 'v'},
		{"seed", required_argument, NULL, 's'},
		{"join-as-slave-of", required_argument, NULL, 'j'},
		{"faults", required_argument, NULL, 'f'},
		{"rate-limit-mbit", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static sigset_t set;
	pthread_t sigth;
	char *err = NULL;
	const char *local_path = NULL; /* --unix */
	int port, c;

	sim.bind = "127.0.0.1";
	sim.tls = true;
	sim.hosts = 3;
	sim.vms = 20;
	sim.seed = 1;
	snprintf(sim.user, sizeof(sim.user), "root");
	snprintf(sim.password, sizeof(sim.password), "xapi-sim");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': sim.bind = optarg; break;
		case 'p': sim.port = parse_int(optarg, "--port", 0, 65535); break;
		case 'U': local_path = optarg; break;
		case 'T': sim.tls = true; break;
		case 'P': sim.tls = false; break;
		case 'u': snprintf(sim.user, sizeof(sim.user), "%s", optarg); break;
		case 'w': snprintf(sim.password, sizeof(sim.password), "%s", optarg); break;
		case 'H': sim.hosts = parse_int(optarg, "--hosts", 1, 1024); break;
		case 'v': sim.vms = parse_int(optarg, "--vms", 0, 100000); break;
		case 's': sim.seed = (uint64_t)strtoull(optarg, NULL, 10); break;
		case 'j': sim.join_as_slave_of = optarg; break;
		case 'f': sim.faults = optarg; break;
		case 'r': http_set_rate_limit(parse_int(optarg, "--rate-limit-mbit", 1, 100000)); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xapi-sim: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (sim.faults && !faults_parse(sim.faults, &err)) {
		fprintf(stderr, "xapi-sim: --faults: %s\n", err);
		free(err);
		return 2;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&sigth, NULL, signal_thread, &set);

	port = http_listen(sim.bind, sim.port);
	if (port < 0)
		return 1;
	sim.port = port;
	snprintf(sim.address, sizeof(sim.address), "%s", sim.bind);
	if (strncmp(sim.bind, "unix:", 5) == 0) {
		/* as on dom0: the socket is local, the host's address its IP */
		snprintf(sim.address, sizeof(sim.address), "127.0.0.1");
		snprintf(sim.url, sizeof(sim.url), "%s", sim.bind);
		sim.tls = false;
	} else if (strchr(sim.bind, ':'))
		snprintf(sim.url, sizeof(sim.url), "%s://[%s]:%d", sim.tls ? "https" : "http", sim.bind, port);
	else
		snprintf(sim.url, sizeof(sim.url), "%s://%s:%d", sim.tls ? "https" : "http", sim.bind, port);
	pool_reset_secret();
	schema_init();
	db_init(sim.seed);
	rpc_init();
	db_lock();
	gen_pool();
	db_unlock();
	if (sim.tls) {
		SSL_CTX *ctx = tls_server_ctx(sim.bind, sim.fingerprint, sizeof(sim.fingerprint));
		if (!ctx)
			return 1;
		http_set_tls(ctx);
		printf("xapi-sim fingerprint %s\n", sim.fingerprint);
	}
	if (local_path && !http_listen_local(local_path))
		return 1;
	printf("xapi-sim listening on %s\n", sim.url);
	if (local_path)
		printf("xapi-sim local socket unix:%s\n", local_path);
	fflush(stdout);
	if (sim.join_as_slave_of && !pool_join_at_start(sim.join_as_slave_of, &err)) {
		fprintf(stderr, "xapi-sim: %s\n", err);
		free(err);
		return 1;
	}
	http_serve();
	return 1;
}
