"""The preflight report in each output format: terminal summary, Markdown (pull-request comment), SARIF 2.1.0
(code scanning), JUnit XML (pipeline test tabs) and JSON (machines; also the ``--baseline`` input).

Every renderer takes a :class:`preflight.report.Report` and returns text; none reads anything else, so a report
loaded from JSON renders exactly like the run that produced it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from preflight.analysis import PolicyMeta
from preflight.api_contract import CHECKS as CONTRACT
from preflight.report import Finding, Report, ResourceEntry

TOOL = "mlops-preflight"
TOOL_URI = "https://github.com/mlops-platform/mlops-platform/blob/main/docs/preflight.md"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: GitHub rejects comments over 65,536 characters; Azure DevOps allows 150,000. Stay under both.
MARKDOWN_LIMIT = 60_000
#: Components drawn in the Markdown diagram before the rest are summarized (mermaid stays readable).
DIAGRAM_LIMIT = 40
_SEVERITY_SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "": "0.0"}
_SEVERITIES = ("critical", "high", "medium", "low", "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _verdict(report: Report) -> str:
    if not report.packs:
        return "NOT CHECKED: no policy pack ran (exit 2: this run cannot pass the gate)"
    blocking = report.blocking
    if not blocking and report.skipped_packs:
        return (f"NOT CHECKED: {', '.join(report.skipped_packs)} left out (--pack); no mandatory violation in the "
                "packs that ran, but a partial run cannot pass the gate (exit 2)")
    if not blocking:
        return "PASSED: no mandatory violation" + (" (none new)" if report.comparison else "")
    kind = "new mandatory" if report.comparison else "mandatory"
    return f"BLOCKED: {_plural(len(blocking), kind + ' violation')}"


def _headline(report: Report) -> str:
    packs = [p for p in report.packs if p.name != CONTRACT]
    contract = " and the Azure REST API contract" if len(packs) < len(report.packs) else ""
    return (f"{len(report.azure_resources)} cloud resources in {len(report.components)} components; "
            f"{len(packs)} packs, {sum(len(p.policies) for p in packs)} policies{contract}")


def _where(report: Report, finding: Finding) -> str:
    resource = report.by_urn.get(finding.urn)
    return resource.label if resource else "stack"


def _said(report: Report, finding: Finding) -> str:
    """What the rule reported, without repeating the resource label a stack rule starts its message with."""
    text = finding.message or finding.description
    resource = report.by_urn.get(finding.urn)
    if resource and text.startswith(resource.label):
        text = text[len(resource.label):].lstrip(" :")
    return text


def _rows(report: Report) -> list[tuple[str, str, int, int]]:
    """(pack, severity, mandatory, advisory) for every pack and severity with findings."""
    counts = report.counts()
    rows = []
    for pack in report.packs:
        for severity in _SEVERITIES:
            mandatory = counts[(pack.name, severity, "mandatory")] + counts[(pack.name, severity, "remediate")]
            advisory = counts[(pack.name, severity, "advisory")]
            if mandatory or advisory:
                rows.append((pack.name, severity or "-", mandatory, advisory))
    return rows


# -- terminal --------------------------------------------------------------------------------------------------------


def _unknowns_line(report: Report) -> str:
    if report.unknowns == "none":
        return "every resource evaluated as deployed (ids known)"
    what = "as on the first `pulumi preview` of this stack" if report.unknowns == "all" else "added since the baseline"
    return (f"{report.new_resources} resources {what} evaluated as new: ids and computed outputs unknown, as the "
            "preview sends them to the packs")


def terminal(report: Report, *, tree: bool = False, limit: int = 50) -> str:
    out = [f"Preflight {report.project}/{report.stack} ({report.environment}): {_headline(report)}",
           f"  evaluated offline in {report.timings.total_seconds:.1f} s (program "
           f"{report.timings.program_seconds:.1f} s, policies {report.timings.policy_seconds:.1f} s); "
           "no cloud account, no Pulumi CLI"]
    if report.unknowns:
        out.append(f"  {_unknowns_line(report)}")
    if tree:
        out += ["", *tree_lines(report)]
    if report.comparison:
        c = report.comparison
        out += ["", f"Against baseline {c.baseline}: {len(c.added)} added, {len(c.removed)} removed, "
                    f"{len(c.changed)} changed resources; {_plural(len(c.fixed), 'finding')} fixed"]
        out += [f"  + {urn}" for urn in c.added[:limit]]
        out += [f"  - {urn}" for urn in c.removed[:limit]]
        out += [f"  ~ {ch.urn}: {', '.join(ch.keys)}" for ch in c.changed[:limit]]
    rows = _rows(report)
    if rows:
        width = max(len(r[0]) for r in rows)
        out += ["", f"{'pack':<{width}}  {'severity':<9} {'mandatory':>9} {'advisory':>9}"]
        out += [f"{p:<{width}}  {s:<9} {m:>9} {a:>9}" for p, s, m, a in rows]
    groups = [("MANDATORY", [f for f in report.findings if f.level in ("mandatory", "remediate")
                             and not f.could_not_run]),
              ("ADVISORY", [f for f in report.findings if f.level == "advisory" and not f.could_not_run]),
              ("COULD NOT RUN", [f for f in report.findings if f.could_not_run])]
    for title, found in groups:
        if not found:
            continue
        out += ["", f"{title} ({len(found)})"]
        for f in found[:limit]:
            state = f" [{f.state}]" if f.state else ""
            out.append(f"  {'x' if f.blocking else '!'} {f.policy} ({f.severity}){state} {_where(report, f)}: "
                       f"{_said(report, f)}")
        if len(found) > limit:
            out.append(f"  ... and {len(found) - limit} more (see the JSON or SARIF report)")
    out += ["", _verdict(report)]
    return "\n".join(out)


def tree_lines(report: Report) -> list[str]:
    """Components with their Azure resource counts, Azure resources below them."""
    children: dict[str, list[ResourceEntry]] = {}
    for r in report.resources:
        children.setdefault(r.parent, []).append(r)
    counts = _descendants(report)
    urns = {r.urn for r in report.resources}
    lines: list[str] = []

    def walk(r: ResourceEntry, indent: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        if r.custom:
            replace_on = ",".join(path.rsplit(".", 1)[-1] for path in r.replace_on_changes)
            flags = [f for f, on in (("protect", r.protect), ("retain", r.retain_on_delete),
                                     (f"replace-on:{replace_on}", bool(replace_on))) if on]
            label = f"{r.type}  {r.name}" + (f"  ({r.azure_name})" if r.azure_name else "")
            label += f"  [{', '.join(flags)}]" if flags else ""
        else:
            label = f"{r.type}  {r.name}  — {_plural(counts.get(r.urn, 0), 'resource')}"
        lines.append(f"{indent}{branch}{label}")
        kids = sorted(children.get(r.urn, []), key=lambda k: (not k.custom, k.type, k.name))
        child_indent = indent if top else indent + ("   " if last else "│  ")
        for i, kid in enumerate(kids):
            walk(kid, child_indent, i == len(kids) - 1, False)

    for root in [r for r in report.resources if r.parent not in urns]:
        walk(root, "", True, True)
    types = counts_by_type(report)
    width = max((len(t) for t in types), default=10)
    lines += ["", "Resources by type:", *(f"  {t:<{width}}  {n:>4}" for t, n in sorted(types.items())),
              f"  {'total':<{width}}  {len(report.resources):>4}"]
    return lines


def _descendants(report: Report) -> dict[str, int]:
    """Component URN -> number of Azure resources below it (registration order puts parents first)."""
    counts: dict[str, int] = {}
    parents = {r.urn: r.parent for r in report.resources}
    for r in report.resources:
        if r.custom:
            parent = r.parent
            while parent in parents:
                counts[parent] = counts.get(parent, 0) + 1
                parent = parents[parent]
    return counts


# -- Markdown --------------------------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _md_findings(report: Report, found: list[Finding]) -> list[str]:
    """Findings grouped by policy: the rule and its fix once, then one line per resource."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in found:
        groups.setdefault((f.pack, f.policy), []).append(f)
    lines = []
    for (pack, policy), items in groups.items():
        meta = report.policy(pack, policy)
        head = f"- **{policy}** ({items[0].severity})"
        if meta and meta.remediation:
            head += f": {_md(meta.remediation)}" + (f" ([docs]({meta.url}))" if meta.url else "")
        lines.append(head)
        for f in items:
            resource = report.by_urn.get(f.urn)
            where = f"`{resource.label}`" if resource else "the stack"
            source = f" · `{resource.source}`" if resource and resource.source else ""
            state = f" **{f.state}**" if f.state else ""
            lines.append(f"  -{state} {where}: {_md(_said(report, f))}{source}")
    return lines


