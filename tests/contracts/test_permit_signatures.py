"""sign_permit's r and s are always 32-byte words, even when the signature's own bytes
are shorter (a leading zero byte, one signature in 256)."""

from dataclasses import dataclass

from sesh.contracts.permit import _word


@dataclass
class ShortSignature:
    v: int
    r: bytes
    s: bytes


def test_word__left_pads_a_value_missing_its_leading_zero_bytes():
    s = 0x00FF * 2**232 + 12345  # 31 significant bytes
    short = s.to_bytes(31, "big")
    assert _word(short) == s.to_bytes(32, "big")
    assert int.from_bytes(_word(short), "big") == s


def test_word__keeps_full_words_and_integers():
    full = bytes(range(32))
    assert _word(full) == full
    assert _word(7) == (7).to_bytes(32, "big")


def test_sign_permit__with_a_short_s__still_verifies_on_chain(
    project, accounts, chain, monkeypatch
):
    """Force the 1-in-256 case: the token must accept the padded signature."""
    from eth_account import Account

    from sesh.contracts.permit import permit_message, sign_permit

    owner, spender = accounts[1], accounts[2]
    zero = "0x" + "00" * 20
    token = accounts[0].deploy(project.SessionToken, accounts[0], zero, zero)
    deadline = chain.pending_timestamp + 3600
    # Find a value whose signature has s (or r) with a leading zero byte.
    key = Account.from_key(
        bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
    )
    assert key.address == owner.address
    for value in range(1, 5_000):
        message = permit_message(
            token_name="Session Token", token_version="1", chain_id=chain.chain_id,
            token=token.address, owner=owner.address, spender=spender.address, value=value,
            nonce=0, deadline=deadline,
        )  # fmt: skip
        signed = key.sign_message(message)
        if signed.s < 2**248 or signed.r < 2**248:
            break
    else:
        raise AssertionError("no short signature found")

    original = owner.sign_message

    def short_bytes(msg):
        sig = original(msg)
        return ShortSignature(sig.v, sig.r.lstrip(b"\x00"), sig.s.lstrip(b"\x00"))

    monkeypatch.setattr(type(owner), "sign_message", lambda self, msg: short_bytes(msg))
    permit = sign_permit(owner, token, spender.address, value, deadline)
    token.permit(owner, spender, value, *permit.as_args(), sender=spender)
    assert token.allowance(owner, spender) == value
