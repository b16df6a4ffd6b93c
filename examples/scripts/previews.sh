#!/bin/sh
# Page previews (job `previews`): starts a "headless browser" in the background and waits for it, and it never
# returns — seed 003's subprocess that hung for seven days, and seed 002's Chrome renderers that never cleaned up.
# nightshift sends SIGTERM to the whole tree at the job's 5 s timeout, SIGKILL after kill_grace, and checks that
# nothing carrying the run's marker is left: `nightshift history previews` shows each run `timed_out`.
echo "rendering previews of the published pages… (this step hangs on purpose)"
sleep 3600 &
wait
