#!/usr/bin/env bash
# Debian packages the tests need: a real IMAP server (Dovecot), tmux for whole-app smoke
# tests, openssl for the test server's self-signed certificate, Chromium for the chat widget's
# and hosted forms' browser tests (driven by playwright with executable_path, never a download). Idempotent and quiet:
# does nothing when everything is already installed.
set -euo pipefail

packages=(dovecot-imapd tmux openssl chromium)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-test-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-test-deps: installed ${missing[*]}"
