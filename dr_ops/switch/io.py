"""What the switch needs from outside the process, injectable so tests replace each part."""

from __future__ import annotations

import http.client
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm

from dr_ops.dns_delegation import PUBLIC_RESOLVERS, LookupFailed, normalize

DNS_TIMEOUT_SECONDS = 5.0
# Enough for a health answer ({"status": ..., the checks, the fenced regions}); more is not one.
_MAX_BODY_BYTES = 65_536


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes


# (https URL, timeout in seconds) -> the answer, whatever its status; raises HttpFailed when none came.
HttpGet = Callable[[str, float], HttpAnswer]
# (authoritative name server's host name, DNS name) -> the CNAME target it answers, without the
# trailing dot; raises LookupFailed when it answers something else or nothing.
AuthoritativeQuery = Callable[[str, str], str]


class HttpFailed(Exception):
    """No HTTP answer: DNS, TCP, TLS or a timeout; the message says which."""


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def https_get(url: str, timeout: float) -> HttpAnswer:
    """One GET with the standard library (certificates verified), no retry: a check, not a client."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "dr-ops"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpAnswer(int(response.status), response.read(_MAX_BODY_BYTES))
    except urllib.error.HTTPError as error:
        # A 503 from an unhealthy region is an answer, not a failure to get one.
        return HttpAnswer(error.code, error.read(_MAX_BODY_BYTES))
    except urllib.error.URLError as error:
        raise HttpFailed(str(error.reason)) from None
    except (OSError, http.client.HTTPException) as error:
        raise HttpFailed(str(error) or type(error).__name__) from None


def non_recursive_query(name: str) -> dns.message.Message:
    """A CNAME query with recursion not desired: an authoritative server answers from its zone."""
    query = dns.message.make_query(name, dns.rdatatype.CNAME)
    query.flags &= ~dns.flags.RD
    return query


def authoritative_cname(server: str, name: str) -> str:
    """Ask the name server ``server`` itself (not a resolver, no cache between) for ``name``'s CNAME."""
    query = non_recursive_query(name)
    try:
        response, _ = dns.query.udp_with_fallback(query, _address_of(server), timeout=DNS_TIMEOUT_SECONDS)
    except dns.exception.Timeout:
        raise LookupFailed(f"no answer in {DNS_TIMEOUT_SECONDS:g} s") from None
    except (dns.exception.DNSException, OSError) as error:
        raise LookupFailed(str(error) or type(error).__name__) from None
    if response.rcode() != dns.rcode.NOERROR:
        raise LookupFailed(dns.rcode.to_text(response.rcode()))
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            return normalize(rrset[0].target.to_text())
    raise LookupFailed("no CNAME in the answer")


@cache
def _address_of(server: str) -> str:
    """The name server's IPv4 address, from the public resolvers (asked once per run)."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = list(PUBLIC_RESOLVERS)
    try:
        return str(resolver.resolve(server, "A", lifetime=DNS_TIMEOUT_SECONDS)[0])
    except dns.exception.DNSException as error:
        raise LookupFailed(f"cannot resolve the name server {server}: {error}") from None


@dataclass(frozen=True)
class SwitchIo:
    http_get: HttpGet
    authoritative: AuthoritativeQuery
    clock: Clock
    # Progress and results: a live status in a terminal, plain lines otherwise.
    console: Console
    # Asks a person yes or no; None when stdin is not a terminal (nobody to ask: CI, a pipe).
    confirm: Callable[[str], bool] | None

    @classmethod
    def real(cls) -> SwitchIo:
        console = Console(highlight=False)
        confirm = _asker(console) if sys.stdin.isatty() else None
        return cls(https_get, authoritative_cname, SystemClock(), console, confirm)


def _asker(console: Console) -> Callable[[str], bool]:
    def confirm(question: str) -> bool:
        return Confirm.ask(escape(question), console=console, default=False)

    return confirm
