"""The switch's own parts without the world: the real DNS and HTTP paths (no network: the library
call beneath each is replaced), the answers' tally, and the decision rules."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import dns.rrset
import pytest

from dr_ops.dns_delegation import LookupFailed
from dr_ops.switch import io as switch_io
from dr_ops.switch.dns_watch import Answer, tally
from dr_ops.switch.io import HttpFailed, authoritative_cname, https_get
from dr_ops.switch.verdicts import State, Verdict, decide

API = "api.orders.example.test"
TARGET = "api-us-west-2.orders-dr.internal.test"


@pytest.fixture
def name_server(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dns.message.Message, str]]:
    """An authoritative server at 192.0.2.53 that answers the CNAME; records each query sent."""
    sent: list[tuple[dns.message.Message, str]] = []

    def udp_with_fallback(
        query: dns.message.Message, where: str, **_: Any
    ) -> tuple[dns.message.Message, bool]:
        sent.append((query, where))
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(API + ".", 15, "IN", "CNAME", TARGET.upper() + "."))
        return response, False

    monkeypatch.setattr(dns.query, "udp_with_fallback", udp_with_fallback)
    monkeypatch.setattr(switch_io, "_address_of", lambda _server: "192.0.2.53")
    return sent


def test_an_authoritative_server_is_asked_directly_without_recursion(
    name_server: list[tuple[dns.message.Message, str]],
) -> None:
    # Given an authoritative server answering the shared name's CNAME
    # When it is asked
    cname = authoritative_cname("ns-1.awsdns-01.org", API)

    # Then one CNAME question went to its own address with recursion not desired,
    # and the target comes back normalized
    [(query, where)] = name_server
    assert where == "192.0.2.53"
    assert not query.flags & dns.flags.RD
    assert query.question[0].rdtype == dns.rdatatype.CNAME
    assert cname == TARGET


def test_an_answer_without_a_cname_is_a_lookup_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a server answering NOERROR with an empty answer section
    monkeypatch.setattr(
        dns.query, "udp_with_fallback", lambda query, *_a, **_k: (dns.message.make_response(query), False)
    )
    monkeypatch.setattr(switch_io, "_address_of", lambda _server: "192.0.2.53")

    # When it is asked
    # Then the failure says so
    with pytest.raises(LookupFailed, match="no CNAME in the answer"):
        authoritative_cname("ns-1.awsdns-01.org", API)


def test_a_503_is_an_answer_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a health route answering 503 with its JSON body
    def urlopen(request: urllib.request.Request, timeout: float) -> None:
        body = io.BytesIO(b'{"status":"unavailable"}')
        raise urllib.error.HTTPError(request.full_url, 503, "Service Unavailable", Message(), body)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    # When it is asked
    answer = https_get("https://api-us-west-2.orders.example.test/health/x", 5.0)

    # Then the status and body come back
    assert (answer.status, answer.body) == (503, b'{"status":"unavailable"}')


def test_no_answer_is_an_http_failure_naming_why(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a host that does not resolve
    def urlopen(_request: urllib.request.Request, timeout: float) -> None:
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    # When it is asked
    # Then the failure carries the reason
    with pytest.raises(HttpFailed, match="Name or service not known"):
        https_get("https://api-us-west-2.orders.example.test/health/x", 5.0)


def test_the_tally_counts_regions_and_failures() -> None:
    # Given four answers: two DR, one primary, one failure
    answers = [
        Answer("a", cname=TARGET, region="us-west-2"),
        Answer("b", cname=TARGET, region="us-west-2"),
        Answer("c", cname="api-us-east-1.orders-dr.internal.test", region="us-east-1"),
        Answer("d", error="no answer in 5 s"),
    ]

    # When they are tallied
    # Then the majority comes first
    assert tally(answers) == "2 us-west-2, 1 us-east-1, 1 no answer"
    assert tally(answers[:2]) == "2/2 us-west-2"


def test_a_forced_failure_still_waits_for_unknowns_to_be_accepted() -> None:
    # Given a forceable failure and an unknown
    verdicts = [
        Verdict("lag s3", State.FAIL, "20 min", "wait", forceable=True),
        Verdict("lag sns", State.UNKNOWN, "no drill"),
    ]

    # When only --force is given, nobody to ask
    decision = decide(verdicts, force=True, accept_unknown=False, ask=None)

    # Then it stops on the unknown
    assert not decision.go
    assert decision.why == "lag sns unknown: --accept-unknown to switch without"
