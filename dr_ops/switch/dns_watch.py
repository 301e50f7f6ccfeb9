"""The zone's authoritative name servers, asked directly, until each answers with the target region.

Public resolvers cache the answer for the record's TTL; the authoritative servers say what Route 53
answers now. The servers come from a public resolver's NS answer for the zone (as ``deploy`` reads
the delegation), and each is asked without recursion for the shared API name's CNAME: it points at
one region's own name (``<apiSubdomain>-<region>.<domain>``), which says the region.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dr_ops.dns_delegation import PUBLIC_RESOLVERS, LookupFailed, NsLookup
from dr_ops.switch.io import AuthoritativeQuery, Clock

POLL_SECONDS = 5.0


def authoritative_servers(domain: str, lookup: NsLookup) -> tuple[str, ...]:
    """The zone's NS names as the first public resolver that answers gives them."""
    failures = []
    for resolver in PUBLIC_RESOLVERS:
        try:
            servers = lookup(resolver, domain)
        except LookupFailed as error:
            failures.append(f"{resolver}: {error}")
            continue
        if servers:
            return tuple(sorted(servers))
        failures.append(f"{resolver}: no NS records")
    raise LookupFailed(f"no name servers for {domain}: " + "; ".join(failures))


@dataclass(frozen=True)
class Answer:
    server: str
    cname: str = ""
    error: str = ""
    # The region whose own name the CNAME points at; empty for anything else.
    region: str = ""

    def describe(self) -> str:
        return f"{self.server}: {self.error or self.cname}"


def ask_all(
    servers: Sequence[str], name: str, query: AuthoritativeQuery, regions: Mapping[str, str]
) -> tuple[Answer, ...]:
    """Each server's CNAME for ``name``; ``regions`` maps each region's own name to the region."""
    answers = []
    for server in servers:
        try:
            cname = query(server, name)
            answers.append(Answer(server, cname=cname, region=regions.get(cname.rstrip(".").lower(), "")))
        except LookupFailed as error:
            answers.append(Answer(server, error=str(error)))
    return tuple(answers)


def tally(answers: Sequence[Answer]) -> str:
    """'4/4 us-east-1', or '2 us-west-2, 1 us-east-1, 1 no answer' when they disagree."""
    regions: dict[str, int] = {}
    for answer in answers:
        key = answer.region or ("no answer" if answer.error else "another target")
        regions[key] = regions.get(key, 0) + 1
    if len(regions) == 1:
        return f"{len(answers)}/{len(answers)} {next(iter(regions))}"
    return ", ".join(f"{count} {key}" for key, count in sorted(regions.items(), key=lambda kv: -kv[1]))


@dataclass(frozen=True)
class Watch:
    """Seconds after the watch began until the first server, and until every server in the same
    round, answered the target; None when that did not happen before the timeout."""

    first: float | None
    every: float | None
    last: tuple[Answer, ...]
    first_server: str = ""


def watch(
    servers: Sequence[str],
    name: str,
    target_region: str,
    *,
    regions: Mapping[str, str],
    query: AuthoritativeQuery,
    clock: Clock,
    timeout: float,
    on_answer: Callable[[Answer, float], None],
    on_round: Callable[[tuple[Answer, ...], float], None],
    poll_seconds: float = POLL_SECONDS,
) -> Watch:
    """Ask every server each round until all answer the target, or ``timeout`` seconds passed.
    ``on_answer`` hears of each server the first time it answers the target."""
    start = clock.monotonic()
    first: float | None = None
    first_server = ""
    seen: set[str] = set()
    while True:
        answers = ask_all(servers, name, query, regions)
        elapsed = clock.monotonic() - start
        for answer in answers:
            if answer.region == target_region and answer.server not in seen:
                seen.add(answer.server)
                if first is None:
                    first, first_server = elapsed, answer.server
                on_answer(answer, elapsed)
        on_round(answers, elapsed)
        if all(answer.region == target_region for answer in answers):
            return Watch(first, elapsed, answers, first_server)
        if elapsed + poll_seconds > timeout:
            return Watch(first, None, answers, first_server)
        clock.sleep(poll_seconds)
