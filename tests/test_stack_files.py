"""Stack files are read strictly: what the Pulumi CLI and a YAML 1.1 reader would read differently, and hostile or
broken files, are refused before anything runs, with one line naming the file, line and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from preflight import stack_yaml
from preflight.stack_config import SECRET_PLACEHOLDER, StackConfigError, load_stack_config

HEADER = "config:\n  mlops-platform:region: westeurope\n"


def project(tmp_path: Path, stack_text: str | bytes) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    target = tmp_path / "Pulumi.dev.yaml"
    if isinstance(stack_text, bytes):
        target.write_bytes(stack_text)
    else:
        target.write_text(stack_text)
    return tmp_path


def refused(tmp_path: Path, stack_text: str | bytes) -> list[str]:
    with pytest.raises(StackConfigError) as caught:
        load_stack_config(project(tmp_path, stack_text), "dev")
    return str(caught.value).splitlines()


@pytest.mark.parametrize(("line", "expected"), [
    ("  mlops-platform:locks: yes\n",
     "Pulumi.dev.yaml:3: mlops-platform:locks: unquoted yes is a boolean to YAML 1.1 tools and a string to the Pulumi "
     'CLI; write true or false, or quote it ("yes") if it is a name'),
    ("  mlops-platform:teams: [{name: no}]\n",
     "Pulumi.dev.yaml:3: mlops-platform:teams[0].name: unquoted no is a boolean to YAML 1.1 tools and a string to the "
     'Pulumi CLI; write true or false, or quote it ("no") if it is a name'),
    ("  mlops-platform:instance_patch_date: 2026-11-02\n",
     "Pulumi.dev.yaml:3: mlops-platform:instance_patch_date: unquoted date '2026-11-02' is a date to YAML 1.1 tools "
     'and a string to the Pulumi CLI; quote it ("2026-11-02")'),
    ("  mlops-platform:teams: [{name: a, clusters: [{name: cpu, max_nodes: 010}]}]\n",
     "Pulumi.dev.yaml:3: mlops-platform:teams[0].clusters[0].max_nodes: unquoted '010' is octal to some YAML tools and "
     "decimal to others; quote it, or drop the leading zero"),
    ("  mlops-platform:teams: [{name: a, clusters: [{name: cpu, max_nodes: 1_000}]}]\n",
     "Pulumi.dev.yaml:3: mlops-platform:teams[0].clusters[0].max_nodes: unquoted '1_000' is a number to some YAML "
     "tools and a string to others; quote it, or write a plain decimal number"),
    ("  mlops-platform:teams: [{name: a, clusters: [{name: cpu, max_nodes: 1e3}]}]\n",
     "Pulumi.dev.yaml:3: mlops-platform:teams[0].clusters[0].max_nodes: unquoted '1e3' is a number to some YAML tools "
     "and a string to others; quote it, or write a plain decimal number"),
    ("  mlops-platform:flags: 0b101\n",
     "Pulumi.dev.yaml:3: mlops-platform:flags: unquoted '0b101' is a number to some YAML tools and a string to others; "
     "quote it, or write a plain decimal number"),
    ("  other:settings: {token: {secure: 'v1:abc'}, password: hunter2}\n",
     "Pulumi.dev.yaml: other:settings.password: looks like a secret but is set in plain text next to a secure value; "
     "set it with `pulumi config set --secret --path`"),
    ("  mlops-platform:stop_at: 19:00\n",
     "Pulumi.dev.yaml:3: mlops-platform:stop_at: unquoted '19:00' is a base-60 number to YAML 1.1 tools and a string "
     "to the Pulumi CLI; quote it"),
    ("  mlops-platform:stop_at: 07:30.5\n",
     "Pulumi.dev.yaml:3: mlops-platform:stop_at: unquoted '07:30.5' is a base-60 number to YAML 1.1 tools and a "
     "string to the Pulumi CLI; quote it"),
    ("  mlops-platform:region: northeurope\n",
     "Pulumi.dev.yaml:3: mlops-platform:region: the key 'mlops-platform:region' appears twice (lines 2 and 3); keep "
     "one"),
    ("  azure-native:clientSecret: {secure: 12}\n",
     "Pulumi.dev.yaml:3: azure-native:clientSecret: secure: is not a ciphertext written by `pulumi config set "
     "--secret` (base64 text); set the value again with that command"),
    ("  azure-native:clientSecret: {secure: 'v1:abc', note: x}\n",
     "Pulumi.dev.yaml:3: azure-native:clientSecret: a secure value must be the only key of its mapping (found also "
     "note); set it with `pulumi config set --secret`"),
    ("  mlops-platform:x: !!python/object:os.system ls\n",
     "Pulumi.dev.yaml:3: mlops-platform:x: the tag tag:yaml.org,2002:python/object:os.system is not supported in a "
     "Pulumi config file; remove it"),
    ("  base: &b {a: 1}\n  mlops-platform:tags: {<<: *b}\n",
     "Pulumi.dev.yaml:4: mlops-platform:tags.<<: merge keys (<<) are read differently by YAML 1.1 and 1.2 tools; "
     "write the keys out"),
])
def test_ambiguous_and_invalid_values_name_the_key_and_line(tmp_path: Path, line: str, expected: str) -> None:
    assert refused(tmp_path, HEADER + line) == [expected]


def test_top_level_values_reach_the_program_as_the_text_in_the_file(tmp_path: Path) -> None:
    """The CLI passes a top-level value as its text; only structured values are parsed (and passed as JSON)."""
    text = HEADER + "  mlops-platform:log_retention_days: 0x2D\n  mlops-platform:limits: {cap: .Inf, n: 0x10}\n"
    config = load_stack_config(project(tmp_path, text), "dev")
    assert config.values["mlops-platform:log_retention_days"] == "0x2D"  # the program refuses it, as under the CLI
    assert config.values["mlops-platform:limits"] == '{"cap": Infinity, "n": 16}'


def test_a_time_of_day_with_a_leading_zero_is_a_string_everywhere(tmp_path: Path) -> None:
    """YAML 1.1 base-60 integers start with 1-9: 07:30 is a string to every reader, 19:00 is not (above)."""
    config = load_stack_config(project(tmp_path, HEADER + "  mlops-platform:start_at: 07:30\n"), "dev")
    assert config.values["mlops-platform:start_at"] == "07:30"


def test_every_problem_is_listed_and_the_list_is_bounded(tmp_path: Path) -> None:
    lines = "".join(f"  mlops-platform:k{i}: yes\n" for i in range(30))
    found = refused(tmp_path, HEADER + lines)
    assert len(found) == stack_yaml.MAX_PROBLEMS + 1
    assert found[-1] == "... and 10 more problems"
    assert all(len(line) <= 300 for line in found)


def test_quoted_forms_are_read_as_the_cli_reads_them(tmp_path: Path) -> None:
    text = HEADER + (
        '  mlops-platform:instance_patch_date: "2026-11-02"\n'
        "  mlops-platform:locks: true\n"
        "  mlops-platform:log_retention_days: 45\n"
        "  mlops-platform:teams: [{name: 'no'}]\n"
        "  azure-native:clientSecret: {secure: v1:bm9uY2U=:Y2lwaGVy}\n"
    )
    config = load_stack_config(project(tmp_path, text), "dev")
    assert config.values["mlops-platform:instance_patch_date"] == "2026-11-02"
    assert config.values["mlops-platform:locks"] == "true"
    assert config.values["mlops-platform:log_retention_days"] == "45"
    assert config.values["mlops-platform:teams"] == '[{"name": "no"}]'
    assert config.values["azure-native:clientSecret"] == SECRET_PLACEHOLDER
    assert config.secret_keys == {"azure-native:clientSecret"}


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["config:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    found = refused(tmp_path, "\n".join(lines) + "\n")  # 10^12 values if expanded
    assert found == [f"Pulumi.dev.yaml:2: the document expands to more than {stack_yaml.MAX_VALUES:,} values through "
                     "aliases (an alias expansion bomb?); write the values out or use fewer aliases"]


def test_a_long_string_repeated_through_aliases_is_refused(tmp_path: Path) -> None:
    lines = ["config:", f"  pad: &a '{'x' * 200_000}'", f"  bomb: [{', '.join(['*a'] * 5_000)}]"]
    found = refused(tmp_path, "\n".join(lines) + "\n")  # 1 GB of text if expanded
    assert found == [f"Pulumi.dev.yaml:2: the document expands to more than "
                     f"{stack_yaml.MAX_EXPANDED_CHARS // (1024 * 1024)} MiB of text through aliases (an alias "
                     "expansion bomb?); write the values out or use fewer aliases"]


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, "config:\n  a: &x [1, *x]\n") == [
        "Pulumi.dev.yaml:2: a[1]: an alias refers to a node that contains it (a recursive alias)"]


def test_deep_nesting_is_refused_before_composing(tmp_path: Path) -> None:
    assert refused(tmp_path, "config:\n  a: " + "[" * 50_000 + "]" * 50_000 + "\n") == [
        f"Pulumi.dev.yaml:2: nested deeper than {stack_yaml.MAX_DEPTH} levels"]


def test_oversized_files_are_refused_unread(tmp_path: Path) -> None:
    text = HEADER + "  mlops-platform:padding: '" + "x" * stack_yaml.MAX_FILE_BYTES + "'\n"
    assert refused(tmp_path, text) == [
        f"Pulumi.dev.yaml: larger than {stack_yaml.MAX_FILE_BYTES // 1024} KiB; a Pulumi config file is far smaller "
        "(is this the right file?)"]


def test_non_utf8_files_are_refused_with_the_line(tmp_path: Path) -> None:
    assert refused(tmp_path, HEADER.encode() + b"  mlops-platform:prefix: caf\xe9\n") == [
        "Pulumi.dev.yaml:3: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_syntax_errors_and_several_documents_are_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, "config:\n  a: [1, 2\n") == [
        "Pulumi.dev.yaml:3: not valid YAML: expected ',' or ']', but got '<stream end>'"]
    assert refused(tmp_path, HEADER + "---\nconfig: {}\n") == [
        "Pulumi.dev.yaml: holds 2 YAML documents; a Pulumi config file holds one"]


def test_a_broken_project_file_is_refused_the_same_way(tmp_path: Path) -> None:
    project(tmp_path, HEADER)
    (tmp_path / "Pulumi.yaml").write_text("name: mlops-platform\nname: other\n")
    with pytest.raises(StackConfigError, match=r"^Pulumi.yaml:2: name: the key 'name' appears twice \(lines 1 and 2\)"):
        load_stack_config(tmp_path, "dev")


def test_the_committed_stacks_read_cleanly() -> None:
    for stack in ("dev", "prod"):
        assert load_stack_config(ROOT, stack).values["mlops-platform:region"] == "westeurope"


def test_the_project_refreshes_before_every_operation() -> None:
    """Endpoints ignore their live traffic split and deployments their instance count (the release and autoscale own
    them); azure-native updates with a full PUT of the state, so only a refreshed state keeps an update from undoing
    a release (docs/serving.md). The CLI's project schema: ``options.refresh`` is the constant "always"."""
    import yaml

    project_file = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project_file["options"] == {"refresh": "always"}
