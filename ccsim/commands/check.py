"""``ccsim check SCENARIO --expect 'handoff_gap_p95 <= 30s'``: gate CI on metrics.

Exit codes: 0 every expectation holds, 1 at least one fails (each listed with its value
and interval), 2 bad input (invalid scenario, expectation syntax, unknown metric with a
did-you-mean, unknown directory or group). ``--junit FILE`` writes a JUnit XML report,
one test case per expectation, that CI systems (GitLab, Jenkins, GitHub test reporters)
display next to the build. The file is checked before the run and replaces only a JUnit
file ccsim wrote (see :mod:`ccsim.safe_write`); names are made XML-safe.
"""

from __future__ import annotations

import datetime
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ccsim.commands.common import (
    AllowOutsideOption,
    ConfidenceOption,
    ReplicationsOption,
    SeedOption,
    SetOption,
    WorkersOption,
    app,
    fail,
    output_or_exit,
    stderr,
    stdout,
)
from ccsim.commands.compare import read_side
from ccsim.expect import Expectation, ExpectationError, Verdict, evaluate_all, parse_expectation
from ccsim.safe_write import JUNIT, check_file_output, junit_document_head, write_file

#: Characters XML 1.0 forbids even escaped: C0 controls but tab, newline and carriage
#: return; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with each character XML 1.0 cannot hold written as ``\\xNN`` (or
    ``\\uNNNN``), so a control character in a name keeps the report parseable."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


def junit_report(
    verdicts: Sequence[Verdict],
    suite: str,
    properties: dict[str, str],
    runtime_s: float,
) -> ET.ElementTree:
    """A JUnit XML document: one ``testcase`` per expectation, a ``failure`` for each that
    does not hold (message: value, interval and why)."""
    failures = sum(not v.holds for v in verdicts)
    counts = {"tests": str(len(verdicts)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", {"name": "ccsim check", **counts, "time": f"{runtime_s:.3f}"})
    testsuite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": xml_safe(suite),
            **counts,
            "skipped": "0",
            "time": f"{runtime_s:.3f}",
            "timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": xml_safe(socket.gethostname()),
        },
    )
    props = ET.SubElement(testsuite, "properties")
    for name, value in properties.items():
        ET.SubElement(props, "property", {"name": xml_safe(name), "value": xml_safe(value)})
    for verdict in verdicts:
        case = ET.SubElement(
            testsuite,
            "testcase",
            {
                "classname": xml_safe(f"ccsim.check.{suite}"),
                "name": xml_safe(verdict.expectation.text),
                "time": "0",
            },
        )
        message = xml_safe(verdict.message)
        if verdict.holds:
            ET.SubElement(case, "system-out").text = message
        else:
            failure = ET.SubElement(
                case, "failure", {"message": message, "type": "ExpectationFailed"}
            )
            failure.text = message
    ET.indent(root)
    return ET.ElementTree(root)


def junit_text(report: ET.ElementTree) -> str:
    """The document as ccsim writes it: declaration, ccsim's signature comment, root."""
    body = ET.tostring(report.getroot(), encoding="unicode")
    return f"{junit_document_head()}{body}\n"


def parse_or_exit(texts: Sequence[str]) -> list[Expectation]:
    """Parse every ``--expect``; on any error list them all and exit 2."""
    parsed, problems = [], []
    for text in texts:
        try:
            parsed.append(parse_expectation(text))
        except ExpectationError as error:
            problems.append(str(error))
    if problems:
        stderr.print("[bold red]error:[/] bad --expect:", highlight=False)
        for problem in problems:
            stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2)
    return parsed


def print_verdicts(verdicts: Sequence[Verdict]) -> None:
    """One ``PASS``/``FAIL`` line per expectation, with its value and interval."""
    for verdict in verdicts:
        mark = ("PASS", "green") if verdict.holds else ("FAIL", "bold red")
        stdout.print(Text.assemble(mark, " ", verdict.message), soft_wrap=True)


@app.command("check")
def check_command(
    scenario: Annotated[
        Path,
        typer.Argument(
            help="Scenario YAML file, or a results folder written by ccsim run --out.",
            show_default=False,
        ),
    ],
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            "-e",
            help="METRIC OP NUMBER, e.g. 'handoff_gap_p95 <= 30s' (repeatable; added to "
            "the scenario's expect: list).",
        ),
    ] = None,
    whole_interval: Annotated[
        bool,
        typer.Option(
            "--whole-interval",
            help="Hold only if the whole confidence interval (see --confidence) satisfies "
            "the expectation, not only the mean.",
        ),
    ] = False,
    confidence: ConfidenceOption = 0.95,
    junit: Annotated[
        Path | None, typer.Option(help="Write a JUnit XML report to this file.")
    ] = None,
    replications: ReplicationsOption = None,
    seed: SeedOption = None,
    set_: SetOption = None,
    workers: WorkersOption = None,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Run a scenario and check expectations on its metrics; exit 1 if one fails."""
    from ccsim.api import Results, simulate  # pandas and scipy: only when a check runs

    if junit is not None:
        with output_or_exit("--junit", junit):
            check_file_output(junit, JUNIT, inputs=[scenario])
    side = read_side(scenario, set_, allow_outside_data)
    if isinstance(side, Results) and (replications is not None or seed is not None or set_):
        fail(f"{scenario} is a results folder: -n, --seed and --set apply to scenario files")
    loaded = side.scenario if isinstance(side, Results) else side
    from_file = [parse_expectation(text) for text in loaded.expect]  # validated at load
    expectations = from_file + parse_or_exit(expect or [])
    if not expectations:
        fail("nothing to check: give --expect 'METRIC OP NUMBER' or list them under expect:")
    problems = []
    for expectation in expectations:
        try:
            expectation.check_names(loaded.directories, loaded.agents)
        except ExpectationError as error:
            problems.append(str(error))
    if problems:
        fail("; ".join(problems) if len(problems) == 1 else "\n  - " + "\n  - ".join(problems))
    results = (
        side
        if isinstance(side, Results)
        else simulate(
            loaded,
            replications=replications,
            seed=seed,
            workers=workers,
            record_events=False,
            keep_records=False,
        )
    )
    from ccsim.confidence import level_text, results_summary

    summary = results_summary(results, confidence)
    verdicts = evaluate_all(summary, expectations, whole_interval, confidence)
    whole = f", whole {level_text(confidence)} interval must hold" if whole_interval else ""
    stdout.print(
        f"{loaded.name}: {results.replications} replication"
        f"{'s' if results.replications != 1 else ''}, seed {results.seed}{whole}",
        highlight=False,
        soft_wrap=True,
    )
    print_verdicts(verdicts)
    failed = sum(not v.holds for v in verdicts)
    if junit is not None:
        report = junit_report(
            verdicts,
            loaded.name,
            {
                "scenario": str(scenario),
                "seed": str(results.seed),
                "replications": str(results.replications),
                "confidence": f"{confidence:g}",
                "whole_interval": str(whole_interval).lower(),
            },
            results.runtime_s,
        )
        with output_or_exit("--junit", junit):
            write_file(junit, junit_text(report), JUNIT, inputs=[scenario])
    if failed:
        stdout.print(f"{failed} of {len(verdicts)} expectations failed", highlight=False)
        raise typer.Exit(1)
    held = (
        "the expectation holds" if len(verdicts) == 1 else f"all {len(verdicts)} expectations hold"
    )
    stdout.print(held, highlight=False)
