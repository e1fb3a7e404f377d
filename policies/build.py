"""Assemble each policy pack into a folder that runs and publishes on its own.

The packs share one rule library (``policies/lib``), and a published pack is installed alone: the Pulumi CLI copies
the pack folder (``pulumi policy publish`` archives it; Pulumi Cloud unpacks it on every machine that enforces it),
creates the virtualenv named in its ``PulumiPolicy.yaml`` and installs its ``requirements.txt``, and runs
``python -m pulumi.policy`` with the pack folder first on ``sys.path``. So each assembled pack carries what it needs::

    dist/policy-packs/security/
        PulumiPolicy.yaml        the source manifest (version, description, runtime python, virtualenv venv)
        requirements.txt         the pack's own requirements
        config/dev.json          the per-environment --policy-pack-config files
        config/prod.json
        __main__.py              generated: serves the pack
        mlops_policies/          the rule library and this pack's rules (a copy; relative imports inside)
        .gitignore               keeps venv/ and caches out of a published archive
        README.md                generated: how to run and publish this folder

Nothing in it refers to this repository. ``make packs`` (``python -m policies.build``) writes them to
``dist/policy-packs``; the offline gate assembles them into a temporary folder on every run and runs exactly that, and
a test copies each to an empty folder, installs only its ``requirements.txt`` into a fresh virtualenv and checks it
answers as in the gate. A pack source folder is ``policies/<pack>/``: ``PulumiPolicy.yaml``, ``requirements.txt``,
``config/``, and the rule modules with ``RULES`` in ``__init__.py``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from policies.lib.manifest import ManifestError, read_manifest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "policies"
DEFAULT_OUT = ROOT / "dist" / "policy-packs"
#: The package name the library and rules get inside an assembled pack (unique, so it shadows nothing installed).
PACKAGE = "mlops_policies"
#: Folders of ``policies/`` that are not packs: the shared library.
NOT_PACKS = ("lib",)
#: Modules of the library a running pack needs (the others serve the tools in this repository).
RUNTIME_MODULES = ("__init__.py", "conditions.py", "graph.py", "manifest.py", "pack.py", "props.py", "rules.py",
                   "servicer.py", "taggable.py", "types.py")
ENVIRONMENTS = ("dev", "prod")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "PulumiPolicy.yaml", "requirements.txt", "config")


class BuildError(Exception):
    """A pack source folder that cannot become a pack."""


def pack_folders(source: Path = SOURCE) -> list[str]:
    """Every pack source folder under ``source``: each sub-folder but the library, ``__pycache__`` and hidden ones
    (a folder that is not a valid pack is then refused when it is assembled, never skipped)."""
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and p.name not in (*NOT_PACKS, "__pycache__") and not p.name.startswith("."))


def check_source(folder: Path) -> None:
    """Refuse a pack source folder the gate could not run as it is published; raises :class:`BuildError` naming
    the file relative to the project (``policies/<pack>/...``)."""
    shown = f"{folder.parent.name}/{folder.name}"
    try:
        read_manifest(folder, f"{shown}/PulumiPolicy.yaml")
    except ManifestError as error:
        raise BuildError(str(error)) from None
    for needed in ("requirements.txt", "__init__.py", *(f"config/{env}.json" for env in ENVIRONMENTS)):
        if not (folder / needed).is_file():
            raise BuildError(f"{shown}/{needed}: missing; a pack folder needs PulumiPolicy.yaml, requirements.txt, "
                             "__init__.py (with RULES) and config/dev.json and config/prod.json")


def _main_py(pack: str) -> str:
    return (f'"""Serve the {pack} policy pack. Assembled by `python -m policies.build` from policies/{pack}; '
            'do not edit here."""\n\n'
            "from pathlib import Path\n\n"
            f"from {PACKAGE}.{pack} import RULES\n"
            f"from {PACKAGE}.lib.pack import serve\n\n"
            "serve(RULES, Path(__file__).resolve().parent)\n")


def _readme(pack: str, version: str) -> str:
    return (f"# Policy pack `mlops-{pack}` {version}\n\n"
            f"Assembled from `policies/{pack}` of mlops-platform by `python -m policies.build`. This folder is the "
            "whole pack: it needs nothing else from that repository.\n\n"
            "```sh\n"
            "python3 -m venv venv && venv/bin/pip install -r requirements.txt    # or: pulumi install\n"
            "pulumi preview --policy-pack <this folder> --policy-pack-config <this folder>/config/prod.json\n"
            "pulumi -C <this folder> policy publish <org>    # publishes PulumiPolicy.yaml's version\n"
            "```\n")


def build_pack(pack: str, out: Path, source: Path = SOURCE) -> Path:
    """Assemble ``source/pack`` into ``out/pack`` (replaced if present); return the folder."""
    folder = source / pack
    check_source(folder)
    target = out / pack
    if target.exists():
        shutil.rmtree(target)
    package = target / PACKAGE
    (package / "lib").mkdir(parents=True)
    (package / "__init__.py").write_text(f'"""The rule library and the rules of the mlops-{pack} policy pack."""\n')
    for module in RUNTIME_MODULES:
        shutil.copy2(source / "lib" / module, package / "lib" / module)
    shutil.copytree(folder, package / pack, ignore=_IGNORE)
    shutil.copytree(folder / "config", target / "config", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("PulumiPolicy.yaml", "requirements.txt"):
        shutil.copy2(folder / name, target / name)
    (target / "__main__.py").write_text(_main_py(pack))
    (target / ".gitignore").write_text("venv/\n.venv/\n__pycache__/\n*.pyc\n")
    (target / "README.md").write_text(_readme(pack, read_manifest(folder).version))
    return target


def build_all(out: Path = DEFAULT_OUT, packs: Sequence[str] | None = None, source: Path = SOURCE) -> list[Path]:
    """Assemble every pack (or ``packs``) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return [build_pack(pack, out, source) for pack in (packs if packs is not None else pack_folders(source))]


def create_virtualenv(pack_dir: Path, python: str = sys.executable) -> Path:
    """Create the virtualenv the pack's manifest names and install the pack's ``requirements.txt`` into it, as
    ``pulumi install`` does in a pack folder; return its interpreter. Needs the package index."""
    manifest = read_manifest(pack_dir)
    venv = pack_dir / (manifest.virtualenv or "venv")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    interpreter = venv / "bin" / "python"
    subprocess.run([str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                    str(pack_dir / "requirements.txt")], check=True)
    return interpreter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policies.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("packs", nargs="*", help="pack folders under policies/ (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to assemble (default: dist/policy-packs)")
    parser.add_argument("--venv", action="store_true",
                        help="also create each pack's virtualenv and install its requirements (needs the index)")
    args = parser.parse_args(argv)
    known = pack_folders()
    for pack in args.packs:
        if pack not in known:
            parser.error(f"{pack!r} is not a pack folder under policies/; packs: {', '.join(known)}")
    try:
        built = build_all(args.out, args.packs or None)
    except BuildError as error:
        print(f"policies.build: {error}", file=sys.stderr)
        return 2
    for folder in built:
        if args.venv:
            create_virtualenv(folder)
        print(f"assembled {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
