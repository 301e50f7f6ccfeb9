"""Operator commands: ``python -m dr_ops preflight|deploy [-c key=value ...] [cdk args]``.

``preflight`` checks, read-only and with the caller's own credentials, what a first
deploy of the synthesized app needs from the account; ``deploy`` runs those checks,
then deploys in stages so a certificate never waits on a zone nobody has delegated.
"""
