"""The name policy (issue #16, 7): which labels are names, how case is handled, and what
ERC-721 reports for a name past its expiry. Chosen and documented in docs/products.md."""

import ape
import pytest

from sesh.rules.names import GRACE_PERIOD, YEAR, name_problem, normalize, token_id
from tests.unit.products import travel

SESSION_ID = b"\x05" + bytes(range(1, 33))


@pytest.mark.parametrize("name", ["xn--bcher-kva", "a--b", "ab--", "0x0"])
def test_punycode_and_double_hyphen_labels__are_plain_names(sns, name):
    # Accepted as ASCII names: they are never decoded, so `xn--bcher-kva` is that string,
    # not "bücher", and the SDK shows it as typed.
    expected = name_problem(name) is None
    assert sns.valid(name) == expected
    assert expected == (not name.endswith("-"))


def test_resolving_a_name_in_another_case_returns_nothing_and_the_sdk_lowercases_first(
    sns, register, registrant
):
    register("alice", registrant)
    sns.set_session_id("alice", SESSION_ID, sender=registrant)
    # On chain a name is its exact bytes: "Alice" is not a valid name and resolves to nothing.
    assert sns.resolve("Alice") == b"" and not sns.valid("Alice")
    # The SDK (and so the CLI) lowercases before asking, so users may type any case.
    assert sns.resolve(normalize("  Alice ")) == SESSION_ID


def test_a_lapsed_holder_is_still_reported_by_erc721_until_the_name_is_registered_anew(
    sns, register, registrant, buyer, chain, sesh_feed, deployer
):
    # Chosen: the token stays with its holder through expiry and grace (so a renewal
    # keeps the same token and marketplaces keep its history); `expiry`, `resolve` and
    # refused transfers say it has lapsed. Registering it anew burns it and mints anew.
    register("alice", registrant)
    travel(chain, YEAR + GRACE_PERIOD, sesh_feed, deployer)
    assert sns.ownerOf(token_id("alice")) == registrant and sns.balanceOf(registrant) == 1
    assert sns.resolve("alice") == b"" and sns.available("alice")
    with ape.reverts("sns: name expired"):
        sns.transferFrom(registrant, buyer, token_id("alice"), sender=registrant)
    travel(chain, 21 * 86_400, sesh_feed, deployer)  # past the premium
    assert sns.ownerOf(token_id("alice")) == registrant
    register("alice", buyer)
    assert sns.ownerOf(token_id("alice")) == buyer and sns.balanceOf(registrant) == 0
