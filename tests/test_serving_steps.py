"""The data-plane steps of ``pulumi up`` for online endpoints, run through the real Azure SDK clients.

``components.code_upload`` writes the scoring code to blob storage with a ``ContainerClient`` and
``components.endpoint_traffic`` sets an endpoint's first traffic split with a ``ResourceManagementClient``. Both
clients run here unchanged, with their whole pipelines (bearer-token policy, serialization, long-running-operation
poller); only the last hop is replaced: :class:`FakeService` is an ``HttpTransport`` that records every request and
answers the way Blob Storage and Azure Resource Manager do, in process, so no test touches the network or sleeps.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline._tools import is_rest
from azure.core.pipeline.transport import HttpTransport, RequestsTransportResponse
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.storage.blob import ContainerClient
from conftest import SUBSCRIPTION_ID, TENANT_ID

from components import code_upload, endpoint_traffic
from components.code_upload import HASH_LENGTH, CodeUploadProvider, code_files, content_hash, upload_folder
from components.endpoint_traffic import InitialTrafficProvider, set_initial_traffic

#: Token expiry far in the future (2100-01-01), so the bearer policy never asks twice.
FAR_FUTURE = 4_102_444_800
ACCOUNT = "stmlopsdevweu01"
CONTAINER = "code"
BLOB_ENDPOINT = f"https://{ACCOUNT}.blob.core.windows.net"
ARM = "https://management.azure.com"
RESOURCE_GROUP = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-mlops-dev-weu"
ENDPOINT_ID = (f"{RESOURCE_GROUP}/providers/Microsoft.MachineLearningServices/workspaces/mlw-mlops-dev-weu"
               "/onlineEndpoints/ept-fraud-dev")
#: The endpoint API version pulumi-azure-native 3.29 uses, so the read and the write see the same shape.
API_VERSION = "2025-12-01"
IDENTITY_ID = f"{RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-ept-fraud-dev"
#: Most requests any test here may make; a poller that never finishes fails instead of hanging.
MAX_REQUESTS = 50

Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Recorded:
    """One request as it left the client's pipeline."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    def json(self) -> Any:
        return json.loads(self.body)


def _body_bytes(data: object) -> bytes:
    """The request body whatever shape the SDK gave it (bytes, text, a stream or an iterable of chunks)."""
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if hasattr(data, "read"):
        content = data.read()
        return content.encode() if isinstance(content, str) else bytes(content)
    if isinstance(data, Iterable):
        return b"".join(_body_bytes(chunk) for chunk in data)
    raise TypeError(f"unexpected request body {type(data).__name__}")


class FakeService(HttpTransport):  # type: ignore[type-arg]
    """An in-process transport: records each request and answers it with ``answer(request)``.

    Responses have the shape ``RequestsTransport`` gives (a ``requests.Response`` over a ``urllib3`` body), as the
    legacy response for storage's requests and the ``azure.core.rest`` one for the generated ARM client's.
    """

    def __init__(self, answer: Callable[[Recorded], Answer]) -> None:
        self.answer = answer
        self.requests: list[Recorded] = []
        self.sleeps: list[float] = []

    def __exit__(self, *args: object) -> None:
        self.close()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)

    def send(self, request: Any, **kwargs: Any) -> Any:
        recorded = Recorded(request.method, request.url, requests.structures.CaseInsensitiveDict(request.headers),
                            _body_bytes(request.data))
        self.requests.append(recorded)
        assert len(self.requests) <= MAX_REQUESTS, f"more than {MAX_REQUESTS} requests: {self.requests[-3:]}"
        status, headers, content = self.answer(recorded)
        response = requests.Response()
        response.status_code = status
        response.reason = {200: "OK", 201: "Created", 202: "Accepted", 404: "Not Found"}.get(status, "")
        response.headers = requests.structures.CaseInsensitiveDict({**headers, "Content-Length": str(len(content))})
        response.url = request.url
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(content), headers=response.headers, status=status,
                                            preload_content=False, decode_content=False)
        if is_rest(request):
            rest = RestRequestsTransportResponse(request=request, internal_response=response, block_size=4096)
            if not kwargs.get("stream"):
                rest.read()
            return rest
        return RequestsTransportResponse(request, response, 4096)


