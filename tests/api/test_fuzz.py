"""Property-based fuzz of the whole API from its own OpenAPI, as every kind of caller.

No generated request may cause a 5xx, an undocumented status code or a body that breaks the
documented schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CALLERS = ["admin", "logistician", "planner", "supplier_viewer", "key_a"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("caller", CALLERS)
def test_api_fuzz(app: FastAPI, world, caller: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = world.headers[caller]
    # The live stream never ends by design; it has its own test.
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if not op.path.endswith("/stream")
    ]
    assert len(operations) > 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case) -> None:  # noqa: ANN001
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
