"""Answers a recording cannot contain, made up from what it does contain.

Some feeds ask a REST endpoint, at start-up, where to open their websocket (KuCoin's
`POST /api/v1/bullet-public` returns an endpoint and a one-off token). Recordings made from the
websocket side lack that reply, so when a request has no recorded answer and its path is listed
here, the reply is built from the recording: the endpoint is the replay server's own wss address
plus the path of a recorded connection, the token the one the recorded connect address carried.
A recorded answer always wins over a synthesized one.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sim.replay.recording import Recording

Synthesizer = Callable[[Recording, str], str]


def _kucoin_bullet(recording: Recording, ws_base: str) -> str:
    if not recording.scripts:
        raise LookupError("the recording has no websocket connection to point the client at")
    script = recording.scripts[0]
    token = dict(script.query).get("token", "replay")
    server = {"endpoint": f"{ws_base.rstrip('/')}{script.path}", "protocol": "websocket", "encrypt": True,
              "pingInterval": 18000, "pingTimeout": 10000}
    return json.dumps({"code": "200000", "data": {"token": token, "instanceServers": [server]}})


# Path suffix -> reply builder. Only token endpoints whose answer names the websocket address belong here.
SYNTHESIZERS: dict[str, Synthesizer] = {
    "/api/v1/bullet-public": _kucoin_bullet,
    "/api/v1/bullet-private": _kucoin_bullet,
}


def synthesize(recording: Recording, path: str, ws_base: str) -> str | None:
    for suffix, build in SYNTHESIZERS.items():
        if path.endswith(suffix):
            try:
                return build(recording, ws_base)
            except LookupError:
                return None
    return None


def rewrite_origins(body: str, recording: Recording, ws_base: str) -> str:
    """Point websocket addresses named in a recorded body (a recorded token reply) at this server."""
    for recorded in recording.ws_origins:
        if recorded in body:
            body = body.replace(recorded, ws_base.rstrip("/"))
    return body


__all__ = ["SYNTHESIZERS", "rewrite_origins", "synthesize"]
