"""The vesting suite runs the real ServiceNodeStaking under titanoboa, with the native
EIP-2537 precompiles (see tests/property/conftest.py)."""

import pytest

from sesh.testing.boa_bls import native_bls_precompiles


@pytest.fixture(autouse=True, scope="session")
def native_bls():
    with native_bls_precompiles():
        yield
