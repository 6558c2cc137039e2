"""The collector's REST API: health and Prometheus metrics (later parts add prices, spreads, analyses).

Same rule as the fan-out server (shared/auth.py): bound anywhere but loopback, it must have a token,
so the settings refuse to validate without one.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from shared.auth import exposed_without_token, token_required
from shared.settings.base import Section


class ApiSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8780, ge=0, le=65535)  # 0 picks a free port (tests)
    # Clients send it as `Authorization: Bearer <token>` or `?token=`; required when host is not loopback.
    token: SecretStr | None = None
    # Lets a Prometheus without the token scrape /metrics; everything else still needs the token.
    metrics_public: bool = False

    # A field validator (declared after host and enabled) so the error names api.token and never echoes it.
    @field_validator("token")
    @classmethod
    def _required_when_exposed(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        host = info.data.get("host", "127.0.0.1")
        if info.data.get("enabled", True) and exposed_without_token(host, value):
            raise ValueError(token_required("api", host))
        return value
