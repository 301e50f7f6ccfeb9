"""Delegation as the resolvers answer it; the real lookup's failures in words (no network here)."""

from __future__ import annotations

import dns.resolver
import pytest

from dr_ops.dns_delegation import LookupFailed, check_delegation, public_ns
from tests.ops.helpers import FakeResolver


def test_a_resolver_that_fails_is_reported_with_its_failure() -> None:
    # Given 9.9.9.9 timing out while the others answer the expected name servers
    resolver = FakeResolver({"9.9.9.9": "no answer in 5 s"}, default=frozenset({"ns-1.awsdns-01.org"}))

    # When the delegation is checked
    delegation = check_delegation("orders.example.test", ["NS-1.AWSDNS-01.ORG."], resolver)

    # Then it is not delegated, and the report names each resolver's answer
    assert not delegation.delegated
    assert delegation.describe_answers() == (
        "8.8.8.8: ns-1.awsdns-01.org; 1.1.1.1: ns-1.awsdns-01.org; 9.9.9.9: no answer in 5 s"
    )


def test_nxdomain_from_a_public_resolver_becomes_a_lookup_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given dnspython reporting that the domain does not exist (no network: its resolve is replaced)
    def nxdomain(*_args: object, **_kwargs: object) -> None:
        raise dns.resolver.NXDOMAIN

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", nxdomain)

    # When the default lookup asks a public resolver
    # Then the answer is a LookupFailed saying NXDOMAIN
    with pytest.raises(LookupFailed, match="NXDOMAIN"):
        public_ns("8.8.8.8", "orders.example.test")
