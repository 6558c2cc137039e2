"""Who may use the trader's API: loopback by default; beyond loopback only with the token, checked like the
collector's listeners (shared/auth.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.settings import SettingsError, settings_from_mapping
from tests.trader.running import running_trader, trader_mapping
from trader.api import ApiComponent
from trader.config import ApiConfig

TOKEN = "trader-t0ken"
ROUTES = (("GET", "/status"), ("GET", "/sessions"), ("GET", "/instances"), ("GET", "/instances/xex"), ("POST", "/instances/xex/pause"),
          ("POST", "/instances/xex/resume"), ("POST", "/safe-mode/exit"), ("GET", "/metrics"), ("DELETE", "/instances/nope"),
          ("POST", "/kill"))


def test_binding_beyond_loopback_without_a_token_is_refused_by_the_settings_and_at_start(tmp_path: Path) -> None:
    for api in ({"host": "0.0.0.0"}, {"host": "10.1.2.3", "token": ""}):
        with pytest.raises(SettingsError) as err:
            settings_from_mapping(trader_mapping(tmp_path, 1, api=api))
        assert err.value.key == "trader.api.token" and "not loopback" in err.value.problem
    with pytest.raises(ValueError, match=r"refusing to start without trader\.api\.token"):
        ApiComponent(ApiConfig(True, "0.0.0.0", 0, None), None, None)  # type: ignore[arg-type]


def test_a_wildcard_bind_answers_only_requests_with_the_token_in_the_header_or_query(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, api={"host": "0.0.0.0", "token": TOKEN}) as trader:
            for method, path in ROUTES:
                for suffix, headers in (("", {}), ("", {"Authorization": "Bearer wrong"}), ("?token=wrong", {}),
                                        ("", {"Authorization": f"Basic {TOKEN}"})):
                    code, body = await trader.call(method, path + suffix, headers=headers)
                    assert code == 401 and "Authorization: Bearer" in body["detail"], (method, path, suffix, headers)
            assert (await trader.get("/openapi.json"))["info"]["title"] == "spreadlake trader"  # the description holds no trader data
            for method, path in ROUTES[:-2]:  # the delete would 404, the kill would engage
                for suffix, headers in (("", {"Authorization": f"Bearer {TOKEN}"}), (f"?token={TOKEN}", {})):
                    code, body = await trader.call(method, path + suffix, headers=headers)
                    assert code == 200, (method, path, suffix, body)
            assert (await trader.call("DELETE", "/instances/nope", headers={"Authorization": f"Bearer {TOKEN}"}))[0] == 404
            assert (await trader.call("POST", "/kill", headers={"Authorization": f"Bearer {TOKEN}"}))[0] == 200

    asyncio.run(scenario())
