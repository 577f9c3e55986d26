#!/usr/bin/env bash
# Installs what `make up` and `make test` need on a fresh Debian 12 machine that has only
# Python 3.11, make and root: uv, Debian's AWS CLI v2, and the locked Python dependencies.
#
#   devtools/setup.sh           everything (Debian: installs the awscli package with apt-get)
#   devtools/setup.sh --python  uv and the locked Python dependencies only: what `make package`
#                               and the LocalStack path need, on any Linux or macOS with python3
#                               (no apt-get, no root, no GNU-only tools)
#
# Safe to run again: every step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

python_only=false
case "${1:-}" in
  --python) python_only=true ;;
  "") ;;
  *)
    echo "usage: $0 [--python]" >&2
    exit 2
    ;;
esac

# Machines behind a TLS-inspecting proxy trust it through the system bundle; let uv use it too.
if [ -z "${SSL_CERT_FILE:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv into .tools/" >&2
  if ! python3 -m venv .tools >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "setup: python3 -m venv failed; install uv (https://docs.astral.sh/uv/) and run again" >&2
      exit 1
    fi
    apt_install python3-venv
    python3 -m venv .tools
  fi
  .tools/bin/pip install -q uv
fi

# Where a new login shell finds it, as uv's own installer does, so the README's `uv run ...`
# lines work without activating anything: /usr/local/bin as root, else ~/.local/bin.
if [ -x .tools/bin/uv ]; then
  if [ "$(id -u)" -eq 0 ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
  # -ef: the same file once symlinks are followed (POSIX test; `readlink -f` is not on older macOS).
  if [ ! -e "$bin_dir/uv" ] || [ "$bin_dir/uv" -ef .tools/bin/uv ]; then
    mkdir -p "$bin_dir"
    ln -sf "$PWD/.tools/bin/uv" "$bin_dir/uv"
  fi
fi

uv sync --frozen --quiet
if $python_only; then
  exit 0
fi

# `aws logs tail` exists only in AWS CLI v2; Debian's awscli package is v2.
if ! /usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2'; then
  echo "setup: installing Debian's awscli (AWS CLI v2)" >&2
  apt_install awscli
fi
# Inside the project venv `aws` is always v2, so awslocal never picks up a PyPI awscli v1.
ln -sf /usr/bin/aws .venv/bin/aws

# The Zapier app's tests (tests/integration/test_zapier_app.py) run on Node.js; they install the
# app's locked npm packages themselves (`npm ci` in integrations/zapier, skipped when up to date).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing Debian's nodejs and npm (the Zapier app's tests)" >&2
  apt_install nodejs npm
fi

# The console's browser tests (tests/e2e/test_console_browser.py) drive Debian's Chromium headless
# through Playwright; Playwright's own browser downloads are never used.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium (the console's browser tests)" >&2
    apt_install chromium
  else
    echo "setup: no root: chromium not installed, the console's browser tests will skip (CI=true fails them)" >&2
  fi
fi
