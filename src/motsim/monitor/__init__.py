"""Moment health monitoring: catch a moment going bad early, and say what it costs."""

from motsim.monitor.watch import Health, MomentHealth, monitor

__all__ = ["Health", "MomentHealth", "monitor"]
