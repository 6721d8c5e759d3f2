/* `xentui list hosts|vms|srs|networks|tasks [--json]`: load the pool, print
 * one table (or a JSON array), exit. The scriptable face of xentui. */
#include "list.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "cache.h"
#include "json.h"
#include "metrics.h"
#include "openmetrics.h"
#include "sanitize.h"
#include "util.h"

struct col {
	const char *title;
	char **cells;
};

struct table {
	struct col cols[10];
	int ncols;
	size_t nrows, cap;
	struct buf json;
	bool as_json;
	const struct cache *cache;
};

/* A text table cuts a cell to this many columns (a 10,000-character name
 * would push every column off the screen); --wide keeps whole cells. */
#define CELL_MAX 40
static bool wide;
/* performance data for the CPU and memory columns, or NULL */
static const struct metrics *perf;

void list_set_wide(bool on)
{
	wide = on;
}

void list_set_metrics(const struct metrics *m)
{
	perf = m;
}

/* "12.3%" and its JSON number (a ratio), or "" and null when not known. */
static struct xv *cpu_cell(char *out, size_t n, bool known, double ratio)
{
	if (!known) {
		snprintf(out, n, "%s", "");
		return xv_nil();
	}
	snprintf(out, n, "%.1f%%", ratio * 100);
	return xv_double(ratio);
}

static void human_size(char *out, size_t n, long long bytes)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%lld B", bytes);
	else
		snprintf(out, n, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* One row: pairs of (title, value) for the table, and the same as JSON
 * members; json_num marks values that are numbers in JSON. */
struct cell {
	const char *title;
	const char *key; /* JSON member */
	const char *text;
	const struct xv *json; /* when set, written as JSON instead of text */
};

/* The length of s when it is printable ASCII only (names, states, sizes,
 * uuids: nearly every cell), else -1: such text is its own sanitised form
 * and as wide as it is long, without decoding it a code point at a time. */
static int plain_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (; p[n]; n++)
		if (p[n] < 0x20 || p[n] > 0x7E)
			return -1;
	return n <= INT_MAX ? (int)n : -1;
}

static int cell_width(const char *s)
{
	int n = plain_len(s);

	return n >= 0 ? n : text_width(s);
}

static void add_row(struct table *t, const struct cell *cells, int n)
{
	if (t->as_json) {
		buf_puts(&t->json, t->nrows ? ",\n  {" : "\n  {");
		for (int i = 0; i < n; i++) {
			if (i)
				buf_putc(&t->json, ',');
			json_encode_string_safe(&t->json, cells[i].key, strlen(cells[i].key));
			buf_putc(&t->json, ':');
			/* names come from the pool: nothing in them may drive a terminal */
			if (cells[i].json)
				json_encode_value_safe(&t->json, cells[i].json);
			else
				json_encode_string_safe(&t->json, cells[i].text, strlen(cells[i].text));
		}
		buf_putc(&t->json, '}');
		t->nrows++;
		return;
	}
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		for (int i = 0; i < 10; i++)
			t->cols[i].cells = xrealloc(t->cols[i].cells, t->cap * sizeof(char *));
	}
	t->ncols = 0;
	for (int i = 0; i < n; i++) {
		if (!cells[i].title)
			continue; /* JSON only */
		t->cols[t->ncols].title = cells[i].title;
		/* names come from the pool: never let them drive the terminal */
		const char *text = cells[i].text ? cells[i].text : "";
		int len = plain_len(text);
		char *safe = len >= 0 ? xstrndup(text, (size_t)len) : sanitize(text);
		if (!wide && (len >= 0 ? len : text_width(safe)) > CELL_MAX) {
			char *cut = text_truncate(safe, CELL_MAX, 0);
			free(safe);
			safe = cut;
		}
		t->cols[t->ncols++].cells[t->nrows] = safe;
	}
	t->nrows++;
}

/* A question on the terminal, answered in view: unlike the password prompt
 * (secret_prompt) the answer echoes. Each line of the question is shown
 * sanitised (it may quote a URL or a server's words). */
bool list_ask_yes(const char *question)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, ask;
	bool have_termios;
	char line[256];
	size_t n = 0;
	char ch;
	const char *q = question;

	if (fd < 0)
		return false; /* no terminal to ask on: the answer is no */
	while (*q) {
		const char *nl = strchr(q, '\n');
		char *part = nl ? xstrndup(q, (size_t)(nl - q)) : xstrdup(q);
		char *safe = sanitize(part);
		if (write(fd, safe, strlen(safe)) < 0 || (nl && write(fd, "\n", 1) < 0))
			n = 0; /* nothing to do: the answer is read anyway */
		free(safe);
		free(part);
		q = nl ? nl + 1 : q + strlen(q);
	}
	have_termios = tcgetattr(fd, &old) == 0;
	if (have_termios) {
		ask = old;
		ask.c_lflag |= ECHO | ICANON;
		tcsetattr(fd, TCSAFLUSH, &ask);
	}
	while (n + 1 < sizeof(line) && read(fd, &ch, 1) == 1 && ch != '\n' && ch != '\r')
		line[n++] = ch;
	line[n] = '\0';
	if (have_termios)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	return line[0] == 'y' || line[0] == 'Y';
}

