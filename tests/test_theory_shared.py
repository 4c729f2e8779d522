"""``ccsim theory`` on directories whose agents also serve other directories: a pooled
guide when the directories form one pool, otherwise a clear "does not apply" with
bounds, never a made-up share of a shared group; and ``--confidence`` on ``ccsim run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ccsim
from ccsim.cli import app
from ccsim.theory import erlang_a
from ccsim.validation import queue_theory

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "scenarios" / "shared_fraud.yaml"
runner = CliRunner()


def test_partly_shared_agents_give_bounds_not_a_guide() -> None:
    theory = queue_theory(ccsim.load_scenario(SHARED))
    for name in ("support", "fraud"):
        assert theory[name].model is None
        assert "agents are shared" in theory[name].note
        assert "group generalists also serves" in theory[name].note
    low, high = theory["support"].bounds
    assert 0 < low < high < 1  # 16 dedicated slots, 26 with the generalists'
    assert theory["fraud"].bounds[0] == 0.0  # no slot of its own


def test_fully_shared_agents_are_one_pooled_erlang_queue() -> None:
    scenario = ccsim.load_scenario(SHARED, ["agents.support_team.count=0"])
    theory = queue_theory(scenario)
    support, fraud = theory["support"], theory["fraud"]
    assert support.pooled_with == ("fraud",) and fraud.pooled_with == ("support",)
    assert "pooled with fraud" in support.label
    assert support.servers == fraud.servers == 10  # 5 generalists x 2 chats, not a share
    # The pool: 180/h, holding and patience weighted by the arrival rates (wrap-up 0,
    # mean response time 4s added to each holding time).
    rate = 180 / 3600
    holding = (160 * (8 * 60 + 4) + 20 * (15 * 60 + 4)) / 180
    patience = (160 * 6 * 60 + 20 * 10 * 60) / 180
    pool = erlang_a(rate, 1 / holding, 10, 1 / patience)
    assert support.service_level(60) == pytest.approx(pool.service_level(60))
    assert fraud.service_level(60) == pytest.approx(pool.service_level(60))
    assert support.arrival_rate == pytest.approx(160 / 3600)  # its own, for comparison


def test_theory_command_says_when_theory_does_not_apply() -> None:
    result = runner.invoke(app, ["theory", str(SHARED), "-n", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "fraud: theory does not apply: agents are shared" in text
    assert "only the slots dedicated to it" in text
    assert "M/M/" not in text.split("fraud: shared agents")[1].split("\n")[0]


def test_run_confidence_sets_the_level_of_every_interval() -> None:
    args = ["run", str(SHARED), "-n", "4", "--workers", "1", "--quiet", "--set", "duration=1h"]
    wide = json.loads(runner.invoke(app, [*args, "--json", "--confidence", "0.99"]).stdout)
    usual = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert (wide["confidence"], usual["confidence"]) == (0.99, 0.95)
    low99, high99 = (
        wide["metrics"]["service_level"]["ci_low"],
        wide["metrics"]["service_level"]["ci_high"],
    )
    low95, high95 = (
        usual["metrics"]["service_level"]["ci_low"],
        usual["metrics"]["service_level"]["ci_high"],
    )
    assert wide["metrics"]["service_level"]["mean"] == usual["metrics"]["service_level"]["mean"]
    assert low99 < low95 and high99 > high95
    table = runner.invoke(app, [*args, "--confidence", "0.9"])
    assert table.exit_code == 0 and "90% CI" in table.stdout and "95% CI" not in table.stdout
    bad = runner.invoke(app, [*args, "--confidence", "95"])
    assert bad.exit_code == 2 and "--confidence must be between 0 and 1" in bad.output
