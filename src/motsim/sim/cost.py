"""Moved to `motsim.sim.footprint` (a run's footprint: time and memory); kept for imports that name it."""

from motsim.sim.footprint import Cost, check_fits, estimate, machine_gib

__all__ = ["Cost", "check_fits", "estimate", "machine_gib"]
