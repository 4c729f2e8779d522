"""What ``ccsim schedule`` writes: the scenario with the plan's shifts (YAML that
``ccsim run`` and ``ccsim compare`` take as it is) and the chart of required against
scheduled agents. Both go through :mod:`ccsim.safe_write`: new files, or files that start
with the head ccsim writes for them (a user's file is never replaced).
"""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccsim import __version__
from ccsim.safe_write import FileKind

if TYPE_CHECKING:
    from ccsim.planning.schedule import SchedulePlan

_VERSION = rb"[0-9A-Za-z.+!_-]{1,64}"
#: The first line of every plan scenario ccsim writes (followed by the version).
PLAN_SIGNATURE = "# generator: ccsim"
_PLAN_TAIL = " (scenario with a shift plan of ccsim schedule)\n"
PLAN = FileKind(
    "plan",
    "a plan scenario",
    re.compile(
        re.escape(PLAN_SIGNATURE.encode()) + rb" " + _VERSION + re.escape(_PLAN_TAIL.encode())
    ),
    "plan.yaml",
)
_CHART_TAIL = " (chart of ccsim schedule)"
CHART = FileKind(
    "chart",
    "a schedule chart",
    re.compile(
        rb"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR[\s\S]{17}[\s\S]{4}tEXtSoftware\x00ccsim "
        + _VERSION
        + re.escape(_CHART_TAIL.encode())
    ),
    "plan.png",
)


def plan_head() -> str:
    return f"{PLAN_SIGNATURE} {__version__}{_PLAN_TAIL}"


def plan_scenario_data(plan: SchedulePlan, data: dict[str, Any]) -> dict[str, Any]:
    """The scenario mapping as written (``data``), with the group's staffing replaced by
    the plan's agents on duty."""
    from ccsim.planning.staffing import clock

    out = copy.deepcopy(data)
    agents = out.get("agents")
    if not isinstance(agents, dict) or not isinstance(agents.get(plan.group), dict):
        raise ValueError(f"the scenario has no agent group {plan.group!r} to write shifts into")
    spec = {k: v for k, v in agents[plan.group].items() if k not in ("count", "shifts")}
    spec["shifts"] = [{"from": clock(a), "to": clock(b), "count": c} for a, b, c in plan.steps]
    agents[plan.group] = spec
    return out


def plan_yaml(plan: SchedulePlan, data: dict[str, Any]) -> str:
    """The scenario with the plan, as YAML text: ccsim's head line, comments listing the
    shifts and what the simulation showed, then the scenario."""
    import yaml

    lines = [
        plan_head().rstrip("\n"),
        f"# {plan.group}: {sum(s.count for s in plan.shifts)} agents on "
        f"{len(plan.shifts)} shifts, cost {plan.cost:g}, targets {', '.join(plan.targets)}",
        "# shifts (template, start-end, agents):",
        *(
            f"#   {s.template} {plan.time(s.start)}-{plan.time(s.end)} x{s.count}"
            for s in plan.shifts
        ),
        f"# agents.{plan.group}.shifts below are the agents on duty (breaks taken out):",
        "# a group's shifts may not overlap, so the plan's shifts are added up",
        f"# every interval meets the targets: {'yes' if plan.meets else 'NO'} "
        f"(seed {plan.seed}, {plan.replications} replications)",
    ]
    body = yaml.safe_dump(
        plan_scenario_data(plan, data),
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=None,
    )
    return "\n".join(lines) + "\n" + body


def check_plan_text(text: str, path: Path, allow_outside_data: bool) -> None:
    """Load the text to write as a scenario from where it will lie (relative data files
    must still be found): raises :class:`ccsim.scenario.ScenarioError` if it is not one."""
    from ccsim.scenario.load import parse_yaml, scenario_from_dict

    data = parse_yaml(text, str(path))
    scenario_from_dict(
        data,
        base_dir=path.absolute().parent,
        source=str(path),
        allow_outside_data=allow_outside_data,
    )


def chart_png(plan: SchedulePlan) -> bytes:
    """Required agents as a line, scheduled agents as bars (green where the plan gives at
    least the requirement, red below it), and the final service levels per interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = plan.intervals
    x = list(range(len(rows)))
    labels = [plan.label(r.start, r.end) for r in rows]
    scheduled = [r.scheduled for r in rows]
    required = [r.required for r in rows]
    # under the requirement: red; exactly on it: green; above it: amber
    shades = {"under": "#c62828", "met": "#2e7d32", "over": "#f9a825"}
    kinds = [
        "under" if s < q - 1e-9 else ("met" if s <= q + 1e-9 else "over")
        for s, q in zip(scheduled, required, strict=True)
    ]
    metrics = sorted({c.path for r in rows for c in r.checks})
    panels = 2 if metrics else 1
    fig, axes = plt.subplots(
        panels, 1, figsize=(max(7.0, 0.5 * len(rows) + 3), 3.4 * panels), sharex=True, squeeze=False
    )
    top = axes[0][0]
    for kind, shade in shades.items():
        xs = [k for k in x if kinds[k] == kind]
        if xs:
            top.bar(
                xs,
                [scheduled[k] for k in xs],
                color=shade,
                alpha=0.85,
                label=f"scheduled, {kind if kind != 'met' else 'as required'}",
            )
    top.step(x, required, where="mid", color="black", linewidth=2, label="required")
    if plan.searched_available:
        top.step(
            x,
            [r.searched for r in rows],
            where="mid",
            color="black",
            linestyle=":",
            linewidth=1,
            label="required before repairs",
        )
    if plan.max_at_once is not None:
        top.axhline(
            plan.max_at_once, color="grey", linestyle="--", linewidth=1, label="max at once"
        )
    top.set_ylabel("agents on duty")
    top.set_title(f"{plan.scenario}: {plan.group}, cost {plan.cost:g}")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    if metrics:
        low = axes[1][0]
        for path in metrics:
            means, errors, xs = [], [[], []], []
            for k, r in enumerate(rows):
                check = next((c for c in r.checks if c.path == path), None)
                if check is None:
                    continue
                e = check.estimate
                xs.append(k)
                means.append(e.mean)
                errors[0].append(max(0.0, e.mean - e.ci_low) if e.ci_low == e.ci_low else 0.0)
                errors[1].append(max(0.0, e.ci_high - e.mean) if e.ci_high == e.ci_high else 0.0)
            low.errorbar(xs, means, yerr=errors, fmt="o-", capsize=3, label=path.split(".", 1)[-1])
        for value in {c.threshold for r in rows for c in r.checks}:
            low.axhline(value, color="grey", linestyle="--", linewidth=1, label="target")
        low.set_ylabel("final plan (95% CI)" if plan.confidence == 0.95 else "final plan")
        low.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    bottom = axes[-1][0]
    bottom.set_xticks(x)
    bottom.set_xticklabels(labels, rotation=45, ha="right", fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": f"ccsim {__version__}{_CHART_TAIL}"})
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["CHART", "PLAN", "chart_png", "check_plan_text", "plan_scenario_data", "plan_yaml"]
