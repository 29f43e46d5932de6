"""Fixtures of a test module that works in an org of its own (so the entities and audit
actions it makes stay out of the bootstrap org other modules count in).

    lumod, api_client, org, oauth, new_org = own_org_fixtures("agents", "Agents tests")

re-points the conftest's `lumod`, `api_client`, `org` and `oauth` at a new org and adds
`new_org`, a factory of further empty orgs (slug, api_key, client, oauth, lumod).
"""

import dataclasses
import types

import pytest
from lumoauth_api_client import ApiClient, Configuration

from lumo_helpers import OAuthHttp, unique


def key_client(base: str, key: str) -> ApiClient:
    """The generated client authenticating with an API key."""
    config = Configuration(host=base)
    config.api_key = {"ApiKeyAuth": key}
    return ApiClient(config)


def own_org_fixtures(prefix: str, title: str):
    @pytest.fixture(scope="module")
    def lumod(lumod):
        slug = unique(prefix)
        data = lumod.create_org(slug, title)
        assert data["slug"] == slug and data["apiKey"].startswith("lmk_")
        return dataclasses.replace(lumod, org=slug, api_key=data["apiKey"])

    @pytest.fixture(scope="module")
    def api_client(lumod):
        return key_client(lumod.base, lumod.api_key)

    @pytest.fixture(scope="module")
    def org(lumod) -> str:
        return lumod.org

    @pytest.fixture(scope="module")
    def oauth(lumod):
        return OAuthHttp(lumod.base, lumod.org)

    @pytest.fixture(scope="module")
    def new_org(lumod):
        def make():
            slug = unique(f"{prefix}-other")
            data = lumod.create_org(slug, f"Other {slug}")
            return types.SimpleNamespace(
                slug=slug, api_key=data["apiKey"], client=key_client(lumod.base, data["apiKey"]),
                oauth=OAuthHttp(lumod.base, slug),
                lumod=dataclasses.replace(lumod, org=slug, api_key=data["apiKey"]))

        return make

    return lumod, api_client, org, oauth, new_org
