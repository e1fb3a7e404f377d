"""Refresh the Azure REST API contract the preflight checks inputs against (``preflight/api_schema/contract.json``).

``python -m preflight.api_schema_refresh --repo <bicep-types-az>`` (a checkout, or a bare git directory) rebuilds the
file from two sources:

- **Azure/bicep-types-az** (MIT): the request-body types Azure compiles from azure-rest-api-specs, one ``types.json``
  per provider and API version. For every resource type the platform registers, the closure of types reachable from
  its ``ResourceType`` is copied (descriptions dropped) into one array, references renumbered.
- **The installed pulumi-azure-native SDK**: the API version each resource class uses ("Uses Azure REST API version
  ..." in its docstring) and its input types. azure-native flattens ``x-ms-client-flatten`` properties and renames a
  few (``x-ms-client-name``); its own metadata is not published, so the mapping from each SDK input (as the engine
  sees it, camelCase) to its place in the REST body is derived by aligning the SDK's input types with the bicep types:
  an exact wire name, then a name inside a flattened object (``properties``), with a table of the renames that cannot
  be inferred (checked against the specs' ``x-ms-client-name``). Inputs that are not in the body are the URL's path
  parameters. The derivation fails loudly on anything it cannot place.

Run it when pulumi-azure-native is upgraded (the preflight stops, exit 2, when the SDK's API version of a registered
type differs from the file's) or when the platform starts using a new resource type (add it to ``TARGETS``).
"""

from __future__ import annotations

import argparse
import collections.abc as cabc
import datetime as dt
import importlib
import inspect
import json
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pulumi._types as sdk_types

