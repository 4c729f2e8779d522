"""Scenario files: the typed, frozen description of a contact center to simulate.

Names are imported on first use (PEP 562): ``ccsim.scenario.limits`` and ``units`` are
plain Python, and ``ccsim --version`` or ``--help`` should not pay for building the
pydantic schema, which ``load_scenario`` and friends need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Scenario": "ccsim.scenario.schema",
    "ScenarioError": "ccsim.scenario.load",
    "apply_overrides": "ccsim.scenario.load",
    "load_scenario": "ccsim.scenario.load",
    "scenario_from_dict": "ccsim.scenario.load",
}

__all__ = ["Scenario", "ScenarioError", "apply_overrides", "load_scenario", "scenario_from_dict"]

if TYPE_CHECKING:
    from ccsim.scenario.load import (
        ScenarioError,
        apply_overrides,
        load_scenario,
        scenario_from_dict,
    )
    from ccsim.scenario.schema import Scenario


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ccsim.scenario' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
