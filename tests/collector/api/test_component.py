"""Who may use the REST API: loopback by default; beyond loopback only with the token, checked like the fan-out's."""

from __future__ import annotations

import asyncio
import json

import pytest

from collector.api import ApiComponent
from collector.health import HealthTracker
from collector.latest import LatestMarket
from shared.settings import Settings, SettingsError, settings_from_mapping
from shared.settings.api import ApiSettings
from tests.collector.api.harness import get, running_api

TOKEN = "api-t0ken"


def test_binding_beyond_loopback_without_a_token_is_refused_by_the_settings_and_at_start() -> None:
    for api in ({"host": "0.0.0.0"}, {"host": "10.1.2.3", "token": ""}):
        with pytest.raises(SettingsError) as err:
            settings_from_mapping({"api": api})
        assert err.value.key == "api.token" and "not loopback" in err.value.problem
    assert settings_from_mapping({"api": {"host": "0.0.0.0", "enabled": False}}).api.token is None
    exposed = ApiSettings.model_construct(**{**ApiSettings().model_dump(), "host": "0.0.0.0", "token": None})
    with pytest.raises(ValueError, match=r"refusing to start without api\.token"):
        ApiComponent(Settings.model_construct(api=exposed), HealthTracker().snapshot, None, LatestMarket())  # type: ignore[arg-type]


def test_a_wildcard_bind_answers_only_requests_with_the_token_in_the_header_or_query() -> None:
    async def scenario() -> None:
        async with running_api(host="0.0.0.0", token=TOKEN) as url:
            for path in ("/health", "/metrics"):
                for suffix, headers in (("", {}), ("", {"Authorization": "Bearer wrong"}), ("?token=wrong", {}),
                                        ("", {"Authorization": f"Basic {TOKEN}"})):
                    status, content_type, body = await asyncio.to_thread(get, url + path + suffix, headers)
                    assert status == 401, (path, suffix, headers)
                    assert content_type == "application/json" and "Authorization: Bearer" in json.loads(body)["detail"]
                for suffix, headers in (("", {"Authorization": f"Bearer {TOKEN}"}), (f"?token={TOKEN}", {})):
                    status, _, body = await asyncio.to_thread(get, url + path + suffix, headers)
                    assert status == 200, (path, suffix, body)

    asyncio.run(scenario())


def test_metrics_public_opens_metrics_alone() -> None:
    async def scenario() -> None:
        async with running_api(host="0.0.0.0", token=TOKEN, metrics_public=True) as url:
            status, content_type, body = await asyncio.to_thread(get, url + "/metrics")
            assert status == 200 and content_type.startswith("text/plain") and b"spreadlake_consumer_errors" in body
            assert (await asyncio.to_thread(get, url + "/health"))[0] == 401

    asyncio.run(scenario())


def test_openapi_documents_metrics_as_plain_text_and_the_token_refusal() -> None:
    async def scenario() -> None:
        async with running_api(token=TOKEN) as url:
            status, _, body = await asyncio.to_thread(get, url + "/openapi.json")
            assert status == 200  # the API's description is not guarded: it holds no collector data
            paths = json.loads(body)["paths"]
            metrics = paths["/metrics"]["get"]["responses"]
            assert list(metrics["200"]["content"]) == ["text/plain"]
            assert list(metrics["401"]["content"]) == ["application/json"] and "401" in paths["/health"]["get"]["responses"]
            assert "503" in paths["/health"]["get"]["responses"]
            status, content_type, _ = await asyncio.to_thread(get, url + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
            assert status == 200 and content_type.startswith("text/plain")

    asyncio.run(scenario())
