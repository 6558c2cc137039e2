"""The analyzer (what its analyses compute and over which chunks of time) and the Prefect flows that schedule it.

Every key is described in docs/configuration.md. Summaries live beside the lake's data, under
`<lake.root>/summary_stats/`, so an object-store lake keeps them there too.
"""

from __future__ import annotations

from pydantic import Field, HttpUrl, field_validator

from shared.settings.base import Section
from shared.symbols import is_normalized

DEFAULT_TAKER_FEE_BPS = 10.0


class AnalyzerSettings(Section):
    # Analyses run chunk by chunk (each chunk's result is stored, and replaced, on its own): the bound
    # on memory and the unit of a re-run. The scheduled flow analyzes the last closed chunk.
    chunk_s: int = Field(default=3600, ge=10, le=86_400)
    # A quote older than this is not used to align venues (cross-exchange and triangular spreads).
    staleness_ms: int = Field(default=2000, ge=1)
    # A venue/symbol without any event for longer than this is a data gap (data quality).
    gap_threshold_s: float = Field(default=5.0, gt=0)
    # Taker fee per venue in bps. Unlisted venues pay the trader's fee for the venue (trader.venues), else
    # `default_taker_fee_bps`: use `Settings.taker_fee_bps(venue)`, which applies that rule.
    taker_fee_bps: dict[str, float] = Field(default_factory=dict)
    default_taker_fee_bps: float = Field(default=DEFAULT_TAKER_FEE_BPS, ge=0, lt=10_000)
    # Base amount per symbol for the depth-walked spreads (from the book channel); unlisted: top of book only.
    depth_size: dict[str, float] = Field(default_factory=dict)
    # Triangular paths start and end in this asset (USDT -> BTC -> ETH -> USDT, and the reverse).
    triangle_start_asset: str = "USDT"
    # Interval of the realized volatility, volume and VWAP rows.
    volatility_interval_s: int = Field(default=60, ge=1)

    @field_validator("taker_fee_bps")
    @classmethod
    def _fees_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for venue, fee in value.items():
            if not 0 <= fee < 10_000:
                raise ValueError(f"{venue}: fee {fee} bps is not in [0, 10000)")
        return value

    @field_validator("depth_size")
    @classmethod
    def _sizes_positive(cls, value: dict[str, float]) -> dict[str, float]:
        for symbol, size in value.items():
            if not is_normalized(symbol):
                raise ValueError(f"{symbol!r} is not a normalized symbol (BASE-QUOTE, e.g. BTC-USDT)")
            if not size > 0:
                raise ValueError(f"{symbol}: size must be > 0")
        return value


class FlowsSettings(Section):
    # A Prefect server to serve the deployments against; None: `spreadlake flows serve` starts a local one.
    prefect_api_url: HttpUrl | None = None
    server_host: str = "127.0.0.1"
    server_port: int = Field(default=4200, ge=1, le=65535)
    prefect_home: str = "data/prefect"  # the local server's SQLite database and settings
    analyze_interval_s: int = Field(default=3600, ge=10)
    compact_interval_s: int = Field(default=3600, ge=10)
    retention_interval_s: int = Field(default=86_400, ge=10)
    retries: int = Field(default=2, ge=0, le=20)
    retry_delay_s: float = Field(default=30.0, ge=0)
