"""Process lifecycle: SIGTERM must stop lumod cleanly (exit 0) and data must survive a restart.

These start their own short-lived lumod processes (separate from the session server).
Shutdown problems are intermittent, so each check is repeated a few times.
"""

import os
import secrets
import tempfile

import pytest

import lumoauth_api_client

from conftest import LumodProcess, make_client
from lumo_helpers import create_user

ROUNDS = 6


def fresh_credentials():
    return "lmk_" + secrets.token_urlsafe(24), secrets.token_urlsafe(24)


def test_sigterm_after_writes_exits_0_and_data_survives_restart():
    failures = []
    for round_no in range(ROUNDS):
        key, token = fresh_credentials()
        with tempfile.TemporaryDirectory(prefix="lumo-life-") as tmp:
            data_dir = os.path.join(tmp, "data")
            first = LumodProcess(data_dir, os.path.join(tmp, "1.log"), key, token)
            client = make_client(first.server.base, key)
            emails = [create_user(client, first.server.org, name=f"Durable {i}").email
                      for i in range(5)]
            code = first.stop()
            if code != 0 or "lumod stopped" not in first.stdout:
                failures.append((round_no, code, first.stderr_tail()[-300:]))
            # Acknowledged writes must survive even an unclean exit.

            second = LumodProcess(data_dir, os.path.join(tmp, "2.log"), key, token)
            try:
                client = make_client(second.server.base, key)
                api = lumoauth_api_client.AdminUsersApi(client)
                for email in emails:
                    assert api.get_user(second.server.org, email).data.email == email
                assert api.list_users(second.server.org).meta.total == len(emails)
            finally:
                code = second.stop()
            if code != 0:
                failures.append((round_no, f"restart: {code}", second.stderr_tail()[-300:]))
    assert not failures, f"unclean SIGTERM shutdowns in {len(failures)}/{ROUNDS} rounds: {failures}"


def test_sigterm_right_after_ready_line_exits_0():
    failures = []
    for round_no in range(ROUNDS):
        key, token = fresh_credentials()
        with tempfile.TemporaryDirectory(prefix="lumo-life-") as tmp:
            proc = LumodProcess(os.path.join(tmp, "data"), os.path.join(tmp, "l.log"), key, token)
            code = proc.stop()
            if code != 0:
                failures.append((round_no, code, proc.stderr_tail()[-300:]))
    assert not failures, (
        f"SIGTERM sent right after the ready line did not exit 0 in "
        f"{len(failures)}/{ROUNDS} rounds: {failures}")
