"""Shared test set-up: hypothesis profiles, named roles, deployment factories.

Hypothesis profiles (choose with HYPOTHESIS_PROFILE):
  ci     quick, what `make test` and CI run
  audit  deep, for auditors: many examples and long stateful runs
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "audit",
    max_examples=2_000,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _lean_ape_reverts():
    """Reverts without Ape's trace decoration.

    On every revert, ape-foundry fetches a step-by-step trace of the transaction from
    anvil, maps it to source lines and prints the call tree. For a contract that runs
    hash-to-curve that is seconds per reverted call, and tests only need the reason
    (which anvil already returns). Only the decoration is skipped: the transaction still
    runs on anvil and `ape.reverts` still checks the reason string.
    """
    try:
        from ape.exceptions import ContractLogicError, TransactionError
        from ape_foundry.provider import FoundryProvider
    except ImportError:  # titanoboa-only runs
        yield
        return

    original = FoundryProvider._handle_execution_reverted

    def lean(self, exception, revert_message=None, **kwargs):
        kwargs.pop("trace", None)
        kwargs.pop("set_ape_traceback", None)
        message = revert_message or TransactionError.DEFAULT_MESSAGE
        if message == "0x":
            message = TransactionError.DEFAULT_MESSAGE
        if message.startswith("revert: "):
            message = message[len("revert: ") :]
        return ContractLogicError(
            base_err=exception, revert_message=message, set_ape_traceback=False, **kwargs
        )

    FoundryProvider._handle_execution_reverted = lean
    yield
    FoundryProvider._handle_execution_reverted = original
