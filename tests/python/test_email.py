"""Email delivery and templates against a real lumod, with the official client's models.

A local SMTP server (aiosmtpd, with STARTTLS or implicit TLS under a test CA, and AUTH that
requires TLS) receives the verification and reset emails lumod sends from its outbox; the
tests follow the emailed links through the hosted pages and check the outcome. The email
template family is driven through the generated client where it can carry the call (the
client's upsert and preview send no body, so those go through `send`) and every response is
parsed by the client's own models.
"""

import datetime
import email
import email.policy
import html
import ipaddress
import re
import socket
import ssl
import threading
import time

import pytest
import requests

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import lumoauth_api_client
from lumoauth_api_client.exceptions import NotFoundException, UnprocessableEntityException
from lumoauth_api_client.models import (
    AdminEmailTemplatesListResponse,
    AdminEmailTemplatesPreviewResponse,
    AdminEmailTemplatesVariablesResponse,
    EmailTemplate,
    MessageResponse,
)

from lumo_helpers import create_password_user, error_body, send, unique_email

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-secret-pass-42"


def certificate(subject, issuer, public_key, signing_key, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def server_certificates(tmp_path):
    """A test CA (PEM, what lumod is told to trust) and the server's certificate files."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Lumo test CA", "Lumo test CA", ca_key.public_key(), ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("localhost", "Lumo test CA", key.public_key(), ca_key, False)
    cert_path = tmp_path / "cert.pem"
    key_path = tmp_path / "key.pem"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM).decode(), str(cert_path), str(key_path)


class Inbox:
    """What the SMTP server received, and who authenticated over what."""

    def __init__(self):
        self.messages = []
        self.logins = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({
                "to": list(envelope.rcpt_tos),
                "from": envelope.mail_from,
                "tls": session.ssl is not None,
                "message": email.message_from_bytes(envelope.content, policy=email.policy.default),
            })
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        with self.lock:
            self.logins.append({"user": auth_data.login.decode(), "ok": ok,
                                "tls": session.ssl is not None})
        return AuthResult(success=ok, handled=False)

    def wait_for(self, to, count=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                got = [m for m in self.messages if to in m["to"]]
            if len(got) >= count:
                return got[count - 1]
            time.sleep(0.1)
        raise AssertionError(f"no email #{count} to {to}; got {self.messages}")


def run_smtp_server(tmp_path, implicit):
    """An SMTP server under a test CA requiring AUTH: STARTTLS (required), or TLS from the first
    byte (`implicit`, port 465 style). Yields (inbox, port, the CA's PEM)."""
    cert_pem, cert_path, key_path = server_certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if implicit:
        # The whole connection is TLS; aiosmtpd's auth_require_tls only knows STARTTLS.
        tls = {"ssl_context": context, "auth_require_tls": False}
    else:
        tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, auth_required=True,
        authenticator=inbox.authenticate, server_hostname="localhost", **tls,
    )
    controller.start()
    try:
        yield inbox, port, cert_pem
    finally:
        controller.stop()


@pytest.fixture
def smtp(tmp_path):
    yield from run_smtp_server(tmp_path, implicit=False)


@pytest.fixture
def smtps(tmp_path):
    yield from run_smtp_server(tmp_path, implicit=True)


def configure(client, org, port, cert_pem, password=SMTP_PASSWORD):
    return send(client, "PUT", "/admin/settings/email", org, types={"200": "object"}, body={
        "enabled": True, "provider": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
        "smtp_secure": False, "smtp_username": SMTP_USER, "smtp_password": password,
        "smtp_tls_certificate": cert_pem, "from_email": "no-reply@pytest.test",
        "from_name": "Pytest Org",
    })


def text_of(message):
    return message["message"].get_body(preferencelist=("plain",)).get_content()


def link_in(message, page):
    match = re.search(r"(https?://\S+/oauth/" + page + r"\?token=[A-Za-z0-9._\-]+)", text_of(message))
    assert match, text_of(message)
    return match.group(1)


def open_and_submit(link, **fields):
    browser = requests.Session()
    page = browser.get(link, timeout=10)
    assert page.status_code == 200, page.text
    hidden = {html.unescape(k): html.unescape(v) for k, v in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page.text).group(1))
    base = link.split("/orgs/")[0]
    return browser.post(base + action, data={**hidden, **fields}, timeout=10, allow_redirects=False)


