"""``python -m dr_ops preflight|deploy|failover|failback|drill|gameday [-c key=value ...] [args]``:
exit codes, errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence

from dr_core.errors import ConfigError
from dr_ops.assembly import AssemblyError
from dr_ops.aws import AwsError, describe
from dr_ops.context import Invocation, UsageError
from dr_ops.deploy import deploy
from dr_ops.failover import failback, failover
from dr_ops.integ import integ
from dr_ops.preflight import preflight
from dr_ops.proving import drill, gameday
from dr_ops.tools import CommandFailed, Tools

USAGE = (
    "usage: python -m dr_ops preflight|deploy [-c key=value ...] [cdk args]\n"
    "       python -m dr_ops failover --to <region> [--dry-run] [--force] [--accept-unknown] "
    "[--timeout <s>] [--reason <text>] [--promote-database [--yes] [--promote-timeout <s>]] "
    "[-c key=value ...]\n"
    "       python -m dr_ops failback [--dry-run] [--force] [--accept-unknown] [--timeout <s>] "
    "[-c key=value ...]\n"
    "       python -m dr_ops failback --database [--dry-run] [--yes] [--replica-timeout <s>] "
    "[-c key=value ...]\n"
    "       python -m dr_ops drill [--timeout <s>] [-c key=value ...]\n"
    "       python -m dr_ops gameday [--experiment primary-path|dynamodb-pause|s3-pause|all ...] "
    "[--timeout <s>] [-c key=value ...]\n"
    "       python -m dr_ops gameday --stop [-c key=value ...]\n"
    "       python -m dr_ops integ -c account=... -c domain=... -c hostedZoneId=... -c jwtIssuer=... "
    "[-c key=value ...] [--profile <name>]"
)
COMMANDS: Mapping[str, Callable[[Invocation, Tools], int]] = {
    "preflight": preflight,
    "deploy": deploy,
    "failover": failover,
    "failback": failback,
    "drill": drill,
    "gameday": gameday,
    "integ": integ,
}


def main(argv: Sequence[str], tools: Tools) -> int:
    """0: all good; 1: a check or a step failed (failover, failback: stopped, nothing written);
    2: bad command line or config; 3: awaiting delegation (deploy); 4: the switch's write failed,
    nothing switched (failback --database: the replica's create failed); 5: switched, DNS not
    verified in time (failback --database: the replica not caught up in time); 6: switched, the
    database not promoted (failover --promote-database: declined, or a call failed); 7: switched,
    the promotion not finished in time; drill, gameday: 1 failed, 3 still running at --timeout;
    otherwise the failed cdk command's own exit code."""
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](Invocation.parse(argv[1:]), tools)
    except UsageError as error:
        print(f"usage error: {error}\n{USAGE}", file=sys.stderr)
        return 2
    except ConfigError as error:
        # The same line app.py prints, without a traceback or a synth that would fail on it.
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except CommandFailed as error:
        print(f"{argv[0]}: {error}", file=sys.stderr)
        return error.code
    except AssemblyError as error:
        print(f"{argv[0]}: {error}", file=sys.stderr)
        return 1
    except AwsError as error:
        # Outside a check (an unknown --profile, the zone lookup between deploy stages): one line too.
        print(f"{argv[0]}: AWS error: {describe(error)}", file=sys.stderr)
        return 1
