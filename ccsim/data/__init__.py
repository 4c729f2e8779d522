"""Working from a contact center's own records: the interaction log (:mod:`ccsim.data.log`),
backtests of a scenario against it (:mod:`ccsim.data.backtest`) and fitting.

Nothing is imported here, so that ``import ccsim.data.log`` stays cheap for the commands.
"""
