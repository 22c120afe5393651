"""Fixtures of the titanoboa suites."""

import pytest

from sesh.testing.boa_bls import native_bls_precompiles


@pytest.fixture(autouse=True, scope="session")
def native_bls():
    """Every titanoboa suite runs with the native EIP-2537 precompiles (py-evm's own take
    about a second per pairing check); tests/property/test_boa_bls_precompiles.py checks
    that both agree, and switches back to py-evm's where it compares them."""
    with native_bls_precompiles():
        yield
