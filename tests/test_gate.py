"""The gate fails closed: whenever something could not be checked, ``python -m preflight`` exits 2 naming the cause,
within its time limit, and leaves no pack process behind. Each case is a small project with one fault."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, TODAY, Run

#: A program that registers one Azure resource and nothing else (fast to evaluate).
ONE_RESOURCE = (
    "from pulumi_azure_native import resources\n\n"
    "resources.ResourceGroup('rg', resource_group_name='rg-gate', location='westeurope', tags={'team': 'gate'})\n"
)
#: A program whose resource waits for an input that never resolves.
NEVER_RESOLVES = (
    "import asyncio\n\nimport pulumi\nfrom pulumi_azure_native import resources\n\n"
    "loop = asyncio.get_event_loop()\nknown = loop.create_future()\nknown.set_result(True)\n"
    "resources.ResourceGroup('rg', resource_group_name=pulumi.Output(set(), loop.create_future(), known), "
    "location='westeurope')\n"
)
RG = "azure-native:resources:ResourceGroup"
RG_URN = f"urn:pulumi:dev::mlops-platform::{RG}::rg"


def rule_pack(body: str, *, before: str = "") -> dict[str, str]:
    """Files of a pack source folder with one rule on resource groups whose check is ``body``."""
    init = (
        "import time\n\n"
        "from ..lib.rules import RuleSet\n\n"
        f"{before}"
        "RULES = RuleSet('mlops-faulty')\n\n\n"
        "@RULES.resource('faulty-rg-check', types=['azure-native:resources:ResourceGroup'], "
        "description='A rule for the gate tests.', severity='high', remediation='Nothing to remediate here.', "
        "url='https://example.com')\n"
        "def check(r, cfg):\n"
        f"    {body}\n"
        "    yield from ()\n"
    )
    return {
        "PulumiPolicy.yaml": "version: 1.0.0\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n",
        "requirements.txt": "pulumi-policy>=1.21,<1.22\n",
        "__init__.py": init,
        "config/dev.json": '{"all": "mandatory"}\n',
        "config/prod.json": '{"all": "mandatory"}\n',
    }


def project(tmp_path: Path, *, program: str = ONE_RESOURCE, pack: dict[str, str | None] | None = None) -> Path:
    """A project with ``program`` and, under policies/, the rule library and one pack (the real security pack unless
    ``pack`` gives the files of another; a ``None`` content leaves a file out)."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  mlops-platform:region: westeurope\n")
    (tmp_path / "__main__.py").write_text(program)
    policies = tmp_path / "policies"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "policies" / "lib", policies / "lib", ignore=ignore)
    shutil.copy(ROOT / "policies" / "__init__.py", policies / "__init__.py")
    if pack is None:
        shutil.copytree(ROOT / "policies" / "security", policies / "security", ignore=ignore)
    else:
        for name, text in pack.items():
            if text is not None:
                (policies / "faulty" / name).parent.mkdir(parents=True, exist_ok=True)
                (policies / "faulty" / name).write_text(text)
    return tmp_path


