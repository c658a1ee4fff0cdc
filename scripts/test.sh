#!/usr/bin/env bash
# The test command: installs what the tests need (Debian's Chromium and PostgreSQL, a venv
# with the package and its test extras), checks the code with ruff, then runs the whole
# suite on SQLite and again on a throwaway PostgreSQL server that the tests start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "Installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
# Non-editable on purpose: the CLI tests run the installed `annotator`, as users will.
.venv/bin/pip install -q --disable-pip-version-check ".[test]"
rm -rf build

.venv/bin/ruff check .
echo "== test suite on SQLite"
ANNOTATOR_TEST_DB=sqlite .venv/bin/python -m pytest -q "$@"
echo "== test suite on PostgreSQL"
ANNOTATOR_TEST_DB=postgresql .venv/bin/python -m pytest -q "$@"
