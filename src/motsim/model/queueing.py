"""Queues: service-time draws and the Erlang C closed form for M/M/c."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri


def service_minutes(distribution: str, mean: float, sd: float, u: np.ndarray) -> np.ndarray:
    """Service times (minutes) by inversion of uniforms u."""
    u = np.asarray(u, dtype=float)
    if distribution == "exponential":
        return -mean * np.log1p(-u)
    if distribution == "fixed":
        return np.full(u.shape, mean)
    sigma2 = math.log1p((sd / mean) ** 2)
    return np.exp(math.log(mean) - sigma2 / 2 + math.sqrt(sigma2) * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))


def erlang_c_probability(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Probability that an arrival waits in an M/M/c system (Erlang C); 1 if unstable."""
    a = arrival_rate / service_rate
    if a >= servers:
        return 1.0
    b = 1.0  # Erlang B by its numerically stable recursion
    for k in range(1, servers + 1):
        b = a * b / (k + a * b)
    return b / (1.0 - (a / servers) * (1.0 - b))


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c system (time unit of the rates); inf if unstable."""
    if arrival_rate / service_rate >= servers:
        return math.inf
    return erlang_c_probability(arrival_rate, service_rate, servers) / (servers * service_rate - arrival_rate)


def erlang_c_wait_quantile(q: float, arrival_rate: float, service_rate: float, servers: int) -> float:
    """The q-quantile of the wait in an M/M/c queue: P(W > t) = C·exp(−(cμ − λ)t); 0 below 1 − C."""
    c = erlang_c_probability(arrival_rate, service_rate, servers)
    if 1 - q >= c:
        return 0.0
    return math.log(c / (1 - q)) / (servers * service_rate - arrival_rate)
