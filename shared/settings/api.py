"""The collector's REST API: health, Prometheus metrics, live tickers and spreads, analyzer summaries, candles.

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
    # A book or ticker older than this is flagged `stale` in /v1/tickers and /v1/spreads (its venue may be down).
    stale_after_ms: int = Field(default=5000, ge=1)
    # /v1/summary and /v1/candles: the widest time range one request may ask for (each request reads the
    # whole range, then pages it), and the rows per page (default and most).
    max_range_s: int = Field(default=86_400, ge=1, le=366 * 86_400)
    default_page_size: int = Field(default=500, ge=1)
    max_page_size: int = Field(default=5000, ge=1, le=100_000)
    # /v1/candles computed from the raw lake (when no `candles` summary covers the range) reads every
    # trade or ticker of the range: bounded tighter than summaries.
    candles_max_range_s: int = Field(default=3600, ge=1, le=7 * 86_400)

    # A field validator (declared after host and enabled) so the error names api.token and never echoes it.
    @field_validator("token")
    @classmethod
    def _required_when_exposed(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        host = info.data.get("host", "127.0.0.1")
        if info.data.get("enabled", True) and exposed_without_token(host, value):
            raise ValueError(token_required("api", host))
        return value

    @field_validator("max_page_size")
    @classmethod
    def _default_page_fits(cls, value: int, info: ValidationInfo) -> int:
        default = info.data.get("default_page_size", 1)
        if value < default:
            raise ValueError(f"{value} is below api.default_page_size ({default})")
        return value
