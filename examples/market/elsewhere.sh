#!/bin/sh
# The "other machine" of the main example's variant with its R stage
# elsewhere (examples/market/elsewhere.ts starts it in a mount namespace of
# its own, `unshare --mount`). Its /dev/shm is a private tmpfs: nothing
# passes between the two machines through shared memory. The ticks come in
# over Arrow Flight (the server writes them into the channel "ticks"), R
# reads them and writes "results", which the demo pulls back the same way.
#   elsewhere.sh RSCRIPT SCRIPT      ($BUN: the bun that runs the shmpipe command)
# It ends when R does, with R's status; the server goes on serving until
# the demo stops this machine (its whole process group).
set -eu
mount -t tmpfs -o size=1g tmpfs /dev/shm
"$BUN" scripts/shmpipe.ts flight serve --serve ticks,results --listen 127.0.0.1:0 &
# No runner made the channels here: R makes "results", the server "ticks" (--elsewhere).
SHMPIPE_CHANNEL_TICKS=ticks SHMPIPE_CHANNEL_RESULTS=results exec "$@" --elsewhere