def markdown(report: Report) -> str:
    icon = ":x:" if report.blocking else ":white_check_mark:"
    out = [f"## {icon} Preflight `{report.project}/{report.stack}`: {_verdict(report)}", "",
           f"{_headline(report)}. Evaluated offline in {report.timings.total_seconds:.1f} s "
           "(no cloud account, no Pulumi CLI)."]
    if report.comparison:
        c = report.comparison
        new = sum(1 for f in report.findings if f.state == "new")
        out += ["", f"Against the baseline (`{c.baseline}`): resources added **{len(c.added)}**, "
                    f"removed **{len(c.removed)}**, changed **{len(c.changed)}**; findings new **{new}**, "
                    f"fixed **{len(c.fixed)}**."]
    rows = _rows(report)
    if rows:
        out += ["", "| pack | severity | mandatory | advisory |", "|---|---|---:|---:|"]
        out += [f"| {p} | {s} | {m} | {a} |" for p, s, m, a in rows]
    else:
        out += ["", "No policy violations." if report.packs else "Policies were not run."]
    mandatory = [f for f in report.findings if f.level in ("mandatory", "remediate") and not f.could_not_run]
    advisory = [f for f in report.findings if f.level == "advisory" and not f.could_not_run]
    unknown = [f for f in report.findings if f.could_not_run]
    if mandatory:
        out += ["", f"### Mandatory ({len(mandatory)})", "", *_md_findings(report, mandatory)]
    for title, found in (("Advisory", advisory), ("Could not run (values unknown before deployment)", unknown)):
        if found:
            out += ["", f"<details><summary><b>{title} ({len(found)})</b></summary>", "",
                    *_md_findings(report, found), "", "</details>"]
    if report.comparison:
        out += _md_changes(report)
    out += ["", "### Architecture", "", "```mermaid", *mermaid(report), "```"]
    text = "\n".join(out) + "\n"
    if len(text) > MARKDOWN_LIMIT:
        cut = text[:MARKDOWN_LIMIT].rsplit("\n", 1)[0]
        text = (cut + "\n\n_The comment was shortened to fit a pull-request comment; the full list is in the "
                "JSON and SARIF reports._\n")
    return text


