"""What an AWS error is called, for the game day's notes and decisions."""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(error: BaseException) -> str:
    """A ClientError's code ("AccessDenied", "404", ...); "" for any other error."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""