static const struct table *sort_table; /* for qsort's comparator */

static int cmp_rows(const void *a, const void *b)
{
	size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
	int c = strcasecmp(sort_table->cols[0].cells[ra], sort_table->cols[0].cells[rb]);

	return c ? c : (ra > rb) - (ra < rb);
}

static void pad_to(struct buf *b, int n)
{
	static const char spaces[] = "                                ";

	for (; n > 0; n -= (int)sizeof(spaces) - 1)
		buf_append(b, spaces, n < (int)sizeof(spaces) - 1 ? (size_t)n : sizeof(spaces) - 1);
}

/* Rows built in a buffer written 64 KiB at a time: 5,000 rows of fprintf
 * per cell cost more than the sort, and the whole text at once costs RSS. */
static void print_table(struct table *t, FILE *f)
{
	int width[10] = {0};
	size_t n = t->nrows ? t->nrows : 1;
	size_t *order = xcalloc(n, sizeof(*order));
	/* each cell's width, measured once */
	uint16_t *cw = xcalloc(n * (size_t)(t->ncols ? t->ncols : 1), sizeof(*cw));
	struct buf b;

	for (size_t r = 0; r < t->nrows; r++)
		order[r] = r;
	/* sort by the first column, case-insensitively */
	sort_table = t;
	qsort(order, t->nrows, sizeof(*order), cmp_rows);
	for (int c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->cols[c].title);
		for (size_t r = 0; r < t->nrows; r++) {
			int w = cell_width(t->cols[c].cells[r]);
			cw[r * (size_t)t->ncols + (size_t)c] = (uint16_t)(w > UINT16_MAX ? UINT16_MAX : w);
			if (w > width[c])
				width[c] = w;
		}
	}
	buf_init(&b);
	for (int c = 0; c < t->ncols; c++) {
		if (c)
			buf_append(&b, "  ", 2);
		buf_puts(&b, t->cols[c].title);
		if (c != t->ncols - 1)
			pad_to(&b, width[c] - text_width(t->cols[c].title));
	}
	buf_putc(&b, '\n');
	for (size_t i = 0; i < t->nrows; i++) {
		size_t r = order[i];
		for (int c = 0; c < t->ncols; c++) {
			if (c)
				buf_append(&b, "  ", 2);
			buf_puts(&b, t->cols[c].cells[r]);
			if (c != t->ncols - 1)
				pad_to(&b, width[c] - cw[r * (size_t)t->ncols + (size_t)c]);
		}
		buf_putc(&b, '\n');
		if (b.len >= (64u << 10)) {
			fwrite(b.data, 1, b.len, f);
			buf_reset(&b);
		}
	}
	if (b.len)
		fwrite(b.data, 1, b.len, f);
	buf_free(&b);
	free(cw);
	free(order);
}

static void table_free(struct table *t)
{
	for (int c = 0; c < 10; c++) {
		for (size_t r = 0; c < t->ncols && r < t->nrows; r++)
			free(t->cols[c].cells[r]);
		free(t->cols[c].cells);
	}
	buf_free(&t->json);
}

/* ---- rows of each kind --------------------------------------------------- */

static const char *name_of(const struct cache *c, const char *ref)
{
	const struct xv *r = cache_get(c, ref);

	return r ? rec_str(r, "name_label") : "";
}

