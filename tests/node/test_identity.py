"""The node's keys (sesh/node/identity.py): key files, their permissions, the match with the
configured public key, and the X25519 key derived as Session's nodes derive it; the client's
path choice (sesh/client/onion_client.py)."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys

import pytest
from nacl.bindings import (
    crypto_scalarmult,
    crypto_scalarmult_base,
    crypto_sign_ed25519_sk_to_curve25519,
    crypto_sign_seed_keypair,
)

from sesh.client.onion_client import ClientError, pick_path, subnet
from sesh.crypto.key_files import IdentityError, write_key_file, x25519_from_ed25519
from sesh.node.config import ConfigError, load_config
from sesh.node.identity import NodeIdentity, load_identity, read_key_file
from sesh.protocol.nodes import NodeInfo
from tests.node.processnet import ROOT

SEED = hashlib.sha256(b"identity test").digest()


def test_identity__the_x25519_key_is_libsodiums_conversion_of_the_ed25519_key():
    identity = NodeIdentity.from_seed(SEED)
    public, secret = crypto_sign_seed_keypair(SEED)
    assert identity.ed25519_pubkey == public
    assert identity.x25519_secret == crypto_sign_ed25519_sk_to_curve25519(secret)
    assert identity.x25519_pubkey == crypto_scalarmult_base(identity.x25519_secret)
    assert x25519_from_ed25519(identity.ed25519_pubkey) == identity.x25519_pubkey
    # A client holding only the Ed25519 key from the registry agrees on the shared secret.
    client_secret = hashlib.sha256(b"client").digest()
    client_public = crypto_scalarmult_base(client_secret)
    assert crypto_scalarmult(identity.x25519_secret, client_public) == crypto_scalarmult(
        client_secret, x25519_from_ed25519(identity.ed25519_pubkey)
    )
    assert len(identity.sign(b"m")) == 64
    with pytest.raises(ValueError, match="32 bytes"):
        x25519_from_ed25519(b"\x01" * 31)


def test_identity__a_key_file_is_read_and_written_only_for_its_owner(tmp_path):
    path = tmp_path / "keys" / "node.key"
    write_key_file(path, SEED)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path).ed25519_pubkey == NodeIdentity.from_seed(SEED).ed25519_pubkey
    with pytest.raises(IdentityError, match="already exists"):
        write_key_file(path, SEED)
    assert read_key_file(path).ed25519_pubkey == NodeIdentity.from_seed(SEED).ed25519_pubkey


@pytest.mark.parametrize(
    "content, mode, reason",
    [
        (SEED.hex(), 0o640, "accessible by group or others"),
        (SEED.hex(), 0o604, "accessible by group or others"),
        (SEED.hex()[:-2], 0o600, "holds 31 bytes"),
        ("zz" * 32, 0o600, "64 hex digits"),
        (b"\xff\xfe".decode("latin-1"), 0o600, "64 hex digits"),
    ],
)
def test_identity__a_bad_key_file_is_refused_with_the_reason(tmp_path, content, mode, reason):
    path = tmp_path / "node.key"
    path.write_text(content)
    path.chmod(mode)
    with pytest.raises(IdentityError, match=reason):
        read_key_file(path)


def test_identity__a_missing_key_file_is_refused(tmp_path):
    with pytest.raises(IdentityError, match="cannot read key file"):
        read_key_file(tmp_path / "absent.key")


CONFIG = """
[chain]
chain_id = 412346
providers = ["http://127.0.0.1:1"]
[contracts]
staking = "0x{staking}"
[node]
key_file = "node.key"
{extra}
"""


def config_with(tmp_path, extra: str = ""):
    path = tmp_path / "node.toml"
    path.write_text(CONFIG.format(staking="12" * 20, extra=extra))
    return load_config(path)


def test_identity__the_key_file_must_match_the_configured_public_key(tmp_path):
    write_key_file(tmp_path / "node.key", SEED)
    own = NodeIdentity.from_seed(SEED).ed25519_pubkey.hex()
    assert load_identity(config_with(tmp_path)).ed25519_pubkey.hex() == own
    assert load_identity(config_with(tmp_path, f'ed25519_pubkey = "{own}"')) is not None
    with pytest.raises(IdentityError, match="node.ed25519_pubkey says"):
        load_identity(config_with(tmp_path, f'ed25519_pubkey = "{"ab" * 32}"'))


def test_identity__storage_and_onion_settings_are_read_and_checked(tmp_path):
    config = config_with(
        tmp_path,
        "[storage]\nmax_bytes = 1048576\nsync_interval = 2.5\n[onion]\nrelay_timeout = 3\n",
    )
    assert config.storage.max_bytes == 1 << 20 and config.storage.sync_interval == 2.5
    assert config.onion.relay_timeout == 3.0 and config.onion.max_request_bytes == 10 << 20
    with pytest.raises(ConfigError, match="storage.max_bytes"):
        config_with(tmp_path, "[storage]\nmax_bytes = 10\n")
    with pytest.raises(ConfigError, match="unknown key onion.speed"):
        config_with(tmp_path, "[onion]\nspeed = 1\n")


def test_identity__sesh_node_run_refuses_a_readable_key_file_in_one_line(tmp_path):
    write_key_file(tmp_path / "node.key", SEED)
    (tmp_path / "node.key").chmod(0o644)
    config_with(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sesh.cli.main",
            "node",
            "run",
            "--config",
            str(tmp_path / "node.toml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "accessible by group or others" in result.stderr and "chmod 600" in result.stderr
    assert "Traceback" not in result.stderr


def node(node_id: int, host: str) -> NodeInfo:
    key = hashlib.sha256(f"{node_id}".encode()).digest()
    return NodeInfo(node_id, key, key, f"{host}:22021", 0)


def test_client__paths_use_distinct_nodes_in_distinct_subnets_where_possible():
    nodes = [node(i, f"10.0.{i % 4}.{i}") for i in range(1, 13)]
    rng = random.Random(5)
    for _ in range(50):
        path = pick_path(nodes, rng=rng)
        assert len({n.node_id for n in path}) == 3
        assert len({subnet(n.host) for n in path}) == 3
    # One subnet only: still three distinct nodes.
    same = [node(i, f"127.0.0.{i}") for i in range(1, 6)]
    for _ in range(20):
        path = pick_path(same, exclude={same[0].ed25519}, rng=rng)
        assert len({n.node_id for n in path}) == 3 and same[0] not in path
    # Two subnets: two distinct ones, then any distinct node.
    mixed = [node(1, "10.1.1.1"), node(2, "10.1.1.2"), node(3, "10.2.2.3")]
    assert len({subnet(n.host) for n in pick_path(mixed, rng=rng)}) == 2
    with pytest.raises(ClientError, match="need 3 nodes"):
        pick_path(same[:3], exclude={same[0].ed25519})
    assert subnet("example.org") == "example.org"
    assert subnet("10.9.8.7") == "10.9.8.0/24"


def test_identity__server_relay_settings_default_to_public_servers_and_are_checked(tmp_path):
    default = config_with(tmp_path).onion
    assert default.server_relay and not default.allow_private_servers
    assert default.server_timeout == 25.0
    devnet = config_with(
        tmp_path,
        "[onion]\nallow_private_servers = true\nserver_timeout = 5\nserver_relay = false\n",
    ).onion
    assert devnet.allow_private_servers and devnet.server_timeout == 5.0
    assert not devnet.server_relay
    with pytest.raises(ConfigError, match="onion.allow_private_servers"):
        config_with(tmp_path, '[onion]\nallow_private_servers = "yes"\n')
    with pytest.raises(ConfigError, match="onion.max_server_response_bytes"):
        config_with(tmp_path, "[onion]\nmax_server_response_bytes = 10\n")
