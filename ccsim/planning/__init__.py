"""Planning: head counts that meet targets (:mod:`.staffing`) and shift plans that cover them
(:mod:`.templates`, :mod:`.covering`, :mod:`.schedule`).

Kept empty of imports so that ``import ccsim.planning`` costs nothing: the modules load
numpy, pandas and scipy, which the CLI imports only where a command runs.
"""