static bool host_row(const char *ref, const struct xv *h, void *ud)
{
	struct table *t = ud;
	const struct xv *m = cache_get(t->cache, rec_str(h, "metrics"));
	const struct xv *vms = rec_field(h, "resident_VMs");
	long long total = rec_int(m, "memory_total"), free_mem = rec_int(m, "memory_free");
	char cpus[16], mem[80], nvm[16], totals[32], useds[32];
	int guests = 0;
	const char *state = !m || !rec_bool(m, "live") ? "offline" : rec_bool(h, "enabled") ? "enabled" : "disabled";
	struct xv *jcpus, *jtotal, *jfree, *jvms;

	for (size_t i = 0; i < xv_len(vms); i++) {
		const struct xv *vm = cache_get(t->cache, xv_str(xv_at(vms, i)));
		if (vm && !rec_bool(vm, "is_control_domain"))
			guests++;
	}
	snprintf(cpus, sizeof(cpus), "%zu", xv_len(rec_field(h, "host_CPUs")));
	human_size(totals, sizeof(totals), total);
	human_size(useds, sizeof(useds), total - free_mem);
	snprintf(mem, sizeof(mem), "%s / %s", useds, totals);
	snprintf(nvm, sizeof(nvm), "%d", guests);
	jcpus = xv_int((long long)xv_len(rec_field(h, "host_CPUs")));
	jtotal = xv_int(total);
	jfree = xv_int(free_mem);
	jvms = xv_int(guests);
	{
		/* xcp-rrdd's view, when asked for: the average over the cores, and memory in use */
		double cpu = 0, tot_kib = 0, free_kib = 0;
		bool cpu_known = perf && metrics_last(perf, rec_str(h, "uuid"), "cpu_avg", &cpu, NULL);
		bool mem_known = perf && metrics_last(perf, rec_str(h, "uuid"), "memory_total_kib", &tot_kib, NULL)
				 && metrics_last(perf, rec_str(h, "uuid"), "memory_free_kib", &free_kib, NULL);
		char cpuc[16], usedc[32];
		struct xv *jcpu = cpu_cell(cpuc, sizeof(cpuc), cpu_known, cpu);
		struct xv *jused = mem_known ? xv_int((long long)((tot_kib - free_kib) * 1024)) : xv_nil();
		if (mem_known)
			human_size(usedc, sizeof(usedc), (long long)((tot_kib - free_kib) * 1024));
		else
			usedc[0] = '\0';
		struct cell cells[] = {
			{"NAME", "name", rec_str(h, "name_label"), NULL},
			{"ADDRESS", "address", rec_str(h, "address"), NULL},
			{"STATE", "state", state, NULL},
			{"CPUS", "cpus", cpus, jcpus},
			{"CPU", "cpu_usage", cpuc, jcpu},
			{"MEMORY", "memory_total", mem, jtotal},
			{"MEM USED", "memory_used", usedc, jused},
			{"VMS", "vms", nvm, jvms},
			{"UUID", "uuid", rec_str(h, "uuid"), NULL},
			{NULL, "memory_free", "", jfree},
			{NULL, "ref", ref, NULL},
		};
		add_row(t, cells, 11);
		xv_free(jcpu);
		xv_free(jused);
	}
	xv_free(jcpus);
	xv_free(jtotal);
	xv_free(jfree);
	xv_free(jvms);
	return true;
}

static const char *vm_ip(const struct cache *c, const struct xv *vm)
{
	const struct xv *g = cache_get(c, rec_str(vm, "guest_metrics"));
	const char *ip = rec_map(g, "networks", "0/ip");

	if (!ip)
		ip = rec_map(g, "networks", "0/ipv4/0");
	return ip ? ip : "";
}

static bool vm_row(const char *ref, const struct xv *vm, void *ud)
{
	struct table *t = ud;
	char vcpus[16], mem[32];
	const char *host;
	struct xv *jv, *jm;

	if (rec_bool(vm, "is_a_template") || rec_bool(vm, "is_a_snapshot") || rec_bool(vm, "is_control_domain"))
		return true;
	host = name_of(t->cache, rec_str(vm, "resident_on"));
	snprintf(vcpus, sizeof(vcpus), "%lld", rec_int(vm, "VCPUs_at_startup"));
	human_size(mem, sizeof(mem), rec_int(vm, "memory_dynamic_max"));
	jv = xv_int(rec_int(vm, "VCPUs_at_startup"));
	jm = xv_int(rec_int(vm, "memory_dynamic_max"));
	{
		/* xcp-rrdd's view: CPU as XO computes it, memory the guest uses (memory less its free) */
		const char *uuid = rec_str(vm, "uuid");
		double cpu = 0, actual = 0, free_kib = 0;
		bool cpu_known = perf && om_vm_cpu_usage(perf, uuid, &cpu, NULL);
		bool mem_known = perf && metrics_last(perf, uuid, "memory", &actual, NULL)
				 && metrics_last(perf, uuid, "memory_internal_free", &free_kib, NULL);
		long long used = mem_known ? (long long)(actual - free_kib * 1024) : 0;
		char cpuc[16], usedc[32];
		struct xv *jcpu = cpu_cell(cpuc, sizeof(cpuc), cpu_known, cpu);
		struct xv *jused = mem_known ? xv_int(used) : xv_nil();
		if (mem_known)
			human_size(usedc, sizeof(usedc), used);
		else
			usedc[0] = '\0';
		struct cell cells[] = {
			{"NAME", "name", rec_str(vm, "name_label"), NULL},
			{"POWER", "power_state", rec_str(vm, "power_state"), NULL},
			{"HOST", "host", host, NULL},
			{"VCPUS", "vcpus", vcpus, jv},
			{"CPU", "cpu_usage", cpuc, jcpu},
			{"MEMORY", "memory", mem, jm},
			{"MEM USED", "memory_used", usedc, jused},
			{"IP", "ip", vm_ip(t->cache, vm), NULL},
			{"UUID", "uuid", rec_str(vm, "uuid"), NULL},
		};
		add_row(t, cells, 9);
		xv_free(jcpu);
		xv_free(jused);
	}
	xv_free(jv);
	xv_free(jm);
	return true;
}

