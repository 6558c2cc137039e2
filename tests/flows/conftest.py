from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's temporary server takes ~15 s to start on 2 cores: once per test session."""
    from prefect.testing.utilities import prefect_test_harness

    # Starting the server allocates enough to run the garbage collector, and it drops Prefect's cached clients:
    # either can finalize what an earlier test left unreferenced (a client socket). Its ResourceWarning, an error
    # under this suite's filters, would be charged to this setup; the start-up is kept out of the error filter.
    with contextlib.ExitStack() as stack:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
            stack.enter_context(prefect_test_harness(server_startup_timeout=120))
            gc.collect()
        yield
