"""API Gateway HTTP API JWT authorizers, deciding a request as the API Gateway Developer Guide documents.

moto does not evaluate HTTP API authorizers at all, so nothing a moto test does shows that a route rejects an
unauthenticated call, or that the token a client got works in whichever region DNS sends it to. This module
is written from the pages below, not from any implementation, so tests can ask what API Gateway would do.

API: ``decide(authorizer, route, request_headers, jwks, now) -> Decision``

- ``authorizer``: the ``AWS::ApiGatewayV2::Authorizer`` Properties (``AuthorizerType: JWT``,
  ``IdentitySource``, ``JwtConfiguration: {Issuer, Audience}``) with the fields read here resolved to strings;
  ``ApiId`` and ``Name`` are not read, so two regions' authorizers with equal issuer and audiences decide
  alike.
- ``route``: the ``AWS::ApiGatewayV2::Route`` Properties (``AuthorizationType``, ``AuthorizationScopes``); the
  caller passes the authorizer that the route's ``AuthorizerId`` names.
- ``request_headers``: the request's headers, name to value.
- ``jwks``: the JSON Web Key Set the issuer's ``jwks_uri`` serves (``{"keys": [...]}``) as API Gateway holds
  it: "API Gateway can cache the public key for two hours", so after a key rotation pass what was served up
  to two hours before.
- ``now``: the time in seconds since the epoch, UTC.

``Decision`` says whether the request reaches the integration and, if not, the status, the documented check
that refused it (``rule``) and why. ``ValueError`` is a configuration CloudFormation would not deploy or an
input that is not what the caller was to pass; ``NotImplementedError`` is a case the pages do not decide.

The rules, quoted from "Control access to HTTP APIs with JWT authorizers in API Gateway", section
"Authorizing API requests with a JWT authorizer"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):

1. "Check the identitySource for a token. The identitySource can include only the token, or the token
   prefixed with Bearer." A missing or empty header is no token (rule ``identitySource``). ``Bearer `` with
   that case is stripped; any other spelling (``bearer <token>``) is not covered and raises.
2. "Decode the token." Read as decoding a signed JWT: the JWS compact serialization of RFC 7515, three
   base64url segments, header and payload JSON objects (RFC 7519). Anything else is refused (``decode``).
3. "Check the token's algorithm and signature by using the public key that is fetched from the issuer's
   jwks_uri. Currently, only RSA-based algorithms are supported." RS256, RS384 and RS512 (RSASSA-PKCS1-v1_5,
   RFC 7518 section 3.3) are checked; ``none``, HMAC (``HS*``) and ECDSA (``ES*``) are not RSA-based and are
   refused (``alg``); RSASSA-PSS (``PS*``) is RSA-based but the page does not say it is supported: raises.
   The key is the JWKS entry whose ``kid`` the token names (below); a signature it does not verify is
   refused (``signature``).
4. "Validate claims. API Gateway evaluates the following token claims:"

   - ``kid``: "The token must have a header claim that matches the key in the jwks_uri that signed the
     token." (``kid``)
   - ``iss``: "Must match the issuer that is configured for the authorizer." Compared exactly, as a string.
     (``iss``)
   - ``aud`` or ``client_id``: "Must match one of the audience entries that is configured for the authorizer.
     API Gateway validates client_id only if aud is not present. When both aud and client_id are present,
     API Gateway evaluates aud." (``aud``)
   - ``exp``: "Must be after the current time in UTC." (``exp``)
   - ``nbf``: "Must be before the current time in UTC." (``nbf``)
   - ``iat``: "Must be before the current time in UTC." (``iat``)
   - ``scope`` or ``scp``: "The token must include at least one of the scopes in the route's
     authorizationScopes." (``scope``)

   "If any of these steps fail, API Gateway denies the API request."

Statuses. The HTTP API page says "denies" and gives no status. Every check but the scope one answers 401:
"Troubleshooting issues with HTTP API JWT authorizers"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html), "Issue: My
API returns 401 {"message":"Unauthorized"}", shows ``www-authenticate: Bearer scope="" error="invalid_token"
error_description="the token does not have a valid audience"`` for a token that fails a check. A valid
token without a route scope answers 403: no HTTP API page says so; the REST API JWT authorizer page of the
same guide (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-methods.html)
does: "A valid token that carries none of the method's scopes receives a 403 Forbidden response."

Routes, from the API reference
(https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-routes-routeid.html): "For HTTP
APIs, valid values are NONE for open access, JWT for using JSON Web Tokens, AWS_IAM for using AWS IAM
permissions, and CUSTOM for using a Lambda authorizer." ``NONE`` is allowed without looking at the request;
``AWS_IAM`` and ``CUSTOM`` are not this module's and raise. For scopes: "The method invocation is authorized
if any route scope matches a claimed scope in the access token. Otherwise, the invocation is not
authorized."

What the pages leave open, each raising ``NotImplementedError`` here rather than guessed:

- A token without ``exp`` or without ``iat``: the page lists the claims, not whether they must be present.
  A token without ``nbf`` is not refused: the page's own example issuer is an Amazon Cognito user pool, and
  Cognito access tokens carry no ``nbf`` (Cognito Developer Guide, "Understanding the access token").
- ``nbf`` or ``iat`` equal to now: the page says "before"; RFC 7519 accepts a token at its ``nbf``. No clock
  skew leeway is documented, so none is applied; keep test times clear of the boundaries.
- A list-valued ``aud``, ``scope`` or ``scp``; a token with both ``scope`` and ``scp``. ``scp`` as a string
  is split on spaces like ``scope`` (RFC 6749 section 3.3, which the page links for ``scope``).
- A JWKS with two keys of the token's ``kid``, or whose key names another ``alg`` or a ``use`` other than
  ``sig``; a token header with ``crit``; a header sent twice; a query-string identity source.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PAGE = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html"
UNAUTHORIZED = 401
FORBIDDEN = 403

# Step 3: "only RSA-based algorithms are supported". RSASSA-PKCS1-v1_5 with SHA-2 (RFC 7518 section 3.3).
_RSA_PKCS1: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
# RSA-based too (RFC 7518 section 3.5), but the page does not say API Gateway supports them.
_RSA_PSS = frozenset({"PS256", "PS384", "PS512"})
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_HEADER_SOURCE = re.compile(r"\$request\.header\.(.+)")
_QUERY_SOURCE = re.compile(r"\$request\.querystring\..+")
_BEARER = "Bearer "


@dataclass(frozen=True)
class Decision:
    """What API Gateway does with the request: ``allowed`` (it reaches the integration), or the ``status``
    it answers, the documented check that refused it (``rule``, named as in the module docstring) and why."""

    allowed: bool
    status: int | None
    rule: str | None
    reason: str


class _Denied(Exception):
    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


def decide(
    authorizer: Mapping[str, Any],
    route: Mapping[str, Any],
    request_headers: Mapping[str, str],
    jwks: Mapping[str, Any],
    now: int,
) -> Decision:
    """What API Gateway does with a request to ``route`` behind the JWT ``authorizer`` (see the module)."""
    route_scopes = _route(route)
    if route_scopes is None:
        return Decision(True, None, None, "route AuthorizationType NONE: open access, no authorizer runs")
    issuer, audiences, header_name = _authorizer(authorizer)
    try:
        token = _token(request_headers, header_name)
        header, claims, signing_input, signature = _decode(token)
        _check_signature(header, signing_input, signature, jwks)
        _check_claims(claims, issuer, audiences, now)
        _check_scopes(claims, route_scopes)
    except _Denied as denied:
        status = FORBIDDEN if denied.rule == "scope" else UNAUTHORIZED
        return Decision(False, status, denied.rule, denied.reason)
    return Decision(True, None, None, "the token passed every documented check")


def _route(route: Mapping[str, Any]) -> list[str] | None:
    """The route's scopes if it uses a JWT authorizer, ``None`` if it is open."""
    kind = route.get("AuthorizationType")
    scopes = route.get("AuthorizationScopes", [])
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ValueError(f"AuthorizationScopes must be a list of strings, got {scopes!r}")
    if kind == "JWT":
        return scopes
    if kind == "NONE":
        if scopes:
            raise ValueError("AuthorizationScopes are only valid on JWT routes; CloudFormation refuses them")
        return None
    if kind in ("AWS_IAM", "CUSTOM"):
        raise NotImplementedError(f"route AuthorizationType {kind} is not a JWT authorizer's to decide")
    if kind is None:
        raise NotImplementedError("route without AuthorizationType: the pages do not state its default")
    raise ValueError(f"AuthorizationType {kind!r} is not one of NONE, JWT, AWS_IAM, CUSTOM")