class FakeCredential:
    """A token credential that hands out one fixed token and remembers the scopes it was asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("t", FAR_FUTURE)


def not_found(request: Recorded) -> Answer:
    body = {"error": {"code": "NotFound", "message": f"unexpected {request.method} {request.url}"}}
    return 404, {"Content-Type": "application/json"}, json.dumps(body).encode()


# --- Code upload --------------------------------------------------------------------------------------------------


def blob_service(request: Recorded) -> Answer:
    """Put Blob as Blob Storage answers it."""
    if request.method == "PUT" and request.headers.get("x-ms-blob-type") == "BlockBlob":
        return 201, {"ETag": '"0x8DCB1F3A2C4E5F6"', "Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT",
                     "x-ms-request-id": "4a1b2c3d-0001-0000-0000-000000000000", "x-ms-version": "2025-01-05",
                     "x-ms-request-server-encrypted": "true", "Date": "Sat, 21 Nov 2026 10:00:00 GMT"}, b""
    return not_found(request)


@pytest.fixture
def blob() -> FakeService:
    return FakeService(blob_service)


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
def container(blob: FakeService, credential: FakeCredential) -> ContainerClient:
    """A real ``ContainerClient`` whose requests end in ``blob``."""
    return ContainerClient(BLOB_ENDPOINT, CONTAINER, credential=credential, transport=blob)  # type: ignore[arg-type]


def write(folder: Path, files: Mapping[str, bytes]) -> Path:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder


#: A scoring folder as it looks after a local run: code, a nested package, and what never belongs in a code asset.
CODE = {
    "score.py": b"def init():\n    pass\n",
    "conda.yaml": b"name: score\n",
    "model/__init__.py": b"",
    "model/features/encode.py": b"def encode(x):\n    return x\n",
}
CACHES = {
    "__pycache__/score.cpython-311.pyc": b"\x00pyc",
    ".ipynb_checkpoints/score-checkpoint.py": b"def init():\n    pass\n",
    ".venv/lib/python3.11/site-packages/six.py": b"",
    ".git/HEAD": b"ref: refs/heads/main\n",
    "model/__pycache__/__init__.cpython-311.pyc": b"\x00pyc",
    "model/features/encode.pyc": b"\x00pyc",
}


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write(tmp_path / "code", {**CODE, **CACHES})


def relative_names(folder: Path) -> list[str]:
    return [path.relative_to(folder).as_posix() for path in code_files(folder)]


def test_code_files_leave_out_caches_in_a_stable_order(code: Path) -> None:
    assert relative_names(code) == ["conda.yaml", "model/__init__.py", "model/features/encode.py", "score.py"]


def test_upload_folder_puts_every_code_file_with_an_entra_token(code: Path, container: ContainerClient,
                                                                blob: FakeService, credential: FakeCredential) -> None:
    names = upload_folder(container, code, "fraud/abc123")

    expected = ["conda.yaml", "model/__init__.py", "model/features/encode.py", "score.py"]
    assert names == [f"fraud/abc123/{name}" for name in expected]
    assert [(r.method, r.url) for r in blob.requests] == [
        ("PUT", f"{BLOB_ENDPOINT}/{CONTAINER}/fraud/abc123/{name}") for name in expected]
    for request, name in zip(blob.requests, expected, strict=True):
        assert request.body == CODE[name], name
        assert request.headers["Authorization"] == "Bearer t"
        assert request.headers["x-ms-blob-type"] == "BlockBlob"
    assert set(credential.scopes) == {("https://storage.azure.com/.default",)}


def test_upload_folder_of_an_empty_folder_makes_no_request(tmp_path: Path, container: ContainerClient,
                                                           blob: FakeService) -> None:
    write(tmp_path / "empty", CACHES)

    assert upload_folder(container, tmp_path / "empty", "fraud/abc123") == []
    assert blob.requests == []


def edit(folder: Path) -> None:
    (folder / "score.py").write_bytes(b"def init():\n    return 1\n")


def rename(folder: Path) -> None:
    (folder / "score.py").rename(folder / "main.py")


def move(folder: Path) -> None:
    (folder / "conda.yaml").rename(folder / "model" / "conda.yaml")


def add(folder: Path) -> None:
    (folder / "README.md").write_bytes(b"")


def add_cache(folder: Path) -> None:
    (folder / "model" / "features" / "__pycache__").mkdir()
    (folder / "model" / "features" / "__pycache__" / "encode.cpython-311.pyc").write_bytes(b"\x00pyc")
    (folder / "score.pyo").write_bytes(b"\x00pyo")
    write(folder, {".mypy_cache/3.11/score.meta.json": b"{}", ".pytest_cache/v/cache/lastfailed": b"{}"})


@pytest.mark.parametrize("change", [edit, rename, move, add], ids=lambda f: f.__name__)
def test_content_hash_changes_with_the_code(code: Path, change: Callable[[Path], None]) -> None:
    before = content_hash(code)
    change(code)
    assert content_hash(code) != before


def test_content_hash_ignores_caches(code: Path) -> None:
    before = content_hash(code)
    add_cache(code)
    assert content_hash(code) == before


def test_content_hash_is_stable_across_folders_and_write_order(code: Path, tmp_path: Path) -> None:
    reversed_copy = write(tmp_path / "elsewhere" / "code", dict(reversed(CODE.items())))

    assert content_hash(code) == content_hash(code) == content_hash(reversed_copy)
    assert len(content_hash(code)) == 64


def upload_props(folder: Path | str, digest: str) -> dict[str, Any]:
    return {"source": str(folder), "hash": digest, "account": ACCOUNT, "container": CONTAINER, "prefix": "fraud",
            "uri": None}


@pytest.fixture
def containers(monkeypatch: pytest.MonkeyPatch, container: ContainerClient) -> list[tuple[str, str]]:
    """``_container`` (our helper, which would build a client with ``DefaultAzureCredential``) returns the client on
    the fake transport; the list records the (account, container) it was asked for."""
    calls: list[tuple[str, str]] = []

    def fake_container(account: str, name: str) -> ContainerClient:
        calls.append((account, name))
        return container

    monkeypatch.setattr(code_upload, "_container", fake_container)
    return calls


def test_create_refuses_a_folder_that_changed_since_the_plan(code: Path, containers: list[tuple[str, str]],
                                                              blob: FakeService) -> None:
    planned = content_hash(code)
    edit(code)
    actual = content_hash(code)

    with pytest.raises(RuntimeError) as raised:
        CodeUploadProvider().create(upload_props(code, planned))

    assert str(raised.value) == (f"{code} changed while deploying (hash {actual[:12]}, planned {planned[:12]}); "
                                 "run pulumi up again")
    assert containers == []
    assert blob.requests == []


def test_create_uploads_under_the_hash_and_returns_its_folder(code: Path, containers: list[tuple[str, str]],
                                                               blob: FakeService) -> None:
    digest = content_hash(code)
    folder = f"fraud/{digest[:16]}"

    result = CodeUploadProvider().create(upload_props(code, digest))

    uri = f"{BLOB_ENDPOINT}/{CONTAINER}/{folder}"
    assert result.id == uri
    assert result.outs == {**upload_props(code, digest), "uri": uri}
    assert containers == [(ACCOUNT, CONTAINER)]
    assert sorted(r.url for r in blob.requests) == sorted(f"{uri}/{name}" for name in CODE)
    assert {r.method for r in blob.requests} == {"PUT"}


def test_create_resolves_a_relative_source_from_the_working_directory(
        code: Path, containers: list[tuple[str, str]], blob: FakeService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(code.parent)

    result = CodeUploadProvider().create(upload_props("code", content_hash(code)))

    assert result.outs is not None and result.outs["source"] == "code"
    assert len(blob.requests) == len(CODE)


@pytest.mark.parametrize("key", ["account", "container", "prefix", "hash"])
def test_diff_replaces_when_the_destination_or_the_code_changes(key: str) -> None:
    olds = upload_props("/agent/_work/1/s/serving/fraud", "a" * 64)
    news = {**olds, key: "changed"}

    diff = CodeUploadProvider().diff(str(olds["uri"]), olds, news)

    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, [key], False)


def test_diff_ignores_where_the_folder_was_on_the_deploying_machine() -> None:
    olds = upload_props("/agent/_work/1/s/serving/fraud", "a" * 64)
    news = {**olds, "source": "/home/dev/mlops-platform/serving/fraud"}

    diff = CodeUploadProvider().diff("id", olds, news)

    assert (diff.changes, diff.replaces) == (False, [])


def test_delete_leaves_the_folder(code: Path, containers: list[tuple[str, str]], blob: FakeService) -> None:
    uri = f"{BLOB_ENDPOINT}/{CONTAINER}/fraud/{'a' * HASH_LENGTH}"

    CodeUploadProvider().delete(uri, {**upload_props(code, "a" * 64), "uri": uri})

    assert containers == []
    assert blob.requests == []


# --- Initial traffic ----------------------------------------------------------------------------------------------


def online_endpoint(**overrides: Any) -> dict[str, Any]:
    """An online endpoint as ARM returns it (GET, api-version 2025-12-01)."""
    return {
        "id": ENDPOINT_ID,
        "name": "ept-fraud-dev",
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "location": "westeurope",
        "kind": "Managed",
        "sku": {"name": "Default", "tier": "Standard"},
        "tags": {"environment": "dev", "team": "fraud"},
        "identity": {"type": "UserAssigned", "tenantId": TENANT_ID, "principalId": None,
                     "userAssignedIdentities": {IDENTITY_ID: {
                         "principalId": "3f1c2d4e-0000-4000-8000-000000000001",
                         "clientId": "3f1c2d4e-0000-4000-8000-000000000002"}}},
        "properties": {
            "authMode": "AADToken",
            "description": "fraud scoring",
            "publicNetworkAccess": "Disabled",
            "properties": {"azureml.team": "fraud"},
            "traffic": {},
            "mirrorTraffic": {},
            "provisioningState": "Succeeded",
            "scoringUri": "https://ept-fraud-dev.westeurope.inference.ml.azure.com/score",
            "swaggerUri": "https://ept-fraud-dev.westeurope.inference.ml.azure.com/swagger.json",
        },
        "systemData": {"createdBy": "deployer", "createdByType": "Application",
                       "createdAt": "2026-11-21T10:00:00Z"},
        **overrides,
    }


def json_answer(status: int, body: object, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8", **headers}, json.dumps(body).encode()


class Arm:
    """Azure Resource Manager for one online endpoint: GET returns it, PUT replaces it.

    ``asynchronous`` answers the PUT the way Azure ML does (201 ``Updating`` with an ``Azure-AsyncOperation`` to
    poll); otherwise the PUT finishes at once (200 ``Succeeded``)."""

    OPERATION = f"{ARM}/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/op-1?api-version={API_VERSION}"  # noqa: E501

    def __init__(self, endpoint: dict[str, Any], *, asynchronous: bool = False) -> None:
        self.endpoint = endpoint
        self.asynchronous = asynchronous
        self.transport = FakeService(self.answer)

    def answer(self, request: Recorded) -> Answer:
        if request.url == self.OPERATION and request.method == "GET":
            return json_answer(200, {"name": "op-1", "status": "Succeeded"})
        if request.path != ENDPOINT_ID or request.query.get("api-version") != [API_VERSION]:
            return not_found(request)
        if request.method == "GET":
            return json_answer(200, self.endpoint)
        if request.method == "PUT":
            sent = request.json()
            self.endpoint = {**self.endpoint, **sent,
                             "properties": {**self.endpoint["properties"], **sent["properties"]}}
            if self.asynchronous:
                updating = {**self.endpoint, "properties": {**self.endpoint["properties"],
                                                            "provisioningState": "Updating"}}
                return json_answer(201, updating, **{"Azure-AsyncOperation": self.OPERATION})
            return json_answer(200, self.endpoint)
        return not_found(request)

    @property
    def requests(self) -> list[Recorded]:
        return self.transport.requests


def arm_client(arm: Arm, credential: FakeCredential) -> ResourceManagementClient:
    """A real ``ResourceManagementClient`` whose requests end in ``arm``; LROs poll without waiting."""
    return ResourceManagementClient(credential, SUBSCRIPTION_ID, transport=arm.transport,  # type: ignore[arg-type]
                                    polling_interval=0)


TRAFFIC = {"blue": 90, "green": 10}
MIRROR = {"green": 20}


def test_set_initial_traffic_reads_and_writes_the_endpoint(credential: FakeCredential) -> None:
    arm = Arm(online_endpoint())

    set_initial_traffic(arm_client(arm, credential), ENDPOINT_ID, TRAFFIC, MIRROR)

    assert [(r.method, r.path, r.query) for r in arm.requests] == [
        ("GET", ENDPOINT_ID, {"api-version": [API_VERSION]}),
        ("PUT", ENDPOINT_ID, {"api-version": [API_VERSION]}),
    ]
    assert [r.url for r in arm.requests] == [f"{ARM}{ENDPOINT_ID}?api-version={API_VERSION}"] * 2
    assert all(r.headers["Authorization"] == "Bearer t" for r in arm.requests)
    assert set(credential.scopes) == {("https://management.azure.com/.default",)}
    assert arm.requests[1].headers["Content-Type"] == "application/json"
    assert arm.requests[1].json() == {
        "location": "westeurope",
        "kind": "Managed",
        "sku": {"name": "Default", "tier": "Standard"},
        "tags": {"environment": "dev", "team": "fraud"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY_ID: {}}},
        "properties": {
            "authMode": "AADToken",
            "description": "fraud scoring",
            "publicNetworkAccess": "Disabled",
            "properties": {"azureml.team": "fraud"},
            "traffic": TRAFFIC,
            "mirrorTraffic": MIRROR,
        },
    }
    assert arm.transport.sleeps == []


def test_set_initial_traffic_waits_for_the_asynchronous_put(credential: FakeCredential) -> None:
    arm = Arm(online_endpoint(), asynchronous=True)

    set_initial_traffic(arm_client(arm, credential), ENDPOINT_ID, TRAFFIC, {})

    methods = [(r.method, r.url) for r in arm.requests]
    assert methods[:3] == [("GET", f"{ARM}{ENDPOINT_ID}?api-version={API_VERSION}"),
                           ("PUT", f"{ARM}{ENDPOINT_ID}?api-version={API_VERSION}"),
                           ("GET", Arm.OPERATION)]
    # After the operation succeeds, the poller reads the endpoint once more for its final state.
    assert methods[3:] == [("GET", f"{ARM}{ENDPOINT_ID}?api-version={API_VERSION}")]
    assert arm.requests[1].json()["properties"]["mirrorTraffic"] == {}
    assert arm.transport.sleeps == []


def test_set_initial_traffic_of_a_minimal_endpoint_sends_only_what_it_has(credential: FakeCredential) -> None:
    endpoint = online_endpoint(identity={"type": "SystemAssigned", "tenantId": TENANT_ID,
                                         "principalId": "3f1c2d4e-0000-4000-8000-000000000003"}, tags={})
    for key in ("kind", "sku"):
        endpoint.pop(key)
    arm = Arm(endpoint)

    set_initial_traffic(arm_client(arm, credential), ENDPOINT_ID, {"blue": 100}, {})

    body = arm.requests[1].json()
    assert set(body) == {"location", "identity", "properties"}
    assert body["identity"] == {"type": "SystemAssigned"}
    assert body["properties"]["traffic"] == {"blue": 100}


def traffic_props(**overrides: Any) -> dict[str, Any]:
    return {"endpoint_id": ENDPOINT_ID, "traffic": TRAFFIC, "mirror": MIRROR, **overrides}


def test_initial_traffic_create_sets_the_split_with_the_endpoint_subscription(
        credential: FakeCredential, monkeypatch: pytest.MonkeyPatch) -> None:
    arm = Arm(online_endpoint())
    subscriptions: list[str] = []

    def fake_client(subscription: str) -> ResourceManagementClient:
        subscriptions.append(subscription)
        return arm_client(arm, credential)

    monkeypatch.setattr(endpoint_traffic, "_client", fake_client)
    props = traffic_props(mirror=None)

    result = InitialTrafficProvider().create(props)

    assert result.id == f"{ENDPOINT_ID}/initialTraffic"
    assert result.outs == props
    assert subscriptions == [SUBSCRIPTION_ID]
    assert [r.method for r in arm.requests] == ["GET", "PUT"]
    assert arm.requests[1].json()["properties"]["traffic"] == TRAFFIC
    assert arm.requests[1].json()["properties"]["mirrorTraffic"] == {}


def test_initial_traffic_diff_leaves_a_changed_split_to_the_release() -> None:
    diff = InitialTrafficProvider().diff("id", traffic_props(), traffic_props(traffic={"blue": 0, "green": 100},
                                                                              mirror={}))

    assert (diff.changes, diff.replaces) == (False, [])


def test_initial_traffic_diff_replaces_for_a_new_endpoint() -> None:
    new_endpoint = ENDPOINT_ID.replace("ept-fraud-dev", "ept-fraud2-dev")

    diff = InitialTrafficProvider().diff("id", traffic_props(), traffic_props(endpoint_id=new_endpoint))

    assert (diff.changes, diff.replaces) == (True, ["endpoint_id"])


def test_initial_traffic_delete_makes_no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    clients: list[str] = []
    monkeypatch.setattr(endpoint_traffic, "_client", clients.append)

    InitialTrafficProvider().delete(f"{ENDPOINT_ID}/initialTraffic", traffic_props())

    assert clients == []


def test_set_initial_traffic_of_a_missing_endpoint_fails_without_writing(credential: FakeCredential) -> None:
    arm = Arm(online_endpoint())
    missing = ENDPOINT_ID.replace("ept-fraud-dev", "ept-missing")

    with pytest.raises(ResourceNotFoundError, match="NotFound"):
        set_initial_traffic(arm_client(arm, credential), missing, TRAFFIC, MIRROR)

    assert [(r.method, r.path) for r in arm.requests] == [("GET", missing)]


def test_files_whose_names_differ_only_in_case_are_listed_in_one_order(tmp_path: Path) -> None:
    """The hash sorts paths case-insensitively; the exact path breaks the tie, whatever order the disk lists."""
    first, second = tmp_path / "one", tmp_path / "two"
    for folder, names in ((first, ("score.py", "Score.py")), (second, ("Score.py", "score.py"))):
        folder.mkdir()
        for name in names:
            (folder / name).write_text(name, encoding="utf-8")
    assert [p.name for p in code_files(first)] == [p.name for p in code_files(second)] == ["Score.py", "score.py"]
    assert content_hash(first) == content_hash(second)
