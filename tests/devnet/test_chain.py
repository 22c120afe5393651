"""The chain `ape test` runs on is Prague: EIP-2537's BLS12-381 precompiles exist."""

G1_GENERATOR = bytes.fromhex(
    "0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
    "0000000000000000000000000000000008b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1"
)


def test_chain__has_the_eip2537_g1add_precompile(chain):
    # G1ADD (0x0b): G + O = G, where O (the point at infinity) is 128 zero bytes.
    result = chain.provider.web3.eth.call(
        {"to": "0x000000000000000000000000000000000000000b", "data": G1_GENERATOR + bytes(128)}
    )
    assert bytes(result) == G1_GENERATOR


def test_chain__g1add_refuses_a_point_off_the_curve(chain):
    import pytest

    bad = bytearray(G1_GENERATOR)
    bad[-1] ^= 1
    with pytest.raises(Exception):  # noqa: B017 - any RPC error: the precompile fails
        chain.provider.web3.eth.call(
            {"to": "0x000000000000000000000000000000000000000b", "data": bytes(bad) + bytes(128)}
        )
