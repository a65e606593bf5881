#!/bin/sh
# Install what fangkong needs, only when it is missing.
# Debian packages through apt-get (apt-get update first, once, when one is
# absent); npm packages with `npm ci` from the committed package-lock.json.
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential pkg-config sqlite3 libsqlite3-dev libmicrohttpd-dev
libjansson-dev libsodium-dev libqrencode-dev libpng-dev libinih-dev
libxlsxwriter-dev libcriterion-dev nodejs npm chromium zbar-tools xlsx2csv
prometheus wrk curl libfreetype-dev fonts-wqy-microhei libxml2-utils openssl"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		# npm may come with nodejs from another source; accept a working one
		if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
		if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing Debian packages:$missing" >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >&2
fi

if [ ! -f node_modules/.package-lock.json ] ||
   ! cmp -s package-lock.json node_modules/.fangkong-lock; then
	echo "deps: npm ci" >&2
	npm ci --no-audit --no-fund --loglevel=error >&2
	cp package-lock.json node_modules/.fangkong-lock
fi

mkdir -p web/vendor
cp -u node_modules/echarts/dist/echarts.min.js web/vendor/echarts.min.js
# Ed25519 in the browser for the offline code verifier (tweetnacl, Unlicense)
cp -u node_modules/tweetnacl/nacl-fast.min.js web/vendor/nacl-fast.min.js
