"""The data-plane switch behind ``failover`` and ``failback`` (see ``dr_ops.failover``).

``io``: what the switch needs from outside the process (HTTP, authoritative DNS, a clock, a
console, a person to ask), injectable; ``verdicts``: one line per pre-check and the go/stop
decision; ``metrics``: CloudWatch reads; ``prechecks``: the checks; ``fence``: the one DynamoDB
write (or delete) and its best-effort copy; ``dns_watch``: the zone's authoritative name servers
until each answers with the target; ``database``: PostgreSQL's instances, their promotion and the
waits on them; ``report``: the timed report.
"""
