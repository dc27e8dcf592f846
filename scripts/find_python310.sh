#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter: $PYTHON, PATH, then pyenv's versions.
# TFX 1.16's compiled dependencies (ml-metadata, tfdv) ship Linux wheels only up to 3.10.
set -u
is310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }
for c in "${PYTHON:-}" python3.10 python3 python; do
  [ -n "$c" ] || continue
  p=$(command -v "$c" 2>/dev/null) || continue
  if is310 "$p"; then echo "$p"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for p in $(ls -d "$root"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
  if is310 "$p"; then echo "$p"; exit 0; fi
done
cat >&2 <<MSG
No Python 3.10 found (checked \$PYTHON, PATH and $root/versions/3.10.*).
TFX 1.16 needs Python 3.10. Install one, e.g.:
  pyenv install 3.10     (then re-run make)
  or: apt-get install python3.10 python3.10-venv
  or point PYTHON at an interpreter: make PYTHON=/path/to/python3.10 test
MSG
exit 1
