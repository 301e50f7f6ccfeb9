"""Small helpers to read CloudFormation expressions in assertions."""

from __future__ import annotations

from typing import Any


def render(value: Any) -> Any:
    """A CloudFormation string expression as plain text: Ref AWS::Partition -> aws,
    other Refs -> <Ref:Id>, GetAtt -> <Id.Attr>. Lists are rendered element-wise."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(p) for p in parts)
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    if "Ref" in value:
        return f"<Ref:{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    return value


def only(template, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The one resource of a type (fails when there are none or several)."""
    found = template.find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def at_path(template, path: str) -> tuple[str, dict[str, Any]]:
    """The resource a construct path made, e.g. 'PrimaryRegion/DataReplication/Role/Resource'."""
    found = [
        (logical_id, resource)
        for logical_id, resource in template.to_json()["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path") == path
    ]
    assert len(found) == 1, f"expected one resource at {path}, found {[i for i, _ in found]}"
    return found[0]
