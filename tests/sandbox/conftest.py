"""Fixtures shared by the sandbox tests."""
from __future__ import annotations

from typing import Iterator

import pytest

from .runtime_helpers import Runtime
from .v1_helpers import TenantApi, tenant_api


@pytest.fixture(scope="module")
def rt(sandbox_state) -> Iterator[Runtime]:
    """The first tenant's workflow API and database, for one test module."""
    runtime = Runtime(tenant_api(sandbox_state, 0))
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def acme(sandbox_state) -> TenantApi:
    """The first seeded tenant's HTTP and SQL access."""
    return tenant_api(sandbox_state, 0)
