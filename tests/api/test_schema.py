"""schemathesis against the API's own OpenAPI schema, loaded from the WSGI app in process: generated
requests to every operation, valid ones and invalid ones; no server error, and every answer as the
schema says (status code, content type, body). `make test-api-schema` runs more cases and prints the
figures.

One test walks the operations itself (schemathesis's strategies with Hypothesis) rather than through
schemathesis.pytest.from_fixture, which fails on pytest 9 (it sets the test item's _nodeid, gone)."""

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.api_schema, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("NEWSAPP_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def exercise(operation, mode: GenerationMode, cases: Counter, statuses: Counter) -> None:
    """Hypothesis's cases for one operation in one mode, each called and checked; raises the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def run(case):
        response = case.call()
        cases[f"{case.method} {operation.path} ({mode.value})"] += 1
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


@pytest.fixture
def connections_kept():
    """The WSGI app closes old database connections around each request; in a test that would close
    the test's transaction (Django's test client does the same: it disconnects the handler)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_api_answers_as_its_schema_says(newsroom, settings, capsys, connections_kept):
    settings.NEWSAPP_API_RATE = "1000000/min"  # the rate limit has tests of its own (test_http.py)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    cases, statuses, failures = Counter(), Counter(), []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:
        for mode in GenerationMode:
            try:
                exercise(operation, mode, cases, statuses)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, (
                    operation.path
                )  # no parameter: nothing invalid to send
            except Exception as exc:  # every operation is tried: all the failures in one report
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}")
    summary = [
        f"schemathesis: {sum(cases.values())} cases over {len(operations)} operations, "
        f"{len(failures)} failing; answers by status: "
        + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())),
        *(f"  {n:5d}  {name}" for name, n in sorted(cases.items())),
    ]
    with capsys.disabled():  # the figures are printed on every run, passing or not
        print("\n" + "\n".join(summary))
    assert not failures, "\n\n".join(failures)
    assert statuses[500] == 0
