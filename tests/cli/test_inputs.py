"""What `sesh` refuses to put on chain, checked without a chain: endpoints nodes could not
reach, addresses without a valid EIP-55 checksum, node ids out of range."""

import pytest

from sesh.contracts.base import ContractError
from sesh.contracts.inputs import check_address, check_endpoint, check_node_id

CHECKSUMMED = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@pytest.mark.parametrize(
    "endpoint, local",
    [
        ("203.0.114.7:22021", False),
        ("node-1.example.org:443", False),
        ("8.8.8.8:1", False),
        ("127.0.0.1:22021", True),
        ("localhost:65535", True),
        ("192.168.1.5:22021", True),
    ],
)
def test_check_endpoint__reachable_endpoints__pass(endpoint, local):
    assert check_endpoint(endpoint, local) == endpoint


@pytest.mark.parametrize(
    "endpoint, local, reason",
    [
        ("notahost", True, "not host:port"),
        ("not an endpoint at all", True, "not host:port"),
        ("999.1.1.1:22021", True, "not an IPv4 address"),
        ("203.0.113.7:99999", True, "is not 1 to 65535"),
        ("203.0.113.7:0", True, "is not 1 to 65535"),
        ("203.0.113.7:port", True, "is not 1 to 65535"),
        ("nodot:22021", True, "neither an IPv4 address nor a full DNS name"),
        ("-bad.example.org:22021", True, "neither an IPv4 address nor a full DNS name"),
        ("127.0.0.1:22021", False, "not a public address"),
        ("10.0.0.1:22021", False, "not a public address"),
        ("203.0.113.7:22021", False, "not a public address"),  # documentation range
        ("localhost:22021", False, "localhost is not reachable"),
        ("a" * 60 + ".org:1", True, "longer than 64 bytes"),
    ],
)
def test_check_endpoint__unreachable_or_malformed__refused_with_the_reason(endpoint, local, reason):
    with pytest.raises(ContractError, match=reason):
        check_endpoint(endpoint, local)


def test_check_address__checksummed__passes_and_typos_are_refused():
    assert check_address(CHECKSUMMED) == CHECKSUMMED
    typo = CHECKSUMMED[:-1] + "c"
    with pytest.raises(ContractError, match="wrong EIP-55 checksum"):
        check_address(typo)
    with pytest.raises(ContractError, match=f"give it as {CHECKSUMMED}"):
        check_address(CHECKSUMMED.lower())
    for text in ("0x1234", "3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x" + "g" * 40):
        with pytest.raises(ContractError, match="is not an address"):
            check_address(text)


def test_check_node_id__from_one_to_uint64():
    assert check_node_id(1) == 1 and check_node_id(2**64 - 1) == 2**64 - 1
    for bad in (0, -1, 2**64):
        with pytest.raises(ContractError, match="out of range"):
            check_node_id(bad)
