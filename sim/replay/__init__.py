"""Replay servers: recorded exchange traffic (capture format 2) served as local venues.

Generic by URL and connection, not per exchange: REST answers by recorded path and query, websocket
connections by recorded path and by what the client subscribes. See docs/replay.md.
"""

from sim.replay.cli import replay_main
from sim.replay.config import collector_config, write_collector_config
from sim.replay.playback import PlaybackOptions
from sim.replay.recording import Recording, load_recordings
from sim.replay.server import Endpoints, ReplayApp, ReplayServer

__all__ = [
    "Endpoints",
    "PlaybackOptions",
    "Recording",
    "ReplayApp",
    "ReplayServer",
    "collector_config",
    "load_recordings",
    "replay_main",
    "write_collector_config",
]
