"""Credentials out of text meant for people: URL tokens and passwords, bearer tokens, known secret values.

Exchanges put session credentials into connect addresses (KuCoin's `?token=...`), and libraries
log addresses and request headers as they are. Everything the collector reports about a connection
(status events, /health, its own log lines) passes through `redact`; `RedactingFilter` does the same
for every log record, including those of cryptofeed, websockets and uvicorn.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
# Query parameters that carry credentials in exchange, object-store and proxy URLs.
_PARAMS = ("token", "access_token", "apikey", "api_key", "key", "secret", "passphrase", "password",
           "signature", "sign", "x-amz-signature", "x-amz-credential", "x-amz-security-token")
# A value ends where the query does, or at a ": " that follows the URL in a message ("<url>: closed").
_QUERY = re.compile(r"([?&;](?:" + "|".join(map(re.escape, _PARAMS)) + r")=)[^&#;\s'\"]+?(?=[&#;\s'\"]|:\s|:$|$)", re.IGNORECASE)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@", re.IGNORECASE)
_BEARER = re.compile(r"(\bBearer\s+)[^\s'\",]+", re.IGNORECASE)
# Shorter configured values are placeholders ("sim", "replay"); masking them would garble ordinary words.
MIN_KNOWN_SECRET = 8


class Redactor:
    """Masks credentials found by their shape, and the given secret values wherever they appear."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_KNOWN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _QUERY.sub(rf"\g<1>{MASK}", text)
        text = _USERINFO.sub(rf"\g<1>{MASK}@", text)
        return _BEARER.sub(rf"\g<1>{MASK}", text)


redact = Redactor()


class RedactingFilter(logging.Filter):
    """A handler filter: the record's message and traceback are redacted before any formatter sees them."""

    def __init__(self, redactor: Redactor = redact) -> None:
        super().__init__()
        self._redact = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging's own error report would print the arguments as they are
            message = f"{record.msg} (arguments did not match the format)"
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once set, so the redacted traceback is the one printed.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def redact_logs(handlers: Iterable[logging.Handler], redactor: Redactor = redact) -> None:
    """Put a `RedactingFilter` on each handler (handler filters also see records propagated from child loggers)."""
    log_filter = RedactingFilter(redactor)
    for handler in handlers:
        handler.addFilter(log_filter)
