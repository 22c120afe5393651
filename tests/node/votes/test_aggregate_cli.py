"""`sesh node aggregate` refusing bad input in one clear line, in process (click's
CliRunner), and leaving nothing behind: no votes database, nothing sent."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sesh.cli.main import main
from sesh.devnet.chain import free_port

STAKING = "0x" + "12" * 20


def node_toml(tmp_path, submitter: str = "", listen_port: int | None = None):
    path = tmp_path / "node.toml"
    path.write_text(
        f"""
[chain]
chain_id = 412346
providers = ["http://127.0.0.1:1"]
[contracts]
staking = "{STAKING}"
start_block = 0
[node]
data_dir = "data"
listen = "127.0.0.1:{listen_port or free_port()}"
ed25519_pubkey = "{"ab" * 32}"
{submitter}
"""
    )
    return path


def aggregate(*args: str):
    return CliRunner().invoke(main, ["node", "aggregate", *args])


def votes_db(tmp_path):
    return tmp_path / "data" / "votes.sqlite3"


def test_aggregate__without_a_config_file__says_which_file(tmp_path):
    missing = tmp_path / "nowhere.toml"
    result = aggregate("--config", str(missing), "--action", "remove", "--node-id", "7")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {missing}: cannot read {missing}")
    assert result.output.count("\n") == 1 and result.exception is not None
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--action", "slash", "--node-id", "7"], "Invalid value for '--action'"),
        (["--node-id", "7"], "Missing option '--action'"),
        (["--action", "remove"], "Missing option '--node-id'"),
        (["--action", "remove", "--node-id", "seven"], "'seven' is not a valid integer"),
        (["--action", "remove", "--node-id", "0"], "Invalid value for '--node-id'"),
        (["--action", "remove", "--node-id", "-1"], "Invalid value for '--node-id'"),
        (["--action", "exit", "--node-id", str(2**64)], "Invalid value for '--node-id'"),
        (["--action", "remove", "--node-id", "7", "--wait", "-5"], "Invalid value for '--wait'"),
    ],
)
def test_aggregate__bad_options__are_a_usage_error_and_touch_nothing(tmp_path, args, error):
    config = node_toml(tmp_path)
    result = aggregate("--config", str(config), "--dry-run", *args)
    assert result.exit_code == 2, result.output
    assert error in result.output
    assert not votes_db(tmp_path).exists()


def test_aggregate__a_valid_node_id__is_accepted_up_to_the_largest_uint64(tmp_path):
    # Goes as far as reading the (absent) bridge: the id itself was accepted.
    config = node_toml(tmp_path)
    result = aggregate("--config", str(config), "--dry-run", "--action", "exit", "--node-id",
                       str(2**64 - 1))  # fmt: skip
    assert result.exit_code == 1 and "cannot read the registry" in result.output


def test_aggregate__without_a_submitter__refuses_to_send_and_suggests_a_dry_run(tmp_path):
    config = node_toml(tmp_path)
    result = aggregate("--config", str(config), "--action", "remove", "--node-id", "7")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {config}: no [votes.submitter] to send with (or pass --dry-run)\n"
    )
    assert not votes_db(tmp_path).exists()


def test_aggregate__with_an_ape_submitter_not_imported__names_the_account(tmp_path, monkeypatch):
    monkeypatch.setenv("APE_DATA_FOLDER", str(tmp_path / "ape"))
    config = node_toml(tmp_path, '[votes.submitter]\nkind = "ape"\nalias = "node-submitter"')
    result = aggregate("--config", str(config), "--action", "remove", "--node-id", "7")
    assert result.exit_code == 1
    assert "no Ape account 'node-submitter'" in result.output
    assert "ape accounts import node-submitter" in result.output
    assert result.output.count("\n") == 1
    assert not votes_db(tmp_path).exists()


def test_aggregate__a_bridge_that_does_not_answer__is_one_line_and_leaves_no_database(tmp_path):
    port = free_port()
    config = node_toml(tmp_path, listen_port=port)
    result = aggregate("--config", str(config), "--dry-run", "--action", "remove", "--node-id", "7")
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: cannot read the registry at http://127.0.0.1:{port}/nodes: "
    )
    assert result.output.count("\n") == 1
    assert not votes_db(tmp_path).exists(), "nothing opened before the network is known"


def _listed(activated_block: str) -> bytes:
    """A node list whose only node's `activated_block` is the JSON `activated_block`."""
    node = '"node_id": 1, "bls_pubkey": "ab", "endpoint": "127.0.0.1:1", "status": "active"'
    return f'{{"nodes": [{{{node}, "activated_block": {activated_block}}}]}}'.encode()


@pytest.mark.parametrize(
    "listing",
    [b'{"swarms": []}', b'{"nodes": [{"node_id": 1}]}', b'{"nodes": [{"node_id": 1, '
     b'"bls_pubkey": "zz", "endpoint": "127.0.0.1:1", "status": "active"}]}',
     _listed('"12"'), _listed("-1"), _listed("true"), _listed("1.5")],
    ids=["no node list", "a node without keys", "a key that is not hex",
         "an activation block as text", "a negative activation block",
         "an activation block that is a boolean", "a fractional activation block"],
)  # fmt: skip
def test_aggregate__a_server_that_is_not_a_bridge__is_one_line_and_leaves_no_database(
    tmp_path, listing
):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotABridge(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(listing)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotABridge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = node_toml(tmp_path)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = aggregate(
            "--config", str(config), "--bridge", url, "--dry-run",
            "--action", "remove", "--node-id", "7",
        )  # fmt: skip
    finally:
        server.shutdown()
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {url}/nodes is not a bridge's node list (")
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert not votes_db(tmp_path).exists()
