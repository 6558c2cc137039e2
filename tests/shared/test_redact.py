"""Credentials are masked in text for people: URL tokens and passwords, bearer tokens, known secret values."""

from __future__ import annotations

import io
import logging

from shared.redact import RedactingFilter, Redactor, redact


def test_a_token_in_a_connect_address_is_masked_and_the_rest_kept() -> None:
    kucoin = "wss://127.0.0.1:18132/endpoint?token=2neAiuYvAU61ZDXANAGAsiL4-iAExhsBXZxftpOeh_55i3Ysy2q2LEsEWU64mdzUOPusi34M_wGoSf7iNyEWJ4aBZXpWhrmY9jKtqkdWoFa75w3istPvPtiYB9J6i9GjsxUuhPw3BlrzazF6ghq4L&connectId=abc"
    assert redact(kucoin) == "wss://127.0.0.1:18132/endpoint?token=***&connectId=abc"
    assert redact(f"{kucoin}: ConnectionClosedError(None, None, None)").endswith("?token=***&connectId=abc: ConnectionClosedError(None, None, None)")
    assert redact("https://h/x?a=1&apiKey=K1&signature=S2") == "https://h/x?a=1&apiKey=***&signature=***"


def test_passwords_in_urls_and_bearer_tokens_are_masked() -> None:
    assert redact("proxy at http://user:pa55word@10.0.0.1:3128/ failed") == "proxy at http://user:***@10.0.0.1:3128/ failed"
    assert redact("> Authorization: Bearer abc.def-ghi") == "> Authorization: Bearer ***"


def test_text_without_credentials_is_unchanged() -> None:
    for text in ("wss://stream.bybit.com/v5/public/spot", "book update id 9 after 7", "tokens=3 key: value", "http://host:80/"):
        assert redact(text) == text


def test_known_secret_values_are_masked_but_short_placeholders_are_not() -> None:
    masked = Redactor(["S3cret-Value-42", "sim"])
    assert masked("simulated venue refused key S3cret-Value-42") == "simulated venue refused key ***"


def test_log_records_are_masked_in_the_message_and_the_traceback() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter(Redactor(["PLANTED-secret-1"])))
    log = logging.getLogger("tests.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("connecting to %s with %s", "wss://h/endpoint?token=T0KEN", "PLANTED-secret-1")
        try:
            raise ConnectionError("wss://h/endpoint?token=T0KEN refused")
        except ConnectionError:
            log.exception("failed")
        log.warning("a malformed call %s %s", "PLANTED-secret-1")
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert "T0KEN" not in text and "PLANTED-secret-1" not in text
    assert "connecting to wss://h/endpoint?token=*** with ***" in text and "?token=*** refused" in text


def test_masking_twice_changes_nothing_more() -> None:
    once = redact("wss://h/endpoint?token=T0KEN: closed; http://u:p@h/ Bearer x")
    assert once == "wss://h/endpoint?token=***: closed; http://u:***@h/ Bearer ***"
    assert redact(once) == once
