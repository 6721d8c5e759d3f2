# make man, make rpm, make deb (included by the Makefile).
#
#   make man   build/man/xentui.1.gz from doc/xentui.1 (checked by groff first)
#   make rpm   build/xentui-VERSION-1.x86_64.rpm: the static binary, for XCP-ng 8.2/8.3
#   make deb   build/xentui_VERSION_ARCH.deb: the ordinary build, its dependencies
#              from dpkg-shlibdeps, checked by lintian

VERSION := $(shell sed -n 's/^\#define XENTUI_VERSION "\(.*\)"/\1/p' src/cli/main.c)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
# the tty1 unit, when contrib/ has it (packaged as is)
TTY1_UNIT = $(wildcard contrib/xentui-tty1.service)

.PHONY: man rpm deb
man: build/man/xentui.1.gz

build/man/xentui.1.gz: doc/xentui.1
	@mkdir -p $(dir $@)
	@LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z $< 2>build/man/groff.log; \
		if [ -s build/man/groff.log ]; then cat build/man/groff.log; rm -f $@; exit 1; fi
	gzip -9n <$< >$@

rpm: static man
	@command -v rpmbuild >/dev/null 2>&1 || sh scripts/install-deps
	rm -rf build/rpm && mkdir -p build/rpm/stage/themes
	cp build/xentui-static build/rpm/stage/xentui
	cp build/man/xentui.1.gz config/xentui.conf.example build/rpm/stage/
	cp themes/*.conf build/rpm/stage/themes/
	$(if $(TTY1_UNIT),cp $(TTY1_UNIT) build/rpm/stage/,@echo "rpm: contrib/xentui-tty1.service is not there yet: packaged without it")
	rpmbuild -bb --quiet --target x86_64 --define "_topdir $(CURDIR)/build/rpm" \
		--define "version $(VERSION)" --define "srcdir $(CURDIR)/build/rpm/stage" packaging/xentui.spec
	cp build/rpm/RPMS/x86_64/xentui-$(VERSION)-1.x86_64.rpm build/
	@echo build/xentui-$(VERSION)-1.x86_64.rpm

DEB_ROOT = build/deb/xentui
deb: all man
	@command -v lintian >/dev/null 2>&1 || sh scripts/install-deps
	rm -rf build/deb && mkdir -p $(DEB_ROOT)/DEBIAN $(DEB_ROOT)/usr/share/doc/xentui $(DEB_ROOT)/usr/share/xentui/themes
	install -D -s -m 755 build/xentui $(DEB_ROOT)/usr/bin/xentui
	install -D -m 644 build/man/xentui.1.gz $(DEB_ROOT)/usr/share/man/man1/xentui.1.gz
	install -m 644 themes/*.conf $(DEB_ROOT)/usr/share/xentui/themes/
	install -m 644 config/xentui.conf.example packaging/deb/copyright $(DEB_ROOT)/usr/share/doc/xentui/
	sed 's/@VERSION@/$(VERSION)/' packaging/deb/changelog | gzip -9n >$(DEB_ROOT)/usr/share/doc/xentui/changelog.gz
	$(if $(TTY1_UNIT),install -D -m 644 $(TTY1_UNIT) $(DEB_ROOT)/usr/lib/systemd/system/xentui-tty1.service,@true)
	@# dpkg-shlibdeps reads debian/control from where it runs: a minimal one
	mkdir -p build/deb/debian && printf 'Source: xentui\n\nPackage: xentui\nArchitecture: any\n' >build/deb/debian/control
	cd build/deb && dpkg-shlibdeps -O xentui/usr/bin/xentui | sed -n 's/^shlibs:Depends=//p' >depends
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' -e "s/@DEPENDS@/$$(cat build/deb/depends)/" \
		-e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" packaging/deb/control.in >$(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find usr -type f -exec md5sum {} + >DEBIAN/md5sums
	dpkg-deb --root-owner-group --build $(DEB_ROOT) build/xentui_$(VERSION)_$(DEB_ARCH).deb
	lintian --fail-on error build/xentui_$(VERSION)_$(DEB_ARCH).deb
