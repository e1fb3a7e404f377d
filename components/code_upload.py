"""``CodeUpload``: a folder of the repository uploaded to blob storage with Microsoft Entra ID, addressed by its hash.

Azure ML code assets point at a blob folder (``codeUri``) and are immutable. azure-native's ``storage.Blob`` cannot
write them here: it uploads with the account key (ARM ``listKeys``), and the platform's storage accounts refuse
shared-key authorization (``allowSharedKeyAccess: false``, pulumi/pulumi-azure-native#2015). This dynamic resource
uploads with the deploying identity's Entra token instead (``DefaultAzureCredential``: the pipeline's workload
identity, or ``az login`` on a workstation), which needs Storage Blob Data Contributor on the container (the
:class:`~components.serving.OnlineEndpoint` grants it) and a network path to the account (in prod: a deployment
agent that resolves the account's private endpoint; docs/serving.md).

The blob folder is ``<prefix>/<content hash>``: a changed file gives a new hash, so a new folder, a new code
version and a new deployment revision; an unchanged folder is never uploaded twice. A replaced upload leaves its
folder in place, as the code version that points at it stays in the workspace (``retain_on_delete``: code versions
are immutable and the CLI only archives them), so an older revision can still be redeployed; the folders go with the
endpoint's container when the endpoint is removed. :func:`content_hash` follows the
Azure ML SDK's own code hash in spirit (file count, then each relative path and size, then the contents, in sorted
path order) so that renames, moves and edits all change it; files that never belong in a code asset
(``IGNORED_PARTS``) are left out.

The provider is stored in the state by reference (``components.code_upload.CodeUploadProvider``, as dill pickles a
class of an importable module): the dynamic provider process, which the CLI starts in the project folder, imports it.
A fork that moves or renames this module must keep an alias there, or later updates of existing stacks cannot load
the provider (pulumi/pulumi#7453). The same holds for ``components.endpoint_traffic``.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider

#: Path parts never uploaded (caches, virtualenvs, VCS data).
IGNORED_PARTS = frozenset({"__pycache__", ".git", ".venv", ".pytest_cache", ".mypy_cache", ".ipynb_checkpoints"})
IGNORED_SUFFIXES = (".pyc", ".pyo")
#: Longest content hash prefix used in names and versions (collisions across one team's folders are negligible).
HASH_LENGTH = 16


#: The ignore file Azure ML reads in a folder it snapshots (learn.microsoft.com/azure/machine-learning/how-to-save-
#: write-experiment-files, "Storage limits of experiment snapshots": files listed in .amlignore are left out). The
#: subset honoured here: one glob per line (``fnmatch``), matched against the path relative to the folder and
#: against the file name; ``#`` comments; no negation.
IGNORE_FILE = ".amlignore"


def ignored_patterns(folder: Path) -> tuple[str, ...]:
    path = folder / IGNORE_FILE
    if not path.is_file():
        return ()
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line.rstrip("/") for line in lines if line and not line.startswith("#"))


def code_files(folder: Path) -> Iterator[Path]:
    """The files of ``folder`` that belong to a code asset, in a stable order."""
    patterns = ignored_patterns(folder)
    # Case-insensitive order, as the Azure ML SDK's hash sorts; the exact path breaks ties (Score.py, score.py), so
    # every machine lists the same files in the same order.
    for path in sorted(folder.rglob("*"), key=lambda p: (p.relative_to(folder).as_posix().lower(),
                                                         p.relative_to(folder).as_posix())):
        relative = path.relative_to(folder)
        if not path.is_file() or IGNORED_PARTS & set(relative.parts) or path.name.endswith(IGNORED_SUFFIXES):
            continue
        if any(fnmatch.fnmatchcase(relative.as_posix(), p) or fnmatch.fnmatchcase(path.name, p)
               or any(fnmatch.fnmatchcase(part, p) for part in relative.parts[:-1]) for p in patterns):
            continue
        yield path


def content_hash(folder: Path) -> str:
    """SHA-256 of the folder's code files: their number, then each relative path and size, then each content."""
    files = list(code_files(folder))
    digest = hashlib.sha256(str(len(files)).encode())
    for path in files:
        digest.update(f"#{path.relative_to(folder).as_posix()}#{path.stat().st_size}".encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _container(account: str, container: str) -> Any:
    # Imported here: only ``pulumi up`` runs the provider; the program and the offline preflight never need them.
    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import ContainerClient

    return ContainerClient(f"https://{account}.blob.core.windows.net", container, credential=DefaultAzureCredential())


def upload_folder(client: Any, folder: Path, prefix: str) -> list[str]:
    """Upload the code files of ``folder`` with ``client`` (a ``ContainerClient``) under ``prefix``; the blob names."""
    names = []
    for path in code_files(folder):
        name = f"{prefix}/{path.relative_to(folder).as_posix()}"
        with path.open("rb") as data:
            client.upload_blob(name, data, overwrite=True)
        names.append(name)
    return names


class CodeUploadProvider(ResourceProvider):
    """Uploads on create; any change of inputs replaces (a new folder); delete keeps the folder (see the module)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        folder = Path(props["source"])
        if not folder.is_absolute():
            folder = Path.cwd() / folder
        actual = content_hash(folder)
        if actual != props["hash"]:
            raise RuntimeError(f"{folder} changed while deploying (hash {actual[:12]}, planned {props['hash'][:12]}); "
                               "run pulumi up again")
        prefix = f"{props['prefix']}/{props['hash'][:HASH_LENGTH]}"
        upload_folder(_container(props["account"], props["container"]), folder, prefix)
        uri = f"https://{props['account']}.blob.core.windows.net/{props['container']}/{prefix}"
        return CreateResult(id_=uri, outs={**props, "uri": uri})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("account", "container", "prefix", "hash")
        changed = [key for key in keys if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Nothing to remove: the retained code version still points at the folder."""


class CodeUpload(Resource, module="mlops", name="CodeUpload"):
    """A repository folder in a blob container, at ``<prefix>/<hash>`` (output ``uri``)."""

    uri: pulumi.Output[str]

    def __init__(self, name: str, *, source: str, content_sha256: str, account: pulumi.Input[str],
                 container: pulumi.Input[str], prefix: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CodeUploadProvider(), name, {"source": source, "hash": content_sha256, "account": account,
                                                      "container": container, "prefix": prefix, "uri": None}, opts)
