"""Attachments across a network of `sesh node run` processes: a `sesh fileserver run`
process on loopback, `sesh msg send --attach` uploading an encrypted file through a 3-hop
path whose last node relays to the file server, and `sesh msg fetch --save-dir` on the
other side downloading it through another path and decrypting it byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.devnet.processes import wait_until
from tests.node.driver import EventsDriver, compile_mock
from tests.node.processnet import ROOT, ProcessNet

NODES = 5

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("attachments")
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
    net = None
    try:
        abi, bytecode = compile_mock()
        driver, block = EventsDriver.deploy(anvil.url, abi, bytecode)
        driver.deploy_block = block
        onion = {"allow_private_servers": True, "max_request_bytes": 4 << 20}
        net = ProcessNet(tmp_path, anvil.url, driver, NODES, onion=onion).start()
        yield net
    finally:
        if net is not None:
            net.close()
        anvil.stop()


@pytest.fixture(scope="module")
def file_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fileserver")
    port = free_port()
    log = open(directory / "log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "sesh.cli.main", "fileserver", "run", "--data-dir",
         str(directory / "data"), "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    info = directory / "data" / "server.json"
    wait_until(info.exists, 30, "the file server to write its key")
    key = json.loads(info.read_text())["x25519_pubkey"]
    try:
        yield f"http://127.0.0.1:{port}", key, directory / "data"
    finally:
        process.terminate()
        assert process.wait(10) == 0
        log.close()


def sesh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sesh.cli.main", "msg", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_attachments__a_file_sent_with_sesh_msg_crosses_three_hops_and_arrives_byte_for_byte(
    network, file_server, tmp_path
):
    url, key, data_dir = file_server
    node = network.nodes[0]
    reader = tmp_path / "reader.key"
    session_id = sesh("id", "--key-file", str(reader), "--new").stdout.strip()
    attachment = tmp_path / "photo.bin"
    attachment.write_bytes(os.urandom(1_500_000))
    server = ["--file-server", url, "--file-server-key", key]
    sent = sesh("send", "--node", node.url, "--to", session_id, "--attach", str(attachment),
                *server, "a photo")  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert "uploaded photo.bin (1500000 bytes)" in sent.stdout and "stored" in sent.stdout
    # The server holds one file, and not the plaintext.
    (stored,) = (data_dir / "files").iterdir()
    assert attachment.read_bytes()[:4096] not in stored.read_bytes()
    inbox = tmp_path / "inbox"
    fetched = sesh("fetch", "--node", node.url, "--key-file", str(reader), "--save-dir",
                   str(inbox), *server)  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert "a photo" in fetched.stdout and "attachment photo.bin" in fetched.stdout
    assert (inbox / "photo.bin").read_bytes() == attachment.read_bytes()


def test_attachments__sending_or_saving_without_the_file_server_is_refused(network, tmp_path):
    node = network.nodes[0]
    attachment = tmp_path / "a.txt"
    attachment.write_text("x")
    refused = sesh("send", "--node", node.url, "--to", "05" + "ab" * 32, "--attach",
                   str(attachment), "x")  # fmt: skip
    assert refused.returncode == 1 and "--file-server" in refused.stderr
    bad_key = sesh("send", "--node", node.url, "--to", "05" + "ab" * 32, "--attach",
                   str(attachment), "--file-server", "http://127.0.0.1:1",
                   "--file-server-key", "zz", "x")  # fmt: skip
    assert bad_key.returncode == 1 and "64 hex digits" in bad_key.stderr
