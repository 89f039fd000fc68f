"""ccsim's analysis side: tables, KPIs, queueing theory. pandas/numpy/scipy, never SimPy.

It reads what the engine produced (plain records) or what a run wrote
(``results/…``), never the engine's internals.
"""
