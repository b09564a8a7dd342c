#!/usr/bin/env bash
# The upgrade scenario (upgrade.sh) from the released 0.4.0: a database of 0.4.0 filled with
# data (request metrics among them), updated, has the catalog of a fresh install and keeps its rows.
UPGRADE_FROM=0.4.0 exec "$(dirname "$0")/upgrade.sh"
