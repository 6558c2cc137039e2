"""The collector's WebSocket fan-out: one shared upstream, any number of filtered subscribers (docs/protocol.md)."""

from collector.fanout.component import FanoutComponent, fanout_component
from collector.fanout.server import FanoutServer

__all__ = ["FanoutComponent", "FanoutServer", "fanout_component"]
