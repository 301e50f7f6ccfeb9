"""One naming function, `[environment]-[region]-[service][suffix]`, that knows each service's rules."""

from __future__ import annotations

import pytest

from dr_core.errors import ConfigError
from dr_core.naming import Kind, Naming

NAMING = Naming(environment="dev", suffix="-v1", account="123456789012")


def test_name_follows_the_convention():
    assert NAMING.name(Kind.LAMBDA_FUNCTION, "orders", region="us-east-1") == "dev-us-east-1-orders-v1"


def test_bucket_names_carry_the_account_because_they_are_global():
    assert NAMING.bucket("orderdata", region="us-west-2") == "dev-us-west-2-orderdata-123456789012-v1"


def test_kms_alias_has_the_alias_prefix():
    assert NAMING.kms_alias("orders", region="us-east-1") == "alias/dev-us-east-1-orders-v1"


def test_s3_names_are_lower_cased_but_others_keep_case():
    naming = Naming(environment="dev", suffix="-v1", account="123456789012")
    upper = Naming(environment="dev", suffix="-V1", account="123456789012")
    assert upper.bucket("data", region="us-east-1") == naming.bucket("data", region="us-east-1")
    assert upper.name(Kind.IAM_ROLE, "x", region="us-east-1").endswith("-V1")


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        (Kind.S3_BUCKET, 63),
        (Kind.IAM_ROLE, 64),
        (Kind.LAMBDA_FUNCTION, 64),
        (Kind.SQS_QUEUE, 80),
        (Kind.STATE_MACHINE, 80),
        (Kind.SCHEDULE, 64),
    ],
)
def test_a_name_one_over_the_service_limit_is_refused_naming_the_suffix(kind, limit):
    # Given a suffix that makes the name exactly one character too long
    base = len("dev-us-east-1-svc")
    naming = Naming(environment="dev", suffix="-" + "x" * (limit - base), account="1")
    # When / Then
    with pytest.raises(ConfigError, match=rf"context key 'suffix': .*{limit + 1} characters long"):
        naming.name(kind, "svc", region="us-east-1")
    # And one character shorter fits exactly
    fitting = Naming(environment="dev", suffix="-" + "x" * (limit - base - 1), account="1")
    assert len(fitting.name(kind, "svc", region="us-east-1")) == limit


def test_rds_identifiers_refuse_a_double_hyphen():
    naming = Naming(environment="dev", suffix="--a", account="1")
    with pytest.raises(ConfigError, match="character rules"):
        naming.name(Kind.RDS_INSTANCE, "db", region="us-east-1")


def test_a_service_segment_outside_the_convention_is_a_programming_error():
    with pytest.raises(ValueError, match="service segment"):
        NAMING.name(Kind.IAM_ROLE, "Orders_Fn", region="us-east-1")
