"""Benchmarks behind `swefarm bench ...`, one module per area, and the one set of statistics they report.

- `bench.sandbox`: exec round trip vs docker exec, warm-pool acquire, cold start, concurrent sandboxes.
- `bench.env`: env reset and step latency beside mini-swe-agent's (`bench.mini`), oracle episodes per minute.
- `bench.policy`: model backends side by side (tokens/s, turns/min, episodes/hour).
- `bench.perturb`: the generalisation gap per perturbation family (the report is `perturb.report`).
- `bench.api`: the REST load test beside the same steps in-process.
- `bench.stats`: medians, percentiles, timing loops.

Benchmarks use only public APIs of the layers they measure. Their figures go in bench/RESULTS.md
(beside this package) with the command that produced them, compared side by side in one run; tests
never time anything.
"""
