"""The file server (sesh/fileserver/) reached only through onion requests over three nodes:
upload, download, info, extend and the version check; bad uploads, unknown endpoints,
broken v4 requests and requests under another key refused; files kept across a restart
and dropped once expired. Attachments encrypted as Session encrypts them round-trip, and
any change to them is caught."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from sesh.client.files import download_attachment, download_file, upload_attachment, upload_file
from sesh.client.onion_client import ClientError, OnionClient, PathError
from sesh.client.servers import server_request
from sesh.devnet.chain import free_port
from sesh.fileserver.server import FileServer, FileServerSettings
from sesh.fileserver.store import FileStore, file_id
from sesh.node.onion.relay import ServerRelaySettings
from sesh.protocol.attachments import (
    AttachmentError,
    AttachmentPointer,
    decrypt_attachment,
    encrypt_attachment,
    padded_size,
)
from sesh.protocol.lsrpc import V4Request
from sesh.protocol.onion import Server
from tests.node.localnet import LocalNet

RELAY = ServerRelaySettings(timeout=10.0, allow_private=True)


@contextlib.asynccontextmanager
async def running(settings: FileServerSettings):
    server = FileServer(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(server.run(stop))
    await asyncio.sleep(0.05)
    try:
        yield server
    finally:
        stop.set()
        await task


def address(server: FileServer) -> Server:
    return Server("127.0.0.1", server.settings.port, server.public, "http")


@contextlib.asynccontextmanager
async def network(tmp_path, **settings):
    fs_settings = FileServerSettings(tmp_path / "fs", port=free_port(), **settings)
    async with (
        running(fs_settings) as server,
        LocalNet(tmp_path, 4, server_relay=RELAY, max_request_bytes=4 << 20) as net,
    ):
        client = OnionClient(["http://unused"])
        client.nodes = [n.info for n in net.nodes]
        async with client:
            yield server, client


def test_fileserver__a_file_uploaded_through_three_hops_is_downloaded_extended_and_described(
    tmp_path,
):
    async def scenario():
        async with network(tmp_path) as (server, client):
            data = bytes(range(256)) * 4000
            file = await upload_file(client, address(server), data)
            assert file == file_id(data) and len(file) == 44
            assert await download_file(client, address(server), file) == data
            info = await server_request(
                client, address(server), V4Request("GET", f"/file/{file}/info")
            )
            assert info.response.code == 200 and info.response.json()["size"] == len(data)
            before = info.response.json()["expires"]
            await asyncio.sleep(0.01)
            extended = await server_request(
                client, address(server), V4Request("POST", f"/file/{file}/extend", {}, b"")
            )
            assert extended.response.code == 200 and extended.response.json()["expires"] > before
            version = await server_request(
                client, address(server), V4Request("GET", "/session_version?platform=desktop")
            )
            assert version.response.json()["status_code"] == 200
            assert len(client.last_path) == 3

    asyncio.run(scenario())


def test_fileserver__bad_uploads_unknown_files_and_broken_requests_are_refused(tmp_path):
    async def scenario():
        async with network(tmp_path, max_file_size=1000) as (server, client):
            where = address(server)

            async def ask(request: V4Request) -> tuple[int, bytes]:
                answer = (await server_request(client, where, request)).response
                return answer.code, answer.body

            assert await ask(V4Request("POST", "/file", {}, b"")) == (413, b'{"status_code": 413}')
            assert (await ask(V4Request("POST", "/file", {}, b"x" * 1001)))[0] == 413
            assert (await ask(V4Request("GET", "/file/" + "A" * 44)))[0] == 404
            assert (await ask(V4Request("GET", "/file/../../etc/passwd")))[0] == 404
            assert (await ask(V4Request("POST", "/file/" + "A" * 44 + "/extend", {}, b"")))[
                0
            ] == 404
            assert (await ask(V4Request("GET", "/session_version?platform=beos")))[0] == 404
            assert (await ask(V4Request("DELETE", "/file")))[0] == 404
            with pytest.raises(ClientError, match="refused \\(413\\)"):
                await upload_file(client, where, b"x" * 1001)
            # A request that decrypts but is not v4: answered encrypted, as Session does.
            broken = await server_request(client, where, _Raw(b"not bencode"))
            assert broken.response.code == 400
            assert broken.response.body == b"Invalid v4 onion request"
            # Under another key the server cannot read it: a plain 400 comes back.
            stranger = Server(where.host, where.port, bytes(31) + b"\x09", "http")
            with pytest.raises(PathError) as refused:
                await upload_file(client, stranger, b"x")
            assert (refused.value.status, refused.value.text) == (400, "Invalid onion request")

    asyncio.run(scenario())


class _Raw(V4Request):
    """A "v4 request" whose bytes are whatever the test says."""

    def __init__(self, raw: bytes):
        super().__init__("POST", "/raw")
        object.__setattr__(self, "raw", raw)

    def encode(self) -> bytes:
        return self.raw


def test_fileserver__files_survive_a_restart_and_half_written_uploads_are_cleared(tmp_path):
    async def scenario():
        settings = FileServerSettings(tmp_path / "fs", port=free_port())
        async with running(settings) as server:
            key = server.public
            stored = await asyncio.to_thread(server.store.put, b"kept" * 1000)
        # A crash mid-upload leaves a temporary file and a file without a row.
        (settings.data_dir / "files" / ".upload-1-abc").write_bytes(b"partial")
        (settings.data_dir / "files" / ("B" * 44)).write_bytes(b"orphan")
        async with running(settings) as again:
            assert again.public == key
            assert again.store.get(stored.id) == b"kept" * 1000
            assert sorted(p.name for p in (settings.data_dir / "files").iterdir()) == [stored.id]
        assert (
            json.loads((settings.data_dir / "server.json").read_text())["x25519_pubkey"]
            == key.hex()
        )

    asyncio.run(scenario())


def test_fileserver__expired_files_are_gone_and_extended_ones_stay(tmp_path):
    now = [1000.0]
    store = FileStore(tmp_path, ttl=100.0, clock=lambda: now[0])
    old = store.put(b"old")
    kept = store.put(b"kept")
    now[0] = 1090.0
    assert store.extend(kept.id).expires == 1190.0
    now[0] = 1100.0
    assert store.get(old.id) is None and store.info(old.id) is None
    assert store.extend(old.id) is None
    assert store.expire() == 1
    assert not store.path(old.id).exists()
    assert store.get(kept.id) == b"kept"
    # The same bytes again: one copy, expiry renewed.
    assert store.put(b"kept").expires == 1200.0
    store.close()


def test_attachments__round_trip_padded_and_every_change_refused():
    data = b"voice note" * 300
    blob, key, digest = encrypt_attachment(data)
    assert len(blob) == 16 + ((padded_size(len(data)) // 16) + 1) * 16 + 32
    assert decrypt_attachment(blob, key, digest, len(data)) == data
    assert padded_size(1) == 541 and padded_size(10_000) >= 10_000
    changed = bytearray(blob)
    changed[40] ^= 1
    with pytest.raises(AttachmentError, match="digest"):
        decrypt_attachment(bytes(changed), key, digest, len(data))
    with pytest.raises(AttachmentError, match="MAC"):
        decrypt_attachment(bytes(changed), key, __import__("hashlib").sha256(changed).digest(), 1)
    with pytest.raises(AttachmentError, match="MAC"):
        decrypt_attachment(blob, bytes(64), digest, len(data))
    with pytest.raises(AttachmentError, match="exceeds"):
        decrypt_attachment(blob, key, digest, len(blob))
    pointer = AttachmentPointer("http://h/file/" + "A" * 44, key, digest, len(data), "audio/wav")
    assert AttachmentPointer.from_json(json.loads(json.dumps(pointer.json()))) == pointer
    for broken in ({}, {**pointer.json(), "key": "AAAA"}, {**pointer.json(), "url": "http://h"}):
        with pytest.raises(AttachmentError):
            AttachmentPointer.from_json(broken)


def test_attachments__encrypted_uploaded_and_fetched_through_three_hops_byte_for_byte(tmp_path):
    async def scenario():
        async with network(tmp_path) as (server, client):
            data = bytes(range(256)) * 3000
            pointer = await upload_attachment(client, address(server), data, "a.bin")
            assert await download_attachment(client, address(server), pointer) == data
            # The server holds only the ciphertext.
            assert data[:1000] not in server.store.get(pointer.file_id)
            elsewhere = AttachmentPointer("http://other/file/x", pointer.key, pointer.digest, 1)
            with pytest.raises(ClientError, match="not on the given file server"):
                await download_attachment(client, address(server), elsewhere)

    asyncio.run(scenario())


def test_attachments__a_message_carries_its_pointers_and_plain_text_stays_plain():
    from sesh.protocol.attachments import decode_message, encode_message

    pointer = AttachmentPointer("http://h/file/" + "A" * 44, bytes(64), bytes(32), 5, "audio/wav")
    assert decode_message(encode_message("listen", [pointer])) == ("listen", [pointer])
    assert encode_message("hi", []) == b"hi"
    assert decode_message(b'{"just": "json"}') == ('{"just": "json"}', [])
    with pytest.raises(AttachmentError):
        decode_message(b'{"sesh_message": 1, "attachments": [{"url": 1}]}')


def test_fileserver__an_expired_file_uploaded_again_before_the_sweep_is_kept(tmp_path):
    now = [1000.0]
    store = FileStore(tmp_path, ttl=100.0, clock=lambda: now[0])
    first = store.put(b"again")
    now[0] = 1200.0
    assert store.get(first.id) is None
    assert store.put(b"again").expires == 1300.0
    assert store.expire() == 0
    assert store.get(first.id) == b"again"
    store.close()


def test_fileserver__sesh_fileserver_key_prints_one_stable_key_and_run_refuses_a_bad_listen(
    tmp_path,
):
    from click.testing import CliRunner

    from sesh.cli.main import main

    runner = CliRunner()
    first = runner.invoke(main, ["fileserver", "key", "--data-dir", str(tmp_path / "fs")])
    again = runner.invoke(main, ["fileserver", "key", "--data-dir", str(tmp_path / "fs")])
    assert first.exit_code == 0 and first.output == again.output
    assert len(json.loads(first.output)["x25519_pubkey"]) == 64
    assert (tmp_path / "fs" / "x25519.key").stat().st_mode & 0o077 == 0
    bad = runner.invoke(main, ["fileserver", "run", "--data-dir", str(tmp_path), "--listen", "x"])
    assert bad.exit_code == 2 and "host:port" in bad.output