def gate(directory: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """The gate as its own process (for the cases that hang, or end the process)."""
    return subprocess.run([sys.executable, "-m", "preflight", "dev", "--dir", str(directory), "--as-of",
                           TODAY.isoformat(), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def in_gate(preflight: Callable[..., Run], directory: Path, *args: str) -> Run:
    """The gate in this process: the same ``main`` as the command line, imports already warm."""
    return preflight("dev", "--dir", str(directory), *args)


def assert_fails_closed(result: subprocess.CompletedProcess[str] | Run, message: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "PASSED" not in result.stdout


def test_the_one_resource_project_passes_with_a_healthy_pack(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    """The baseline the fault cases differ from: the same project and gate exit 0."""
    result = in_gate(preflight, project(tmp_path, pack=rule_pack("pass")))
    assert result.returncode == 0, result.stderr
    assert "PASSED: no mandatory violation" in result.stdout


# -- packs that cannot be run -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"PulumiPolicy.yaml": None},
     "policy pack faulty: policies/faulty/PulumiPolicy.yaml: missing; every pack folder needs a PulumiPolicy.yaml"),
    ({"PulumiPolicy.yaml": "runtime: python\n"},
     "policy pack faulty: policies/faulty/PulumiPolicy.yaml: version None is not a semantic version such as 1.2.0"),
    ({"PulumiPolicy.yaml": "version: 1.0.0\nruntime: nodejs\n"},
     "policy pack faulty: policies/faulty/PulumiPolicy.yaml: runtime is 'nodejs'; these packs need runtime python"),
    ({"config/dev.json": None},
     "policy pack faulty: policies/faulty/config/dev.json: missing; a pack folder needs PulumiPolicy.yaml"),
    ({"requirements.txt": None}, "policy pack faulty: policies/faulty/requirements.txt: missing"),
])
def test_a_pack_folder_that_is_not_a_valid_pack_stops_the_gate(tmp_path: Path, change: dict[str, str | None],
                                                               message: str, preflight: Callable[..., Run]) -> None:
    assert_fails_closed(in_gate(preflight, project(tmp_path, pack={**rule_pack("pass"), **change})), message)


@pytest.mark.parametrize(("content", "message"), [
    ('{"all": "mandatry"}', "Value 'mandatry' for 'all' is not a valid enforcement level"),
    ("{not json", "not valid JSON"),
    ("  \n", 'is empty; an environment config sets the enforcement levels, at least {"all": "mandatory"}'),
    ('{"faulty-rg-chekc": "advisory"}', "no policy named 'faulty-rg-chekc' in this pack"),
])
def test_an_invalid_environment_config_stops_the_gate(tmp_path: Path, content: str, message: str,
                                                      preflight: Callable[..., Run]) -> None:
    result = in_gate(preflight, project(tmp_path, pack={**rule_pack("pass"), "config/dev.json": content}))
    assert_fails_closed(result, f"policy pack faulty: policies/faulty/config/dev.json: {message}")


def test_an_unreadable_environment_config_stops_the_gate(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    directory = project(tmp_path, pack=rule_pack("pass"))
    (directory / "policies" / "faulty" / "config" / "dev.json").write_bytes(b'{"all": "mandatory \xff"}')
    assert_fails_closed(in_gate(preflight, directory), "policy pack faulty: cannot read its config for dev, "
                                         "policies/faulty/config/dev.json: 'utf-8' codec can't decode byte 0xff")


def test_a_pack_that_prints_before_its_port_stops_the_gate(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    pack = rule_pack("pass", before="print('starting up...')\n\n")
    assert_fails_closed(in_gate(preflight, project(tmp_path, pack=pack)),
                        "policy pack faulty: printed 'starting up...' before its port")


def test_a_pack_that_never_answers_stops_the_gate_in_time(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    # Prints a port nobody listens on, then waits forever.
    pack = rule_pack("pass", before="print(1, flush=True)\ntime.sleep(3600)\n\n")
    assert_fails_closed(in_gate(preflight, project(tmp_path, pack=pack), "--pack-timeout", "2"),
                        "policy pack faulty: printed port 1 but did not answer within 2 s")


def test_a_pack_that_crashes_at_start_stops_the_gate(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    pack = rule_pack("pass", before="raise ImportError('a module the pack needs is not installed')\n\n")
    assert_fails_closed(in_gate(preflight, project(tmp_path, pack=pack)),
                        "policy pack faulty: did not start: ImportError: a module the pack needs is not installed")


def test_a_rule_that_raises_is_named_with_the_resource(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    result = in_gate(preflight, project(tmp_path, pack=rule_pack("raise RuntimeError('boom')")))
    assert_fails_closed(result, f"policy pack faulty: Analyze of {RG_URN} failed: policy faulty-rg-check raised "
                                f"RuntimeError: boom (resource {RG_URN})")


def test_a_rule_that_hangs_is_named_with_the_resource(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    result = in_gate(preflight, project(tmp_path, pack=rule_pack("time.sleep(3600)")), "--rule-timeout", "1")
    assert_fails_closed(result, f"policy pack faulty: policy faulty-rg-check did not finish within 1 s on {RG_URN}")


def test_a_call_that_never_returns_is_bounded(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    """A pack without this repository's watchdog (or a rule stuck where it cannot see) is bounded per call."""
    result = in_gate(preflight, project(tmp_path, pack=rule_pack("time.sleep(3600)")), "--rule-timeout", "600",
                     "--call-timeout", "2")
    assert_fails_closed(result, f"policy pack faulty: no answer to Analyze of {RG_URN} within 2 s")


# -- programs that did not complete -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("program", "message"), [
    ("import sys\n\nsys.exit(0)\n",
     "preflight: stack dev: the program exited early at __main__.py:3 (sys.exit(0)); a program must return normally"),
    (ONE_RESOURCE + "import pulumi\n\npulumi.log.error('the teams file could not be read')\n",
     "preflight: stack dev: the program logged 1 error(s) through pulumi.log.error, which fails `pulumi up`: the "
     "teams file could not be read"),
    ("import pulumi\n\npulumi.export('nothing', 1)\n",
     "preflight: stack dev: the program registered no resources; there is nothing to check"),
    (ONE_RESOURCE + "import sys\n\nimport pulumi\n\npulumi.Output.from_input('x').apply(lambda _: sys.exit(0))\n",
     "preflight: stack dev: the program exited early"),
    ("while True:\n    pass\n", "preflight: stack dev: the program did not finish within 2 s"),
    (NEVER_RESOLVES, "preflight: stack dev: the program did not finish within 2 s"),
])
def test_a_program_that_did_not_complete_stops_the_gate(tmp_path: Path, program: str, message: str) -> None:
    assert_fails_closed(gate(project(tmp_path, program=program), "--program-timeout", "2"), message)


def test_a_partial_run_never_passes(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    """--pack picks packs for a quick look; a run that left a pack out cannot pass the gate."""
    directory = project(tmp_path, pack=rule_pack("pass"))
    shutil.copytree(ROOT / "policies" / "governance", directory / "policies" / "governance",
                    ignore=shutil.ignore_patterns("__pycache__"))
    result = in_gate(preflight, directory, "--pack", "faulty")
    assert result.returncode == 2
    assert "NOT CHECKED: governance left out (--pack)" in result.stdout
    assert in_gate(preflight, directory).returncode == 0


def test_a_rule_may_print_as_much_as_it_likes(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    """The pack's stdout is drained after its port, as the CLI does: a chatty rule is not a hanging one."""
    result = in_gate(preflight, project(tmp_path, pack=rule_pack("print('x' * 300_000)")), "--rule-timeout", "20")
    assert result.returncode == 0, result.stderr


# -- interrupts -------------------------------------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_no_pack_is_left_behind_when_the_gate_is_stopped(tmp_path: Path, how: signal.Signals) -> None:
    directory = project(tmp_path, program="while True:\n    pass\n")
    gate_process = subprocess.Popen(
        [sys.executable, "-m", "preflight", "dev", "--dir", str(directory), "--as-of", TODAY.isoformat()],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    try:
        assert _wait(lambda: _children(gate_process.pid), 30), "the pack never started"
        packs = _children(gate_process.pid)
        os.kill(gate_process.pid, how)
        _, stderr = gate_process.communicate(timeout=30)
        assert gate_process.returncode != 0
        if how != signal.SIGKILL:
            assert gate_process.returncode == 2
            assert f"preflight: interrupted ({how.name}); the packs are stopped and there is no verdict" in stderr
        assert _wait(lambda: not any(_alive(p) for p in packs), 10), "a pack outlived the gate"
    finally:
        gate_process.kill()
        gate_process.wait()


def test_an_interrupt_while_a_pack_starts_is_answered_at_once(tmp_path: Path) -> None:
    """A pack that never answers holds its start for --pack-timeout; an interrupt stops it without waiting."""
    pack = rule_pack("pass", before="print(1, flush=True)\ntime.sleep(3600)\n\n")
    directory = project(tmp_path, pack=pack, program="while True:\n    pass\n")
    gate_process = subprocess.Popen(
        [sys.executable, "-m", "preflight", "dev", "--dir", str(directory), "--as-of", TODAY.isoformat(),
         "--pack-timeout", "300"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    try:
        assert _wait(lambda: _children(gate_process.pid), 30), "the pack never started"
        os.kill(gate_process.pid, signal.SIGTERM)
        _, stderr = gate_process.communicate(timeout=20)  # not 300 s
        assert gate_process.returncode == 2
        assert "preflight: interrupted (SIGTERM)" in stderr
    finally:
        gate_process.kill()
        gate_process.wait()


def test_the_environment_of_a_dev_or_prod_stack_comes_from_its_name() -> None:
    from preflight.run import environment_of
    from preflight.stack_config import StackConfig

    def config(stack: str, environment: str | None) -> StackConfig:
        values = {"mlops-platform:environment": environment} if environment else {}
        return StackConfig("mlops-platform", stack, values, frozenset(), ROOT / f"Pulumi.{stack}.yaml")

    assert environment_of(config("prod", "dev")) == "prod"  # a key cannot pick dev's (advisory) levels for prod
    assert environment_of(config("prod-weu", None)) == "prod"
    assert environment_of(config("sandbox", "prod")) == "prod"