OUT = Path(__file__).resolve().parent / "api_schema"
#: azure-native type token -> ARM resource type (the API version comes from the installed SDK).
TARGETS: dict[str, str] = {
    "azure-native:resources:ResourceGroup": "Microsoft.Resources/resourceGroups",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
    "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts",
    "azure-native:storage:BlobServiceProperties": "Microsoft.Storage/storageAccounts/blobServices",
    "azure-native:keyvault:Vault": "Microsoft.KeyVault/vaults",
    "azure-native:containerregistry:Registry": "Microsoft.ContainerRegistry/registries",
    "azure-native:managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities",
    "azure-native:loadtestservice:LoadTest": "Microsoft.LoadTestService/loadTests",
    "azure-native:machinelearningservices:Workspace": "Microsoft.MachineLearningServices/workspaces",
    "azure-native:machinelearningservices:Compute": "Microsoft.MachineLearningServices/workspaces/computes",
    "azure-native:network:PrivateEndpoint": "Microsoft.Network/privateEndpoints",
    "azure-native:network:PrivateDnsZoneGroup": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "azure-native:monitor:ActionGroup": "Microsoft.Insights/actionGroups",
    "azure-native:monitor:MetricAlert": "Microsoft.Insights/metricAlerts",
    "azure-native:authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
    "azure-native:authorization:RoleDefinition": "Microsoft.Authorization/roleDefinitions",
    "azure-native:authorization:ManagementLockByScope": "Microsoft.Authorization/locks",
    "azure-native:monitor:DiagnosticSetting": "Microsoft.Insights/diagnosticSettings",
    "azure-native:storage:BlobContainer": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "azure-native:machinelearningservices:OnlineEndpoint":
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
    "azure-native:machinelearningservices:OnlineDeployment":
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
    "azure-native:machinelearningservices:CodeVersion": "Microsoft.MachineLearningServices/workspaces/codes/versions",
    "azure-native:machinelearningservices:EnvironmentVersion":
        "Microsoft.MachineLearningServices/workspaces/environments/versions",
    "azure-native:monitor:AutoscaleSetting": "Microsoft.Insights/autoscalesettings",
    "azure-native:monitor:ScheduledQueryRule": "Microsoft.Insights/scheduledQueryRules",
    "azure-native:monitor:ActivityLogAlert": "Microsoft.Insights/activityLogAlerts",
    "azure-native:applicationinsights:WebTest": "Microsoft.Insights/webtests",
    "azure-native:applicationinsights:Workbook": "Microsoft.Insights/workbooks",
}
#: ``x-ms-client-name`` renames that name matching cannot find: bicep object type -> SDK name -> wire name
#: (storage: StorageAccountPropertiesCreateParameters, Encryption, KeyVaultProperties, EncryptionIdentity, IPRule,
#: VirtualNetworkRule in the 2024-01-01 spec; container registry: IPRule).
RENAMES: dict[str, dict[str, str]] = {
    "StorageAccountPropertiesCreateParametersOrStorageAccountProperties": {
        "enableHttpsTrafficOnly": "supportsHttpsTrafficOnly", "networkRuleSet": "networkAcls",
        "enableNfsV3": "isNfsV3Enabled"},
    "Encryption": {"encryptionIdentity": "identity", "keyVaultProperties": "keyvaultproperties"},
    "KeyVaultProperties": {"keyName": "keyname", "keyVersion": "keyversion", "keyVaultUri": "keyvaulturi"},
    "EncryptionIdentity": {"encryptionUserAssignedIdentity": "userAssignedIdentity",
                           "encryptionFederatedIdentityClientId": "federatedIdentityClientId"},
    "IPRule": {"iPAddressOrRange": "value"},
    "VirtualNetworkRule": {"virtualNetworkResourceId": "id"},
    # authorization 2022-05-01-preview: RoleDefinitionProperties.type has x-ms-client-name roleType.
    "RoleDefinitionProperties": {"roleType": "type"},
    # applicationinsights 2022-06-15: WebTestProperties.Kind and .Name have x-ms-client-name WebTestKind, WebTestName.
    "WebTestProperties": {"webTestKind": "Kind"},
    "WebTestGeolocation": {"location": "Id"},
}
#: Inputs that are URL parameters although their names do not say so: asset versions are addressed as
#: ``.../codes/{name}/versions/{version}``, and the body's own ``name`` is the version's (read-only) name.
URL_PARAMETERS: dict[str, tuple[str, ...]] = {
    "azure-native:machinelearningservices:CodeVersion": ("name", "version"),
    "azure-native:machinelearningservices:EnvironmentVersion": ("name", "version"),
}
#: Inputs that are a URL parameter and a body property at once: WebTest's ``{webTestName}`` and its
#: ``properties.Name`` (x-ms-client-name WebTestName) share one SDK input, which the provider sends in both places.
URL_AND_BODY: dict[str, dict[str, list[str]]] = {
    "azure-native:applicationinsights:WebTest": {"webTestName": ["properties", "Name"]},
}
#: bicep-types property flags. SDK inputs absent from a resource's API version (v3 shares input types across a
#: module's resources, so a type can carry a property of a newer API version) are recorded as ``absent``.
_READ_ONLY, _REQUIRED = 2, 1


class RefreshError(Exception):
    pass


