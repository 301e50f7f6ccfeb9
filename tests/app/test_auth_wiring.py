"""A client's token works in whichever region DNS sends it to, and no order route takes a call
without one: both regions' authorizers and routes, as synthesized, run through API Gateway's
documented JWT checks (tests/aws_rules/jwt_authorizer.py), never through a mock.

SigV4, which the routes used before, cannot pass this: a signature is scoped to one region,
and API Gateway does not accept SigV4A.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.aws_rules.jwt_authorizer import decide
from tests.aws_rules.test_jwt_authorizer import JWKS, NOW, claims, token

REGIONS = [("primary", "us-east-1"), ("dr", "us-west-2")]


def _authorizer(template: Template) -> dict[str, Any]:
    (authorizer,) = template.find_resources("AWS::ApiGatewayV2::Authorizer").values()
    return dict(authorizer["Properties"])


def _routes(template: Template) -> dict[str, dict[str, Any]]:
    return {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in template.find_resources("AWS::ApiGatewayV2::Route").values()
    }


def _order_routes(template: Template) -> dict[str, dict[str, Any]]:
    return {key: route for key, route in _routes(template).items() if " /orders" in key}


def test_both_regions_trust_the_same_issuer_for_the_same_audiences(primary, dr, config):
    # Given each region's authorizer as synthesized
    authorizers = [_authorizer(template) for template in (primary, dr)]
    # Then both are JWT authorizers on the Authorization header, with cdk.json's issuer and audiences
    for authorizer in authorizers:
        assert authorizer["AuthorizerType"] == "JWT"
        assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
        assert authorizer["JwtConfiguration"] == {
            "Issuer": config.auth.issuer,
            "Audience": list(config.auth.audiences),
        }


@pytest.mark.parametrize(("stack", "region"), REGIONS)
def test_every_order_route_requires_the_jwt_authorizer(request, stack, region):
    template = request.getfixturevalue(stack)
    routes = _order_routes(template)
    assert sorted(routes) == ["GET /orders/{order_id}", "POST /orders"]
    for route in routes.values():
        assert route["AuthorizationType"] == "JWT"


@pytest.mark.parametrize(("stack", "region"), REGIONS)
def test_a_token_from_the_issuer_is_accepted_on_every_order_route(request, stack, region):
    # Given a token the issuer signed for the configured audience
    template = request.getfixturevalue(stack)
    headers = {"Authorization": f"Bearer {token(claims())}"}
    # When it calls any order route of this region
    decisions = [
        decide(_authorizer(template), route, headers, JWKS, NOW) for route in _order_routes(template).values()
    ]
    # Then API Gateway lets it through on both routes
    assert len(decisions) == 2
    assert all(decision.allowed for decision in decisions)


@pytest.mark.parametrize(("stack", "region"), REGIONS)
def test_a_call_without_a_token_is_refused_with_401_on_every_order_route(request, stack, region):
    template = request.getfixturevalue(stack)
    routes = _order_routes(template)
    assert len(routes) == 2
    for route in routes.values():
        decision = decide(_authorizer(template), route, {}, JWKS, NOW)
        assert (decision.allowed, decision.status) == (False, 401)


def test_one_token_gets_the_same_answer_from_both_regions(primary, dr):
    # Given tokens that pass, expire, name another audience, or come from another issuer
    tokens = {
        "valid": token(claims()),
        "expired": token(claims(exp=NOW - 1)),
        "other audience": token(claims(aud="someone-else")),
        "other issuer": token(claims(iss="https://login.elsewhere.test")),
    }
    # When each goes to POST /orders in either region
    for name, value in tokens.items():
        headers = {"Authorization": f"Bearer {value}"}
        answers = {
            decide(_authorizer(t), _routes(t)["POST /orders"], headers, JWKS, NOW).allowed
            for t in (primary, dr)
        }
        # Then the region DNS happened to choose makes no difference
        assert len(answers) == 1, name


@pytest.mark.parametrize(("stack", "region"), REGIONS)
def test_only_the_health_route_is_anonymous(request, stack, region, config):
    # Route 53's checkers cannot authenticate: the health route alone takes no token.
    routes = _routes(request.getfixturevalue(stack))
    anonymous = {key for key, route in routes.items() if route.get("AuthorizationType", "NONE") == "NONE"}
    assert anonymous == {f"GET {config.traffic.health_path}"}
