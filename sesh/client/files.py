"""Attachments through the file server, reached over 3-hop onion paths: encrypt, upload,
point; fetch, check, decrypt (sesh/protocol/attachments.py has the format).

    pointer = await upload_attachment(client, server, data, "note.wav", "audio/wav")
    data = await download_attachment(client, server, pointer)
"""

from __future__ import annotations

from sesh.client.onion_client import ClientError, OnionClient
from sesh.client.servers import server_request
from sesh.protocol.attachments import (
    AttachmentError,
    AttachmentPointer,
    decrypt_attachment,
    encrypt_attachment,
)
from sesh.protocol.lsrpc import V4Request
from sesh.protocol.onion import Server


def server_base_url(server: Server) -> str:
    default = 443 if server.protocol == "https" else 80
    port = "" if server.port == default else f":{server.port}"
    return f"{server.protocol}://{server.host}{port}"


async def upload_file(client: OnionClient, server: Server, blob: bytes) -> str:
    """Upload bytes as they are; the file id."""
    request = V4Request("POST", "/file", {"content-type": "application/octet-stream"}, blob)
    answer = (await server_request(client, server, request)).response
    if answer.code != 200:
        raise ClientError(f"upload refused ({answer.code}): {answer.body[:200]!r}")
    try:
        return str(answer.json()["id"])
    except (ValueError, KeyError, TypeError):
        raise ClientError("the file server's answer has no id") from None


async def download_file(client: OnionClient, server: Server, file_id: str) -> bytes:
    answer = (await server_request(client, server, V4Request("GET", f"/file/{file_id}"))).response
    if answer.code != 200:
        raise ClientError(f"download of {file_id} refused ({answer.code})")
    return answer.body


async def upload_attachment(
    client: OnionClient,
    server: Server,
    data: bytes,
    file_name: str = "",
    content_type: str = "application/octet-stream",
) -> AttachmentPointer:
    blob, key, digest = encrypt_attachment(data)
    file_id = await upload_file(client, server, blob)
    url = f"{server_base_url(server)}/file/{file_id}"
    return AttachmentPointer(url, key, digest, len(data), content_type, file_name)


async def download_attachment(
    client: OnionClient, server: Server, pointer: AttachmentPointer
) -> bytes:
    if not pointer.url.startswith(server_base_url(server) + "/file/"):
        raise ClientError(f"the attachment is on {pointer.url}, not on the given file server")
    blob = await download_file(client, server, pointer.file_id)
    try:
        return decrypt_attachment(blob, pointer.key, pointer.digest, pointer.size)
    except AttachmentError as exc:
        raise ClientError(f"attachment {pointer.file_id}: {exc}") from None
