"""Lineage windows, limits and cache settings."""

from __future__ import annotations

# The windows over which observed traffic counts, as the graph page offers them.
WINDOWS: dict[str, int] = {
    "10m": 10 * 60 * 1000,
    "1h": 60 * 60 * 1000,
    "1d": 24 * 60 * 60 * 1000,
    "7d": 7 * 24 * 60 * 60 * 1000,
}
WINDOW_LABELS: dict[str, str] = {"10m": "last 10 minutes", "1h": "last hour", "1d": "last day", "7d": "last 7 days"}
DEFAULT_WINDOW = "1h"
# Drift, ghosts and impact look as far back as the broker keeps flow counts: "never observed"
# should mean never, not "not in the last hour".
GOVERNANCE_WINDOW = "7d"

DEFAULT_DEPTH = 2
MAX_DEPTH = 10
DEFAULT_NODE_LIMIT = 300
MAX_NODE_LIMIT = 2000
DEFAULT_PATH_LIMIT = 50
DEFAULT_PATH_HOPS = 12
DEFAULT_CYCLE_LIMIT = 100
DEFAULT_CYCLE_LENGTH = 12
# Impact follows consumers of consumers this many levels down (each level: a service consumes
# what an affected service produces).
DEFAULT_IMPACT_DEPTH = 10
MAX_IMPACT_DEPTH = 50

# A built graph is reused for this many seconds per window and process (observed traffic may
# lag that much); catalog edits show at once because the cache key includes a catalog fingerprint.
# Traffic is counted per minute and the shortest window is ten minutes, so half a minute loses
# little; a whole rebuild at 1,000 services costs ~300 ms of CPU that requests to the same process
# wait on, so it should not run every few seconds.
CACHE_SECONDS = 30.0
# After that, a graph up to this old is still served while a background thread rebuilds it;
# an older one is rebuilt before answering.
STALE_SECONDS = 300.0
# A server process reads the traffic and rebuilds the default window's graph this often, whether
# or not it is asked for, so that no request finds it past STALE_SECONDS.
KEEP_WARM_SECONDS = 60.0
# ... and the graph of any other window asked for within this many seconds.
KEEP_ASKED_SECONDS = 3600.0
