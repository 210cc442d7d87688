"""A NUL byte in a JSON body (an id, a name) is the client's mistake on both databases: SQLite
stores it, PostgreSQL refuses it in text, and neither may answer 500."""

from __future__ import annotations

import httpx

from api_support import FS


def test_a_nul_byte_in_a_body_id_or_name_is_a_client_error(api: httpx.Client) -> None:
    body = {
        "name": "nul",
        "baseConnectionId": "a\u0000b",
        "data": {"format": "parquet_xdm"},
        "params": {"path": "drop"},
        "connectionSpec": {"id": "a\u0000b", "version": "1.0"},
    }
    for path, payload in (
        (f"{FS}/sourceConnections", body),
        (f"{FS}/flows", {"name": "x", "sourceConnectionIds": ["a\u0000b"]}),
        (f"{FS}/runs", {"flowId": "a\u0000b"}),
    ):
        answer = api.post(path, json=payload)
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
