"""Whatever arrives at the webhook endpoints, the answer is a JSON 2xx/4xx, never a 500 page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_sync.models import AuthKind, Provider
from tests.factories import ConnectionFactory
from tests.webhooks.signing import sign_ed25519

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ghl_keys")]
ANSWERS = {200, 400, 401, 404, 409, 413}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
ghl_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["ContactUpdate", "TaskCreate", "INSTALL", ""]) | st.integers(),
        "locationId": st.text(max_size=30) | st.integers() | st.none(),
        "webhookId": st.text(max_size=250) | st.integers() | st.none(),
        "timestamp": st.text(max_size=30) | st.integers() | st.floats(allow_nan=False, allow_infinity=True),
        "extra": json_values,
    },
)
# Nested past the parser's recursion limit (a 500 before) and just past our own depth limit.
deep = st.sampled_from([10, 33, 2_000, 200_000]).flatmap(
    lambda n: st.sampled_from([b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n, b'{"x":' + b"[" * n])
)
bodies = (
    deep
    | st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | ghl_like.map(lambda v: json.dumps(v).encode())
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, signed=st.booleans(), legacy_header=st.text(max_size=40))
def test_the_ghl_endpoint_answers_json_for_any_body(client: Any, body: bytes, signed: bool, legacy_header: str) -> None:
    headers = {"x-ghl-signature": sign_ed25519(body)} if signed else {"x-wh-signature": legacy_header}
    response = client.post("/webhooks/ghl/", data=body, content_type="application/json", headers=headers)
    assert response.status_code in ANSWERS, response.content[:300]
    assert "error" in response.json() or "status" in response.json()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, signature=st.text(max_size=80), secret_header=st.text(max_size=40))
def test_the_connection_endpoint_answers_json_for_any_body(
    client: Any, body: bytes, signature: str, secret_header: str
) -> None:
    conn = ConnectionFactory(provider=Provider.HUBSTAFF, auth_kind=AuthKind.API_KEY, secrets={"webhook_secret": "s"})
    headers = {"X-Hook-Signature": signature} if signature else {"X-Hook-Secret": secret_header}
    headers = {k: v for k, v in headers.items() if v.isprintable() and v.isascii()}
    response = client.post(
        f"/webhooks/{conn.webhook_token}/", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code in ANSWERS, response.content[:300]
    assert "error" in response.json() or "status" in response.json()
