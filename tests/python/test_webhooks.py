"""Webhooks through the generated client (`AdminWebhooksApi` and its models): CRUD with PUT
and PATCH, enable/disable, list filters and sorting, the event catalog, signed deliveries to a
local receiver (the three signature headers), retries into the dead letter and replays, secret
rotation with a grace window, test sends, and development tunnels (start, stream over SSE, stop).

Every response of the webhooks family is parsed by the client's models. Operations whose body
or query the client does not declare (create, PUT, PATCH, rotate with a grace period, filtered
lists) go through `lumo_helpers.send`, which still uses the client's own serialization and
models. Receivers are `http.server.ThreadingHTTPServer`s on 127.0.0.1 (conftest starts lumod
with LUMO_WEBHOOKS_ALLOW_PRIVATE=true); deliveries come from lumod's dispatcher, so the tests
poll with bounded loops.
"""

import base64
import dataclasses
import datetime
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lumoauth_api_client import AdminWebhooksApi
from lumoauth_api_client.exceptions import (
    BadRequestException,
    NotFoundException,
    ServiceException,
    UnprocessableEntityException,
)
from lumoauth_api_client.models import (
    AdminWebhooksCreateResponse,
    AdminWebhooksCreateResponseData,
    AdminWebhooksDeliveriesListResponse,
    AdminWebhooksDeliveriesListResponseMeta,
    AdminWebhooksDeliveryReplayResponse,
    AdminWebhooksDeliveryShowResponse,
    AdminWebhooksDeliveryShowResponseData,
    AdminWebhooksDeliveryShowResponseData1AttemptsItem,
    AdminWebhooksEventsResponse,
    AdminWebhooksGetResponse,
    AdminWebhooksListResponse,
    AdminWebhooksRotateSecretResponse,
    AdminWebhooksRotateSecretResponseData,
    AdminWebhooksTestResponse,
    AdminWebhooksTunnelStartResponse,
    AdminWebhooksTunnelStartResponseData,
    AdminWebhooksWebhooksDisableResponse,
    AdminWebhooksWebhooksEnableResponse,
    MessageResponse,
    PaginationMeta,
    PutAdminWebhooksUpdateResponse,
    Webhook,
    WebhookDelivery,
)

from org_fixtures import own_org_fixtures
from lumo_helpers import create_group, create_user, error_body, send

lumod, api_client, org, oauth, new_org = own_org_fixtures("webhooks", "Webhooks tests")

# Fast retries: attempts at ~0, ~50 ms, ~100 ms later; dead-lettered after the third.
FAST = {"retryBaseMs": 50, "maxAttempts": 3}
WAIT_S = 10


# --- a local receiver ---------------------------------------------------------------------

