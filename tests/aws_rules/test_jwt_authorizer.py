"""The HTTP API JWT authorizer rules, one documented behaviour per test.

Quotes are from "Control access to HTTP APIs with JWT authorizers in API Gateway", section "Authorizing API
requests with a JWT authorizer" (https://docs.aws.amazon.com/apigateway/latest/developerguide/
http-api-jwt-authorizer.html), unless a test names another page. Keys, key sets and tokens are made here
with ``cryptography``, one RSA key pair per module, so the evaluator is never checked against itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.aws_rules.jwt_authorizer import Decision, decide

# cdk.json's jwtIssuer and jwtAudience: the issuer and audiences both regions' authorizers are given.
ISSUER = "https://auth.orders-dr.internal.test"
AUDIENCE = "orders-api"
NOW = 1_800_000_000
KID = "orders-signing-1"

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}
DROP = object()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }


# What the issuer's jwks_uri serves.
JWKS = {"keys": [jwk(KEY, KID)]}


def claims(**changes: Any) -> dict[str, Any]:
    """A token's claims that pass every check; ``DROP`` removes one."""
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "client-7", "iat": NOW - 60, "exp": NOW + 3600}
    merged = {**base, **changes}
    return {name: value for name, value in merged.items() if value is not DROP}


def token(
    payload: dict[str, Any] | None = None, *, alg: str = "RS256", kid: str | None = KID, key: Any = KEY
) -> str:
    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid is not None else {})}
    signing_input = f"{b64json(header)}.{b64json(claims() if payload is None else payload)}"
    data = signing_input.encode("ascii")
    if alg in HASHES:
        signature = key.sign(data, padding.PKCS1v15(), HASHES[alg]())
    elif alg == "HS256":
        signature = hmac.new(key, data, hashlib.sha256).digest()
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = b""
    return f"{signing_input}.{b64url(signature)}"


def authorizer(region_api: str = "OrdersApiPrimary") -> dict[str, Any]:
    """An AWS::ApiGatewayV2::Authorizer's Properties as the regional stack would synthesize them."""
    return {
        "ApiId": {"Ref": region_api},
        "AuthorizerType": "JWT",
        "IdentitySource": ["$request.header.Authorization"],
        "JwtConfiguration": {"Issuer": ISSUER, "Audience": [AUDIENCE]},
        "Name": f"{region_api}-jwt",
    }


def route(*scopes: str, kind: str = "JWT") -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ApiId": {"Ref": "OrdersApiPrimary"},
        "RouteKey": "POST /orders",
        "AuthorizationType": kind,
    }
    if kind == "JWT":
        properties["AuthorizerId"] = {"Ref": "OrdersApiPrimaryJwt"}
    if scopes:
        properties["AuthorizationScopes"] = list(scopes)
    return properties


def call(headers: dict[str, str], on: dict[str, Any] | None = None, now: int = NOW) -> Decision:
    return decide(authorizer(), route() if on is None else on, headers, JWKS, now)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def refused(status: int, rule: str, decision: Decision) -> bool:
    return not decision.allowed and (decision.status, decision.rule) == (status, rule)


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_a_valid_rsa_signed_token_reaches_the_integration(alg: str) -> None:
    # Step 3: "Check the token's algorithm and signature by using the public key that is fetched from the
    # issuer's jwks_uri. Currently, only RSA-based algorithms are supported."
    # Given a token signed by the issuer's key, naming its kid, issuer and audience, valid now
    # When it is sent as "Bearer <token>"
    decision = call(bearer(token(alg=alg)))
    # Then API Gateway lets the request through
    assert decision.allowed, decision


def test_the_token_may_come_without_the_bearer_prefix() -> None:
    # Step 1: "The identitySource can include only the token, or the token prefixed with Bearer."
    # Given a valid token
    # When the Authorization header carries the token alone
    decision = call({"Authorization": token()})
    # Then it is read all the same
    assert decision.allowed, decision


