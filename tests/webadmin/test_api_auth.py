"""Bearer-token refusals of `/api/v1`: before routing, in JSON, with the RFC 6750 challenge,
and the token never logged."""

from __future__ import annotations

import logging

import pytest

from tests.webadmin.conftest import TOKEN, ApiWorld
from webadmin.api import API_PREFIX
from webadmin.api.auth import bearer_middleware

PATHS = ["/agents/13800000003", "/transactions", "/outcomes?state=pending", "/no/such/path"]


@pytest.mark.parametrize("path", PATHS)
async def test_no_token_is_401_with_a_challenge(api: ApiWorld, path: str) -> None:
    async with api.client.get(API_PREFIX + path) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="aircharge"'
        assert await response.json() == {
            "error": "unauthorized",
            "message": "a bearer token is required",
        }


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer 口令",
    ],
)
async def test_a_wrong_token_is_401_invalid_token(api: ApiWorld, authorization: str) -> None:
    headers = {"Authorization": authorization}
    async with api.client.get(API_PREFIX + "/transactions", headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="aircharge", error="invalid_token"'
        )
        body = await response.json()
    assert body == {"error": "unauthorized", "message": "the bearer token is not valid"}


@pytest.mark.parametrize("authorization", [f"Basic {TOKEN}", TOKEN, "Bearer", "Bearer   "])
async def test_other_schemes_and_empty_credentials_are_no_token(
    api: ApiWorld, authorization: str
) -> None:
    headers = {"Authorization": authorization}
    async with api.client.get(API_PREFIX + "/transactions", headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="aircharge"'


async def test_the_scheme_is_case_insensitive(api: ApiWorld) -> None:
    headers = {"Authorization": f"bEARER {TOKEN}"}
    async with api.client.get(API_PREFIX + "/transactions", headers=headers) as response:
        assert response.status == 200


async def test_a_refused_caller_learns_nothing_of_methods_or_paths(api: ApiWorld) -> None:
    async with api.client.post(API_PREFIX + "/transactions") as response:
        assert response.status == 401
    async with api.client.get(API_PREFIX) as response:
        assert response.status == 401


async def test_the_token_never_reaches_a_log(
    api: ApiWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Bearer not-the-token-but-close-9c1e"
    async with api.client.get(
        API_PREFIX + "/transactions", headers={"Authorization": wrong}
    ) as response:
        assert response.status == 401
    async with api.client.get(API_PREFIX + "/no/such", headers=api.headers()) as response:
        assert response.status == 404
    assert "refused: wrong bearer token" in caplog.text  # the refusal is logged ...
    assert "not-the-token" not in caplog.text  # ... without what was offered
    assert TOKEN not in caplog.text


def test_an_empty_token_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        bearer_middleware("")
