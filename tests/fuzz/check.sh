#!/bin/sh
# A short fuzzing run for make check (a few seconds per target); `make fuzz`
# runs each longer (FUZZ_SECONDS, 300 by default).
exec sh "$(dirname "$0")/run" "${FUZZ_CHECK_SECONDS:-4}"