def test_the_identity_source_header_name_is_case_insensitive() -> None:
    # RFC 9110 section 5.1: "Field names are case-insensitive" (HTTP/2 sends them lower-case).
    # Given a valid token
    # When it arrives in an "authorization" header
    decision = call({"authorization": f"Bearer {token()}"})
    # Then $request.header.Authorization finds it
    assert decision.allowed, decision


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": ""}, {"X-Api-Key": token()}], ids=["no-header", "empty", "elsewhere"]
)
def test_a_request_without_a_token_is_refused_401(headers: dict[str, str]) -> None:
    # Step 1: "Check the identitySource for a token." and "If any of these steps fail, API Gateway denies
    # the API request."; the troubleshooting page: "Issue: My API returns 401 {"message":"Unauthorized"}".
    # Given an unauthenticated call: no Authorization header, an empty one, or the token somewhere else
    # When it reaches a JWT route
    decision = call(headers)
    # Then it is refused 401 at the identity source
    assert refused(401, "identitySource", decision), decision


@pytest.mark.parametrize(
    "value",
    [
        "not-a-jwt",
        "only.two",
        "a.b.c.d.e",
        f"{b64url(b'not json')}.{b64json(claims())}.c2ln",
        f"{b64json({'alg': 'RS256', 'kid': KID})}.{b64json(['a', 'list'])}.c2ln",
        f"{b64json({'alg': 'RS256', 'kid': KID})}.{b64json(claims())}.not+base64url=",
    ],
    ids=[
        "one-segment",
        "two-segments",
        "five-segments",
        "header-not-json",
        "payload-not-object",
        "bad-base64",
    ],
)
def test_a_token_that_does_not_decode_is_refused_401(value: str) -> None:
    # Step 2: "Decode the token." - a signed JWT is three base64url segments, header and claims JSON objects
    # (RFC 7515 section 7.1, RFC 7519 section 7.2).
    # Given a bearer value that is not a decodable JWT
    # When it is sent
    decision = call(bearer(value))
    # Then it is refused 401 at decoding
    assert refused(401, "decode", decision), decision


def test_a_prefix_other_than_bearer_is_not_guessed() -> None:
    # Step 1 names only "Bearer"; whether "bearer <token>" is stripped or read as the token is not said.
    # Given a valid token behind a lower-case prefix
    # When it is decided
    # Then the evaluator refuses to guess
    with pytest.raises(NotImplementedError, match="Bearer"):
        call({"Authorization": f"bearer {token()}"})


@pytest.mark.parametrize(
    "issuer",
    ["https://auth.other.example", f"{ISSUER}/", ISSUER.upper(), DROP],
    ids=["other-issuer", "trailing-slash", "upper-case", "no-iss"],
)
def test_a_token_from_another_issuer_is_refused_401(issuer: Any) -> None:
    # Step 4, iss: "Must match the issuer that is configured for the authorizer."
    # Given a token whose iss is not exactly the configured issuer, or has no iss
    # When it is sent
    decision = call(bearer(token(claims(iss=issuer))))
    # Then it is refused 401 on iss
    assert refused(401, "iss", decision), decision


def test_a_token_for_another_audience_is_refused_401() -> None:
    # Step 4, aud or client_id: "Must match one of the audience entries that is configured for the
    # authorizer."; the troubleshooting page shows this 401 with error_description "the token does not have a
    # valid audience".
    # Given a token issued for another API
    # When it is sent
    decision = call(bearer(token(claims(aud="billing-api"))))
    # Then it is refused 401 on the audience
    assert refused(401, "aud", decision), decision


def test_client_id_is_matched_when_the_token_has_no_aud() -> None:
    # Step 4: "API Gateway validates client_id only if aud is not present." This is the shape of an Amazon
    # Cognito access token, which carries client_id and no aud.
    # Given a token without aud whose client_id is a configured audience
    # When it is sent
    decision = call(bearer(token(claims(aud=DROP, client_id=AUDIENCE))))
    # Then it is allowed
    assert decision.allowed, decision


def test_aud_is_evaluated_when_both_aud_and_client_id_are_present() -> None:
    # Step 4: "When both aud and client_id are present, API Gateway evaluates aud."
    # Given a token whose client_id is a configured audience but whose aud is not
    # When it is sent
    decision = call(bearer(token(claims(aud="billing-api", client_id=AUDIENCE))))
    # Then client_id does not rescue it: refused 401 on the audience
    assert refused(401, "aud", decision), decision