static bool sr_row(const char *ref, const struct xv *sr, void *ud)
{
	struct table *t = ud;
	char size[32], used[32];
	struct xv *js = xv_int(rec_int(sr, "physical_size")), *ju = xv_int(rec_int(sr, "physical_utilisation"));
	struct xv *jsh = xv_bool(rec_bool(sr, "shared"));

	human_size(size, sizeof(size), rec_int(sr, "physical_size"));
	human_size(used, sizeof(used), rec_int(sr, "physical_utilisation"));
	{
		struct cell cells[] = {
			{"NAME", "name", rec_str(sr, "name_label"), NULL},
			{"TYPE", "type", rec_str(sr, "type"), NULL},
			{"SHARED", "shared", rec_bool(sr, "shared") ? "yes" : "no", jsh},
			{"SIZE", "size", size, js},
			{"USED", "used", used, ju},
			{"UUID", "uuid", rec_str(sr, "uuid"), NULL},
		};
		add_row(t, cells, 6);
	}
	xv_free(js);
	xv_free(ju);
	xv_free(jsh);
	return true;
}

static bool network_row(const char *ref, const struct xv *n, void *ud)
{
	struct table *t = ud;
	char mtu[16], pifs[16];
	struct xv *jm = xv_int(rec_int(n, "MTU")), *jp = xv_int((long long)xv_len(rec_field(n, "PIFs")));

	snprintf(mtu, sizeof(mtu), "%lld", rec_int(n, "MTU"));
	snprintf(pifs, sizeof(pifs), "%zu", xv_len(rec_field(n, "PIFs")));
	{
		struct cell cells[] = {
			{"NAME", "name", rec_str(n, "name_label"), NULL},
			{"BRIDGE", "bridge", rec_str(n, "bridge"), NULL},
			{"MTU", "mtu", mtu, jm},
			{"NICS", "pifs", pifs, jp},
			{"UUID", "uuid", rec_str(n, "uuid"), NULL},
		};
		add_row(t, cells, 5);
	}
	xv_free(jm);
	xv_free(jp);
	return true;
}

static bool task_row(const char *ref, const struct xv *task, void *ud)
{
	struct table *t = ud;
	char pct[16];
	struct xv *jp = xv_double(rec_float(task, "progress"));

	snprintf(pct, sizeof(pct), "%.0f%%", rec_float(task, "progress") * 100);
	{
		struct cell cells[] = {
			{"NAME", "name", rec_str(task, "name_label"), NULL},
			{"STATUS", "status", rec_str(task, "status"), NULL},
			{"PROGRESS", "progress", pct, jp},
			{"CREATED", "created", rec_str(task, "created"), NULL},
			{"UUID", "uuid", rec_str(task, "uuid"), NULL},
		};
		add_row(t, cells, 5);
	}
	xv_free(jp);
	return true;
}

static const struct kind {
	const char *name;
	const char *cls;
	bool (*row)(const char *ref, const struct xv *rec, void *ud);
} kinds[] = {
	{"hosts", "host", host_row}, {"vms", "VM", vm_row}, {"srs", "SR", sr_row},
	{"networks", "network", network_row}, {"tasks", "task", task_row},
};

bool list_kind_valid(const char *kind)
{
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i].name, kind) == 0)
			return true;
	return false;
}

void list_print(const struct cache *c, const char *kind, bool as_json, FILE *f)
{
	struct table t;

	memset(&t, 0, sizeof(t));
	t.as_json = as_json;
	t.cache = c;
	buf_init(&t.json);
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i].name, kind) == 0)
			cache_each(c, kinds[i].cls, kinds[i].row, &t);
	if (as_json)
		fprintf(f, "[%s%s]\n", t.json.data ? t.json.data : "", t.nrows ? "\n" : "");
	else
		print_table(&t, f);
	table_free(&t);
}