def _authorizer(authorizer: Mapping[str, Any]) -> tuple[str, list[str], str]:
    if authorizer.get("AuthorizerType") != "JWT":
        raise ValueError(f"not a JWT authorizer: AuthorizerType {authorizer.get('AuthorizerType')!r}")
    configuration = authorizer.get("JwtConfiguration")
    if not isinstance(configuration, Mapping):
        raise ValueError("a JWT authorizer needs JwtConfiguration")
    issuer, audiences = configuration.get("Issuer"), configuration.get("Audience")
    if not isinstance(issuer, str) or not issuer:
        raise ValueError(f"JwtConfiguration.Issuer must be a resolved string, got {issuer!r}")
    if (
        not isinstance(audiences, list)
        or not audiences
        or not all(isinstance(audience, str) and audience for audience in audiences)
    ):
        raise ValueError(f"JwtConfiguration.Audience must be a list of resolved strings, got {audiences!r}")
    sources = authorizer.get("IdentitySource")
    if not isinstance(sources, list) or len(sources) != 1 or not isinstance(sources[0], str):
        raise ValueError(f"a JWT authorizer takes one IdentitySource, got {sources!r}")
    (source,) = sources
    if _QUERY_SOURCE.fullmatch(source):
        raise NotImplementedError(f"identity source {source}: decide() reads headers only")
    header = _HEADER_SOURCE.fullmatch(source)
    if header is None:
        raise ValueError(f"identity source {source!r} is not $request.header.<name>")
    return issuer, audiences, header.group(1)


