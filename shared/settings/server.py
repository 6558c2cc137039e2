"""The collector's WebSocket fan-out server: where it binds, who may connect, and every per-client limit.

The protocol it speaks is described in docs/protocol.md. A server bound anywhere but loopback
must have a token: the settings refuse to validate without one, so the server cannot start open
(the rule shared with the REST API, shared/auth.py).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from shared.auth import exposed_without_token, token_required, token_value
from shared.settings.base import Section


class ServerSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)  # 0 picks a free port (tests)
    # Clients send it as `Authorization: Bearer <token>` or `?token=`; required when host is not loopback.
    token: SecretStr | None = None
    max_connections: int = Field(default=256, ge=1)  # excess clients are refused with HTTP 503

    # Outgoing: events are batched into frames; a frame waits at most batch_ms for more events.
    batch_ms: float = Field(default=5.0, ge=0, le=1000)
    batch_max_events: int = Field(default=1000, ge=1)  # a batch this large is sent without waiting
    max_frame_bytes: int = Field(default=512 * 1024, ge=4096)  # outgoing frames are split above this
    # Per-client backlog, in events: above it tickers and books coalesce (latest per stream wins);
    # if coalescing cannot bring it under half of this (trades are never dropped) the client is lagged.
    client_buffer_events: int = Field(default=20_000, ge=16)

    # Incoming requests.
    max_request_bytes: int = Field(default=8192, ge=256)  # larger requests get a `too_large` error
    # Hard cap: the WebSocket library closes the connection (1009) for messages above it.
    max_message_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_subscriptions: int = Field(default=256, ge=1)  # subscription patterns per connection
    requests_per_s: float = Field(default=20.0, gt=0)  # sustained request rate per connection...
    request_burst: int = Field(default=40, ge=1)  # ...and the burst allowed above it

    # Liveness: a heartbeat frame after this long without any frame; WebSocket pings find dead clients.
    heartbeat_s: float = Field(default=5.0, gt=0)
    ping_interval_s: float = Field(default=20.0, gt=0)
    ping_timeout_s: float = Field(default=20.0, gt=0)
    close_timeout_s: float = Field(default=5.0, gt=0)  # how long a close handshake may take

    # Field validators (not a model validator) so an error names its key and never echoes the token.
    @field_validator("token")
    @classmethod
    def _required_when_exposed(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        host = info.data.get("host", "127.0.0.1")
        if info.data.get("enabled", True) and exposed_without_token(host, value):
            raise ValueError(token_required("server", host))
        return value

    @field_validator("max_message_bytes")
    @classmethod
    def _hard_cap_above_request_limit(cls, value: int, info: ValidationInfo) -> int:
        if value < info.data.get("max_request_bytes", 0):
            raise ValueError("must be at least max_request_bytes")
        return value

    def token_value(self) -> str | None:
        return token_value(self.token)
