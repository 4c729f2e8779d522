"""The notebooks run top to bottom (on small settings), are committed without outputs, and
the notebook API they lean on (``Scenario.with_changes``) behaves."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import ccsim
from ccsim.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("quickstart", "transfer_policy")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert "CCSIM_NOTEBOOK_SMALL" in code[0].source
    assert "parameters" in code[0].metadata.get("tags", [])


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCSIM_NOTEBOOK_SMALL", "1")  # the kernel inherits it
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 4  # the charts show themselves
    streams = "".join(out.get("text", "") for out in outputs if out.get("name") == "stderr")
    assert "Traceback" not in streams


def test_with_changes_returns_a_new_validated_scenario() -> None:
    base = ccsim.load_scenario(ROOT / "scenarios" / "transfer_warm.yaml")
    changed = base.with_changes(
        {
            "agents.support_team.count": 7,
            "transfers.0.leave": "immediately",
            "transfers.0.confirm": 0,
        }
    )
    assert changed.agents["support_team"].count == 7
    assert changed.transfers[0].leave == "immediately"
    assert base.agents["support_team"].count == 5 and base.transfers[0].leave == "on_connect"
    assert changed.directories == base.directories
    again = base.with_changes(["duration=2h", "agents.sales_team.count=9"])
    assert again.duration == 7200 and again.agents["sales_team"].count == 9


def test_with_changes_names_the_path_that_does_not_fit() -> None:
    base = ccsim.load_scenario(ROOT / "scenarios" / "transfer_warm.yaml")
    with pytest.raises(ScenarioError) as error:
        base.with_changes({"agents.support_team.count": -1})
    assert any("agents.support_team.count" in p for p in error.value.problems)
    with pytest.raises(ScenarioError) as error:
        base.with_changes({"transfers.3.probability": 0.5})
    assert any("transfers.3" in p for p in error.value.problems)
