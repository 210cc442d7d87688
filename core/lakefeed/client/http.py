"""What the sync and async clients share: requests as data, the retry policy and credentials.

Calls are written as generators that yield :class:`Send` and :class:`Sleep` instructions; the
sync and async clients only carry them out (``httpx.Client`` or ``httpx.AsyncClient``,
``time.sleep`` or ``asyncio.sleep``). Every decision — which headers, when to retry and how
long to wait, when to fetch a new token, which exception an error answer raises — is made here,
once.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from lakefeed.client.errors import ServerUnreachable, UnexpectedAnswer, error_for, redact
from lakefeed.errors import AuthenticationRequired, InvalidRequest, LakefeedError

T = TypeVar("T")

TOKEN_PATH = "/ims/token/v3"
#: Methods a server may safely receive twice.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: Longest wait between two attempts, whatever ``Retry-After`` asks for.
MAX_DELAY = 60.0
#: The largest answer read, decoded: far above any page, entity or rejected-rows file a
#: lakefeed server sends; an endless or enormous answer is refused instead of held in memory.
MAX_ANSWER_BYTES = 256 * 1024 * 1024
#: What a reading error in an answer means for a call (the answer is not a lakefeed server's).
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
SERVER_FIX = (
    "Check the server URL: it must be the base URL of `lakefeed serve` (e.g. "
    "http://127.0.0.1:8080, without a path), and a proxy in between must pass its answers "
    "through unchanged."
)
#: Headers that describe the body as sent, not as read (decoded) by :class:`AnswerBody`.
_ENCODING_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def unexpected(response: httpx.Response, what: str) -> UnexpectedAnswer:
    """:class:`UnexpectedAnswer` for ``response``, ``what`` saying what is wrong with it."""
    request = response.request
    server = f"{request.url.scheme}://{request.url.netloc.decode()}"
    kind = response.headers.get("content-type") or "no content type"
    return UnexpectedAnswer(
        f"{request.method} {request.url.path} on {server} answered {response.status_code} "
        f"({kind}), which {what}.",
        fix=SERVER_FIX,
    )


def json_answer(response: httpx.Response) -> Any:
    """The JSON of an answer; :class:`UnexpectedAnswer` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise unexpected(response, "is not JSON") from None


class AnswerBody:
    """The decoded body of a streamed answer, chunk by chunk, at most ``limit`` bytes; then
    the answer, read (the sync and async drivers both stream through it)."""

    def __init__(self, streamed: httpx.Response, limit: int | None = None) -> None:
        self.streamed = streamed
        self.limit = MAX_ANSWER_BYTES if limit is None else limit
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise unexpected(
                self.streamed,
                f"is longer than {self.limit:,} bytes, more than a lakefeed server sends",
            )
        self.chunks.append(chunk)

    def response(self) -> httpx.Response:
        streamed = self.streamed
        headers = [
            (name, value)
            for name, value in streamed.headers.multi_items()
            if name.lower() not in _ENCODING_HEADERS
        ]
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=b"".join(self.chunks),
            request=streamed.request,
            extensions=streamed.extensions,
        )


@dataclass(frozen=True)
class Request:
    """One HTTP call, relative to the server's base URL."""

    method: str
    path: str
    params: Any = None
    json: Any = None
    data: dict[str, str] | None = field(default=None, repr=False)  # the token form: secret
    headers: dict[str, str] = field(default_factory=dict)
    authenticated: bool = True
    idempotent: bool | None = None  # None: decided by the method

    @property
    def safe_to_repeat(self) -> bool:
        return self.method in IDEMPOTENT if self.idempotent is None else self.idempotent


@dataclass(frozen=True)
class Send:
    """Send ``request`` once, as it is; the driver answers with the response or the
    ``httpx.TransportError``."""

    request: Request


@dataclass(frozen=True)
class Sleep:
    """Wait before the next step (a retry, or the next poll of a run)."""

    seconds: float


@dataclass(frozen=True)
class RetryPolicy:
    """Retry 429 and 503 always (the server did nothing), other 5xx answers and broken
    connections only for requests that may be sent twice, and connection failures (nothing was
    sent) always. Waits ``backoff * 2**attempt`` (with jitter), or what ``Retry-After`` says."""

    retries: int = 3
    backoff: float = 0.5

    def retry_status(self, request: Request, status: int) -> bool:
        if status in (429, 503):
            return True
        return status >= 500 and request.safe_to_repeat

    def retry_error(self, request: Request, exc: httpx.TransportError) -> bool:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True
        return request.safe_to_repeat

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        if response is not None:
            asked = retry_after(response)
            if asked is not None:
                return min(asked, MAX_DELAY)
        base: float = self.backoff * 2**attempt
        return float(min(base * (0.5 + random.random() / 2), MAX_DELAY))


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Credentials:
    """The four Platform headers, and the token: given, or exchanged for the client secret
    (again when the server says it expired)."""

    def __init__(
        self,
        *,
        api_key: str,
        client_secret: str | None,
        access_token: str | None,
        ims_org_id: str,
        sandbox_name: str,
    ) -> None:
        self.api_key = api_key
        self.ims_org_id = ims_org_id
        self.sandbox_name = sandbox_name
        self._client_secret = client_secret
        self.access_token = access_token

    def __repr__(self) -> str:
        return (
            f"Credentials(api_key={self.api_key!r}, ims_org_id={self.ims_org_id!r}, "
            f"sandbox_name={self.sandbox_name!r})"
        )

    @property
    def hidden(self) -> tuple[str | None, str | None]:
        """Values no message may contain."""
        return self._client_secret, self.access_token

    @property
    def can_refresh(self) -> bool:
        return bool(self._client_secret)

    def token_request(self) -> Request:
        assert self._client_secret is not None
        return Request(
            "POST",
            TOKEN_PATH,
            data={
                "client_id": self.api_key,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
            },
            authenticated=False,
            idempotent=True,  # a second token does no harm
        )

    def accept_token(self, response: httpx.Response) -> None:
        body = json_answer(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise unexpected(response, "holds no access_token")
        self.access_token = token

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.access_token}",
            "x-api-key": self.api_key,
            "x-gw-ims-org-id": self.ims_org_id,
            "x-sandbox-name": self.sandbox_name,
        }


