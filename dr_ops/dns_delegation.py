"""Is a domain delegated to its hosted zone? Asked of public resolvers, as ACM and users will see it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.resolver

# Three independent public resolvers: one stale cache must not pass or fail the check alone.
PUBLIC_RESOLVERS = ("8.8.8.8", "1.1.1.1", "9.9.9.9")
_TIMEOUT_SECONDS = 5.0


class LookupFailed(Exception):
    """A resolver gave no NS answer; the message says what it said instead."""


# (resolver address, domain) -> the NS names it answers; raises LookupFailed.
NsLookup = Callable[[str, str], frozenset[str]]


def normalize(name: str) -> str:
    """DNS names compare case-insensitively, with or without the root's trailing dot."""
    return name.strip().lower().rstrip(".")


def public_ns(resolver: str, domain: str) -> frozenset[str]:
    """The NS records of ``domain`` as ``resolver`` answers them (dnspython, no system resolver)."""
    client = dns.resolver.Resolver(configure=False)
    client.nameservers = [resolver]
    try:
        answer = client.resolve(domain, "NS", lifetime=_TIMEOUT_SECONDS)
    except dns.resolver.NXDOMAIN:
        raise LookupFailed("NXDOMAIN") from None
    except dns.resolver.NoAnswer:
        raise LookupFailed("no NS records") from None
    except dns.resolver.NoNameservers:
        raise LookupFailed("SERVFAIL") from None
    except dns.exception.Timeout:
        raise LookupFailed(f"no answer in {_TIMEOUT_SECONDS:g} s") from None
    except dns.exception.DNSException as error:
        raise LookupFailed(str(error)) from None
    return frozenset(normalize(record.to_text()) for record in answer)


@dataclass(frozen=True)
class ResolverAnswer:
    resolver: str
    name_servers: frozenset[str]
    error: str = ""

    def describe(self) -> str:
        return f"{self.resolver}: {self.error or ', '.join(sorted(self.name_servers))}"


@dataclass(frozen=True)
class Delegation:
    domain: str
    expected: frozenset[str]
    answers: tuple[ResolverAnswer, ...]

    @property
    def delegated(self) -> bool:
        return all(not a.error and a.name_servers == self.expected for a in self.answers)

    def describe_answers(self) -> str:
        return "; ".join(answer.describe() for answer in self.answers)

    def ns_records(self) -> list[str]:
        """The records to create at the parent zone, one per name server, zone-file style."""
        return [f"{self.domain}. NS {server}." for server in sorted(self.expected)]


def check_delegation(
    domain: str,
    name_servers: Sequence[str],
    lookup: NsLookup = public_ns,
    resolvers: Sequence[str] = PUBLIC_RESOLVERS,
) -> Delegation:
    """Ask each resolver for the NS of ``domain``; delegated when all answer exactly ``name_servers``."""
    answers = []
    for resolver in resolvers:
        try:
            found = frozenset(normalize(name) for name in lookup(resolver, domain))
            answers.append(ResolverAnswer(resolver, found))
        except LookupFailed as error:
            answers.append(ResolverAnswer(resolver, frozenset(), str(error)))
    return Delegation(
        domain=normalize(domain),
        expected=frozenset(normalize(name) for name in name_servers),
        answers=tuple(answers),
    )