class Repo:
    """bicep-types-az: a checkout (with ``generated/``) or a bare git directory read with ``git show``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = not (root / "generated").is_dir()
        self.commit = self._git("rev-parse", "HEAD").strip()
        self.date = self._git("log", "-1", "--format=%cI", "HEAD").strip()
        self._files: list[str] | None = None

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True,
                              check=True).stdout

    def files(self) -> list[str]:
        if self._files is None:
            if self.bare:
                self._files = [f for f in self._git("ls-tree", "-r", "--name-only", "HEAD", "generated").split()
                               if f.endswith("/types.json")]
            else:
                found = (self.root / "generated").glob("*/*/*/types.json")
                self._files = [str(p.relative_to(self.root)) for p in found]
        return self._files

    def read(self, relative: str) -> list[dict[str, Any]]:
        text = self._git("show", f"HEAD:{relative}") if self.bare else (self.root / relative).read_text()
        return list(json.loads(text))

    def license(self) -> str:
        return self._git("show", "HEAD:LICENSE") if self.bare else (self.root / "LICENSE").read_text()


def sdk_class(token: str) -> tuple[type, type, str]:
    """The resource class, its args class and its API version for ``azure-native:<module>:<Type>``."""
    _, module, name = token.split(":")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    home = importlib.import_module(resource.__module__)
    args = getattr(home, f"{name}InitArgs", None) or getattr(home, f"{name}Args")
    found = re.search(r"Uses Azure REST API version (\S+?)\.", inspect.getsource(resource))
    if found is None:
        raise RefreshError(f"{token}: no API version in the SDK's docstring")
    return resource, args, found.group(1)


class Bundle:
    """Closures of several resources' types in one renumbered array."""

    def __init__(self) -> None:
        self.types: list[dict[str, Any]] = []
        self._index: dict[tuple[str, int], int] = {}

    def add(self, source: str, types: list[dict[str, Any]], index: int) -> int:
        key = (source, index)
        if key in self._index:
            return self._index[key]
        position = len(self.types)
        self._index[key] = position
        self.types.append({})
        node = json.loads(json.dumps(types[index]))
        node.pop("description", None)

        def ref(value: dict[str, Any]) -> dict[str, str]:
            return {"$ref": f"#/{self.add(source, types, int(value['$ref'][2:]))}"}

        kind = node["$type"]
        if kind == "ResourceType":
            node = {"$type": kind, "name": node["name"], "body": ref(node["body"])}
        elif kind == "ObjectType":
            for prop in node.get("properties", {}).values():
                prop.pop("description", None)
                prop["type"] = ref(prop["type"])
            if "additionalProperties" in node:
                node["additionalProperties"] = ref(node["additionalProperties"])
        elif kind == "DiscriminatedObjectType":
            for prop in node.get("baseProperties", {}).values():
                prop.pop("description", None)
                prop["type"] = ref(prop["type"])
            node["elements"] = {k: ref(v) for k, v in node["elements"].items()}
        elif kind == "ArrayType":
            node["itemType"] = ref(node["itemType"])
        elif kind == "UnionType":
            node["elements"] = [ref(e) for e in node["elements"]]
        self.types[position] = node
        return position

    def get(self, value: dict[str, str]) -> dict[str, Any]:
        return self.types[int(value["$ref"][2:])]


def find(repo: Repo, arm_type: str, version: str) -> tuple[str, list[dict[str, Any]], int]:
    namespace = arm_type.split("/", 1)[0].lower()
    wanted = f"{arm_type}@{version}".lower()
    for relative in sorted(f for f in repo.files() if f.split("/")[-3] == namespace and f.split("/")[-2] == version):
        types = repo.read(relative)
        for i, node in enumerate(types):
            if node.get("$type") == "ResourceType" and node["name"].lower() == wanted:
                return relative, types, i
    raise RefreshError(f"{arm_type}@{version}: not in bicep-types-az at {repo.commit}")


# -- aligning SDK inputs with the REST body ------------------------------------------------------------------------


def _shape(hint: Any) -> tuple[str, Any]:
    """('object', [classes]) | ('list', inner) | ('map', inner) | ('scalar', hint) for an unwrapped SDK type."""
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        classes = [a for a in members if inspect.isclass(a) and sdk_types.is_input_type(a)]
        if classes:
            return "object", classes
        for member in members:
            kind = _shape(member)
            if kind[0] in ("list", "map"):
                return kind
        return "scalar", hint
    if origin in (cabc.Sequence, list):
        return "list", typing.get_args(hint)[0]
    if origin in (cabc.Mapping, dict):
        return "map", typing.get_args(hint)[1]
    if inspect.isclass(hint) and sdk_types.is_input_type(hint):
        return "object", [hint]
    return "scalar", hint


