"""Reusable constructs of the DR platform.

Named ``dr_constructs`` because a top-level ``constructs`` package would shadow
the ``constructs`` library that aws-cdk-lib imports (aws/aws-cdk#19301).
"""
