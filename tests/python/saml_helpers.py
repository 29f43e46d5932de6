"""What the SAML suites share: keys and certificates made by openssl, XML reading (defusedxml),
SAML instants, the Redirect binding's inflate, and the admin API's refusal check."""

import base64
import re
import subprocess
import types
import zlib
from datetime import datetime
from urllib.parse import unquote, urlparse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from defusedxml import ElementTree as SafeET
from lumoauth_api_client.exceptions import ApiException

from lumo_helpers import error_of

NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
}


def make_keypair(directory, name: str, domain: str):
    """An RSA-2048 key and a self-signed certificate (PEM files) made by openssl."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                    "-days", "30", "-subj", f"/CN={name}.{domain}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    pem = cert.read_text()
    return types.SimpleNamespace(key=str(key), cert=str(cert), pem=pem, der=der_of(pem))


def der_of(cert: str) -> bytes:
    """The DER bytes of a certificate given as PEM or as bare base64."""
    body = re.sub(r"-----(BEGIN|END) CERTIFICATE-----|\s", "", cert)
    return base64.b64decode(body)


def xml(text) -> "SafeET.Element":
    return SafeET.fromstring(text)


def children(element, tag: str):
    prefix, local = tag.split(":")
    return element.findall(f"{{{NS[prefix]}}}{local}")


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def inflate_b64(value: str) -> bytes:
    return zlib.decompress(base64.b64decode(value), -15)


def refused_admin(call, status: int, code: str) -> dict:
    with pytest.raises(ApiException) as info:
        call()
    return error_of(info.value, status, code)


def redirect_signature_ok(location: str, cert_pem: str) -> bool:
    """Verifies an HTTP-Redirect binding signature (RSA-SHA256) over the query octets exactly
    as received: SAMLRequest or SAMLResponse, RelayState, SigAlg."""
    raw = dict(part.split("=", 1) for part in urlparse(location).query.split("&") if "=" in part)
    signed = "&".join(f"{k}={raw[k]}" for k in ("SAMLRequest", "SAMLResponse", "RelayState",
                                                  "SigAlg") if k in raw).encode()
    key = x509.load_der_x509_certificate(der_of(cert_pem)).public_key()
    try:
        key.verify(base64.b64decode(unquote(raw["Signature"])), signed, padding.PKCS1v15(),
                   hashes.SHA256())
        return True
    except Exception:
        return False
