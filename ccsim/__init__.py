"""ccsim: discrete-event simulation of chat contact centers.

The notebook-friendly API::

    import ccsim
    scenario = ccsim.load_scenario("scenarios/retail.yaml")
    results = ccsim.simulate(scenario, replications=10)
    results.summary()          # every metric with its 95% confidence interval
    results.chats              # one row per chat (pandas DataFrame)
"""

from ccsim.api import Results, ccsim_version, simulate
from ccsim.output import load_results, write_results
from ccsim.scenario import Scenario, ScenarioError, load_scenario

__version__ = ccsim_version()

__all__ = [
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_results",
    "load_scenario",
    "simulate",
    "write_results",
]