class Aligner:
    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.problems: list[str] = []

    def _plain(self, node: dict[str, Any]) -> dict[str, Any]:
        """A union of exactly one object type stands for that type."""
        if node["$type"] == "UnionType":
            objects = [self.bundle.get(e) for e in node["elements"]
                       if self.bundle.get(e)["$type"] in ("ObjectType", "DiscriminatedObjectType")]
            if len(objects) == 1:
                return objects[0]
        return node

    def _properties(self, node: dict[str, Any], cls: type | None) -> tuple[dict[str, Any], str]:
        if node["$type"] == "ObjectType":
            return dict(node.get("properties", {})), node.get("name", "")
        if node["$type"] == "DiscriminatedObjectType":
            props = dict(node.get("baseProperties", {}))
            if cls is not None:
                key = self._element(node, cls)
                element = self.bundle.get(node["elements"][key])
                props.update(element.get("properties", {}))
                return props, element.get("name", "")
            return props, node.get("name", "")
        return {}, ""

    def _element(self, node: dict[str, Any], cls: type) -> str:
        for key, ref in node["elements"].items():
            if f"{self.bundle.get(ref).get('name')}Args" == cls.__name__ or f"{key}Args" == cls.__name__:
                return str(key)
        raise RefreshError(f"{cls.__name__}: no element of {node.get('name')} matches it")

    def _locate(self, props: dict[str, Any], owner: str, name: str, depth: int = 0) -> list[str] | None:
        renamed = RENAMES.get(owner, {}).get(name)
        if renamed in props:
            return [renamed]
        if name in props:
            return [name]
        normal = {re.sub(r"[^a-z0-9]", "", k.lower()): k for k in props}
        if re.sub(r"[^a-z0-9]", "", name.lower()) in normal:
            return [normal[re.sub(r"[^a-z0-9]", "", name.lower())]]
        if depth >= 3:
            return None
        for container, prop in props.items():
            inner = self._plain(self.bundle.get(prop["type"]))
            if inner["$type"] == "ObjectType" and not inner.get("additionalProperties") and inner.get("properties"):
                found = self._locate(inner["properties"], inner.get("name", ""), name, depth + 1)
                if found is not None:
                    return [container, *found]
        return None

    def align(self, cls: type, node: dict[str, Any], where: str, top: bool = False) -> dict[str, Any]:
        props, owner = self._properties(node, cls)
        mapping: dict[str, Any] = {}
        for name, hint in sdk_types.input_type_types(cls).items():
            if top and name in URL_PARAMETERS.get(where, ()):
                mapping[name] = {"path": True}
                continue
            if top and name in URL_AND_BODY.get(where, {}):
                mapping[name] = {"path": True, "wire": URL_AND_BODY[where][name]}
                continue
            path = self._locate(props, owner, name)
            entry: dict[str, Any] = {}
            if path is not None:
                target = props
                for step in path[:-1]:
                    target = self._plain(self.bundle.get(target[step]["type"]))["properties"]
                flags = target[path[-1]]["flags"]
                if top and len(path) > 1 and flags & _READ_ONLY and not flags & _REQUIRED:
                    path = None  # e.g. RoleAssignment.scope: the URL's {scope}, shadowing read-only properties.scope
            if path is None:
                if top and (name in ("scope", "resourceUri") or name.endswith(("Name", "Id"))):
                    mapping[name] = {"path": True}  # a URL parameter: {resourceGroupName}, {scope}, {<x>Name}
                elif top:
                    raise RefreshError(f"{where}: the input {name} is neither in the request body nor a URL "
                                       "parameter; add its x-ms-client-name rename to RENAMES")
                else:
                    mapping[name] = {"absent": True}  # not in this API version (a newer one's shared SDK type)
                continue
            entry["wire"] = path
            kind = self._plain(self.bundle.get(self._prop(props, path)["type"]))
            shape = _shape(hint)
            if shape[0] == "list" and kind["$type"] == "ObjectType" and kind.get("additionalProperties"):
                entry["stringSet"] = True
            elif shape[0] == "object":
                entry.update(self._object(shape[1], kind, f"{where}.{name}"))
            elif shape[0] in ("list", "map"):
                inner = _shape(shape[1])
                item = kind
                if kind["$type"] == "ArrayType":
                    item = self._plain(self.bundle.get(kind["itemType"]))
                elif kind["$type"] == "ObjectType" and kind.get("additionalProperties"):
                    item = self._plain(self.bundle.get(kind["additionalProperties"]))
                if inner[0] == "object":
                    entry["items"] = self._object(inner[1], item, f"{where}.{name}[]")
            mapping[name] = entry
        return mapping

    def _prop(self, props: dict[str, Any], path: list[str]) -> dict[str, Any]:
        for step in path[:-1]:
            props = self._plain(self.bundle.get(props[step]["type"]))["properties"]
        return dict(props[path[-1]])

    def _object(self, classes: list[type], node: dict[str, Any], where: str) -> dict[str, Any]:
        if len(classes) == 1 and node["$type"] != "DiscriminatedObjectType":
            return {"type": self.align(classes[0], node, where)}
        if node["$type"] != "DiscriminatedObjectType":
            return {"type": self.align(classes[0], node, where)}
        return {"union": {self._element(node, c): self.align(c, node, f"{where}<{c.__name__}>") for c in classes},
                "discriminator": node["discriminator"]}