def _md_changes(report: Report) -> list[str]:
    c = report.comparison
    assert c is not None
    out = []
    for title, items in (("Added", [f"- `{u}`" for u in c.added]), ("Removed", [f"- `{u}`" for u in c.removed]),
                         ("Changed", [f"- `{ch.urn}`: {', '.join(f'`{k}`' for k in ch.keys)}" for ch in c.changed]),
                         ("Fixed findings", [f"- **{f.policy}** on `{f.urn or 'the stack'}`" for f in c.fixed])):
        if items:
            out += ["", f"<details><summary><b>{title} ({len(items)})</b></summary>", "", *items, "", "</details>"]
    return out


def mermaid(report: Report) -> list[str]:
    """A flowchart of the component tree: one node per component with its Azure resource count (the first
    ``DIAGRAM_LIMIT`` components; the rest summarized in one node)."""
    components = report.components
    counts = _descendants(report)
    shown = components[:DIAGRAM_LIMIT]
    ids = {c.urn: f"c{i}" for i, c in enumerate(shown)}
    lines = ["flowchart LR"]
    for c in shown:
        kind = c.type.rsplit(":", 1)[-1]
        text = f"{kind}: {c.name}".replace('"', "#quot;")
        lines.append(f'  {ids[c.urn]}["{text}<br/>{_plural(counts.get(c.urn, 0), "resource")}"]')
    lines += [f"  {ids[c.parent]} --> {ids[c.urn]}" for c in shown if c.parent in ids]
    hidden = len(components) - len(shown)
    if hidden:
        lines.append(f'  more["… {_plural(hidden, "more component")}"]')
        root = next((ids[c.urn] for c in shown if c.parent not in ids), None)
        if root:
            lines.append(f"  {root} -.-> more")
    return lines


# -- SARIF -----------------------------------------------------------------------------------------------------------


