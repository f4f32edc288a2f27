#!/bin/sh
# The systemd VM test bed's runner under its shell name:
#   scripts/vm-systemd/boot.sh [--hull BIN] [--probe BIN] [SCRIPT.sh ...]
# See scripts/vm-systemd/boot.py (--help) for what it does and its options.
exec python3 "$(dirname "$0")/boot.py" "$@"
