"""ccsim: discrete-event simulation of chat contact centers.

The notebook-friendly API::

    import ccsim
    scenario = ccsim.load_scenario("scenarios/retail.yaml")
    results = ccsim.simulate(scenario, replications=10)
    results.summary()          # every metric with its 95% confidence interval
    results.chats              # one row per chat (pandas DataFrame)
    results.timeseries("15m")  # arrivals, queue, staffing per interval
    ccsim.write_report(results, "report.html")   # charts: ccsim.plots

Names are imported on first use (PEP 562), so ``import ccsim.model`` in a worker process
does not pay for pandas and matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("ccsim")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

_EXPORTS = {
    "Results": "ccsim.api",
    "simulate": "ccsim.api",
    "ccsim_version": "ccsim.api",
    "load_results": "ccsim.output",
    "write_results": "ccsim.output",
    "write_report": "ccsim.report",
    "Scenario": "ccsim.scenario",
    "ScenarioError": "ccsim.scenario",
    "load_scenario": "ccsim.scenario",
}

__all__ = [
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "ccsim_version",
    "load_results",
    "load_scenario",
    "simulate",
    "write_report",
    "write_results",
]

if TYPE_CHECKING:
    from ccsim.api import Results, ccsim_version, simulate
    from ccsim.output import load_results, write_results
    from ccsim.report import write_report
    from ccsim.scenario import Scenario, ScenarioError, load_scenario


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ccsim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