def _rule(meta: PolicyMeta, pack: str) -> dict[str, object]:
    rule: dict[str, object] = {
        "id": meta.name,
        "name": "".join(part.capitalize() for part in meta.name.split("-")),
        "shortDescription": {"text": meta.description},
        "fullDescription": {"text": meta.description},
        "defaultConfiguration": {"level": _level(meta.level), "enabled": meta.level != "disabled"},
        "properties": {"pack": pack, "severity": meta.severity, "enforcementLevel": meta.level,
                       "security-severity": _SEVERITY_SCORE.get(meta.severity, "0.0"),
                       "tags": [pack, *meta.tags, *([meta.framework] if meta.framework else [])]},
    }
    if meta.remediation:
        rule["help"] = {"text": meta.remediation,
                        "markdown": meta.remediation + (f"\n\n[Documentation]({meta.url})" if meta.url else "")}
    if meta.url:
        rule["helpUri"] = meta.url
    return rule


def _level(enforcement: str) -> str:
    return {"mandatory": "error", "remediate": "error", "advisory": "warning"}.get(enforcement, "none")


def _path_line(location: str) -> tuple[str, int]:
    path, _, line = location.rpartition(":")
    return (path, int(line)) if line.isdigit() else (location, 1)


def _physical(uri: str, line: int) -> dict[str, object]:
    return {"artifactLocation": {"uri": Path(uri).as_posix(), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(1, line)}}


def _logical(resource: ResourceEntry) -> list[dict[str, str]]:
    return [{"fullyQualifiedName": resource.urn, "name": resource.name, "kind": "resource"}]


def sarif(report: Report, project_dir: Path | None = None) -> str:
    rules: list[dict[str, object]] = []
    index: dict[str, int] = {}
    for pack in report.packs:
        for meta in pack.policies:
            index[meta.name] = len(rules)
            rules.append(_rule(meta, pack.name))
    results = []
    for f in report.findings:
        resource = report.by_urn.get(f.urn)
        locations: list[dict[str, object]] = []
        related: list[dict[str, object]] = []
        team_line = report.team_lines.get(resource.team) if resource and resource.team else None
        if resource and resource.source:
            locations.append({"physicalLocation": _physical(*_path_line(resource.source)),
                              "logicalLocations": _logical(resource)})
            if team_line:
                related.append({"id": 1, "physicalLocation": _physical(report.stack_file, team_line),
                                "message": {"text": f"team {resource.team} in the stack configuration"}})
        else:
            location: dict[str, object] = {"physicalLocation": _physical(report.stack_file, team_line or 1)}
            if resource:
                location["logicalLocations"] = _logical(resource)
            locations.append(location)
        where = resource.label if resource else f"stack {report.stack}"
        result: dict[str, object] = {
            "ruleId": f.policy,
            "level": "note" if f.could_not_run else _level(f.level),
            "kind": "review" if f.could_not_run else "fail",
            "message": {"text": f"{where}: {_said(report, f)}"},
            "locations": locations,
            "partialFingerprints": {"mlopsPreflight/v1": f.fingerprint},
            "properties": {"pack": f.pack, "enforcementLevel": f.level, "severity": f.severity,
                           "urn": f.urn, "blocking": f.blocking},
        }
        if f.policy in index:
            result["ruleIndex"] = index[f.policy]
        if related:
            result["relatedLocations"] = related
        if f.state:
            result["baselineState"] = "new" if f.state == "new" else "unchanged"
        results.append(result)
    if report.comparison:
        for f in report.comparison.fixed:
            results.append({
                "ruleId": f.policy, "level": _level(f.level), "kind": "fail", "baselineState": "absent",
                "message": {"text": f"fixed since the baseline: {f.message or f.description}"},
                "locations": [{"physicalLocation": _physical(report.stack_file, 1)}],
                "partialFingerprints": {"mlopsPreflight/v1": f.fingerprint},
            })
    run: dict[str, object] = {
        "tool": {"driver": {"name": TOOL, "informationUri": TOOL_URI, "rules": rules,
                            "properties": {"packs": [{"name": p.name, "version": p.version,
                                                      "config": p.config_file} for p in report.packs]}}},
        "automationDetails": {"id": f"preflight/{report.project}/{report.stack}/"},
        "invocations": [{"executionSuccessful": True, "exitCode": report.exit_code,
                         "properties": {"verdict": _verdict(report)}}],
        "results": results,
        "properties": {"project": report.project, "stack": report.stack, "environment": report.environment,
                       "resources": len(report.azure_resources)},
    }
    if project_dir is not None:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": project_dir.resolve().as_uri() + "/"}}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=1)


