"""ARM and Graph answers a drift monitor must not trust: redirects and next links elsewhere,
2xx bodies that are not what the service sends, bare 404s. Each is a failed read (never
"none exist", never "compliant"), and the token never leaves the service's own host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from driftkeeper.live import read_snapshot
from driftkeeper.live._failures import Refused
from tests.fakes.azure_rest import AzureRestServer, TlsFiles, _Answer
from tests.fakes.credentials import StaticTokenCredential
from tests.fakes.local_server import LocalHttpServer

SUB = "00000000-0000-0000-0000-00000000aaaa"
TOKEN = "SECRET-TOKEN"
NSGS, POLICIES = "arm.networkSecurityGroups", "graph.conditionalAccessPolicies"


class Elsewhere(BaseHTTPRequestHandler):
    """Another host: records who came and with which Authorization header; answers empty."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        Elsewhere.seen.append((self.path, self.headers.get("Authorization")))
        body = b'{"value": [], "id": "x"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def elsewhere(tls_files: TlsFiles) -> Iterator[dict[str, str]]:
    Elsewhere.seen = []
    https = LocalHttpServer(Elsewhere, name="elsewhere-tls", ssl_context=tls_files.server_context())
    http = LocalHttpServer(Elsewhere, name="elsewhere")
    https.start()
    http.start()
    yield {"arm": https.url, "graph": http.url}
    https.stop()
    http.stop()


Answer = Callable[[AzureRestServer, dict[str, str]], _Answer]


def answering(server: AzureRestServer, service: str, answer: Answer, hosts: dict[str, str]) -> None:
    """Make the first page of the NSG (ARM) or CA policy (Graph) listing answer ``answer``."""
    original = server._arm_get if service == "arm" else server._graph_get
    marker = "networksecuritygroups" if service == "arm" else "conditionalaccess"

    def get(path: str, query: dict[str, list[str]]) -> _Answer:
        if marker in path.lower() and "$skiptoken" not in query:
            return answer(server, hosts)
        return original(path, query)

    setattr(server, "_arm_get" if service == "arm" else "_graph_get", get)


CASES: dict[str, tuple[str, Answer]] = {
    "ARM redirect to another host": (
        "arm",
        lambda s, h: _Answer(307, {}, {"Location": h["arm"] + "/redir"}),
    ),
    "ARM next link to another host": (
        "arm",
        lambda s, h: _Answer(200, {"value": [], "nextLink": h["arm"] + "/steal"}),
    ),
    "ARM next link to another listing on the same host": (
        "arm",
        lambda s, h: _Answer(
            200,
            {
                "value": [],
                "nextLink": f"{s.arm_endpoint}/subscriptions/{SUB}/resourcegroups?api-version=1",
            },
        ),
    ),
    "ARM next link over plain http": (
        "arm",
        lambda s, h: _Answer(
            200, {"value": [], "nextLink": s.arm_endpoint.replace("https:", "http:") + "/x"}
        ),
    ),
    "ARM 200 with a string body": ("arm", lambda s, h: _Answer(200, "not an object")),
    "ARM 200 with a list body": ("arm", lambda s, h: _Answer(200, [1, 2])),
    "ARM 200 with no value list": ("arm", lambda s, h: _Answer(200, {"value": {"a": 1}})),
    "ARM 200 with null": ("arm", lambda s, h: _Answer(200, None)),
    "Graph redirect to another host": (
        "graph",
        lambda s, h: _Answer(307, {}, {"Location": h["graph"] + "/v1.0/redir"}),
    ),
    "Graph next link to another host": (
        "graph",
        lambda s, h: _Answer(200, {"value": [], "@odata.nextLink": h["graph"] + "/v1.0/x"}),
    ),
    "Graph next link to another listing": (
        "graph",
        lambda s, h: _Answer(
            200, {"value": [], "@odata.nextLink": s.graph_endpoint + "/users?$top=999"}
        ),
    ),
    "Graph 200 with a string body": ("graph", lambda s, h: _Answer(200, "str")),
    "Graph 200 with null": ("graph", lambda s, h: _Answer(200, None)),
    "Graph 200 without a value list": ("graph", lambda s, h: _Answer(200, {"id": "x"})),
}


@pytest.mark.parametrize(("service", "answer"), CASES.values(), ids=CASES.keys())
def test_an_answer_from_elsewhere_or_of_the_wrong_shape_is_a_failed_read(
    azure_rest_server: AzureRestServer, elsewhere: dict[str, str], service: str, answer: Answer
) -> None:
    server = azure_rest_server
    server.data = {NSGS: [], "arm.roleAssignments": []}
    answering(server, service, answer, elsewhere)

    snapshot = read_snapshot(
        StaticTokenCredential(TOKEN),
        subscriptions=[SUB],
        arm_endpoint=server.arm_endpoint,
        graph_endpoint=server.graph_endpoint,
        connection_verify=str(server.ca_file),
        max_retries=0,
        retry_delay=0,
    )

    section = NSGS if service == "arm" else POLICIES
    assert snapshot.status(section) == "failed", snapshot.sections.get(section)
    assert all(auth is None for _, auth in Elsewhere.seen), "the token left the service"
    followed = [r.path for r in server.requests if "/users" in r.path or r.path == "/x"]
    assert "resourcegroups" not in str([r.path.lower() for r in server.requests])
    assert followed == []


@pytest.mark.parametrize(
    ("refusal", "gone"),
    [
        (Refused(404, "ResourceNotFound", "404"), True),
        (Refused(404, "Request_ResourceNotFound", "404"), True),
        (Refused(404, None, "404 Not Found"), False),  # a proxy's page says nothing
        (Refused(404, "SubscriptionNotFound", "404"), False),
        (Refused(403, "AuthorizationFailed", "403"), False),
    ],
)
def test_only_the_service_saying_so_makes_a_404_gone(refusal: Refused, gone: bool) -> None:
    assert refusal.gone is gone