def build(request: Request, credentials: Credentials) -> dict[str, Any]:
    """Keyword arguments of ``httpx.Client.request`` for ``request``."""
    headers = {**(credentials.headers() if request.authenticated else {}), **request.headers}
    return {
        "method": request.method,
        "url": request.path,
        "params": request.params,
        "json": request.json,
        "data": request.data,
        "headers": headers,
    }


Reply = httpx.Response | httpx.TransportError | None
#: A call as its driver sees it: send this, sleep that, until it returns.
RawStep = Generator[Send | Sleep, Reply, T]


@dataclass
class Session:
    """One server, one set of credentials, one retry policy."""

    base_url: str
    credentials: Credentials
    policy: RetryPolicy

    def run(self, step: Generator[Request | Sleep, Any, T]) -> RawStep[T]:
        """A call written with :class:`Request` steps (see ``calls``) as a raw step: each
        request goes through :meth:`call`; its error is raised inside the call, which may
        catch it."""
        reply: Any = None
        error: LakefeedError | None = None
        while True:
            try:
                instruction = step.throw(error) if error is not None else step.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result
            except SHAPE_ERRORS as exc:
                if not isinstance(reply, httpx.Response):
                    raise  # not reading an answer: the call's own error
                detail = redact(f"{type(exc).__name__}: {exc}", self.credentials.hidden)
                what = f"is not shaped as a lakefeed server's answer ({detail})"
                raise unexpected(reply, what) from exc
            error = None
            if isinstance(instruction, Sleep):
                yield instruction
                reply = None
                continue
            try:
                reply = yield from self.call(instruction)
            except LakefeedError as exc:
                error = exc

    def call(self, request: Request) -> RawStep[httpx.Response]:
        """``request`` with a token, retries and one token refresh; an error answer raises."""
        refreshed = False
        if request.authenticated and self.credentials.access_token is None:
            yield from self._refresh_token()
            refreshed = True
        response = yield from self._attempts(request)
        if (
            response.status_code == 401
            and request.authenticated
            and not refreshed
            and self.credentials.can_refresh
        ):
            # The token expired (or was revoked): one new token, one more try.
            yield from self._refresh_token()
            response = yield from self._attempts(request)
        if response.is_error:
            raise error_for(response, self.credentials.hidden)
        return response

    def _refresh_token(self) -> RawStep[None]:
        if not self.credentials.can_refresh:
            raise AuthenticationRequired(
                "No access token, and no client secret to get one.",
                fix="Pass client_secret (or --client-secret / LAKEFEED_CLIENT_SECRET).",
            )
        response = yield from self._attempts(self.credentials.token_request())
        if response.is_error:
            raise error_for(response, self.credentials.hidden)
        self.credentials.accept_token(response)

    def _attempts(self, request: Request) -> RawStep[httpx.Response]:
        attempt = 0
        while True:
            reply = yield Send(request)
            if isinstance(reply, httpx.TransportError):
                if attempt >= self.policy.retries or not self.policy.retry_error(request, reply):
                    detail = redact(f"{type(reply).__name__}: {reply}", self.credentials.hidden)
                    raise ServerUnreachable(
                        f"No answer from {self.base_url} to {request.method} {request.path} "
                        f"after {attempt + 1} attempt(s): {detail}.",
                        fix="Is `lakefeed serve` running there? Check the server URL.",
                    ) from reply
                delay = self.policy.delay(attempt)
            else:
                assert reply is not None
                if attempt >= self.policy.retries or not self.policy.retry_status(
                    request, reply.status_code
                ):
                    return reply
                delay = self.policy.delay(attempt, reply)
            attempt += 1
            yield Sleep(delay)


def make_session(
    base_url: str,
    *,
    api_key: str,
    client_secret: str | None,
    access_token: str | None,
    ims_org_id: str,
    sandbox_name: str,
    retries: int,
    backoff: float,
) -> Session:
    if not client_secret and not access_token:
        raise InvalidRequest(
            "A lakefeed client needs a client secret (exchanged for tokens) or an access token.",
            fix="Pass client_secret=… (`lakefeed auth create-client` prints one).",
        )
    credentials = Credentials(
        api_key=api_key,
        client_secret=client_secret,
        access_token=access_token,
        ims_org_id=ims_org_id,
        sandbox_name=sandbox_name,
    )
    return Session(base_url.rstrip("/"), credentials, RetryPolicy(retries, backoff))
