"""Who may use the collector's listeners: one rule and one check for the fan-out server and the REST API.

The rule: a listener bound anywhere but loopback must have a token (settings refuse to validate
without one, and the listener refuses to start). The check: clients send the token as
`Authorization: Bearer <token>` or `?token=<token>`; it is compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qs

from pydantic import SecretStr

LOOPBACK_NAMES = frozenset({"localhost"})
UNAUTHORIZED = "missing or wrong token: send 'Authorization: Bearer <token>' or '?token=<token>'"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; empty, wildcard and other addresses are not loopback."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_value(token: SecretStr | None) -> str | None:
    """The token to require, or None when there is none (an empty token counts as none)."""
    value = token.get_secret_value() if token is not None else ""
    return value or None


def exposed_without_token(host: str, token: SecretStr | None) -> bool:
    return not is_loopback(host) and token_value(token) is None


def token_required(section: str, host: str) -> str:
    """The settings error for `exposed_without_token`."""
    return f"{section}.host {host!r} is not loopback: a token is required so clients must authenticate"


def refuse_exposed_without_token(section: str, host: str, token: SecretStr | None) -> None:
    """The listener's own guard, for settings built without validation."""
    if exposed_without_token(host, token):
        raise ValueError(f"{section}.host {host!r} is not loopback: refusing to start without {section}.token")


def supplied_token(authorization: str | None, query: str) -> str:
    """The token a request carries: the bearer header first, else the `token` query parameter."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return parse_qs(query).get("token", [""])[0]


def token_matches(supplied: str, token: str) -> bool:
    return hmac.compare_digest(supplied.encode(), token.encode())
