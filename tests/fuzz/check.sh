#!/bin/sh
# A short fuzzing run for make check; `make fuzz` runs longer.
exec sh "$(dirname "$0")/run" 10