@dataclasses.dataclass
class Received:
    route: str
    headers: dict      # lower-cased names
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Records every POST; answers each route with its configured status (default 200)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got: list = []
        self.statuses: dict = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.got.append(Received(
                        route=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body))
                    status = receiver.statuses.get(self.path, 200)
                reply = b'{"ok":true}' if status < 300 else b'{"error":"receiver refuses"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def route(self, name: str, status: int = 200):
        """A fresh route answering `status`; returns (route, url)."""
        route = f"/hooks/{name}-{uuid.uuid4().hex[:8]}"
        self.answer(route, status)
        return route, self.base + route

    def answer(self, route: str, status: int):
        with self.lock:
            self.statuses[route] = status

    def on(self, route: str) -> list:
        with self.lock:
            return [r for r in self.got if r.route == route]

    def wait_for(self, route: str, count: int, timeout: float = WAIT_S) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(route)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        pytest.fail(f"{route}: expected {count} requests within {timeout}s, "
                    f"got {len(self.on(route))}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver():
    rx = Receiver()
    yield rx
    rx.close()


@pytest.fixture(scope="module")
def webhooks_api(api_client):
    return AdminWebhooksApi(api_client)


def create_webhook(api_client, org, url, events, **fields) -> AdminWebhooksCreateResponseData:
    """POST ~/admin/webhooks through the client's serialization; checks the 201 envelope."""
    body = {"url": url, "events": events}
    body.update(fields)
    resp = send(api_client, "POST", "/admin/webhooks", org, body=body,
                types={"201": "AdminWebhooksCreateResponse"})
    assert resp.status_code == 201
    assert isinstance(resp.data, AdminWebhooksCreateResponse), resp.raw_data
    assert resp.data.message
    data = resp.data.data
    assert isinstance(data, AdminWebhooksCreateResponseData), resp.raw_data
    return data


@pytest.fixture
def hooks(api_client, org, webhooks_api):
    """Factory of webhooks in the module's org; deletes the ones left at the end of a test
    (so later events of the shared org are not sent to this test's routes)."""
    made = []

    def make(url, events, **fields):
        data = create_webhook(api_client, org, url, events, **fields)
        made.append(data.id)
        return data

    yield make
    for webhook_id in made:
        try:
            webhooks_api.admin_webhooks_delete(org, str(webhook_id))
        except NotFoundException:
            pass


def wait_until(probe, what: str, timeout: float = WAIT_S, interval: float = 0.05):
    """Calls `probe` until it returns something truthy (then returns it); fails after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def deliveries(webhooks_api, org, webhook_id) -> AdminWebhooksDeliveriesListResponse:
    resp = webhooks_api.admin_webhooks_deliveries_list_with_http_info(org, str(webhook_id))
    assert resp.status_code == 200
    assert isinstance(resp.data, AdminWebhooksDeliveriesListResponse), resp.raw_data
    assert isinstance(resp.data.meta, AdminWebhooksDeliveriesListResponseMeta)
    assert isinstance(resp.data.pagination, PaginationMeta)
    assert resp.data.meta.count == len(resp.data.data)
    assert all(isinstance(d, WebhookDelivery) for d in resp.data.data)
    return resp.data


def deliveries_where(api_client, org, webhook_id, **query) -> AdminWebhooksDeliveriesListResponse:
    resp = send(api_client, "GET", "/admin/webhooks/{webhookId}/deliveries", org,
                path_params={"webhookId": str(webhook_id)}, query=query,
                types={"200": "AdminWebhooksDeliveriesListResponse"})
    assert resp.status_code == 200
    assert isinstance(resp.data, AdminWebhooksDeliveriesListResponse), resp.raw_data
    assert resp.data.meta.count == len(resp.data.data)
    return resp.data


def hmac_key(secret: str) -> bytes:
    assert secret.startswith("whsec_"), secret
    return base64.b64decode(secret[len("whsec_"):], validate=True)


def signatures(secret: str, got: Received):
    """(hex body HMAC, Standard Webhooks `v1,<base64>`) of `got` under `secret`."""
    key = hmac_key(secret)
    body_mac = hmac.new(key, got.body, hashlib.sha256).hexdigest()
    signed = f"{got.header('webhook-id')}.{got.header('webhook-timestamp')}.".encode() + got.body
    standard = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return body_mac, standard


def verify_signed(got: Received, secret: str, id_pattern: str = r"evt_[0-9a-z]{26}") -> dict:
    """Checks all three signature headers against `secret` alone (no rotation); returns the
    payload."""
    body_mac, standard = signatures(secret, got)
    assert got.header("X-Lumo-Signature") == body_mac, got.headers
    assert got.header("X-LumoAuth-Signature") == f"sha256={body_mac}", got.headers
    assert got.header("webhook-signature") == standard, got.headers
    # A signature under another key must not match (the check can fail).
    other = "whsec_" + base64.b64encode(b"\x01" * 32).decode()
    assert signatures(other, got)[0] != body_mac
    payload = got.json()
    assert payload["id"] == got.header("webhook-id")
    assert re.fullmatch(id_pattern, payload["id"]), payload["id"]
    assert got.header("X-Lumo-Event-Id") == payload["id"]
    assert abs(int(got.header("webhook-timestamp")) - time.time()) < 300, got.headers
    assert got.header("Content-Type").startswith("application/json")
    return payload


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- CRUD, enable/disable, list --------------------------------------------------------------

def test_create_get_update_enable_disable_delete(api_client, org, webhooks_api, receiver, hooks):
    _, url = receiver.route("crud")
    config = dict(FAST, timeoutMs=2000)
    created = hooks(url, ["user.created", "group.created"], type="webhook", configuration=config)
    assert isinstance(created.id, int) and created.id > 0
    assert created.url == url
    assert created.events == ["user.created", "group.created"]
    assert created.type == "webhook"
    assert created.is_active is True
    assert created.failure_count == 0
    assert isinstance(created.created_at, datetime.datetime)
    assert created.last_triggered_at is None
    assert created.configuration == config
    assert created.secret.startswith("whsec_")
    assert len(hmac_key(created.secret)) == 32
    assert created.note
    wid = str(created.id)

    got = webhooks_api.admin_webhooks_get_with_http_info(org, wid)
    assert got.status_code == 200
    assert isinstance(got.data, AdminWebhooksGetResponse)
    assert isinstance(got.data.data, Webhook)
    hook = got.data.data
    assert (hook.id, hook.url, hook.events, hook.type, hook.is_active, hook.failure_count) == (
        created.id, url, created.events, "webhook", True, 0)
    assert hook.created_at == created.created_at
    assert hook.configuration == config
    # The secret is shown once: never again on reads.
    assert b"whsec_" not in got.raw_data and b'"secret"' not in got.raw_data

    # PUT: url and events are required and replaced.
    _, url2 = receiver.route("crud-put")
    put = send(api_client, "PUT", "/admin/webhooks/{webhookId}", org,
               path_params={"webhookId": wid},
               body={"url": url2, "events": ["user.deleted"], "type": "webhook"},
               types={"200": "PutAdminWebhooksUpdateResponse"})
    assert put.status_code == 200
    assert isinstance(put.data, PutAdminWebhooksUpdateResponse) and put.data.message
    assert isinstance(put.data.data, Webhook)
    assert (put.data.data.id, put.data.data.url, put.data.data.events) == (
        created.id, url2, ["user.deleted"])
    assert put.data.data.is_active is True
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PUT", "/admin/webhooks/{webhookId}", org,
             path_params={"webhookId": wid}, body={"url": url2},
             types={"200": "PutAdminWebhooksUpdateResponse"})
    body = error_body(info.value)
    assert body["error"] == "validation_error"
    assert "events" in body["details"], body

    # PATCH: only what is sent changes.
    patch = send(api_client, "PATCH", "/admin/webhooks/{webhookId}", org,
                 path_params={"webhookId": wid},
                 body={"isActive": False, "configuration": {"maxAttempts": 5}},
                 types={"200": "PutAdminWebhooksUpdateResponse"})
    assert patch.status_code == 200
    assert isinstance(patch.data, PutAdminWebhooksUpdateResponse) and patch.data.message
    assert (patch.data.data.url, patch.data.data.events) == (url2, ["user.deleted"])
    assert patch.data.data.is_active is False
    assert patch.data.data.configuration == {"maxAttempts": 5}
    after = webhooks_api.admin_webhooks_get(org, wid).data
    assert (after.url, after.events, after.is_active, after.configuration) == (
        url2, ["user.deleted"], False, {"maxAttempts": 5})

    # Enable / disable answer {message, webhook}.
    enabled = webhooks_api.admin_webhooks_webhooks_enable_with_http_info(org, wid)
    assert enabled.status_code == 200
    assert isinstance(enabled.data, AdminWebhooksWebhooksEnableResponse)
    assert enabled.data.message
    assert isinstance(enabled.data.webhook, Webhook)
    assert (enabled.data.webhook.id, enabled.data.webhook.is_active) == (created.id, True)
    assert webhooks_api.admin_webhooks_get(org, wid).data.is_active is True
    disabled = webhooks_api.admin_webhooks_webhooks_disable_with_http_info(org, wid)
    assert disabled.status_code == 200
    assert isinstance(disabled.data, AdminWebhooksWebhooksDisableResponse)
    assert disabled.data.message and disabled.data.message != enabled.data.message
    assert (disabled.data.webhook.id, disabled.data.webhook.is_active) == (created.id, False)
    assert webhooks_api.admin_webhooks_get(org, wid).data.is_active is False

    # Delete, then it is gone (get, delete again, deliveries).
    deleted = webhooks_api.admin_webhooks_delete_with_http_info(org, wid)
    assert deleted.status_code == 200
    assert isinstance(deleted.data, MessageResponse) and deleted.data.message
    with pytest.raises(NotFoundException) as info:
        webhooks_api.admin_webhooks_get(org, wid)
    assert error_body(info.value)["status"] == 404
    with pytest.raises(NotFoundException):
        webhooks_api.admin_webhooks_delete(org, wid)
    with pytest.raises(NotFoundException):
        webhooks_api.admin_webhooks_deliveries_list(org, wid)


def test_invalid_webhook_bodies_are_422_and_write_nothing(api_client, org, webhooks_api,
                                                          receiver):
    _, url = receiver.route("invalid")
    before = webhooks_api.admin_webhooks_list(org).meta.total
    for body, field in [
        ({"url": "ftp://hooks.example.com/x", "events": ["user.created"]}, "url"),
        ({"url": "not a url", "events": ["user.created"]}, "url"),
        ({"events": ["user.created"]}, "url"),
        ({"url": url}, "events"),
        ({"url": url, "events": []}, "events"),
        ({"url": url, "events": ["user.created"], "type": "carrier-pigeon"}, "type"),
        ({"url": url, "events": ["user.created"], "configuration": [1, 2]}, "configuration"),
    ]:
        with pytest.raises(UnprocessableEntityException) as info:
            send(api_client, "POST", "/admin/webhooks", org, body=body,
                 types={"201": "AdminWebhooksCreateResponse"})
        parsed = error_body(info.value)
        assert parsed["error"] == "validation_error", (body, parsed)
        assert field in parsed["details"], (body, parsed)
    assert webhooks_api.admin_webhooks_list(org).meta.total == before


def test_list_filters_and_sorting(new_org, receiver):
    # An org of its own, so the counts are exact.
    other = new_org()
    api = AdminWebhooksApi(other.client)
    a = create_webhook(other.client, other.slug, receiver.route("list-a")[1], ["user.created"])
    b = create_webhook(other.client, other.slug, receiver.route("list-b")[1], ["group.created"],
                       isActive=False)
    c = create_webhook(other.client, other.slug, receiver.route("list-c")[1], ["*"])
    assert (a.is_active, b.is_active, c.is_active) == (True, False, True)

    resp = api.admin_webhooks_list_with_http_info(other.slug)
    assert resp.status_code == 200
    listing = resp.data
    assert isinstance(listing, AdminWebhooksListResponse)
    assert listing.resource_type == "webhook"
    assert isinstance(listing.meta, PaginationMeta)
    assert listing.meta == listing.pagination
    assert listing.meta.total == 3 and listing.meta.page == 1
    assert all(isinstance(w, Webhook) for w in listing.data)
    # Newest first by default.
    assert [w.id for w in listing.data] == [c.id, b.id, a.id]
    by_id = {w.id: w for w in listing.data}
    assert by_id[b.id].events == ["group.created"] and by_id[b.id].is_active is False
    assert by_id[c.id].events == ["*"]
    assert b"whsec_" not in resp.raw_data

    def ids(**query):
        found = send(other.client, "GET", "/admin/webhooks", other.slug, query=query,
                     types={"200": "AdminWebhooksListResponse"})
        assert found.status_code == 200
        assert isinstance(found.data, AdminWebhooksListResponse)
        assert found.data.meta.total == len(found.data.data)
        return [w.id for w in found.data.data]

    assert sorted(ids(isActive="true")) == sorted([a.id, c.id])
    assert ids(isActive="false") == [b.id]
    # `event` matches the subscribers of that event, `*` included.
    assert sorted(ids(event="user.created")) == sorted([a.id, c.id])
    assert sorted(ids(event="group.created")) == sorted([b.id, c.id])
    assert ids(event="role.deleted") == [c.id]
    assert ids(isActive="false", event="user.created") == []
    assert ids(sortBy="createdAt", sortDir="asc") == [a.id, b.id, c.id]
    assert ids(sortBy="createdAt", sortDir="desc") == [c.id, b.id, a.id]
    assert ids(sortBy="isActive", sortDir="asc") == [b.id, a.id, c.id]
    assert ids(sortBy="isActive", sortDir="desc") == [c.id, a.id, b.id]
    for bad in ({"isActive": "maybe"}, {"sortBy": "url"}, {"sortDir": "sideways"}):
        with pytest.raises(BadRequestException) as info:
            send(other.client, "GET", "/admin/webhooks", other.slug, query=bad,
                 types={"200": "AdminWebhooksListResponse"})
        assert error_body(info.value)["status"] == 400

    for hook in (a, b, c):
        api.admin_webhooks_delete(other.slug, str(hook.id))
    assert api.admin_webhooks_list(other.slug).meta.total == 0


# --- events ----------------------------------------------------------------------------------

def test_event_catalog_and_unknown_events(api_client, org, webhooks_api, receiver):
    resp = webhooks_api.admin_webhooks_events_with_http_info(org)
    assert resp.status_code == 200
    assert isinstance(resp.data, AdminWebhooksEventsResponse)
    catalog = resp.data.data
    assert isinstance(catalog, dict)
    for name in ("user.created", "group.created", "webhook.created"):
        assert isinstance(catalog.get(name), str) and catalog[name], (name, catalog)
    assert "*" not in catalog

    _, url = receiver.route("events")
    before = webhooks_api.admin_webhooks_list(org).meta.total
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/webhooks", org,
             body={"url": url, "events": ["user.created", "user.teleported"]},
             types={"201": "AdminWebhooksCreateResponse"})
    body = error_body(info.value)
    assert body["status"] == 422 and body["error"] == "validation_error"
    assert "user.teleported" in json.dumps(body["details"]["events"])
    assert webhooks_api.admin_webhooks_list(org).meta.total == before
    # A name from the catalog (other than the three above) is accepted.
    name = sorted(set(catalog) - {"user.created", "group.created", "webhook.created"})[0]
    made = create_webhook(api_client, org, url, [name])
    assert made.events == [name]
    webhooks_api.admin_webhooks_delete(org, str(made.id))


# --- deliveries ------------------------------------------------------------------------------

def test_user_created_is_delivered_once_signed_and_logged(api_client, org, webhooks_api,
                                                          receiver, hooks):
    route, url = receiver.route("users")
    hook = hooks(url, ["user.created"], configuration=FAST)
    # A second, disabled subscriber gets no delivery at all.
    off_route, off_url = receiver.route("users-off")
    off = hooks(off_url, ["user.created"], isActive=False, configuration=FAST)

    user = create_user(api_client, org, name="Hooked User")
    create_group(api_client, org)  # not subscribed: nothing is sent for it

    (got,) = receiver.wait_for(route, 1)
    payload = verify_signed(got, hook.secret)
    assert payload["type"] == "user.created"
    assert set(payload) == {"id", "type", "timestamp", "data"}
    assert datetime.datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00"))
    assert isinstance(payload["data"], dict)
    assert payload["data"]["object"] == {"type": "user", "id": user.id, "name": "Hooked User"}
    assert payload["data"]["newValue"]["email"] == user.email
    assert payload["data"]["actor"]["type"] == "api_key"

    # The log shows it delivered (recorded after the receiver answered).
    def delivered():
        log = deliveries(webhooks_api, org, hook.id)
        return log if log.data and log.data[0].status == "success" else None

    log = wait_until(delivered, "the delivery to be recorded as success")
    assert log.meta.count == 1 and log.meta.dead_lettered_count == 0
    (row,) = log.data
    assert re.fullmatch(r"dlv_\d+", row.id), row.id
    assert row.webhook_id == hook.id
    assert row.delivery_id == payload["id"]
    assert row.event_name == "user.created"
    assert row.attempt_count == 1
    assert row.last_status_code == 200
    assert row.last_error is None
    assert row.succeeded_at is not None and row.dead_lettered_at is None
    assert row.next_attempt_at is None
    # Exactly one request: nothing further is pending once the attempt is recorded.
    assert len(receiver.on(route)) == 1

    shown = webhooks_api.admin_webhooks_delivery_show_with_http_info(org, str(hook.id), row.id)
    assert shown.status_code == 200
    assert isinstance(shown.data, AdminWebhooksDeliveryShowResponse)
    detail = shown.data.data
    assert isinstance(detail, AdminWebhooksDeliveryShowResponseData)
    assert (detail.id, detail.delivery_id, detail.status) == (row.id, row.delivery_id, "success")
    assert detail.payload == got.json()
    assert len(detail.attempts) == 1
    attempt = detail.attempts[0]
    assert isinstance(attempt, AdminWebhooksDeliveryShowResponseData1AttemptsItem)
    assert attempt.status_code == 200 and attempt.error is None
    assert isinstance(attempt.at, datetime.datetime)

    # Filters and limits of the log.
    assert [d.id for d in deliveries_where(api_client, org, hook.id, status="success").data] == [
        row.id]
    assert deliveries_where(api_client, org, hook.id, status="failed").data == []
    assert deliveries_where(api_client, org, hook.id, status="pending").data == []
    assert len(deliveries_where(api_client, org, hook.id, limit="1").data) == 1
    for bad in ({"status": "lost"}, {"limit": "0"}, {"limit": "201"}):
        with pytest.raises(BadRequestException) as info:
            deliveries_where(api_client, org, hook.id, **bad)
        assert error_body(info.value)["status"] == 400
    for unknown in ("dlv_999999", "not-a-delivery"):
        with pytest.raises(NotFoundException):
            webhooks_api.admin_webhooks_delivery_show(org, str(hook.id), unknown)

    # The disabled subscriber: no outbox row was written for it.
    assert deliveries(webhooks_api, org, off.id).data == []
    assert receiver.on(off_route) == []
    # The webhook records when it was last triggered.
    assert webhooks_api.admin_webhooks_get(org, str(hook.id)).data.last_triggered_at is not None


def test_failing_receiver_is_retried_then_dead_lettered_and_replayed(api_client, org,
                                                                     webhooks_api, receiver,
                                                                     hooks):
    route, url = receiver.route("dead", status=500)
    hook = hooks(url, ["group.created"], configuration=FAST)
    wid = str(hook.id)
    create_group(api_client, org)

    got = receiver.wait_for(route, 3)

    def dead():
        log = deliveries(webhooks_api, org, wid)
        return log if log.data and log.data[0].status == "dead_lettered" else None

    log = wait_until(dead, "the delivery to be dead-lettered")
    assert log.meta.dead_lettered_count == 1
    (row,) = log.data
    assert row.attempt_count == 3
    assert row.last_status_code == 500
    assert row.last_response_body and "receiver refuses" in row.last_response_body
    assert row.dead_lettered_at is not None and row.succeeded_at is None
    assert row.next_attempt_at is None
    # Three attempts of the same event, each signed, each with the same webhook-id.
    got = receiver.on(route)
    assert len(got) == 3
    event_ids = {verify_signed(r, hook.secret)["id"] for r in got}
    assert event_ids == {row.delivery_id}
    assert {r.header("webhook-id") for r in got} == {row.delivery_id}
    assert len({r.body for r in got}) == 1
    detail = webhooks_api.admin_webhooks_delivery_show(org, wid, row.id).data
    assert [a.status_code for a in detail.attempts] == [500, 500, 500]
    assert detail.payload == got[0].json()
    assert webhooks_api.admin_webhooks_get(org, wid).data.failure_count == 3
    assert [d.id for d in deliveries_where(api_client, org, wid, status="dead_lettered").data] == [
        row.id]

    # The receiver recovers; a replay sends the same event (same webhook-id) again.
    receiver.answer(route, 200)
    replay = webhooks_api.admin_webhooks_delivery_replay_with_http_info(org, wid, row.id)
    assert replay.status_code == 200
    assert isinstance(replay.data, AdminWebhooksDeliveryReplayResponse)
    assert replay.data.message
    copy = replay.data.data
    assert isinstance(copy, WebhookDelivery)
    assert copy.id != row.id and re.fullmatch(r"dlv_\d+", copy.id)
    assert copy.delivery_id == row.delivery_id
    assert copy.event_name == "group.created"
    assert copy.webhook_id == hook.id
    assert copy.status in ("pending", "success")

    fourth = receiver.wait_for(route, 4)[3]
    assert fourth.header("webhook-id") == row.delivery_id
    assert verify_signed(fourth, hook.secret) == got[0].json()

    def replayed():
        log = deliveries(webhooks_api, org, wid)
        statuses = {d.id: d.status for d in log.data}
        return log if statuses.get(copy.id) == "success" else None

    log = wait_until(replayed, "the replay to be recorded as success")
    assert log.meta.count == 2
    assert log.meta.dead_lettered_count == 1
    assert {d.id: d.status for d in log.data} == {row.id: "dead_lettered", copy.id: "success"}
    assert webhooks_api.admin_webhooks_get(org, wid).data.failure_count == 0
    with pytest.raises(NotFoundException):
        webhooks_api.admin_webhooks_delivery_replay(org, wid, "dlv_999999")


def test_rotation_signs_with_both_secrets_during_the_grace_window(api_client, org, webhooks_api,
                                                                   receiver, hooks):
    route, url = receiver.route("rotate")
    hook = hooks(url, ["group.created"], configuration=FAST)
    wid = str(hook.id)
    old = hook.secret

    create_group(api_client, org)
    first = receiver.wait_for(route, 1)[0]
    verify_signed(first, old)

    rotated = webhooks_api.admin_webhooks_rotate_secret_with_http_info(org, wid)
    assert rotated.status_code == 200
    assert isinstance(rotated.data, AdminWebhooksRotateSecretResponse)
    assert rotated.data.message
    data = rotated.data.data
    assert isinstance(data, AdminWebhooksRotateSecretResponseData)
    assert data.id == hook.id
    assert data.secret.startswith("whsec_") and data.secret != old
    assert len(hmac_key(data.secret)) == 32
    assert data.note
    new = data.secret

    create_group(api_client, org)
    second = receiver.wait_for(route, 2)[1]
    assert second.header("webhook-id") != first.header("webhook-id")
    new_mac, new_std = signatures(new, second)
    old_mac, old_std = signatures(old, second)
    assert second.header("X-Lumo-Signature") == new_mac
    assert second.header("X-LumoAuth-Signature") == f"sha256={new_mac},sha256={old_mac}"
    assert second.header("webhook-signature") == f"{new_std} {old_std}"
    assert second.json()["type"] == "group.created"

    # A rotation without grace drops the previous secret at once.
    again = send(api_client, "POST", "/admin/webhooks/{webhookId}/rotate-secret", org,
                 path_params={"webhookId": wid}, body={"gracePeriodSeconds": 0},
                 types={"200": "AdminWebhooksRotateSecretResponse"})
    assert again.status_code == 200
    assert isinstance(again.data, AdminWebhooksRotateSecretResponse)
    newest = again.data.data.secret
    assert newest not in (old, new) and newest.startswith("whsec_")
    create_group(api_client, org)
    third = receiver.wait_for(route, 3)[2]
    verify_signed(third, newest)

    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/webhooks/{webhookId}/rotate-secret", org,
             path_params={"webhookId": wid}, body={"gracePeriodSeconds": 30 * 24 * 3600},
             types={"200": "AdminWebhooksRotateSecretResponse"})
    assert "gracePeriodSeconds" in error_body(info.value)["details"]
    with pytest.raises(NotFoundException):
        webhooks_api.admin_webhooks_rotate_secret(org, "999999")


# --- test sends ------------------------------------------------------------------------------

def test_test_endpoint_reports_the_receivers_answer(api_client, org, webhooks_api, receiver,
                                                    hooks):
    ok_route, ok_url = receiver.route("test-ok")
    hook = hooks(ok_url, ["user.created"], configuration=FAST)
    wid = str(hook.id)

    resp = webhooks_api.admin_webhooks_test_with_http_info(org, wid)
    assert resp.status_code == 200
    assert isinstance(resp.data, AdminWebhooksTestResponse)
    assert resp.data.success is True
    assert resp.data.status_code == 200
    assert resp.data.message
    (got,) = receiver.on(ok_route)  # the test send is synchronous
    payload = verify_signed(got, hook.secret, id_pattern=r"evt_test_[0-9a-z]{26}")
    assert payload["data"]["webhookId"] == hook.id
    assert set(payload) == {"id", "type", "timestamp", "data"}

    fail_route, fail_url = receiver.route("test-fail", status=500)
    patched = send(api_client, "PATCH", "/admin/webhooks/{webhookId}", org,
                   path_params={"webhookId": wid}, body={"url": fail_url},
                   types={"200": "PutAdminWebhooksUpdateResponse"})
    assert patched.data.data.url == fail_url
    resp = webhooks_api.admin_webhooks_test_with_http_info(org, wid)
    assert resp.status_code == 200
    assert isinstance(resp.data, AdminWebhooksTestResponse)
    assert resp.data.success is False
    assert resp.data.status_code == 500
    assert resp.data.message
    assert len(receiver.on(fail_route)) == 1

    dead_url = f"http://127.0.0.1:{closed_port()}/nobody-home"
    send(api_client, "PATCH", "/admin/webhooks/{webhookId}", org,
         path_params={"webhookId": wid}, body={"url": dead_url},
         types={"200": "PutAdminWebhooksUpdateResponse"})
    assert webhooks_api.admin_webhooks_get(org, wid).data.url == dead_url
    with pytest.raises(ServiceException) as info:
        webhooks_api.admin_webhooks_test_with_http_info(org, wid)
    assert info.value.status == 502
    body = json.loads(info.value.body)
    assert body["success"] is False
    assert body["error"] == "webhook_unreachable"
    assert isinstance(body["message"], str) and body["message"]

    # Test sends are not logged as deliveries.
    assert deliveries(webhooks_api, org, wid).data == []
    with pytest.raises(NotFoundException):
        webhooks_api.admin_webhooks_test(org, "999999")


# --- tunnels ---------------------------------------------------------------------------------

def test_tunnels_start_stream_and_stop(api_client, org, webhooks_api, hooks):
    import urllib.request

    started = webhooks_api.admin_webhooks_tunnel_start_with_http_info(org)
    assert started.status_code == 200
    assert isinstance(started.data, AdminWebhooksTunnelStartResponse)
    data = started.data.data
    assert isinstance(data, AdminWebhooksTunnelStartResponseData)
    assert data.session_id.startswith("tun_")
    assert data.tunnel_url.endswith(f"/admin/webhooks/tunnel/{data.webhook_id}/stream")
    # Events reach the developer over SSE.
    request = urllib.request.Request(
        data.tunnel_url, headers={"X-API-Key": api_client.configuration.api_key["ApiKeyAuth"]})
    with urllib.request.urlopen(request, timeout=15) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        create_group(api_client, org, name=f"Tunnel {uuid.uuid4().hex[:6]}")
        seen = ""
        deadline = time.monotonic() + 10
        while "event: group.created" not in seen and time.monotonic() < deadline:
            seen += stream.readline().decode()
    assert "event: group.created" in seen
    stopped = webhooks_api.admin_webhooks_tunnel_stop_with_http_info(org, str(data.webhook_id))
    assert stopped.status_code == 200
    assert isinstance(stopped.data, MessageResponse)
    with pytest.raises(NotFoundException):
        webhooks_api.admin_webhooks_tunnel_stop(org, str(data.webhook_id))
    # A webhook is not a tunnel.
    hook = hooks("https://hooks.example.com/not-a-tunnel", ["user.created"])
    with pytest.raises(BadRequestException) as info:
        webhooks_api.admin_webhooks_tunnel_stop(org, str(hook.id))
    assert error_body(info.value)["status"] == 400



def test_test_send_payload_type_is_the_documented_test_webhook(org, webhooks_api, receiver,
                                                                hooks):
    route, url = receiver.route("test-type")
    hook = hooks(url, ["user.created"])
    assert webhooks_api.admin_webhooks_test(org, str(hook.id)).success is True
    (got,) = receiver.on(route)
    assert got.json()["type"] == "test.webhook"


def test_unreachable_test_send_502_has_the_error_shape(api_client, org, webhooks_api, hooks):
    hook = hooks(f"http://127.0.0.1:{closed_port()}/nobody-home", ["user.created"])
    with pytest.raises(ServiceException) as info:
        webhooks_api.admin_webhooks_test(org, str(hook.id))
    assert info.value.status == 502
    body = error_body(info.value)
    assert body["error"] == "webhook_unreachable"
