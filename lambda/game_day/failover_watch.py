"""The primary-path game day seen from outside, as clients see it: is the world steady before the
fault, how long does the failover take once the fault begins, and does traffic come back after it.

The failover is measured in four phases, each polled until it is seen or its time runs out:
  fault      the primary's health route fails. The FIS Lambda extension takes up to a minute to
             begin the fault, so the clock (fault_at) starts at the last poll that still saw the
             route ok, not when the experiment started; if the first poll already fails, the
             fault began before the watch looked, and the clock starts at the experiment's start;
  unhealthy  the primary's own Route 53 check is unhealthy (route53_view's 18 % rule);
  dns        every authoritative server answers the API name with the DR region's name;
  order      an order placed through the API name, with the normal resolver and a bearer token,
             is answered 200 or 201 by the DR region (its X-Orders-Region header). The unhealthy
             and dns phases ask that resolver for the API name on every poll, as busy clients do,
             so an answer it caches for up to the records' TTL delays this phase as it would them.
Each phase's time is seconds after fault_at. A poll that sees its phase is timed when it answered,
and fault_at is a time the route was still ok (or the fault not yet started), so a measured time is
never shorter than the outage was. A phase whose time runs out is a result (failed_phase), not an
error.

Nothing returned or raised holds a health URL (its path is the health route's token), the client
secret or a token.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alarms import alarm_states
from aws_errors import error_code
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from oauth import Fetch, FetchFailed, HttpRequest, TokenSource, TokenUnavailable, get, load_credentials
from route53_view import AuthoritativeDns, health_check_view
from settings import PRIMARY_PATH, GameDayInputError, WatchConfig

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Observe = Callable[[], tuple[bool, str]]

HEALTH_SEARCH_STRING = '"status":"ok"'
# A phase stops, as if timed out, once the invocation has less than this left: time for one more
# poll at its slowest (a health GET, GetHealthCheckStatus with its retries, four name servers) and
# to answer.
MIN_REMAINING_SECONDS = 45.0
ORDERS_REGION_HEADER = "X-Orders-Region"
OK = "ok"
FAILBACK_HINT = "run ./dev failback if traffic must move now"


@dataclass(frozen=True)
class Watch:
    """What the watch's steps look through, and its clock."""

    config: WatchConfig
    route53: BaseClient
    dns: AuthoritativeDns
    fetch: Fetch
    clock: Clock
    sleep: Sleep
    # Seconds the invocation has left.
    remaining: Callable[[], float]
    # Asks the normal resolver for a name, as a client connecting to it would; the answer is unused.
    resolve: Callable[[str], None]


# Preflight


def preflight(
    watch: Watch,
    cloudwatch: BaseClient,
    secrets: BaseClient,
    stepfunctions: BaseClient,
    experiment: str,
    game_day_id: str,
) -> dict[str, Any]:
    """Is the world steady enough to break: {"steady", "checks": {name: "ok" | why not}}."""
    config = watch.config
    regions = (config.primary_region, config.dr_region)
    checks = {f"health {region}": health(watch.fetch, config.health_url(region)) for region in regions}
    for region in regions:
        view = health_check_view(watch.route53, config.health_check_ids[region])
        checks[f"route53 {region}"] = OK if view.healthy else f"not healthy ({view.note})"
    dns = watch.dns.view()
    checks["dns"] = (
        OK
        if dns.region == config.primary_region
        else f"not every server answers {config.primary_region} ({dns.note})"
    )
    checks["alarms"] = _steady_alarms(cloudwatch, config.steady_alarms)
    checks["alone"] = _alone(stepfunctions, config.state_machine_arn, game_day_id)
    if experiment == PRIMARY_PATH:
        checks["client"] = _client(watch, secrets)
    return {"steady": all(check == OK for check in checks.values()), "checks": checks}


def health(fetch: Fetch, url: str) -> str:
    """The health route's verdict: "ok" for a 200 with "status":"ok" in its body, else why not."""
    try:
        answer = get(fetch, url)
    except OSError as error:  # refused, reset, TLS, DNS, a timeout: the region is not answering
        return f"no answer ({_why(error)})"
    if answer.status != 200:
        return f"HTTP {answer.status}"
    if HEALTH_SEARCH_STRING not in answer.body:
        return "HTTP 200 without status ok"
    return OK


