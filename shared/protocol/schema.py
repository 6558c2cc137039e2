"""JSON Schemas of every protocol message, generated from the Structs so they cannot drift.

`python -m shared.protocol.schema docs/schemas` rewrites the published files; a test checks that
the files on disk equal what this module generates.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from shared.protocol.messages import (
    PROTOCOL_VERSION,
    Error,
    Events,
    Heartbeat,
    Hello,
    Lagged,
    Ping,
    Pong,
    Snapshot,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
)

CLIENT_MESSAGES: tuple[type, ...] = (Subscribe, Unsubscribe, Ping)
SERVER_MESSAGES: tuple[type, ...] = (Hello, Subscribed, Unsubscribed, Snapshot, Events, Pong, Heartbeat, Error, Lagged)
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def message_name(kind: type) -> str:
    """The tag value (`subscribe`, `events`, ...) that names the message on the wire and its schema file."""
    tag = msgspec.inspect.type_info(kind).tag  # type: ignore[attr-defined]
    assert isinstance(tag, str)
    return tag


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, one per message."""
    result = {}
    for direction, kinds in (("client", CLIENT_MESSAGES), ("server", SERVER_MESSAGES)):
        for kind in kinds:
            name = message_name(kind)
            generated = _clean(msgspec.json.schema(kind))
            result[f"{name}.json"] = {
                "$schema": DRAFT,
                "title": f"{name} ({direction} -> {'server' if direction == 'client' else 'client'}), protocol v{PROTOCOL_VERSION}",
                **generated,
            }
    return result


def _clean(node: Any) -> Any:
    """Docstrings become descriptions: drop their source indentation."""
    if isinstance(node, dict):
        return {key: inspect.cleandoc(value) if key == "description" and isinstance(value, str) else _clean(value)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / name
        path.write_text(render(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")
    for path in write(target):
        print(path)
