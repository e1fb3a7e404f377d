"""Opt-in ``greenfield`` mode: drop the type aliases azure-native attaches to every resource.

Every azure-native resource class adds ``Alias(type_=...)`` entries for each older type token the same Azure resource
has had: one per API version (``azure-native:storage/v20190401:StorageAccount``) and, where a resource moved, its
former module or name (``azure-native:insights:DiagnosticSetting`` for ``azure-native:monitor:DiagnosticSetting``).
The engine uses them to find a resource in the stack's state when it was registered under one of those tokens. The
SDK computes every alias for every resource before registering it, which is most of a program's evaluation time (a
prod stack here carries 1,199 of them for 75 resources).

A stack whose state only ever held resources under the tokens this program uses today needs none of them. For such a
stack, :func:`strip_type_aliases` (a stack transformation, registered by :func:`enable`) removes exactly those
aliases: type-only aliases to another ``azure-native`` token, on ``azure-native`` resources. Aliases that name a
parent, a name, a stack, a project or a full URN (what a fork adds when it renames or moves a resource) are kept,
and so is everything on component and provider resources.

When it is safe is documented in docs/design.md ("Greenfield stacks"); the short version is: the stack was created by
this project (azure-native v3) and no resource was imported or migrated from an older azure-native or azure-nextgen
program.

A stack transformation (not the newer ``register_resource_transform``) is used on purpose: it runs inside the
resource constructor, before the SDK computes the aliases, so it removes their cost; a resource transform runs in the
engine after the SDK has already done that work.
"""

from __future__ import annotations

import copy
import re

import pulumi

#: A type token of the azure-native provider, optionally with an API version: ``azure-native:<module>[/v...]:<Type>``.
AZURE_NATIVE_TOKEN = re.compile(r"^azure-native:[A-Za-z0-9]+(/v[0-9a-z]+)?:[A-Za-z0-9]+$")


def is_type_alias(alias: object) -> bool:
    """True for ``Alias(type_=<azure-native token>)`` with nothing else set: what azure-native generates."""
    if not isinstance(alias, pulumi.Alias):
        return False
    only_type = all(getattr(alias, attr) is ... for attr in ("name", "parent", "stack", "project"))
    return only_type and isinstance(alias.type_, str) and bool(AZURE_NATIVE_TOKEN.match(alias.type_))


def strip_type_aliases(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Stack transformation: the resource's options without azure-native's generated type aliases."""
    aliases = args.opts.aliases
    if not aliases or not AZURE_NATIVE_TOKEN.match(args.type_):
        return None
    kept = [alias for alias in aliases if not is_type_alias(alias)]
    if len(kept) == len(aliases):
        return None
    opts = copy.copy(args.opts)
    opts.aliases = kept
    return pulumi.ResourceTransformationResult(args.props, opts)


def enable() -> None:
    """Apply :func:`strip_type_aliases` to every resource registered from now on in this stack."""
    pulumi.runtime.register_stack_transformation(strip_type_aliases)
