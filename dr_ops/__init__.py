"""Operator commands: ``python -m dr_ops preflight|deploy|failover|failback [-c key=value ...] [args]``.

``preflight`` checks, read-only and with the caller's own credentials, what a first
deploy of the synthesized app needs from the account; ``deploy`` runs those checks,
then deploys in stages so a certificate never waits on a zone nobody has delegated.
``failover`` and ``failback`` move traffic between the regions with data-plane calls
only: checks, one fence write in the region taking over, and a check of what the
zone's authoritative name servers answer. ``failover --promote-database`` then promotes
the DR region's PostgreSQL replica; ``failback --database`` prepares PostgreSQL's way
back (a replica in the primary region) and prints the steps it leaves to a person.
"""