def _steady_alarms(cloudwatch: BaseClient, names: list[str]) -> str:
    if not names:
        return OK
    states = alarm_states(cloudwatch, names)
    missing = [name for name in names if name not in states]
    firing = [name for name in names if name in states and states[name].firing]
    problems = [*(f"{name} in ALARM" for name in firing), *(f"{name} not found" for name in missing)]
    return "; ".join(problems) or OK


def _alone(stepfunctions: BaseClient, state_machine_arn: str, game_day_id: str) -> str:
    """Two game days at once would measure each other's faults."""
    paginator = stepfunctions.get_paginator("list_executions")
    others = [
        execution["name"]
        for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter="RUNNING")
        for execution in page.get("executions", [])
        if execution["name"] != game_day_id
    ]
    return f"another game day is running: {', '.join(sorted(others))}" if others else OK


def _client(watch: Watch, secrets: BaseClient) -> str:
    try:
        credentials = load_credentials(secrets, watch.config.client_secret_id)
    except ClientError as error:
        return f"client secret not readable ({_error_code(error)})"
    except GameDayInputError as error:
        return str(error)
    try:
        TokenSource(credentials, watch.fetch, watch.clock).token()
    except (TokenUnavailable, OSError) as error:
        return f"no token ({_why(error)})"
    return OK


# Measurement


@dataclass(frozen=True)
class _Seen:
    """How a phase ended: seen (the poll's send and answer times) or not, and the last poll's note."""

    sent: float | None
    answered: float | None
    note: str
    cut_short: bool = False
    # When the last poll that did not see the phase was sent; None when the first poll saw it.
    last_unseen_sent: float | None = None


def measure_failover(
    watch: Watch, tokens: TokenSource, game_day_id: str, experiment_started_at: float | None
) -> dict[str, Any]:
    config = watch.config
    primary_url, budget = config.health_url(config.primary_region), config.rto_budget_seconds
    phases: dict[str, float | None] = {"unhealthy": None, "dns": None, "order": None}
    result: dict[str, Any] = {
        "fault_at": None,
        "phases": phases,
        "measured_rto_seconds": None,
        "budget_seconds": budget,
        "within_budget": None,
        "failed_phase": None,
        "detail": "",
    }

    def fault() -> tuple[bool, str]:
        reason = health(watch.fetch, primary_url)
        return reason != OK, f"primary health {reason}"

    seen = _until(watch, watch.clock() + config.fault_timeout_seconds, fault)
    if seen.sent is None or seen.answered is None:
        result |= {"failed_phase": "fault", "detail": _missed("fault", config.fault_timeout_seconds, seen)}
        return result
    ended = seen.answered
    notes = [f"fault: {seen.note}"]
    if seen.last_unseen_sent is not None:
        fault_at = seen.last_unseen_sent
    elif experiment_started_at is not None and experiment_started_at <= seen.sent:
        fault_at = experiment_started_at
        notes.append("the first poll already failed: the clock starts at the experiment's start")
    else:
        fault_at = seen.sent
        notes.append("the first poll already failed and the experiment's start is unknown: the RTO is short")
    result["fault_at"] = fault_at
    observers: dict[str, Observe] = {
        "unhealthy": _as_clients_resolve(watch, lambda: _primary_unhealthy(watch)),
        "dns": _as_clients_resolve(watch, lambda: _dns_answers(watch, config.dr_region)),
        "order": lambda: _order_answered(watch, tokens, order_for(game_day_id)),
    }
    for phase, observe in observers.items():
        seen = _until(watch, ended + config.phase_timeout_seconds, observe)
        if seen.answered is None:
            notes.append(_missed(phase, config.phase_timeout_seconds, seen))
            result["failed_phase"] = phase
            break
        ended = seen.answered
        phases[phase] = round(ended - fault_at, 1)
        notes.append(f"{phase}: after {phases[phase]:g} s ({seen.note})")
    rto = phases["order"]
    result |= {
        "measured_rto_seconds": rto,
        "within_budget": None if rto is None else rto <= budget,
        "detail": "; ".join(notes),
    }
    return result


def order_for(game_day_id: str) -> dict[str, Any]:
    """The game day's order: the same content every time, so a retry is a duplicate, not a conflict."""
    return {
        "order_id": f"gameday-{hashlib.sha256(game_day_id.encode()).hexdigest()[:40]}",
        "customer_id": "dr-game-day",
        "currency": "USD",
        "items": [{"sku": "dr-game-day", "quantity": 1, "unit_price": "0.01"}],
    }


def _as_clients_resolve(watch: Watch, observe: Observe) -> Observe:
    def observed() -> tuple[bool, str]:
        watch.resolve(watch.config.api_name)
        return observe()

    return observed


