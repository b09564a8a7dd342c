#!/usr/bin/env bash
# The upgrade scenario (upgrade.sh) from the released 0.6.0: a database of 0.6.0 filled with
# data, updated to projects and the read model (the daily metrics table gains project_id and
# a new unique key), has the catalog of a fresh install and keeps every sealed value.
UPGRADE_FROM=0.6.0 exec "$(dirname "$0")/upgrade.sh"