def refresh(repo: Repo, out: Path = OUT) -> dict[str, Any]:
    bundle = Bundle()
    resources: dict[str, Any] = {}
    paths: set[str] = set()
    for token, arm_type in sorted(TARGETS.items()):
        _, args, version = sdk_class(token)
        relative, types, index = find(repo, arm_type, version)
        paths.add(relative)
        position = bundle.add(relative, types, index)
        body = bundle.get(bundle.types[position]["body"])
        aligner = Aligner(bundle)
        inputs = aligner.align(args, body, token, top=True)
        path_params = [name for name, entry in inputs.items() if entry.get("path")]
        # The input that names the resource: the last path parameter (the SDK lists the URL's parameters in order,
        # the resource's own name last), unless that is the scope of an extension resource (diagnostic settings take
        # their name from the body's ``name``).
        name_parameter = path_params[-1]
        if name_parameter in ("scope", "resourceUri"):
            name_parameter = next(n for n, entry in inputs.items() if entry.get("wire") == ["name"])
        resources[token] = {"armType": arm_type, "apiVersion": version, "resourceType": position,
                            "pathParameters": path_params, "nameParameter": name_parameter, "inputs": inputs}
    document = {
        "format": "mlops-platform/azure-api-contract/1",
        "source": {"repository": "https://github.com/Azure/bicep-types-az", "commit": repo.commit,
                   "date": repo.date, "license": "MIT", "files": sorted(paths),
                   "sdk": f"pulumi-azure-native {_sdk_version()}", "generated": dt.date.today().isoformat()},
        "resources": resources,
        "types": bundle.types,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "contract.json").write_text(json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n")
    (out / "LICENSE-bicep-types-az").write_text(repo.license())
    return document


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("pulumi_azure_native")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.api_schema_refresh",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True,
                        help="a copy of https://github.com/Azure/bicep-types-az (checkout or bare git directory)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        document = refresh(Repo(args.repo), args.out)
    except (RefreshError, subprocess.CalledProcessError) as error:
        print(f"api_schema_refresh: {error}", file=sys.stderr)
        return 2
    size = (args.out / "contract.json").stat().st_size
    print(f"wrote {args.out / 'contract.json'}: {len(document['resources'])} resource types, "
          f"{len(document['types'])} types, {size // 1024} KB, bicep-types-az {document['source']['commit'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
