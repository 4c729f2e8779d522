"""Scenario files: the typed, frozen description of a contact center to simulate."""

from ccsim.scenario.load import ScenarioError, apply_overrides, load_scenario, scenario_from_dict
from ccsim.scenario.schema import Scenario

__all__ = ["Scenario", "ScenarioError", "apply_overrides", "load_scenario", "scenario_from_dict"]