def test_a_token_with_neither_aud_nor_client_id_is_refused_401() -> None:
    # Step 4, aud or client_id: "Must match one of the audience entries"; a token naming no audience
    # matches none.
    # Given a token with no aud and no client_id
    # When it is sent
    decision = call(bearer(token(claims(aud=DROP))))
    # Then it is refused 401 on the audience
    assert refused(401, "aud", decision), decision


@pytest.mark.parametrize("expires", [NOW - 1, NOW], ids=["a-second-ago", "now"])
def test_an_expired_token_is_refused_401(expires: int) -> None:
    # Step 4, exp: "Must be after the current time in UTC."
    # Given a token whose exp is not after now
    # When it is sent
    decision = call(bearer(token(claims(exp=expires))))
    # Then it is refused 401 on exp
    assert refused(401, "exp", decision), decision


def test_a_token_not_yet_valid_is_refused_401() -> None:
    # Step 4, nbf: "Must be before the current time in UTC."
    # Given a token whose nbf is a minute from now
    # When it is sent
    decision = call(bearer(token(claims(nbf=NOW + 60))))
    # Then it is refused 401 on nbf
    assert refused(401, "nbf", decision), decision


def test_a_token_issued_in_the_future_is_refused_401() -> None:
    # Step 4, iat: "Must be before the current time in UTC."
    # Given a token whose iat is a minute from now
    # When it is sent
    decision = call(bearer(token(claims(iat=NOW + 60))))
    # Then it is refused 401 on iat
    assert refused(401, "iat", decision), decision


def test_a_token_without_exp_is_not_guessed() -> None:
    # Step 4 lists exp among the claims evaluated but does not say whether a token without one is refused.
    # Given a token with no exp
    # When it is decided
    # Then the evaluator refuses to guess
    with pytest.raises(NotImplementedError, match="exp"):
        call(bearer(token(claims(exp=DROP))))


@pytest.mark.parametrize("kid", ["rotated-away", None], ids=["unknown-kid", "no-kid"])
def test_a_token_whose_kid_is_not_in_the_jwks_is_refused_401(kid: str | None) -> None:
    # Step 4, kid: "The token must have a header claim that matches the key in the jwks_uri that signed the
    # token."
    # Given a token signed by the issuer's key but naming a kid the jwks_uri does not serve, or none
    # When it is sent
    decision = call(bearer(token(kid=kid)))
    # Then it is refused 401 on kid
    assert refused(401, "kid", decision), decision


def tampered() -> str:
    header, _, signature = token().split(".")
    return f"{header}.{b64json(claims(sub='client-8'))}.{signature}"


@pytest.mark.parametrize(
    "value", [tampered(), token(key=OTHER_KEY)], ids=["claims-changed-after-signing", "signed-by-another-key"]
)
def test_a_token_whose_signature_does_not_verify_is_refused_401(value: str) -> None:
    # Step 3: "Check the token's algorithm and signature by using the public key that is fetched from the
    # issuer's jwks_uri."
    # Given a token whose claims were changed after signing, or that was signed by a key the issuer does not
    # publish under that kid
    # When it is sent
    decision = call(bearer(value))
    # Then it is refused 401 on the signature
    assert refused(401, "signature", decision), decision


def public_pem() -> bytes:
    return KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    ("alg", "key"),
    [("HS256", public_pem()), ("none", None), ("ES256", ec.generate_private_key(ec.SECP256R1()))],
    ids=["hs256-keyed-with-the-public-key", "none", "es256"],
)
def test_a_token_not_signed_with_an_rsa_algorithm_is_refused_401(alg: str, key: Any) -> None:
    # Step 3: "Currently, only RSA-based algorithms are supported." HMAC keyed with the published public key
    # (the algorithm-confusion attack), an unsigned token, and ECDSA are not RSA-based.
    # Given a token with the right kid and claims but a non-RSA alg
    # When it is sent
    decision = call(bearer(token(alg=alg, key=key)))
    # Then it is refused 401 on the algorithm
    assert refused(401, "alg", decision), decision


