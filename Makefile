# xentui: a keyboard-only terminal client for XCP-ng / XenServer pools.
#
#   make            build/xentui and build/xapi-sim (optimised)
#   make check      unit, simulator and screen tests under ASan + UBSan
#   make demo       xentui on a simulated pool
#   make bench      benchmarks (print tables)
#   make fuzz       longer libFuzzer runs
#   make install PREFIX=/usr/local
#   make static     build/xentui-static (musl, for dom0); check-static tests it
#   make man | rpm | deb   the man page and the packages

PREFIX ?= /usr/local
CC ?= cc
PYTHON ?= python3

PKGS_CORE = libxml-2.0 libcurl libssl libcrypto libconfig zlib libvncclient json-c yajl libzstd libbrotlidec libbrotlienc libnfs smbclient libxxhash libmicrohttpd libnbd
PKGS_UI = ncursesw
# the client's link: libsmbclient (and Samba's ~90 libraries) is dlopen()ed
# at an smb:// repository's first use, not at every start (src/backup/smbclient_dl.c)
PKGS_LINK = $(filter-out smbclient,$(PKGS_CORE)) $(PKGS_UI)
PKGS_SIM = libxml-2.0 libssl libcrypto libvncserver json-c libxxhash zlib libcurl libzstd
PKGS_TEST = cmocka vterm
ALL_PKGS = $(sort $(PKGS_CORE) $(PKGS_UI) $(PKGS_SIM) $(PKGS_TEST))

# Recursive (=) so pkg-config runs after install-deps has had its chance.
pc_cflags = $(shell pkg-config --cflags $(1))
pc_libs = $(shell pkg-config --libs $(1))

WARN = -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE -g $(WARN) -Isrc -Isrc/core -Isrc/console -Isrc/backup -Isrc/metrics -Isrc/cli -Itests/sim -Ibuild/gen
OPT_CFLAGS = -O2
SAN_FLAGS = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# shared with the simulator: values, codecs, small utilities, the console font
CORE_SRC = src/core/util.c src/core/value.c src/core/xmlrpc.c src/core/strpool.c src/core/hmap.c \
	src/core/json.c src/console/psf.c
