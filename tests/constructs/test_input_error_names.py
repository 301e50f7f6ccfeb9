"""The error name each state machine never retries is the class its functions raise for a bad event
or configuration. Lambda reports a Python exception by its class name as errorType
(https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html), and Step Functions matches a
retrier's ErrorEquals against it, the first matching retrier winning
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): a renamed class
would turn "never retried" into "retried like any failure"."""

from __future__ import annotations

import pytest

from dr_constructs import dr_drill, game_day
from tests.handlers.loader import load_handler


@pytest.mark.parametrize(
    ("construct_error", "asset", "module", "error_class"),
    [
        (game_day._INPUT_ERROR, "game_day", "settings", "GameDayInputError"),
        (dr_drill._INPUT_ERROR, "dr_drill", "models", "DrillInputError"),
    ],
)
def test_the_never_retried_error_is_the_class_the_functions_raise(
    construct_error, asset, module, error_class
):
    raised = getattr(load_handler(asset, module), error_class)
    assert issubclass(raised, Exception)
    assert raised.__name__ == construct_error
