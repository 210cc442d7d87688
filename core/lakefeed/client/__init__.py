"""An httpx client of the lakefeed REST service — and of Adobe's Flow Service, whose paths,
headers and shapes lakefeed keeps.

``Client`` (sync) and ``AsyncClient`` (asyncio) take the server's base URL, the API key, the
client secret (or an access token), the org and the sandbox; their methods mirror the Python
API and answer the Flow Service entity dicts. Errors raise :mod:`lakefeed.errors` classes.
``Client`` is generated from ``AsyncClient`` (``python -m lakefeed.client._generate``).
"""

from lakefeed.client.aio import AsyncClient
from lakefeed.client.calls import Created
from lakefeed.client.errors import ApiError, RunWaitTimeout, ServerUnreachable, UnexpectedAnswer
from lakefeed.client.sync import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "Created",
    "RunWaitTimeout",
    "ServerUnreachable",
    "UnexpectedAnswer",
]
