#!/usr/bin/env bash
# The upgrade scenario (upgrade.sh) from the released 0.2.1 instead of 0.1.0: a database of
# 0.2.1 filled with data, updated, has the catalog of a fresh install, keeps its rows and
# seals the same new values.
UPGRADE_FROM=0.2.1 exec "$(dirname "$0")/upgrade.sh"
