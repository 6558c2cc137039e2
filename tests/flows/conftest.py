from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's temporary server takes ~15 s to start on 2 cores: once per test session."""
    from prefect.testing.utilities import prefect_test_harness

    # Starting the server allocates enough to run the garbage collector, which then finalizes whatever an
    # earlier test left unreferenced (a client socket): its ResourceWarning, an error under this suite's
    # filters, would be charged to this setup. Collect it first, outside the error filter.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    with prefect_test_harness(server_startup_timeout=120):
        yield