def _token(headers: Mapping[str, str], name: str) -> str:
    """Step 1. Header names are matched case-insensitively, as HTTP defines them (RFC 9110 section 5.1)."""
    values = [value for key, value in headers.items() if key.lower() == name.lower()]
    if len(values) > 1:
        raise NotImplementedError(
            f"the {name} header is sent more than once: the page does not say which counts"
        )
    if not values:
        raise _Denied(
            "identitySource", f"the request has no {name} header, so the identity source has no token"
        )
    (value,) = values
    if not isinstance(value, str):
        raise ValueError(f"header values are strings, got {value!r}")
    # A field value has no leading or trailing whitespace (RFC 9110 section 5.5).
    value = value.strip(" \t")
    if not value:
        raise _Denied("identitySource", f"the {name} header is empty, so the identity source has no token")
    if value.startswith(_BEARER):
        token = value[len(_BEARER) :]
    elif value[: len(_BEARER)].lower() == _BEARER.lower():
        raise NotImplementedError(f"prefix {value[: len(_BEARER)]!r}: the page names only 'Bearer'")
    else:
        token = value
    if token != token.strip():
        raise NotImplementedError(
            "whitespace between 'Bearer' and the token: the page does not say it is trimmed"
        )
    return token


def _decode(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Step 2: the JWS compact serialization (RFC 7515 section 7.1) of a JWT (RFC 7519)."""
    segments = token.split(".")
    if len(segments) != 3:
        raise _Denied("decode", f"the token has {len(segments)} dot-separated segments; a signed JWT has 3")
    header_segment, payload_segment, signature_segment = segments
    header = _json_object(_base64url(header_segment, "header"), "header")
    claims = _json_object(_base64url(payload_segment, "payload"), "payload")
    signature = _base64url(signature_segment, "signature")
    return header, claims, f"{header_segment}.{payload_segment}".encode("ascii"), signature


def _base64url(segment: str, part: str) -> bytes:
    """Base64url without padding (RFC 7515 section 2)."""
    if not _BASE64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise _Denied("decode", f"the token's {part} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise _Denied("decode", f"the token's {part} is not base64url") from error


def _json_object(raw: bytes, part: str) -> dict[str, Any]:
    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise _Denied("decode", f"the token's {part} is not JSON") from error
    if not isinstance(value, dict):
        raise _Denied("decode", f"the token's {part} is not a JSON object")
    return value


def _check_signature(
    header: Mapping[str, Any], signing_input: bytes, signature: bytes, jwks: Mapping[str, Any]
) -> None:
    """Step 3, with the ``kid`` claim of step 4, which names the key."""
    if "crit" in header:
        raise NotImplementedError("a token header with 'crit': the page does not cover critical extensions")
    algorithm = header.get("alg")
    if algorithm in _RSA_PSS:
        raise NotImplementedError(
            f"alg {algorithm}: RSA-based, but the page does not say API Gateway supports it"
        )
    if algorithm not in _RSA_PKCS1:
        raise _Denied("alg", f"alg {algorithm!r} is not RSA-based; only RSA-based algorithms are supported")
    kid = header.get("kid")
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not all(isinstance(key, Mapping) for key in keys):
        raise ValueError("a JWKS is {'keys': [JWK, ...]} (RFC 7517 section 5)")
    if not isinstance(kid, str):
        raise _Denied("kid", "the token header has no kid, so no key in the jwks_uri matches it")
    matching = [key for key in keys if key.get("kid") == kid]
    if not matching:
        raise _Denied("kid", f"no key in the jwks_uri has kid {kid!r}")
    if len(matching) > 1:
        raise NotImplementedError(f"the JWKS has {len(matching)} keys with kid {kid!r}")
    (jwk,) = matching
    if "use" in jwk and jwk["use"] != "sig":
        raise NotImplementedError(f"the key {kid!r} is for use {jwk['use']!r}: the page does not cover it")
    if "alg" in jwk and jwk["alg"] != algorithm:
        raise NotImplementedError(f"the key {kid!r} names alg {jwk['alg']!r}, the token {algorithm!r}")
    if jwk.get("kty") != "RSA":
        raise _Denied(
            "signature", f"the key {kid!r} is not an RSA key, so an {algorithm} signature cannot verify"
        )
    try:
        _public_key(jwk).verify(signature, signing_input, padding.PKCS1v15(), _RSA_PKCS1[algorithm]())
    except InvalidSignature as error:
        raise _Denied("signature", f"the {algorithm} signature does not verify with key {kid!r}") from error


def _public_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    """An RSA public JWK (RFC 7518 section 6.3.1): ``n`` and ``e`` as unsigned big-endian base64url."""
    try:
        modulus, exponent = (
            int.from_bytes(base64.urlsafe_b64decode(jwk[name] + "=" * (-len(jwk[name]) % 4)), "big")
            for name in ("n", "e")
        )
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise ValueError(f"the JWKS key {jwk.get('kid')!r} is not an RSA public key") from error


def _check_claims(claims: Mapping[str, Any], issuer: str, audiences: list[str], now: int) -> None:
    """Step 4, but for ``kid`` (checked with the signature) and the scopes (checked last)."""
    if claims.get("iss") != issuer:
        raise _Denied("iss", f"iss {claims.get('iss')!r} does not match the issuer {issuer!r}")
    _check_audience(claims, audiences)

    expires = _time(claims, "exp")
    if expires is None:
        raise NotImplementedError("a token without exp: the page does not say whether it is refused")
    if not expires > now:
        raise _Denied("exp", f"exp {expires} is not after the current time {now}")
    for name in ("nbf", "iat"):
        moment = _time(claims, name)
        if moment is None:
            if name == "nbf":
                continue  # Cognito access tokens, the page's example, carry no nbf.
            raise NotImplementedError(f"a token without {name}: the page does not say whether it is refused")
        if moment == now:
            raise NotImplementedError(f"{name} equal to now: the page says 'before', RFC 7519 accepts it")
        if moment > now:
            raise _Denied(name, f"{name} {moment} is not before the current time {now}")


def _check_audience(claims: Mapping[str, Any], audiences: list[str]) -> None:
    if "aud" in claims:
        audience = claims["aud"]
        if isinstance(audience, list):
            raise NotImplementedError("a list-valued aud: the page does not say how it is matched")
        if audience not in audiences:
            raise _Denied("aud", f"aud {audience!r} matches no audience entry of the authorizer")
    elif claims.get("client_id") not in audiences:
        raise _Denied("aud", f"no aud, and client_id {claims.get('client_id')!r} matches no audience entry")


def _time(claims: Mapping[str, Any], name: str) -> int | float | None:
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotImplementedError(
            f"{name} {value!r} is not a NumericDate: the page does not say how it is read"
        )
    return value


def _check_scopes(claims: Mapping[str, Any], route_scopes: list[str]) -> None:
    if not route_scopes:
        return
    present = [name for name in ("scope", "scp") if name in claims]
    if len(present) > 1:
        raise NotImplementedError("a token with both scope and scp: the page does not say which is read")
    granted: set[str] = set()
    if present:
        value = claims[present[0]]
        if not isinstance(value, str):
            raise NotImplementedError(f"{present[0]} {value!r} is not a space-delimited string")
        granted = {scope for scope in value.split(" ") if scope}
    if not granted & set(route_scopes):
        raise _Denied("scope", f"the token carries none of the route's scopes {route_scopes}")
