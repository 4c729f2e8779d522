"""Start-up: ``import ccsim``, ``ccsim --version``, ``--help`` and ``validate`` load no
numerical library (issue 12, item 1), and the command modules import without a circle.

Each case runs in a fresh interpreter and reports ``sys.modules``: what a module import
costs is only visible the first time. No timing is asserted here; the figures are in
``benchmarks/commands.py``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
COMMANDS = ROOT / "ccsim" / "commands"

#: Libraries that take tenths of a second to import and that these commands do not need.
HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "dask", "distributed", "pyarrow", "simpy")

COMMAND_NAMES = ("validate", "run", "compare", "check", "report", "staff", "sweep", "theory")

PROBE = """
import json, sys
args = json.loads(sys.argv[1])
if args is None:
    import ccsim
else:
    from ccsim.cli import app
    try:
        app(args, prog_name="ccsim", standalone_mode=False)
    except SystemExit:
        pass
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def loaded_modules(args: list[str] | None) -> tuple[set[str], str]:
    """The modules a fresh interpreter holds after ``import ccsim`` (``args`` None) or
    after running the command line with ``args``, and what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed, _, modules = done.stdout.rpartition("\nMODULES ")
    return set(json.loads(modules)), printed


def heavy(modules: set[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def test_import_ccsim_loads_no_numerical_library() -> None:
    modules, _ = loaded_modules(None)
    assert heavy(modules) == []
    assert "scipy.stats" not in modules and "matplotlib" not in modules
    assert "pydantic" not in modules  # names are imported on first use (PEP 562)


@pytest.mark.parametrize("args", [["--version"], ["--help"]], ids=" ".join)
def test_version_and_help_load_no_numerical_library_nor_the_schema(args: list[str]) -> None:
    modules, printed = loaded_modules(args)
    assert heavy(modules) == []
    # ccsim.scenario builds its pydantic models on first use only
    assert "pydantic" not in modules and "ccsim.scenario.schema" not in modules
    if args == ["--help"]:  # every command registered, though none of them ran
        for command in COMMAND_NAMES:
            assert command in printed
    else:
        assert printed.startswith("ccsim ")


def test_validate_loads_the_schema_but_no_numerical_library() -> None:
    modules, printed = loaded_modules(["validate", str(RETAIL)])
    assert "valid scenario 'retail'" in " ".join(printed.split())
    assert heavy(modules) == []
    assert "pydantic" in modules and "yaml" in modules


def test_validate_of_a_scenario_with_expectations_loads_no_numerical_library(
    tmp_path: Path,
) -> None:
    """``expect:`` entries are checked at load with the metric names of
    :mod:`ccsim.metric_names`, not with :mod:`ccsim.results` (numpy, pandas, scipy)."""
    scenario = tmp_path / "expect.yaml"
    scenario.write_text(
        "name: gated\nduration: 1h\n"
        "directories:\n  queue:\n    arrivals: 30/h\n    handle_time: 4m\n"
        "agents:\n  team: {count: 3, directories: [queue]}\n"
        "expect:\n  - service_level >= 80%\n  - directories.queue.wait_p90 <= 1m\n"
    )
    modules, printed = loaded_modules(["validate", str(scenario)])
    assert "valid scenario 'gated'" in " ".join(printed.split())
    assert "ccsim.expect" in modules
    assert heavy(modules) == []


def test_metric_names_are_the_ones_results_computes() -> None:
    """Two lists of the same names (one light, one with the definitions) must agree."""
    from ccsim import metric_names, results

    for name in metric_names.__all__:
        assert getattr(metric_names, name) == getattr(results, name), name


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_command_modules_do_not_import_the_entry_point() -> None:
    """ccsim.cli imports the commands; they import ccsim.commands.common, which imports
    no command: no circle."""
    for path in sorted(COMMANDS.glob("*.py")):
        assert "ccsim.cli" not in _imported_modules(path), path.name
    common = _imported_modules(COMMANDS / "common.py")
    assert not [m for m in common if m.startswith("ccsim.commands")], common


@pytest.mark.parametrize(
    "module", sorted(p.stem for p in COMMANDS.glob("*.py") if p.stem != "__init__")
)
def test_each_command_module_imports_first_and_alone(module: str) -> None:
    """Imported first in a fresh interpreter (as a test or a plugin might), a command
    module needs no other to be half-imported before it."""
    done = subprocess.run(
        [sys.executable, "-c", f"import ccsim.commands.{module}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
