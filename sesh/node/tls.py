"""HTTPS on the node's one port, next to plain HTTP.

Session's storage servers serve `/storage_rpc/v1` and `/onion_req/v2` over HTTPS with a
self-signed certificate that clients do not verify (the onion layers and the node keys
carry the trust); our nodes talk plain HTTP to each other. The registry holds one
endpoint ("host:port") per node, from the chain, so every node can advertise another's
HTTPS port only if it is a function of that endpoint: it is the same port. Each
connection is told apart by its first byte — a TLS ClientHello is a handshake record
(0x16), an HTTP request starts with a method's letter — and TLS connections are
terminated here before reaching the very same aiohttp application (docs/decisions.md).

The certificate (ECDSA P-256, self-signed, ten years) and its key are made on the
node's first start and kept in its data directory (`tls-cert.pem`, `tls-key.pem`, the key
0600), so the node shows the same certificate across restarts.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import ssl
from asyncio import sslproto
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger("sesh.node.tls")

CERT_FILE = "tls-cert.pem"
KEY_FILE = "tls-key.pem"
TLS_HANDSHAKE = 0x16
CERT_DAYS = 3650


def certificate_paths(data_dir: Path) -> tuple[Path, Path]:
    return data_dir / CERT_FILE, data_dir / KEY_FILE


def ensure_certificate(data_dir: Path, common_name: str = "sesh node") -> tuple[Path, Path]:
    """The node's certificate and key files, made (self-signed) if either is missing."""
    cert_path, key_path = certificate_paths(data_dir)
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    data_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key first, never readable by others, then the certificate: a crash in between
    # leaves no certificate, and the next start makes both again.
    tmp_key = key_path.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    os.replace(tmp_key, key_path)
    tmp_cert = cert_path.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_cert, cert_path)
    log.info("made a self-signed TLS certificate in %s", cert_path)
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context


class SniffingProtocol(asyncio.Protocol):
    """One accepted connection until its first bytes arrive; then either the plain HTTP
    protocol (`inner`) takes the socket, or TLS is terminated in front of it. A connection
    that sends nothing within `first_byte_timeout` is closed."""

    def __init__(
        self,
        inner: asyncio.Protocol,
        context: ssl.SSLContext,
        first_byte_timeout: float,
    ):
        self.inner = inner
        self.context = context
        self.first_byte_timeout = first_byte_timeout
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.first_byte_timeout, transport.close)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if data[0] != TLS_HANDSHAKE:
            transport.set_protocol(self.inner)
            self.inner.connection_made(transport)
            self.inner.data_received(data)
            return
        tls = sslproto.SSLProtocol(
            asyncio.get_running_loop(),
            self.inner,
            self.context,
            None,
            server_side=True,
            ssl_handshake_timeout=self.first_byte_timeout,
        )
        transport.set_protocol(tls)
        tls.connection_made(transport)
        view = memoryview(data)
        while view:
            buffer = tls.get_buffer(len(view))
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            tls.buffer_updated(n)
            view = view[n:]

    def eof_received(self) -> bool | None:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def sniffing_factory(
    inner_factory: Callable[[], asyncio.Protocol],
    context: ssl.SSLContext,
    first_byte_timeout: float,
) -> Callable[[], SniffingProtocol]:
    return lambda: SniffingProtocol(inner_factory(), context, first_byte_timeout)
