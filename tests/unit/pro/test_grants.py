"""Grants for off-chain purchases: once per receipt; revocation takes back what is left."""

import ape
import pytest

from tests.unit.products import travel

from .conftest import MAX_UINT256, MONTH, MONTHLY, PRO_KEY

RECEIPT = b"\x0e" * 32
OTHER_RECEIPT = b"\x0f" * 32


def test_grant__by_a_provider__extends_the_key_and_logs(pro, provider):
    receipt = pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    expiry = receipt.timestamp + MONTH
    assert pro.pro_expiry(PRO_KEY) == expiry and pro.is_pro(PRO_KEY)
    assert receipt.events == [pro.ProGranted(PRO_KEY, RECEIPT, MONTH, expiry)]
    assert pro.grants(provider, RECEIPT) == (PRO_KEY, expiry, MONTH, False)


def test_grant__a_second_time_for_the_same_receipt__is_refused(pro, provider):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    expiry = pro.pro_expiry(PRO_KEY)
    with ape.reverts("pro: receipt already used"):
        pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    with ape.reverts("pro: receipt already used"):
        pro.grant(b"\x02" * 32, MONTH, RECEIPT, sender=provider)
    assert pro.pro_expiry(PRO_KEY) == expiry


def test_grant__by_someone_without_the_role__is_refused(pro, attacker):
    with ape.reverts("pro: caller is not a payment provider"):
        pro.grant(PRO_KEY, MONTH, RECEIPT, sender=attacker)
    assert not pro.is_pro(PRO_KEY)


@pytest.mark.parametrize(
    "key,duration,receipt_id,reason",
    [
        (b"\x00" * 32, MONTH, RECEIPT, "pro: Pro public key is zero"),
        (PRO_KEY, MONTH, b"\x00" * 32, "pro: receipt id is zero"),
        (PRO_KEY, 86_399, RECEIPT, "pro: duration shorter than 1 day"),
        (PRO_KEY, 3 * 365 * 86_400 + 1, RECEIPT, "pro: duration longer than 3 years"),
    ],
)
def test_grant__with_bad_arguments__is_refused(pro, provider, key, duration, receipt_id, reason):
    with ape.reverts(reason):
        pro.grant(key, duration, receipt_id, sender=provider)


def test_grant__while_paused__is_refused_but_revoke_works(pro, provider, deployer):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    pro.pause(sender=deployer)
    with ape.reverts("pro: paused"):
        pro.grant(PRO_KEY, MONTH, OTHER_RECEIPT, sender=provider)
    pro.revoke(provider, RECEIPT, sender=provider)
    assert not pro.is_pro(PRO_KEY)


def test_revoke__an_unused_grant__takes_it_all_back(pro, provider):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    receipt = pro.revoke(provider, RECEIPT, sender=provider)
    assert pro.pro_expiry(PRO_KEY) == receipt.timestamp
    assert not pro.is_pro(PRO_KEY)
    assert receipt.events == [pro.ProRevoked(PRO_KEY, RECEIPT, receipt.timestamp)]
    assert pro.grants(provider, RECEIPT)[3] is True


def test_revoke__a_half_used_grant__takes_back_only_the_rest(
    pro, provider, chain, sesh_feed, deployer
):
    start = pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider).timestamp
    travel(chain, MONTH // 2, sesh_feed, deployer)
    receipt = pro.revoke(provider, RECEIPT, sender=provider)
    assert pro.pro_expiry(PRO_KEY) == receipt.timestamp
    assert receipt.timestamp < start + MONTH


def test_revoke__never_takes_paid_time(
    pro, token, provider, paying, subscriber, chain, sesh_feed, deployer
):
    paying(subscriber)
    granted_at = pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider).timestamp
    pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=subscriber)
    assert pro.pro_expiry(PRO_KEY) == granted_at + 2 * MONTH
    travel(chain, 10 * 86_400, sesh_feed, deployer)
    receipt = pro.revoke(provider, RECEIPT, sender=provider)
    # 20 unused granted days go; the paid month stays in full.
    used = receipt.timestamp - granted_at
    assert pro.pro_expiry(PRO_KEY) == granted_at + 2 * MONTH - (MONTH - used)
    assert pro.pro_expiry(PRO_KEY) == receipt.timestamp + MONTH


def test_revoke__after_an_earlier_revocation__never_takes_paid_time(
    pro, token, provider, paying, subscriber, chain, sesh_feed, deployer
):
    paying(subscriber)
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    pro.grant(PRO_KEY, MONTH, OTHER_RECEIPT, sender=provider)
    pro.revoke(provider, RECEIPT, sender=provider)
    paid = pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=subscriber)
    travel(chain, 86_400, sesh_feed, deployer)
    receipt = pro.revoke(provider, OTHER_RECEIPT, sender=provider)
    # Whatever was left of the grants, the paid month bought after them remains.
    assert pro.pro_expiry(PRO_KEY) >= receipt.timestamp + MONTH
    assert pro.pro_expiry(PRO_KEY) <= paid.return_value