def test_rsassa_pss_is_not_guessed() -> None:
    # Step 3 says "RSA-based" without naming algorithms; PS256 is RSA-based (RFC 7518 section 3.5) but
    # the page does not say API Gateway verifies it.
    # Given a token whose header says PS256
    # When it is decided
    # Then the evaluator refuses to guess
    with pytest.raises(NotImplementedError, match="PS256"):
        call(bearer(token(alg="PS256", key=None)))


@pytest.mark.parametrize(
    "payload", [claims(scope="orders/read openid"), claims()], ids=["other-scopes", "no-scope-claim"]
)
def test_a_valid_token_without_a_route_scope_is_refused_403(payload: dict[str, Any]) -> None:
    # Step 4, scope or scp: "The token must include at least one of the scopes in the route's
    # authorizationScopes." Status: rest-api-jwt-authorizer-methods.html, "A valid token that carries none of
    # the method's scopes receives a 403 Forbidden response." (the HTTP API pages give none).
    # Given an otherwise valid token carrying none of the route's scopes
    # When it calls a route that requires orders/write
    decision = call(bearer(token(payload)), on=route("orders/write"))
    # Then it is refused 403 on scope
    assert refused(403, "scope", decision), decision


@pytest.mark.parametrize("claim", ["scope", "scp"])
def test_one_route_scope_in_the_token_is_enough(claim: str) -> None:
    # Step 4: "at least one of the scopes in the route's authorizationScopes", read from "scope or scp";
    # the route API reference: "authorized if any route scope matches a claimed scope in the access token".
    # Given a token whose space-delimited scopes include one of the route's two
    # When it calls the route
    decision = call(
        bearer(token(claims(**{claim: "openid orders/write"}))), on=route("orders/admin", "orders/write")
    )
    # Then it is allowed
    assert decision.allowed, decision


def test_scopes_are_only_weighed_for_a_token_that_validates() -> None:
    # "If any of these steps fail, API Gateway denies the API request" - the 403 is for "A valid token that
    # carries none of the method's scopes" (rest-api-jwt-authorizer-methods.html).
    # Given an expired token that also lacks the route's scope
    # When it calls the scoped route
    decision = call(bearer(token(claims(exp=NOW - 1))), on=route("orders/write"))
    # Then the answer is the validation failure, 401 on exp, not 403
    assert refused(401, "exp", decision), decision


def test_an_open_route_does_not_consult_the_authorizer() -> None:
    # Route API reference: "For HTTP APIs, valid values are NONE for open access, JWT for using JSON Web
    # Tokens, ...". An order route left at NONE would let the unauthenticated call through - which the
    # missing-token test then catches.
    # Given a route with AuthorizationType NONE
    # When a call without any token arrives
    decision = call({}, on=route(kind="NONE"))
    # Then it reaches the integration
    assert decision.allowed, decision


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        (bearer(token()), True),
        (bearer(token(claims(exp=NOW - 1))), False),
        (bearer(token(claims(aud="billing-api"))), False),
        (bearer(token(kid="rotated-away")), False),
        ({}, False),
    ],
    ids=["valid", "expired", "other-audience", "unknown-kid", "no-token"],
)
def test_the_same_token_gets_the_same_decision_in_both_regions(
    headers: dict[str, str], allowed: bool
) -> None:
    # Step 4: iss "Must match the issuer that is configured for the authorizer", aud "Must match one of the
    # audience entries that is configured for the authorizer" - nothing else of the authorizer, and nothing
    # of the region, enters the decision. SigV4, by contrast, signs for one region.
    # Given the primary and the secondary API's authorizers, differing only in the API they belong to
    primary, secondary = authorizer("OrdersApiPrimary"), authorizer("OrdersApiSecondary")
    assert primary != secondary and primary["JwtConfiguration"] == secondary["JwtConfiguration"]
    # When the same request is decided by each, as DNS may send it to either
    in_primary = decide(primary, route(), headers, JWKS, NOW)
    in_secondary = decide(secondary, route(), headers, JWKS, NOW)
    # Then both answer the same: the valid token is allowed in both, the others refused in both
    assert in_primary == in_secondary
    assert in_primary.allowed is allowed, in_primary
