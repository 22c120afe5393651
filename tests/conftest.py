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


# ----- Running on both cores (`make test` runs `ape test -n 2 --dist loadgroup`)
#
# xdist hands out work units one at a time to whichever worker is free. A unit is a test
# module, or the modules of one group below (run in file order on one worker), and the units
# go out longest first so the run ends with short ones on both workers. The order comes from
# the durations `make test` prints (the 15 slowest); a module not listed here is short and
# keeps its place.
SHARED_GROUPS = {
    # In file order on one worker: the isolation check runs after the story's module has
    # torn down its devnet, on the worker whose Ape session the story connected elsewhere.
    "tests/devnet/": "devnet",
}
# The CLI's modules are units of their own: each worker that takes one deploys the CLI's
# chain once (a session fixture, ~20 s), and the two workers share the CLI's minutes.
LONGEST_FIRST = [
    "tests/cli/test_keys_and_node.py",
    "tests/cli/test_operator_guide.py",
    "tests/cli/test_products_and_errors.py",
    "tests/deploy/test_deploy_suite.py",
    "tests/devnet/",
    "tests/cli/test_reads_and_signing.py",
    "tests/property/test_staking_stateful.py",
    "tests/property/test_token_stateful.py",
    "tests/web/test_explorer.py",
    "tests/node/test_soak.py",
    "tests/property/test_pool_emission.py",
    "tests/node/test_network.py",
    "tests/property/test_pro_stateful.py",
    "tests/node/test_process.py",
    "tests/node/test_attachments_network.py",
    "tests/node/test_fuzz.py",
    "tests/property/test_names_stateful.py",
    "tests/cli/",
    "tests/property/",
    "tests/node/",
]


def _rank(nodeid: str) -> int:
    for rank, prefix in enumerate(LONGEST_FIRST):
        if nodeid.startswith(prefix):
            return rank
    return len(LONGEST_FIRST)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: a module keeps its order
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        group = next((g for p, g in SHARED_GROUPS.items() if module.startswith(p)), module)
        item.add_marker(pytest.mark.xdist_group(group))