# -- JUnit -----------------------------------------------------------------------------------------------------------


def _applies(meta: PolicyMeta, resource: ResourceEntry) -> bool:
    types = meta.resource_types
    return bool(types) and ("*" in types or resource.type in types)  # type: ignore[operator]


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _attr(value: object) -> str:
    return quoteattr(_XML_INVALID.sub("", str(value)))


def junit(report: Report) -> str:
    """One test suite per pack; one test case per rule and resource it applies to (stack rules: per resource they
    reported, or one case for the stack). Violations are failures (type = enforcement level); rules that could not
    run are skipped. Written as text: tens of thousands of cases at platform scale."""
    by_rule: dict[tuple[str, str], dict[str, list[Finding]]] = {}
    for f in report.findings:
        by_rule.setdefault((f.pack, f.policy), {}).setdefault(f.urn, []).append(f)
    azure = report.azure_resources
    by_type: dict[str, list[ResourceEntry]] = {}
    for r in azure:
        by_type.setdefault(r.type, []).append(r)
    suites: list[str] = []
    total = failed = skipped = 0
    for pack in report.packs:
        body: list[str] = []
        tests = failures = skips = 0
        for meta in pack.policies:
            if meta.level == "disabled":
                continue
            found = by_rule.get((pack.name, meta.name), {})
            cases: list[tuple[str, str]]
            if meta.stack or meta.resource_types is None:
                cases = [(urn, report.by_urn[urn].label if urn in report.by_urn else "stack") for urn in found]
                cases = cases or [("", "stack")]
            else:
                applies = azure if "*" in meta.resource_types else [
                    r for t in meta.resource_types for r in by_type.get(t, [])]
                cases = [(r.urn, r.label) for r in applies]
                cases += [(urn, "stack") for urn in found if urn not in report.by_urn]
            classname = _attr(f"{pack.name}.{meta.name}")
            for urn, label in cases:
                tests += 1
                head = f'    <testcase classname={classname} name={_attr(label)} time="0"'
                problems = found.get(urn, [])
                ran = [p for p in problems if not p.could_not_run]
                if ran:
                    failures += 1
                    text = "\n".join(p.message or p.description for p in ran)
                    detail = f"{text}\n\nResource: {urn or 'stack'}\nFix: {meta.remediation}\nDocs: {meta.url}"
                    summary = f"[{ran[0].level}, {ran[0].severity}] {text.splitlines()[0]}"
                    body.append(f"{head}>\n      <failure type={_attr(ran[0].level)} message={_attr(summary)}>"
                                f"{escape(_XML_INVALID.sub('', detail))}</failure>\n    </testcase>")
                elif problems:
                    skips += 1
                    body.append(f"{head}>\n      <skipped message={_attr(problems[0].message)} />\n    </testcase>")
                else:
                    body.append(f"{head} />")
        suites.append(f'  <testsuite name={_attr(pack.name)} tests="{tests}" failures="{failures}" errors="0" '
                      f'skipped="{skips}" time="{pack.analysis_seconds:.3f}">\n' + "\n".join(body)
                      + "\n  </testsuite>")
        total, failed, skipped = total + tests, failed + failures, skipped + skips
    name = _attr(f"preflight {report.project}/{report.stack}")
    head = (f"<?xml version='1.0' encoding='utf-8'?>\n<testsuites name={name}"
            f' tests="{total}" failures="{failed}" errors="0" skipped="{skipped}"'
            f' time="{report.timings.total_seconds:.3f}">')
    return "\n".join([head, *suites, "</testsuites>"]) + "\n"


# -- all formats -----------------------------------------------------------------------------------------------------

#: Format name -> (file name under --output, renderer).
FORMATS: dict[str, tuple[str, Callable[[Report, Path], str]]] = {
    "terminal": ("preflight.txt", lambda r, _: terminal(r) + "\n"),
    "markdown": ("preflight.md", lambda r, _: markdown(r)),
    "sarif": ("preflight.sarif", lambda r, d: sarif(r, d)),
    "junit": ("preflight.junit.xml", lambda r, _: junit(r)),
    "json": ("preflight.json", lambda r, _: r.to_json() + "\n"),
}


def counts_by_type(report: Report) -> Counter[str]:
    return Counter(r.type for r in report.resources)