def test_revoke__after_the_grant_was_used_up__changes_nothing(
    pro, provider, chain, sesh_feed, deployer
):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    expiry = pro.pro_expiry(PRO_KEY)
    travel(chain, 2 * MONTH, sesh_feed, deployer)
    pro.revoke(provider, RECEIPT, sender=provider)
    assert pro.pro_expiry(PRO_KEY) == expiry


def test_revoke__twice__is_refused(pro, provider):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    pro.revoke(provider, RECEIPT, sender=provider)
    with ape.reverts("pro: receipt already revoked"):
        pro.revoke(provider, RECEIPT, sender=provider)


def test_revoke__an_unknown_receipt__is_refused(pro, provider):
    with ape.reverts("pro: unknown receipt"):
        pro.revoke(provider, RECEIPT, sender=provider)


def test_revoke__by_someone_without_the_role__is_refused(pro, provider, attacker):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    with ape.reverts("pro: caller is neither the granting provider nor the owner"):
        pro.revoke(provider, RECEIPT, sender=attacker)
    assert pro.is_pro(PRO_KEY)


def test_revoking_a_later_grant_first_takes_back_every_refunded_second(pro, provider):
    # Issue #16, 1: grant A and B (a year each), revoke B, then A. Revoking B never
    # moved A, so A is taken back whole: the key is left with nothing.
    year = 365 * 86_400
    pro.grant(PRO_KEY, year, RECEIPT, sender=provider)
    pro.grant(PRO_KEY, year, OTHER_RECEIPT, sender=provider)
    pro.revoke(provider, OTHER_RECEIPT, sender=provider)
    receipt = pro.revoke(provider, RECEIPT, sender=provider)
    assert pro.pro_expiry(PRO_KEY) == receipt.timestamp
    assert not pro.is_pro(PRO_KEY)


def test_revoke__an_earlier_grant__moves_the_later_grant_which_then_goes_exactly(
    pro, provider, chain, sesh_feed, deployer
):
    third = b"\x10" * 32
    granted_at = pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider).timestamp
    pro.grant(PRO_KEY, MONTH, OTHER_RECEIPT, sender=provider)
    pro.grant(PRO_KEY, MONTH, third, sender=provider)
    travel(chain, 10 * 86_400, sesh_feed, deployer)
    first = pro.revoke(provider, RECEIPT, sender=provider).timestamp
    # The first grant had `granted_at + MONTH - first` left; the other two move earlier.
    assert pro.pro_expiry(PRO_KEY) == first + 2 * MONTH
    pro.revoke(provider, third, sender=provider)
    assert pro.pro_expiry(PRO_KEY) == first + MONTH
    last = pro.revoke(provider, OTHER_RECEIPT, sender=provider).timestamp
    assert pro.pro_expiry(PRO_KEY) == last
    assert granted_at < first


def test_revoke__many_grants_in_any_order__costs_a_bounded_amount(pro, provider):
    receipts = [bytes([0x20, i]) + bytes(30) for i in range(40)]
    for receipt_id in receipts:
        pro.grant(PRO_KEY, 86_400, receipt_id, sender=provider)
    order = receipts[1::2] + receipts[::2]
    gas = [pro.revoke(provider, r, sender=provider).gas_used for r in order]
    assert max(gas) < 120_000
    assert not pro.is_pro(PRO_KEY)


def test_a_provider_can_neither_reuse_nor_revoke_another_providers_receipt(
    pro, provider, payment_provider, deployer, accounts
):
    # Issue #16, 6: receipt ids are per provider, and only the granting provider (or
    # the owner) revokes a grant.
    other = accounts[9]
    pro.set_payment_provider(other, True, sender=deployer)
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    with ape.reverts("pro: caller is neither the granting provider nor the owner"):
        pro.revoke(provider, RECEIPT, sender=other)
    # The same receipt id is the other provider's own, for its own purchase.
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=other)
    assert pro.grants(other, RECEIPT)[0] == PRO_KEY
    assert pro.grants(provider, RECEIPT)[3] is False
    with ape.reverts("pro: unknown receipt"):
        pro.revoke(other, OTHER_RECEIPT, sender=other)


def test_revoke__by_the_owner__works_for_any_provider(pro, provider, deployer):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    receipt = pro.revoke(provider, RECEIPT, sender=deployer)
    assert pro.pro_expiry(PRO_KEY) == receipt.timestamp
    assert pro.grants(provider, RECEIPT)[3] is True


def test_revoke__by_a_provider_that_lost_the_role__is_refused(pro, provider, deployer):
    pro.grant(PRO_KEY, MONTH, RECEIPT, sender=provider)
    pro.set_payment_provider(provider, False, sender=deployer)
    with ape.reverts("pro: caller is neither the granting provider nor the owner"):
        pro.revoke(provider, RECEIPT, sender=provider)
    assert pro.is_pro(PRO_KEY)