def test_links_from_emails_sent_over_starttls_with_auth_verify_and_reset(
        lumod, new_org, smtp):
    inbox, port, cert_pem = smtp
    handle = new_org()
    configure(handle.client, handle.slug, port, cert_pem)
    settings = send(handle.client, "GET", "/admin/settings/email", handle.slug,
                    types={"200": "AdminSettingsEmailGetResponse"}).data
    assert settings.data["smtp_password"]["configured"] is True
    assert "smtp-secret" not in str(settings.data)

    users = lumoauth_api_client.AdminUsersApi(handle.client)
    address = unique_email("mailed")
    user = create_password_user(handle.client, handle.slug, email=address,
                                password="Initial-pass-123")
    users.send_user_verification_email(handle.slug, user.id)
    message = inbox.wait_for(address)
    assert message["tls"], "STARTTLS was required"
    assert inbox.logins and all(l["ok"] and l["tls"] for l in inbox.logins), inbox.logins
    assert message["message"]["From"].addresses[0].addr_spec == "no-reply@pytest.test"
    assert message["message"]["Message-ID"].startswith("<evt_")
    html_part = message["message"].get_body(preferencelist=("html",)).get_content()
    assert "verify-email?token=" in html_part

    done = open_and_submit(link_in(message, "verify-email"))
    assert done.status_code == 200 and "Email verified" in done.text, done.text
    assert users.get_user(handle.slug, user.id).data.email_verified is True

    users.trigger_user_password_reset(handle.slug, user.id)
    message = inbox.wait_for(address, count=2)
    link = link_in(message, "reset-password")
    done = open_and_submit(link, password="Fresh-pass-456", password_confirm="Fresh-pass-456")
    assert done.status_code == 200 and "Password changed" in done.text, done.text
    again = requests.get(link, timeout=10)
    assert again.status_code == 400 and "already used" in again.text

    login = requests.post(f"{lumod.base}/orgs/{handle.slug}/api/v1/oauth/login/json",
                          json={"email": address, "password": "Fresh-pass-456"}, timeout=10)
    assert login.status_code == 200, login.text


def test_a_wrong_smtp_password_is_retried_and_reported(lumod, new_org, smtp):
    inbox, port, cert_pem = smtp
    handle = new_org()
    configure(handle.client, handle.slug, port, cert_pem, password="wrong-password")
    users = lumoauth_api_client.AdminUsersApi(handle.client)
    user = create_password_user(handle.client, handle.slug, email=unique_email("nomail"),
                                password="Initial-pass-123")
    sent = users.send_user_verification_email(handle.slug, user.id)
    assert "queued" in sent.message
    deadline = time.time() + 60
    status = None
    while time.time() < deadline:
        status = send(handle.client, "GET", "/admin/settings/email", handle.slug,
                      types={"200": "object"}).data["data"]
        if status["last_delivery_status"] == "retrying":
            break
        time.sleep(0.2)
    assert status["last_delivery_status"] == "retrying", status
    assert "535" in (status["last_delivery_error"] or "") or "auth" in status["last_delivery_error"].lower()
    assert inbox.messages == []


