#!/bin/sh
# Runs a command after dropping the page cache, so it starts as on a device's
# first boot or a newcomer's machine: Chromium's libraries and resources are
# read from disk again (issue 13). Only where that is allowed (root with a
# writable /proc/sys/vm/drop_caches); elsewhere it says so and runs warm.
# STOA_DROP_CACHES=0 skips the drop.
if [ "${STOA_DROP_CACHES:-1}" != 0 ] && sync && (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
  echo "cold-start: page cache dropped"
else
  echo "cold-start: page cache NOT dropped (not root, or not allowed here): running warm"
fi
exec "$@"