# the client's subsystems (no ncurses), shared with its unit tests: src/core,
# src/console, src/backup (see ../shared/DESIGN.md's layout)
CLIENT_CORE_SRC = src/core/loop.c src/core/net.c src/core/xapi.c src/core/jsonrpc.c src/core/memtune.c src/core/cache.c src/core/config.c \
	src/core/known_hosts.c src/core/secret.c src/core/sanitize.c src/core/errors.c src/core/ops.c \
	src/core/log.c src/core/pools.c src/core/upload.c src/core/atomicfile.c src/core/cfgread.c src/core/cfgedit.c src/core/inventory.c src/console/fbtext.c src/console/vnc.c src/console/keymap.c \
	src/cli/list.c $(wildcard src/backup/*.c) $(wildcard src/metrics/*.c)
# the command line (src/cli: main assembles the program)
CLIENT_SRC = src/cli/main.c src/cli/demo.c src/cli/connopts.c src/cli/backup.c src/cli/vmfile.c src/cli/metrics.c
# the terminal interface (ncursesw): widgets in src/ui, one file per screen in screens/
UI_SRC = $(wildcard src/ui/*.c) $(wildcard screens/*.c)
UI_OBJ_DIRS = build/obj/src/ui build/obj/screens build/san/src/ui build/san/screens
$(addsuffix /%.o,$(UI_OBJ_DIRS)): BASE_CFLAGS += -Isrc/ui -Iscreens
SIM_SRC = $(wildcard tests/sim/*.c) build/gen/api_data.c
UNIT_TESTS = $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

.PHONY: all deps check check-build check-xml demo bench fuzz install clean
all: deps
	@$(MAKE) --no-print-directory build/xentui build/xapi-sim

# Installs whatever Debian packages are missing (needs root; says so if not).
deps:
	@pkg-config --exists $(ALL_PKGS) 2>/dev/null && command -v $(PYTHON) node npm xmllint tmux clang qemu-system-x86_64 qemu-img smbd ganesha.nfsd promtool iptables >/dev/null 2>&1 \
		&& test -d /usr/lib/python3/dist-packages/aiosmtpd \
		&& test -f /usr/share/consolefonts/default8x16.psf.gz \
		&& test -d /usr/share/qemu/keymaps && test -x /bin/busybox && command -v setfont cpio >/dev/null 2>&1 \
		&& ls /boot/vmlinuz-* >/dev/null 2>&1 \
		&& test -d tests/servers/s3/node_modules \
		|| sh scripts/install-deps

build/gen/api_data.c: scripts/embed-api.py $(wildcard tests/sim/api/*.tsv)
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/embed-api.py tests/sim/api $@

# The console fonts the recogniser knows, from Debian's font packages and kernel image.
build/gen/fonts_data.h: scripts/embed-fonts.py
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/embed-fonts.py $@
build/obj/src/console/fbtext.o build/san/src/console/fbtext.o: build/gen/fonts_data.h

# ---- optimised build --------------------------------------------------
build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $(call pc_cflags,$(ALL_PKGS)) -MMD -MP -c $< -o $@

build/xentui: $(patsubst %.c,build/obj/%.o,$(CORE_SRC) $(CLIENT_CORE_SRC) $(CLIENT_SRC) $(UI_SRC))
	$(CC) -o $@ $^ $(call pc_libs,$(PKGS_LINK)) -lpthread -lm

build/xapi-sim: $(patsubst %.c,build/obj/%.o,$(CORE_SRC) $(SIM_SRC))
	$(CC) -o $@ $^ $(call pc_libs,$(PKGS_SIM)) -lpthread -lm

# ---- sanitised build (make check) -------------------------------------
build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(call pc_cflags,$(ALL_PKGS)) -MMD -MP -c $< -o $@

build/san/xentui: $(patsubst %.c,build/san/%.o,$(CORE_SRC) $(CLIENT_CORE_SRC) $(CLIENT_SRC) $(UI_SRC))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc_libs,$(PKGS_LINK)) -lpthread -lm

build/san/xapi-sim: $(patsubst %.c,build/san/%.o,$(CORE_SRC) $(SIM_SRC))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc_libs,$(PKGS_SIM)) -lpthread -lm

build/san/unit/%: build/san/tests/unit/%.o build/san/tests/unit/simproc.o $(patsubst %.c,build/san/%.o,$(CORE_SRC) $(CLIENT_CORE_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc_libs,$(PKGS_CORE) cmocka) -lpthread -lm

# The console test runs tests/sim/console.c against a libvncclient viewer
# (a static pattern rule, so it wins over build/san/unit/%).
build/san/unit/test_sim_console: build/san/unit/%: build/san/tests/unit/%.o build/san/tests/sim/console.o $(patsubst %.c,build/san/%.o,$(CORE_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc_libs,$(PKGS_CORE) cmocka libvncserver libvncclient zlib) -lpthread -lm

# The recogniser's test reads the same console end to end (as above).
build/san/unit/test_fbtext: build/san/unit/%: build/san/tests/unit/%.o build/san/tests/sim/console.o $(patsubst %.c,build/san/%.o,$(CORE_SRC) src/console/fbtext.c)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc_libs,$(PKGS_CORE) cmocka libvncserver libvncclient zlib) -lpthread -lm

# The console session's test runs against the same simulated console.
build/san/unit/test_vnc: build/san/unit/%: build/san/tests/unit/%.o build/san/tests/sim/console.o $(patsubst %.c,build/san/%.o,$(CORE_SRC) src/console/fbtext.c src/console/vnc.c src/console/keymap.c src/core/net.c src/core/loop.c)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $(sort $^) $(call pc_libs,$(PKGS_CORE) cmocka libvncserver libvncclient zlib) -lpthread -lm

# The size parser lives in src/ui but needs no ncurses: linked on its own.
build/san/unit/test_units: build/san/unit/%: build/san/tests/unit/%.o build/san/src/ui/units.o $(patsubst %.c,build/san/%.o,$(CORE_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc_libs,$(PKGS_CORE) cmocka) -lpthread -lm

# The graph widget is text only (no ncurses): linked on its own as well.
build/san/unit/test_graph: build/san/unit/%: build/san/tests/unit/%.o build/san/src/ui/graph.o $(patsubst %.c,build/san/%.o,$(CORE_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(call pc_libs,$(PKGS_CORE) cmocka) -lpthread -lm

check-build: build/san/xentui build/san/xapi-sim build/xapi-sim $(addprefix build/san/unit/,$(UNIT_TESTS))

check: deps
	@$(MAKE) --no-print-directory check-build
	@sh tests/run-all

# Every test again with the client speaking XML-RPC only (make check runs a
# subset so, beside the whole over JSON-RPC: see tests/run-all).
check-xml: deps
	@$(MAKE) --no-print-directory check-build
	@XENTUI_TRANSPORT=xml sh tests/run-all

demo: deps
	@$(MAKE) --no-print-directory build/xentui build/xapi-sim
	./build/xentui --demo

build/bench_decode: build/obj/bench/bench_decode.o $(patsubst %.c,build/obj/%.o,$(CORE_SRC))
	$(CC) -o $@ $^ $(call pc_libs,$(PKGS_CORE)) -lm

build/bench_fbtext: build/obj/bench/bench_fbtext.o $(patsubst %.c,build/obj/%.o,$(CORE_SRC) src/console/fbtext.c)
	$(CC) -o $@ $^ $(call pc_libs,$(PKGS_CORE)) -lm

build/bench_idle: build/obj/bench/bench_idle.o $(patsubst %.c,build/obj/%.o,$(CORE_SRC) $(CLIENT_CORE_SRC))
	$(CC) -o $@ $^ $(call pc_libs,$(PKGS_CORE)) -lm

bench: deps
	@$(MAKE) --no-print-directory build/xentui build/xapi-sim build/bench_decode build/bench_idle build/bench_fbtext
	@sh bench/run-all

fuzz: deps
	@sh tests/fuzz/run $${FUZZ_SECONDS:-300}

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/xentui/themes
	install -m 755 build/xentui $(DESTDIR)$(PREFIX)/bin/xentui
	install -m 755 build/xapi-sim $(DESTDIR)$(PREFIX)/bin/xapi-sim
	-install -m 644 themes/*.conf $(DESTDIR)$(PREFIX)/share/xentui/themes/

clean:
	rm -rf build

# make static, check-static (scripts/static/) and make man, rpm, deb (packaging/)
include scripts/static/static.mk packaging/packaging.mk

-include $(shell find build -name '*.d' 2>/dev/null)