def test_email_templates_through_the_official_client(lumod, new_org):
    handle = new_org()
    api = lumoauth_api_client.AdminEmailApi(handle.client)
    listed = api.admin_email_templates_list(handle.slug)
    assert isinstance(listed, AdminEmailTemplatesListResponse)
    assert [t.type for t in listed.data] == [
        "verification", "password_reset", "invitation", "magic_link", "mfa_code"]
    assert all(t.is_custom is False and t.variables for t in listed.data)
    assert listed.pagination.total == 5

    default = api.admin_email_templates_get(handle.slug, "password_reset")
    assert isinstance(default, EmailTemplate)
    assert default.is_custom is False and "{{ reset_url }}" in default.body_html
    variables = api.admin_email_templates_variables(handle.slug, "password_reset")
    assert isinstance(variables, AdminEmailTemplatesVariablesResponse)
    assert "reset_url" in variables.variables

    saved = send(handle.client, "PUT", "/admin/email-templates/{type}", handle.slug,
                 path_params={"type": "password_reset"}, types={"200": "EmailTemplate"},
                 body={"subject": "Reset for {{ user_email }}",
                       "body_html": "<p>{{ user_name }}: <a href=\"{{ reset_url }}\">go</a></p>",
                       "is_active": True}).data
    assert isinstance(saved, EmailTemplate)
    assert saved.is_custom and saved.created_at is not None and saved.updated_at is not None

    preview = api.admin_email_templates_preview(handle.slug, "password_reset")
    assert isinstance(preview, AdminEmailTemplatesPreviewResponse)
    assert preview.subject == "Reset for ada@example.com"
    assert "Ada Lovelace" in preview.html
    unsaved = send(handle.client, "POST", "/admin/email-templates/{type}/preview", handle.slug,
                   path_params={"type": "password_reset"},
                   types={"200": "AdminEmailTemplatesPreviewResponse"},
                   body={"body_html": "<b>{{ user_name }}</b>",
                         "variables": {"user_name": "<i>x</i>"}}).data
    assert unsaved.html == "<b>&lt;i&gt;x&lt;&#x2f;i&gt;</b>"

    with pytest.raises(UnprocessableEntityException) as info:
        send(handle.client, "PUT", "/admin/email-templates/{type}", handle.slug,
             path_params={"type": "password_reset"}, types={"200": "EmailTemplate"},
             body={"subject": "{{ nope }}", "body_html": "<p>x</p>"})
    assert error_body(info.value)["status"] == 422

    removed = api.admin_email_templates_delete(handle.slug, "password_reset")
    assert isinstance(removed, MessageResponse)
    assert api.admin_email_templates_get(handle.slug, "password_reset").is_custom is False
    with pytest.raises(NotFoundException):
        api.admin_email_templates_delete(handle.slug, "password_reset")
    with pytest.raises(NotFoundException):
        api.admin_email_templates_get(handle.slug, "newsletter")



def test_emails_go_out_over_implicit_tls(lumod, new_org, smtps):
    inbox, port, cert_pem = smtps
    handle = new_org()
    send(handle.client, "PUT", "/admin/settings/email", handle.slug, types={"200": "object"},
         body={"enabled": True, "provider": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
               "smtp_secure": True, "smtp_username": SMTP_USER, "smtp_password": SMTP_PASSWORD,
               "smtp_tls_certificate": cert_pem, "from_email": "no-reply@pytest.test"})
    users = lumoauth_api_client.AdminUsersApi(handle.client)
    address = unique_email("smtps")
    user = create_password_user(handle.client, handle.slug, email=address,
                                password="Initial-pass-123")
    users.send_user_verification_email(handle.slug, user.id)
    try:
        message = inbox.wait_for(address)
    except AssertionError:
        doc = send(handle.client, "GET", "/admin/settings/email", handle.slug,
                   types={"200": "object"}).data["data"]
        raise AssertionError(f"not delivered: {doc.get('last_delivery_error')}, logins {inbox.logins}")
    assert inbox.logins and all(l["ok"] for l in inbox.logins), inbox.logins
    done = open_and_submit(link_in(message, "verify-email"))
    assert done.status_code == 200 and "Email verified" in done.text, done.text

    # Implicit TLS against a server that speaks plain SMTP: retried and reported, never sent
    # in the clear.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        plain_port = probe.getsockname()[1]
    plain = Controller(Inbox(), hostname="127.0.0.1", port=plain_port)
    plain.start()
    try:
        send(handle.client, "PUT", "/admin/settings/email", handle.slug,
             types={"200": "object"}, body={"smtp_port": plain_port})
        users.trigger_user_password_reset(handle.slug, user.id)
        deadline = time.time() + 30
        status = None
        while time.time() < deadline:
            doc = send(handle.client, "GET", "/admin/settings/email", handle.slug,
                       types={"200": "object"}).data["data"]
            status = doc.get("last_delivery_status")
            if status == "retrying":
                break
            time.sleep(0.2)
        assert status == "retrying", doc
        assert plain.handler.messages == []
    finally:
        plain.stop()
