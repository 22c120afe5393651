"""The client-side request builders sign exactly the texts Session's storage server checks
(written out here from Session's rules, and checked with a plain Ed25519 verify), tokens are
laid out as Session's, and the node's parsers read what the builders write."""

from __future__ import annotations

import base64

import pytest
from nacl.signing import SigningKey, VerifyKey

from sesh.client.groups import GroupAdmin
from sesh.protocol import bencode
from sesh.protocol.storage_rpc import (
    ACCESS_ANY_PREFIX,
    ACCESS_DELETE,
    ACCESS_READ,
    ACCESS_WRITE,
    RequestSigner,
    RpcError,
    account_wide_request,
    expire_request,
    get_expiries_request,
    params_from_bt,
    parse_account_wide,
    parse_expire,
    parse_get_expiries,
    parse_ifelse,
    parse_namespace_var,
    parse_retrieve,
    parse_revoke,
    retrieve_request,
    revoke_request,
    revoked_list_request,
    store_request,
    subaccount_token,
    verify_auth,
)

NOW = 1_800_000_000_000
HASHES = ["A" * 43, "B" * 43]


def signature_of(params: dict) -> bytes:
    return base64.b64decode(params["signature"])


def owner() -> tuple[SigningKey, RequestSigner]:
    key = SigningKey.generate()
    return key, RequestSigner.owner("03" + bytes(key.verify_key).hex(), key)


@pytest.mark.parametrize(
    ("request_of", "text"),
    [
        (lambda s: account_wide_request("delete_all", s, NOW), f"delete_all{NOW}"),
        (lambda s: account_wide_request("delete_all", s, NOW, "all"), f"delete_allall{NOW}"),
        (lambda s: account_wide_request("delete_all", s, NOW, -42), f"delete_all-42{NOW}"),
        (lambda s: account_wide_request("delete_before", s, NOW, 5), f"delete_before5{NOW}"),
        (lambda s: account_wide_request("expire_all", s, NOW), f"expire_all{NOW}"),
        (lambda s: get_expiries_request(s, HASHES, NOW), f"get_expiries{NOW}{''.join(HASHES)}"),
        (lambda s: expire_request(s, HASHES, NOW, "extend"), f"expireextend{NOW}{''.join(HASHES)}"),
        (
            lambda s: expire_request(s, HASHES, [NOW, NOW + 1]),
            f"expire{NOW}{NOW + 1}{''.join(HASHES)}",
        ),
        (lambda s: retrieve_request(s, NOW, 42), f"retrieve42{NOW}"),
        (lambda s: retrieve_request(s, NOW), f"retrieve{NOW}"),
        (lambda s: store_request(s, s.account, b"x", NOW, 1000, -11), f"store-11{NOW}"),
        (lambda s: revoked_list_request(s, NOW), f"revoked_subaccounts{NOW}"),
    ],
)
def test_builders__sign_sessions_text(request_of, text):
    key, signer = owner()
    request = request_of(signer)
    VerifyKey(bytes(key.verify_key)).verify(text.encode(), signature_of(request["params"]))


def test_builders__revocations_sign_the_raw_tokens_after_the_timestamp():
    key, signer = owner()
    tokens = [bytes([3, 3, 0, 0]) + bytes(range(32)), bytes([3, 1, 0, 0]) + bytes(32)]
    for unrevoke, method in ((False, "revoke_subaccount"), (True, "unrevoke_subaccount")):
        request = revoke_request(signer, tokens, NOW, unrevoke)
        assert request["method"] == method
        signed = method.encode() + str(NOW).encode() + tokens[0] + tokens[1]
        VerifyKey(bytes(key.verify_key)).verify(signed, signature_of(request["params"]))
        parsed = parse_revoke(method, request["params"])
        assert parsed.tokens == tokens and parsed.timestamp == NOW


def test_builders__what_they_write_the_node_reads_and_verifies():
    _, signer = owner()
    account = bytes.fromhex(signer.account)
    request = account_wide_request("delete_before", signer, NOW, "all")
    parsed = parse_account_wide("delete_before", request["params"])
    assert (parsed.namespace, parsed.when) == ("all", NOW)
    assert verify_auth(account, parsed.auth, parsed.signed_text())
    expire = parse_expire(expire_request(signer, HASHES, NOW, "shorten")["params"])
    assert expire.shorten and not expire.extend
    got = parse_get_expiries(get_expiries_request(signer, HASHES, NOW)["params"])
    assert verify_auth(account, got.auth, got.signed_text())
    retrieve = parse_retrieve(retrieve_request(signer, NOW, reverse_direction=True)["params"])
    assert retrieve.reverse


