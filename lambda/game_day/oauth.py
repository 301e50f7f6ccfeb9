"""The game day's HTTP, standard library only: GETs of the health routes, and orders placed as a
client places them, with a bearer token from the OAuth 2.0 client-credentials grant.

The grant is RFC 6749 section 4.4: a POST of the form-encoded (Appendix B) grant_type, with the
client authenticated as section 2.3.1 allows, either way the token endpoint is set up for:
client_id and client_secret in the form ("client_secret_post", the default), or HTTP Basic
("client_secret_basic"); the names are RFC 7591's token_endpoint_auth_method values. The answer is
section 5.1's JSON; its token is cached for its expires_in, less a margin.

Nothing here logs, and nothing it raises or returns holds the client secret, the token or a URL:
a health URL's path is the health route's token. Errors carry statuses, OAuth error codes and
exception type names only. Redirects are answers, never followed, so a token is never sent to a
host it was not meant for.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from botocore.client import BaseClient
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, StringConstraints, ValidationError
from settings import GameDayInputError

Clock = Callable[[], float]

USER_AGENT = "dr-game-day"
# Seconds for a connection and each read. An order answered after a cold start in the DR region
# (init plus the function's run) can take longer; that poll fails and the next one is warm.
TIMEOUT_SECONDS = 4.0
# Enough for a health body, an order's answer or a token; nothing read is kept beyond the poll.
BODY_LIMIT = 16384
# A cached token is not sent in its last seconds: a request takes time to arrive.
TOKEN_MARGIN_SECONDS = 30.0
# RFC 6749 5.1 only RECOMMENDS expires_in; without it the token is kept this long.
DEFAULT_TOKEN_SECONDS = 300.0
# RFC 6749 5.2: an error code is a short ASCII word; anything else is not repeated.
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


class FetchFailed(OSError):
    """No HTTP answer: a refused or reset connection, TLS, DNS, a timeout, a broken response."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    # Never in a repr: the URL may hold the health token, the headers the bearer token, the body
    # the client secret.
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    # Never in a repr: a token endpoint's answer holds the token.
    body: str = field(default="", repr=False)
    # Names in lower case.
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


Fetch = Callable[[HttpRequest], HttpAnswer]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is then raised as an HTTPError: an answer like any other


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch_https(request: HttpRequest) -> HttpAnswer:
    """One HTTP exchange; an error status is an answer, no answer at all is FetchFailed."""
    if not request.url.startswith("https://"):
        raise ValueError("only https URLs are fetched")
    headers = {"User-Agent": USER_AGENT, **request.headers}
    prepared = urllib.request.Request(request.url, data=request.body, headers=headers, method=request.method)
    try:
        with _OPENER.open(prepared, timeout=TIMEOUT_SECONDS) as response:
            return _answer(response.status, response.read(BODY_LIMIT), response.headers.items())
    except urllib.error.HTTPError as error:
        with error:
            return _answer(error.code, error.read(BODY_LIMIT), error.headers.items())
    except (OSError, http.client.HTTPException) as error:
        # The type alone: a URLError's text can quote the host, a timeout's the URL.
        raise FetchFailed(type(error).__name__) from None


def _answer(status: int, body: bytes, headers: Any) -> HttpAnswer:
    return HttpAnswer(
        status, body.decode("utf-8", "replace"), {name.lower(): value for name, value in headers}
    )


def get(fetch: Fetch, url: str) -> HttpAnswer:
    return fetch(HttpRequest("GET", url, {"Accept": "application/json"}))


# Client credentials


Text = Annotated[str, StringConstraints(min_length=1)]


class ClientCredentials(BaseModel):
    """The OAuth client the game day orders as, from its Secrets Manager secret."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="ignore")

    token_url: HttpUrl
    client_id: Text
    client_secret: SecretStr = Field(min_length=1)
    scope: str | None = None
    audience: str | None = None
    token_endpoint_auth_method: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"


def load_credentials(secrets: BaseClient, secret_id: str) -> ClientCredentials:
    """The client from its secret. AWS errors are raised as they are; a secret that is not the
    expected JSON raises GameDayInputError (the Step Functions error the state machine does not
    retry) naming what is wrong, never quoting it."""
    secret = secrets.get_secret_value(SecretId=secret_id).get("SecretString")
    if not secret:
        raise GameDayInputError("the client secret has no SecretString")
    try:
        credentials = ClientCredentials.model_validate_json(secret)
    except ValidationError as error:
        fields = sorted({".".join(map(str, problem["loc"])) or "the secret" for problem in error.errors()})
        raise GameDayInputError(f"the client secret is not the expected JSON: {', '.join(fields)}") from None
    if credentials.token_url.scheme != "https":
        raise GameDayInputError("the client secret's token_url is not https")
    return credentials


class TokenUnavailable(Exception):
    """The token endpoint gave no usable token; the message holds its status and error code only."""


class TokenSource:
    """Bearer tokens for one client, fetched by the client-credentials grant and cached."""

    def __init__(self, credentials: ClientCredentials, fetch: Fetch, clock: Clock) -> None:
        self._credentials, self._fetch, self._clock = credentials, fetch, clock
        self._token: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:
        return f"TokenSource(client_id={self._credentials.client_id!r})"

    def token(self) -> str:
        """A token valid for a while yet. Raises TokenUnavailable, or FetchFailed with no answer."""
        if self._token is not None and self._clock() < self._expires:
            return self._token
        self._token = None
        asked = self._clock()
        answer = self._fetch(self._request())
        if answer.status != 200:
            raise TokenUnavailable(f"token endpoint answered HTTP {answer.status}{_error_code(answer.body)}")
        token, lifetime = _token_from(answer.body)
        self._token, self._expires = token, asked + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 2)
        return token

    def forget(self) -> None:
        """Drop the cached token (the API refused it): the next call fetches a fresh one."""
        self._token = None

    def _request(self) -> HttpRequest:
        credentials = self._credentials
        form = {"grant_type": "client_credentials"}
        if credentials.scope:
            form["scope"] = credentials.scope
        if credentials.audience:
            form["audience"] = credentials.audience
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        secret = credentials.client_secret.get_secret_value()
        if credentials.token_endpoint_auth_method == "client_secret_basic":
            # RFC 6749 2.3.1: each part form-encoded first, then "id:secret" in Basic.
            pair = f"{_form_encode(credentials.client_id)}:{_form_encode(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form |= {"client_id": credentials.client_id, "client_secret": secret}
        return HttpRequest("POST", str(credentials.token_url), headers, urllib.parse.urlencode(form).encode())


def _form_encode(value: str) -> str:
    return urllib.parse.quote_plus(value, safe="")


def _token_from(body: str) -> tuple[str, float]:
    try:
        answer = json.loads(body)
    except ValueError:
        raise TokenUnavailable("token endpoint answered 200 without JSON") from None
    if not isinstance(answer, dict):
        raise TokenUnavailable("token endpoint answered 200 without a JSON object")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenUnavailable("token endpoint answered 200 without an access_token")
    # RFC 6749 5.1: token_type is case-insensitive; the orders API takes bearer tokens (RFC 6750).
    token_type = answer.get("token_type")
    if token_type is not None and str(token_type).lower() != "bearer":
        raise TokenUnavailable("token endpoint answered a token that is not a bearer token")
    return token, _lifetime(answer.get("expires_in"))


def _lifetime(expires_in: object) -> float:
    # A number, or (as some servers send it) a string of digits; anything else: the default.
    if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        return DEFAULT_TOKEN_SECONDS
    return float(expires_in)


def _error_code(body: str) -> str:
    try:
        code = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return ""
    return f" ({code})" if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else ""
