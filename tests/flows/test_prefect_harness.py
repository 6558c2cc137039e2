"""The locked Prefect/FastAPI/pydantic set works together: Prefect's test harness runs a flow."""

from __future__ import annotations

import pytest
from prefect import flow, task


@task
def double(x: int) -> int:
    return 2 * x


@flow
def trivial_flow(x: int) -> int:
    return double(x) + 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Prefect's own server code on this pin set
def test_trivial_flow_runs_in_prefect_test_harness(prefect_harness: None) -> None:
    assert trivial_flow(20) == 41