def test_session_id_signer__sends_the_ed25519_key_whose_x25519_form_is_the_account():
    key = SigningKey.generate()
    account = "05" + bytes(key.verify_key.to_curve25519_public_key()).hex()
    params = account_wide_request("delete_all", RequestSigner.owner(account, key), NOW)["params"]
    assert params["pubkey_ed25519"] == bytes(key.verify_key).hex()
    parsed = parse_account_wide("delete_all", params)
    assert verify_auth(bytes.fromhex(account), parsed.auth, parsed.signed_text())


def test_tokens__are_laid_out_as_sessions_with_its_flag_bits():
    key = bytes(range(32))
    assert subaccount_token(3, key).hex() == "03030000" + key.hex()
    assert subaccount_token(3, key, write=False).hex() == "03010000" + key.hex()
    assert subaccount_token(3, key, read=False, write=False).hex() == "03000000" + key.hex()
    assert subaccount_token(3, key, delete=True).hex() == "03070000" + key.hex()
    assert subaccount_token(3, key, any_prefix=True).hex() == "030b0000" + key.hex()
    assert (ACCESS_READ, ACCESS_WRITE, ACCESS_DELETE, ACCESS_ANY_PREFIX) == (1, 2, 4, 8)
    with pytest.raises(ValueError):
        subaccount_token(3, key[:31])


def test_group_admin__signs_member_tokens_with_the_group_key():
    group = GroupAdmin.create()
    member_key = SigningKey.generate()
    signer, token = group.member_signer(member_key)
    assert signer.account == group.account and group.account.startswith("03")
    VerifyKey(bytes(group.group_key.verify_key)).verify(token, signer.subaccount.signature)
    params = retrieve_request(signer, NOW, 11)["params"]
    assert base64.b64decode(params["subaccount"]) == token
    parsed = parse_retrieve(params)
    assert verify_auth(
        bytes.fromhex(group.account), parsed.auth, f"retrieve11{NOW}".encode(), ACCESS_READ
    )
    # The member's token grants read and write, not delete.
    assert not verify_auth(
        bytes.fromhex(group.account), parsed.auth, f"retrieve11{NOW}".encode(), ACCESS_DELETE
    )
    with pytest.raises(ValueError, match="another key"):
        RequestSigner.member(group.account, SigningKey.generate(), token, b"\0" * 64)


def test_subaccount_params__refused_as_session_words_it():
    _, signer = owner()
    params = dict(retrieve_request(signer, NOW)["params"])
    params["subaccount"] = "zz"
    params["subaccount_sig"] = params["signature"]
    with pytest.raises(RpcError, match="expected base64 or hex-encoded subaccount token"):
        parse_retrieve(params)
    params["subaccount"] = "03" * 36
    del params["subaccount_sig"]
    with pytest.raises(RpcError, match="subaccount_sig is required"):
        parse_retrieve(params)


def test_namespace_var__an_integer_or_all():
    assert parse_namespace_var(None) == 0 and parse_namespace_var("all") == "all"
    assert parse_namespace_var(-32768) == -32768
    for bad in ("ALL", 40000, True, 1.5):
        with pytest.raises(RpcError):
            parse_namespace_var(bad)


def test_ifelse_conditions__pad_versions_and_and_them_together():
    condition, then, otherwise = parse_ifelse(
        {"if": {"hf_at_least": [19], "v_before": [3]}, "else": {"method": "info", "params": {}}}
    )
    assert then is None and otherwise == ("info", {})
    assert condition.hf_at_least == (19, 0) and condition.v_before == (3, 0, 0)
    assert condition.holds((21, 0), (2, 11, 0), 0)
    assert not condition.holds((18, 9), (2, 11, 0), 0)
    assert not condition.holds((21, 0), (3, 0, 0), 0)


def test_params_from_bt__binary_fields_become_their_json_forms():
    key, signer = owner()
    token = subaccount_token(3, bytes(32))
    raw = {
        b"pubkey": bytes.fromhex(signer.account),
        b"signature": b"\x01" * 64,
        b"data": b"\xff\x00",
        b"subaccount": token,
        b"extend": 1,
        b"revoke": [token],
        b"messages": [b"A" * 43],
        b"requests": [{b"method": b"info", b"params": {}}],
    }
    params = params_from_bt(bencode.decode(bencode.encode(raw)))
    assert params["pubkey"] == signer.account
    assert base64.b64decode(params["signature"]) == b"\x01" * 64
    assert base64.b64decode(params["data"]) == b"\xff\x00"
    assert base64.b64decode(params["subaccount"]) == token
    assert params["extend"] is True and params["messages"] == ["A" * 43]
    assert [base64.b64decode(t) for t in params["revoke"]] == [token]
    assert params["requests"] == [{"method": "info", "params": {}}]
