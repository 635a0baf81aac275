#!/bin/sh
# Installs the Debian packages hcr needs to build, test and run. Idempotent and
# quiet when nothing is missing; uses sudo when not run as root.
set -eu
PACKAGES="build-essential pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev libyaml-dev
libpq-dev libev-dev libmicrohttpd-dev libcmocka-dev libgit2-dev postgresql-15 python3 openssl
clang-format clang-tidy cppcheck"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "hcr: installing missing Debian packages:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "hcr: these packages are missing and you are not root:$missing" >&2
		echo "hcr: install them as root: apt-get install$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "hcr: packages installed"
