"""An idiomatic process-per-customer SimPy model of a simple journey, the yardstick for `des`.

Each customer: a routine moment every month, a support incident at 0.1 a month (Poisson)
served FIFO by a support team, a churn draw at every month end. Written the way a SimPy
tutorial would: one process per customer, a timeout per event, random.random() draws.
"""

from __future__ import annotations

import math
import random

import simpy

MONTH = 30.4375


def run(customers: int, months: int, seed: int = 1, incident_rate: float = 0.1, capacity: int = 3) -> float:
    """Simulate and return the share of customers active at the horizon."""
    rng = random.Random(seed)
    env = simpy.Environment()
    support = simpy.Resource(env, capacity=capacity)
    active = [0]

    def incident(memory: list[float]):
        with support.request() as req:
            arrive = env.now
            yield req
            yield env.timeout(rng.expovariate(1 / 10.0) / 1440.0)
            memory.append(2.0 - 0.05 * (env.now - arrive) * 1440.0)

    def customer():
        memory: list[float] = []
        for month in range(months):
            start = month * MONTH
            next_incident = start + rng.expovariate(incident_rate / MONTH)
            yield env.timeout(start + 15.0 - env.now)
            memory.append(1.0 if rng.random() < 0.85 else -1.5)
            if next_incident < start + MONTH:
                yield env.timeout(max(0.0, next_incident - env.now))
                yield env.process(incident(memory))
            yield env.timeout(max(0.0, (month + 1) * MONTH - env.now))
            experience = 0.45 * max(memory, key=abs) + 0.45 * memory[-1] + 0.1 * sum(memory) / len(memory)
            p = 1 / (1 + math.exp(-(math.log(0.02 / 0.98) - 0.3 * experience)))
            if rng.random() < p:
                return
        active[0] += 1

    for _ in range(customers):
        env.process(customer())
    env.run()
    return active[0] / customers
