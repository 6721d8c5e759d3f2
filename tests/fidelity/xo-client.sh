#!/bin/sh
# Xen Orchestra's own XenAPI client, the npm package xen-api (the exact
# version pinned in tests/fidelity/package.json), against xapi-sim over TLS:
# once with its default transport (JSON-RPC on /jsonrpc, XML-RPC on /xmlrpc
# as the fallback) and once forced to XML-RPC. The package is installed into
# build/fidelity/xo (never into the source tree) and reused while the pin
# is unchanged. TAP output.
cd "$(dirname "$0")/../.." || exit 1
SIM=${XAPI_SIM:-build/san/xapi-sim}
DIR=build/fidelity/xo
TMP=$(mktemp -d)
n=0
failed=0
pid=

tap() { # tap STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

finish() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		# bounded wait for the sim to exit
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
		if grep -E 'Sanitizer|runtime error' "$TMP/sim.err" >/dev/null 2>&1; then
			tap 1 "xapi-sim stderr has no sanitizer report"
			grep -E -A20 'Sanitizer|runtime error' "$TMP/sim.err" | head -40 | sed 's/^/# /'
		else
			tap 0 "xapi-sim stderr has no sanitizer report"
		fi
	fi
	rm -rf "$TMP"
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}
trap 'pid=${pid:-}; finish' INT TERM

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	tap 1 "node and npm are installed (scripts/install-deps)"
	finish
fi

# install (or reuse) the pinned xen-api
want=$(sed -n 's/.*"xen-api": *"\([^"]*\)".*/\1/p' tests/fidelity/package.json)
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$DIR/node_modules/xen-api/package.json" 2>/dev/null | head -n 1)
if [ "$have" != "$want" ]; then
	mkdir -p "$DIR"
	cp tests/fidelity/package.json "$DIR/package.json"
	(cd "$DIR" && timeout 300 npm install --no-audit --no-fund --ignore-scripts --loglevel=error) >"$TMP/npm.log" 2>&1
	have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$DIR/node_modules/xen-api/package.json" 2>/dev/null | head -n 1)
fi
[ -n "$want" ] && [ "$have" = "$want" ]
tap $? "npm package xen-api@$want installed in $DIR"
if [ "$have" != "$want" ]; then
	sed 's/^/# /' "$TMP/npm.log" 2>/dev/null | tail -20
	finish
fi
cp tests/fidelity/xo-client.mjs "$DIR/xo-client.mjs"

# a TLS sim on a free port
"$SIM" --port 0 >"$TMP/sim.out" 2>"$TMP/sim.err" &
pid=$!
url=
i=0
while [ $i -lt 300 ] && [ -z "$url" ] && kill -0 "$pid" 2>/dev/null; do
	url=$(sed -n 's/^xapi-sim listening on //p' "$TMP/sim.out")
	[ -n "$url" ] || sleep 0.1
	i=$((i + 1))
done
case "$url" in
https://*) tap 0 "xapi-sim listens on $url" ;;
*)
	tap 1 "xapi-sim listens on https"
	sed 's/^/# /' "$TMP/sim.err" | head -20
	finish
	;;
esac

for transport in default xml-rpc; do
	timeout 180 node "$DIR/xo-client.mjs" "$url" "$PWD/tests/fidelity/sim_counts.py" "$transport" $((n + 1)) >"$TMP/node.out" 2>&1
	rc=$?
	cat "$TMP/node.out"
	n=$((n + $(grep -c -E '^(not )?ok ' "$TMP/node.out")))
	failed=$((failed + $(grep -c '^not ok ' "$TMP/node.out")))
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$TMP/node.out"; then
		tap 1 "xen-api ($transport) run exited with status $rc"
	fi
done
finish
