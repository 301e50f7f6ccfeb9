"""How stateful resources outlive their stack."""

from __future__ import annotations

import aws_cdk as cdk

# Kept on stack update and delete, removed when the stack's first create rolls back
# (CloudFormation's DeletionPolicy RetainExceptOnCreate). A plain Retain would leave a
# fixed-name resource behind after a failed first deploy, and the retry would fail with
# "already exists". https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
RETAINED = cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