def _primary_unhealthy(watch: Watch) -> tuple[bool, str]:
    check_id = watch.config.health_check_ids[watch.config.primary_region]
    try:
        view = health_check_view(watch.route53, check_id)
    except (ClientError, BotoCoreError) as error:  # one failed look is not the measurement's end
        return False, f"GetHealthCheckStatus failed ({_error_code(error)})"
    return view.healthy is False, view.note


def _dns_answers(watch: Watch, region: str) -> tuple[bool, str]:
    view = watch.dns.view()
    return view.region == region, view.note


def _order_answered(watch: Watch, tokens: TokenSource, order: dict[str, Any]) -> tuple[bool, str]:
    try:
        token = tokens.token()
    except (TokenUnavailable, OSError) as error:
        return False, f"no token ({_why(error)})"
    request = HttpRequest(
        "POST",
        f"https://{watch.config.api_name}/orders",
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        json.dumps(order).encode(),
    )
    try:
        answer = watch.fetch(request)
    except OSError as error:
        return False, f"no answer ({_why(error)})"
    if answer.status == 401:
        tokens.forget()  # expired or revoked: the next poll asks for a fresh one
    region = answer.header(ORDERS_REGION_HEADER)
    answered = answer.status in (200, 201) and region == watch.config.dr_region
    return answered, f"HTTP {answer.status} from {region or 'no region'}"


# Restore


def restore(watch: Watch) -> dict[str, Any]:
    """Wait until traffic is back on the primary by Route 53's own doing: its health route ok, its
    check healthy and every authoritative server answering it, all at once."""
    config, started = watch.config, watch.clock()
    primary, url = config.primary_region, config.health_url(config.primary_region)

    def back() -> tuple[bool, str]:
        reason = health(watch.fetch, url)
        try:
            view = health_check_view(watch.route53, config.health_check_ids[primary])
            route53 = OK if view.healthy else f"not healthy ({view.note})"
        except (ClientError, BotoCoreError) as error:
            route53 = f"GetHealthCheckStatus failed ({_error_code(error)})"
        dns = watch.dns.view()
        conditions = {
            "health": reason,
            "route53": route53,
            "dns": OK if dns.region == primary else f"not every server answers {primary} ({dns.note})",
        }
        failing = [f"{name} {why}" for name, why in conditions.items() if why != OK]
        return not failing, "; ".join(failing)

    seen = _until(watch, started + config.restore_timeout_seconds, back)
    if seen.answered is None:
        limit = config.restore_timeout_seconds
        why = "the invocation ran out of time" if seen.cut_short else f"not within {limit:g} s"
        return {
            "restored": False,
            "restored_after": None,
            "detail": f"{primary} not restored: {why}: {seen.note}; {FAILBACK_HINT}",
        }
    after = round(seen.answered - started, 1)
    return {
        "restored": True,
        "restored_after": after,
        "detail": f"{primary} healthy, its check healthy and DNS answering it after {after:g} s",
    }


# Polling


def _until(watch: Watch, deadline: float, observe: Observe) -> _Seen:
    """Poll every interval until `observe` sees its phase, or the deadline or the invocation's end."""
    note, unseen = "not polled", None
    while True:
        if watch.remaining() < MIN_REMAINING_SECONDS:
            return _Seen(None, None, note, cut_short=True, last_unseen_sent=unseen)
        sent = watch.clock()
        done, note = observe()
        if done:
            return _Seen(sent, watch.clock(), note, last_unseen_sent=unseen)
        unseen = sent
        left = deadline - watch.clock()
        if left <= 0:
            return _Seen(None, None, note, last_unseen_sent=unseen)
        watch.sleep(min(watch.config.poll_interval_seconds, left))


def _missed(phase: str, limit: float, seen: _Seen) -> str:
    if seen.cut_short:
        return f"{phase}: not seen before the invocation had {MIN_REMAINING_SECONDS:g} s left ({seen.note})"
    return f"{phase}: not seen within {limit:g} s ({seen.note})"


def _why(error: Exception) -> str:
    # Only texts made to be shown: TokenUnavailable's status and code, FetchFailed's underlying
    # type. Any other error's text may quote a URL, so it goes by its type's name.
    if isinstance(error, TokenUnavailable):
        return str(error)
    if isinstance(error, FetchFailed) and str(error):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__


def _error_code(error: Exception) -> str:
    return error_code(error) or type(error).__name__
