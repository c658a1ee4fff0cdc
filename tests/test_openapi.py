"""The OpenAPI description: served, 3.1, self-contained, and covering every /api/v1 route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")  # public: no token, no session
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def _refs(node: Any, where: str = "#") -> list[tuple[str, str]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append((where, value))
            else:
                found.extend(_refs(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_refs(item, f"{where}/{i}"))
    return found


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            assert part in node, f"{ref}: no {part!r}"
            node = node[part]
    return node


def test_openapi_document_is_served_as_3_1(spec):
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]


def test_every_ref_resolves_inside_the_document(spec):
    refs = _refs(spec)
    assert refs
    for where, ref in refs:
        target = _resolve(spec, ref)
        assert isinstance(target, dict), f"{where}: {ref} is not a schema"


def test_component_schemas_are_valid_json_schemas(spec):
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def _openapi_path(rule: str) -> str:
    path = rule.removeprefix("/api/v1")
    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", path)


def test_every_api_route_is_described(app, spec):
    assert spec["servers"] == [{"url": "/api/v1"}]
    routes = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]
    assert len(routes) > 5
    missing = []
    for rule in routes:
        path = _openapi_path(rule.rule)
        for method in {m.lower() for m in rule.methods} & METHODS:
            if method not in spec["paths"].get(path, {}):
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"routes missing from openapi.json: {missing}"


def test_every_described_operation_exists(app, spec):
    served = {(_openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods}
    for path, operations in spec["paths"].items():
        for method in set(operations) & METHODS:
            assert (path, method) in served, f"{method.upper()} {path} is not served"


def test_path_parameters_are_declared(spec):
    for path, operations in spec["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method in set(operations) & METHODS:
            declared = {p["name"] for p in operations[method].get("parameters", [])
                        if p["in"] == "path"}
            assert declared == names, f"{method.upper()} {path}"
            assert operations[method]["responses"], f"{method.upper()} {path}"


def _validator(spec: dict[str, Any], component: str) -> Draft202012Validator:
    registry = Registry().with_resource("openapi.json", Resource.from_contents(
        spec, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"openapi.json#/components/schemas/{component}"},
                                registry=registry)


def test_responses_match_their_described_schemas(client, spec, document, token_for):
    alice = token_for("alice")
    pid, did = document.project_id, document.id
    created = client.post(f"/api/v1/documents/{did}/claims", headers=alice, json={
        "start": 0, "end": 8, "text": "Dispatch", "stance": "asserts"})
    stale = client.patch(f"/api/v1/claims/{created.get_json()['id']}", headers=alice,
                         json={"version": 9, "note": "x"})
    checks = [
        ("Project", client.get(f"/api/v1/projects/{pid}", headers=alice).get_json()),
        ("Document", client.get(f"/api/v1/documents/{did}", headers=alice).get_json()),
        ("Claim", created.get_json()),
        ("Error", stale.get_json()),
    ]
    checks += [("ProjectSummary", p)
               for p in client.get("/api/v1/projects", headers=alice).get_json()]
    checks += [("DocumentSummary", d)
               for d in client.get(f"/api/v1/projects/{pid}/documents", headers=alice).get_json()]
    checks += [("Actor", a)
               for a in client.get(f"/api/v1/projects/{pid}/actors", headers=alice).get_json()]
    for component, instance in checks:
        _validator(spec, component).validate(instance)
    assert stale.status_code == 409


def test_every_write_documents_the_csrf_refusal(client, auth, document, spec):
    """A write sent with the session cookie and no CSRF token is refused with 400 (the
    annotation page's POST …/start included): every write operation says so."""
    auth.login("alice")
    forged = client.post(f"/api/v1/documents/{document.id}/start")
    assert forged.status_code == 400 and "CSRF" in forged.get_json()["error"]
    missing = [f"{method.upper()} {path}" for path, operations in spec["paths"].items()
               for method, operation in operations.items()
               if method in ("post", "put", "patch", "delete")
               and "400" not in operation["responses"]]
    assert missing == []
