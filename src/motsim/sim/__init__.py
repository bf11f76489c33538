"""The sim room: replications anywhere, and what they add up to.

- `arguments`: the arguments every verb shares, checked once (scenario, sample, horizon, seed, replications);
- `run`: `simulate` and `simulate_many` (variants on common random numbers; a cache of replications);
- `executors`: one `concurrent.futures` path — this process, the local pool, Dask, any executor;
- `results`: `Results` and the `RunSummary` with its intervals (the JSON of `motsim run`);
- `footprint`: what a run will cost in time and memory before it starts;
- `eventlog`: the simulator's event log, as a company's data would look.
"""
