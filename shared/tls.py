"""A private certificate authority for loopback TLS: the simulator serves wss with it, clients trust only it.

cryptofeed's websocket client accepts nothing but wss://, so local venues need certificates. One
directory holds the CA and a server certificate for 127.0.0.1/localhost; every process that needs
them (simulator, collector, tests) calls `ensure_certificates` on the same directory, which reuses
what is there while it is valid and otherwise writes a fresh set (under a lock, atomically).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"
LOCK_FILE = ".lock"

SERVER_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
_CA_DAYS = 3650
_SERVER_DAYS = 825
_RENEW_BEFORE = dt.timedelta(days=7)  # regenerate rather than serve a certificate about to expire


@dataclass(frozen=True)
class TlsFiles:
    directory: Path
    ca: Path  # the only certificate clients need to trust
    cert: Path
    key: Path


def ensure_certificates(directory: str | Path) -> TlsFiles:
    """Create (or reuse, when present and valid) the CA and server certificate under `directory`."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    files = _files(root)
    with open(root / LOCK_FILE, "a") as lock:
        # Two processes starting together must not each write half of a set.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _valid(files):
                _generate(files)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return files


def ca_path(directory: str | Path) -> Path:
    return ensure_certificates(directory).ca


def server_ssl_context(directory: str | Path) -> ssl.SSLContext:
    files = ensure_certificates(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)
    return context


def client_ssl_context(directory: str | Path) -> ssl.SSLContext:
    """A client context that trusts the local CA and nothing else (no system roots)."""
    files = ensure_certificates(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=str(files.ca))
    return context


def _files(root: Path) -> TlsFiles:
    return TlsFiles(root, root / CA_FILE, root / CERT_FILE, root / KEY_FILE)


def _valid(files: TlsFiles) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        (files.directory / CA_KEY_FILE).stat()
    except (OSError, ValueError):
        return False
    horizon = dt.datetime.now(dt.UTC) + _RENEW_BEFORE
    if ca.not_valid_after_utc < horizon or cert.not_valid_after_utc < horizon:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if key.public_key().public_bytes(*_SPKI) != cert.public_key().public_bytes(*_SPKI):
        return False
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    present = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} | set(names.get_values_for_type(x509.DNSName))
    return set(SERVER_NAMES) <= present


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _generate(files: TlsFiles) -> None:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate small clock skew
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spreadlake local CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in SERVER_NAMES:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    private = (pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(files.directory / CA_KEY_FILE, ca_key.private_bytes(*private), secret=True)
    _write(files.key, key.private_bytes(*private), secret=True)
    _write(files.cert, cert.public_bytes(pem))
    # The CA goes last: a reader that finds a new CA finds the certificate it signed.
    _write(files.ca, ca.public_bytes(pem))


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)
