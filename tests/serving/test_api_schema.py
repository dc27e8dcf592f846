"""Schema-driven fuzzing: schemathesis against the app's own OpenAPI document, on loopback.

Every operation of `/openapi.json` gets generated requests, valid and invalid (random text,
out-of-range numbers, unknown fields, random bytes as audio, wrong types); each reply must be
no 5xx, carry a documented status code and content type, match its documented schema, and
name no filesystem path. Bounded (a fixed number of examples per operation, derandomized, no
deadline) so the module takes well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from serving.app.schemas import Limits
from serving.app.server import BackgroundServer
from serving.app.service import AUDIO_CONTENT_TYPES
from serving.backends.inprocess import InProcessBackend
from serving.client import EmotionClient

MAX_EXAMPLES = {GenerationMode.POSITIVE: 100, GenerationMode.NEGATIVE: 100}  # per mode
# The timeline route shares the multipart parser and the error paths fuzzed through predict;
# fewer examples keep the module's time (its own cases: tests/serving/test_timeline.py).
TIMELINE_EXAMPLES = 30
# The audio part's documented content types are bytes on the wire, like octet-stream.
schemathesis.serializer.alias(
    target=[t for t in AUDIO_CONTENT_TYPES if t != "application/octet-stream"],
    source="application/octet-stream")


@pytest.fixture(scope="module")
def app_server(model_repo):
    backend = InProcessBackend(str(model_repo))
    backend.warm_up()
    # A small text limit, so generated text crosses it now and then.
    with BackgroundServer(EmotionClient(backend),
                          limits=Limits(max_text_chars=200, max_audio_s=5.0)) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(app_server):
    return schemathesis.openapi.from_url(f"{app_server.url}/openapi.json")


# Every operation in the document with the generation modes that apply to it (health and
# metrics take no input, so there is nothing to make invalid). The first test keeps this list
# equal to the document, so a new route cannot escape the fuzzing.
OPERATIONS = {("POST", "/api/predict"): (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
              ("POST", "/api/timeline"): (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
              ("GET", "/api/health"): (GenerationMode.POSITIVE,),
              ("GET", "/metrics"): (GenerationMode.POSITIVE,)}
CASES = [(method, path, mode) for (method, path), modes in OPERATIONS.items() for mode in modes]


def test_every_documented_operation_is_fuzzed(api_schema):
    documented = {(op.ok().method.upper(), op.ok().path)
                  for op in api_schema.get_all_operations()}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("method,path,mode", CASES,
                         ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES])
def test_api_conforms_to_its_own_schema(api_schema, app_server, model_repo, method, path, mode):
    operation = api_schema[path][method]

    examples = (TIMELINE_EXAMPLES if path == "/api/timeline" else MAX_EXAMPLES[mode]) \
        if method == "POST" else 10

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None,
              derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        response = case.call_and_validate(
            base_url=app_server.url, timeout=60,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                    response_schema_conformance])
        assert str(model_repo) not in response.text

    check()
