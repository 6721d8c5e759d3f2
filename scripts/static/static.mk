# make static: build/xentui-static, one binary linked with musl for XCP-ng's dom0
# (glibc 2.17, nothing installable). Included by the Makefile; the libraries come
# from scripts/static/deps (Debian sources, pinned, built once into a cache).
#
#   make static         the libraries if not cached, then build/xentui-static (stripped)
#   make check-static   that, then tests/static (a chroot jail, the packages)

STATIC_PREFIX := $(shell sh scripts/static/deps --prefix)
# the client's libraries less libnfs, libsmbclient and libnbd (see scripts/static/pins)
STATIC_PKGS = $(filter-out libnfs smbclient libnbd,$(PKGS_CORE)) $(PKGS_UI)
static_pc = $(shell PKG_CONFIG_LIBDIR=$(STATIC_PREFIX)/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static $(1) $(STATIC_PKGS))
STATIC_SRC = $(filter-out src/backup/repo_nfs.c src/backup/repo_smb.c src/backup/nbd.c,$(CORE_SRC) $(CLIENT_CORE_SRC) $(CLIENT_SRC) $(UI_SRC)) \
	scripts/static/repo_none.c scripts/static/nbd_none.c
STATIC_OBJ = $(patsubst %.c,build/static/%.o,$(STATIC_SRC))
# the kernel's headers, which musl-gcc leaves out (the cache links them); what
# glibc has and musl lacks (compat/musl.h); -Os finds truncations -O2 does not: said, not fatal
STATIC_CFLAGS = -Wno-error=format-truncation -Os -ffunction-sections -fdata-sections -DXENTUI_STATIC -idirafter $(STATIC_PREFIX)/kinc \
	-include scripts/static/compat/musl.h

.PHONY: static static-deps check-static
static-deps:
	@command -v musl-gcc >/dev/null 2>&1 || sh scripts/install-deps
	@nice -n 10 sh scripts/static/deps >/dev/null

static: static-deps
	@$(MAKE) --no-print-directory build/xentui-static

build/static/%.o: %.c
	@mkdir -p $(dir $@)
	musl-gcc $(BASE_CFLAGS) $(STATIC_CFLAGS) $(call static_pc,--cflags) -MMD -MP -c $< -o $@
build/static/src/ui/%.o build/static/screens/%.o: BASE_CFLAGS += -Isrc/ui -Iscreens
build/static/scripts/static/%.o: BASE_CFLAGS += -Isrc/backup
build/static/src/console/fbtext.o: build/gen/fonts_data.h

# linked again when a library of the cache is rebuilt
build/xentui-static: $(STATIC_OBJ) $(wildcard $(STATIC_PREFIX)/lib/*.a)
	musl-gcc -static -s -Wl,--gc-sections -o $@ $(STATIC_OBJ) $(call static_pc,--libs) -lpthread -lm
	@ls -l $@

check-static: static build/xapi-sim
	@$(MAKE) --no-print-directory man rpm deb
	@$(PYTHON) tests/static/test_static_jail.py
	@$(PYTHON) tests/static/test_packages.py
