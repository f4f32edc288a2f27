#!/bin/sh
# The VM test bed's runner under its shell name:
#   scripts/vm/run.sh [--hull BIN] [--probe BIN] [SCRIPT.sh ...]
# See scripts/vm/run.py (--help) for what it does and its other options.
exec python3 "$(dirname "$0")/run.py" "$@"
