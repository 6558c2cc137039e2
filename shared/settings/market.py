"""Which exchanges the collector follows, for which symbols and channels, and where it reaches them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, SecretStr, field_validator, model_validator

from shared.events import Channel
from shared.settings.base import Section
from shared.symbols import is_normalized


class EndpointKind(StrEnum):
    SIM = "sim"  # the simulated venue described in the `sim` section
    LIVE = "live"  # the exchange's real endpoints, as cryptofeed knows them
    CUSTOM = "custom"  # explicit rest_url / ws_url (replay servers, proxies)


class ExchangeSettings(Section):
    endpoint: EndpointKind = EndpointKind.SIM
    symbols: tuple[str, ...] = Field(min_length=1)
    channels: tuple[Channel, ...] = (Channel.TICKER, Channel.TRADE, Channel.BOOK)
    rest_url: str | None = None
    ws_url: str | None = None
    # CA bundle (PEM) to trust for a custom wss endpoint with a private certificate.
    ca_file: str | None = None
    # Some feeds (KuCoin's L2 book) only subscribe with API credentials; market data needs no real key.
    key_id: SecretStr | None = None
    key_secret: SecretStr | None = None
    key_passphrase: SecretStr | None = None

    @field_validator("symbols")
    @classmethod
    def _symbols_normalized(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            if not is_normalized(symbol):
                raise ValueError(f"symbol {symbol!r} is not of the form BASE-QUOTE in upper case (e.g. BTC-USDT; BTC-USDT-PERP for a perpetual)")
        if len(set(value)) != len(value):
            raise ValueError("symbols are listed twice")
        return value

    @field_validator("channels")
    @classmethod
    def _market_channels_only(cls, value: tuple[Channel, ...]) -> tuple[Channel, ...]:
        if Channel.STATUS in value:
            raise ValueError("status is always emitted; list only ticker, trade and book")
        if not value:
            raise ValueError("at least one channel is needed")
        return value

    @model_validator(mode="after")
    def _custom_needs_urls(self) -> ExchangeSettings:
        if self.endpoint is EndpointKind.CUSTOM and not (self.rest_url and self.ws_url):
            raise ValueError("endpoint 'custom' needs rest_url and ws_url")
        if self.endpoint is not EndpointKind.CUSTOM and (self.rest_url or self.ws_url):
            raise ValueError("rest_url/ws_url are only read with endpoint: custom")
        return self
