"""An attempt connects to the address that was checked, while TLS still names and verifies
the URL's host: SNI and the certificate check use the host name, the socket the address."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from campaign_analytics.webhooks import addresses
from campaign_analytics.webhooks.delivery import PinnedAdapter, pinned_url


def _self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, dict[str, Any]]]:
    """HTTPS on 127.0.0.1 with a certificate for ``localhost``; records SNI and Host."""
    cert, key = _self_signed(tmp_path, "localhost")
    seen: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen["host"] = self.headers["Host"]
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen.update(sni=name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert, seen
    server.shutdown()
    server.server_close()


def _post(host_name: str, target: addresses.Target, ca: Path) -> requests.Response:
    with requests.Session() as http:
        http.trust_env = False
        http.mount("https://", PinnedAdapter(host_name))
        return http.post(pinned_url(target), data=b"{}", headers={"Host": target.url.netloc},
                         verify=str(ca), timeout=5)


def test_tls_names_the_host_while_connecting_to_the_checked_address(
    tls_server: tuple[int, Path, dict[str, Any]],
) -> None:
    port, ca, seen = tls_server
    target = addresses.check(f"https://localhost:{port}/hook", allow_private=True)
    assert pinned_url(target) == f"https://{target.address}:{port}/hook"
    assert _post(target.host, target, ca).status_code == 204
    assert seen == {"sni": "localhost", "host": f"localhost:{port}"}
    with pytest.raises(requests.exceptions.SSLError):  # the certificate must name the host
        _post("elsewhere.example", target, ca)
