"""ccsim: discrete-event simulation of chat contact centers.

The notebook-friendly API::

    import ccsim
    scenario = ccsim.load_scenario("scenarios/retail.yaml")
    results = ccsim.simulate(scenario, replications=10)
    results.summary()          # every metric with its 95% confidence interval
    results.chats              # one row per chat (pandas DataFrame)
    results.timeseries("15m")  # arrivals, queue, staffing per interval
    ccsim.write_report(results, "report.html")   # charts: ccsim.plots
"""

from ccsim.api import Results, ccsim_version, simulate
from ccsim.output import load_results, write_results
from ccsim.report import write_report
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
    "write_report",
    "write_results",
]
