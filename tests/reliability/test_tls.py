"""TLS against a local HTTPS sandbox with a self-signed certificate: verified by default,
`ca_bundle` honoured, and `verify_tls = false` warned about on every run."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from azstate.cli import main
from azstate.sandbox.server import SandboxServer

CONFIG = """
[server]
url = "{url}"
timezone = "UTC"
{tls}

[projects.etl]
description = "over TLS"
"""


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SandboxServer, Path]]:
    cert, key = self_signed(tmp_path)
    server = SandboxServer(data_dir=tmp_path / "data", ssl_context=(str(cert), str(key)))
    server.start()
    monkeypatch.setenv("AZKABAN_USERNAME", "azkaban")
    monkeypatch.setenv("AZKABAN_PASSWORD", "azkaban")
    try:
        yield server, cert
    finally:
        server.stop()


def plan(tmp_path: Path, url: str, tls: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    config = tmp_path / "azstate.toml"
    config.write_text(CONFIG.format(url=url, tls=tls))
    code = main(["plan", "--detailed-exitcode", "-c", str(config)])
    return code, capsys.readouterr().err


def test_a_certificate_nobody_vouched_for_is_refused_by_default(
    https: tuple[SandboxServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = https
    assert server.url.startswith("https://")
    code, err = plan(tmp_path, server.url, "", capsys)
    assert code == 1
    assert "certificate" in err.lower() and "Traceback" not in err
    assert [e.action for e in server.log.snapshot()] == []  # not even the login got through


def test_ca_bundle_is_honoured(
    https: tuple[SandboxServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, cert = https
    code, err = plan(tmp_path, server.url, f'ca_bundle = "{cert}"', capsys)
    assert code == 2, err  # reached the server: the project is still to be created
    assert "Warning" not in err
    assert [e.action for e in server.log.snapshot()][:1] == ["login"]


def test_verify_tls_false_works_and_warns_on_every_run(
    https: tuple[SandboxServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = https
    for _ in range(2):
        code, err = plan(tmp_path, server.url, "verify_tls = false", capsys)
        assert code == 2, err
        assert "TLS verification is off" in err


def test_ca_bundle_wins_over_verify_tls_false_and_says_so(
    https: tuple[SandboxServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, cert = https
    code, err = plan(tmp_path, server.url, f'verify_tls = false\nca_bundle = "{cert}"', capsys)
    assert code == 2, err
    assert "verify_tls = false is ignored" in err and "verification is off" not in err
