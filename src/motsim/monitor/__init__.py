"""Moment health monitoring: catch a moment going bad early, and say what it costs.

`motsim.monitor(events, customers, ...)` (this package is callable) or
`motsim.monitor.monitor(...)` → `Health`.
"""

import sys
import types

from motsim.monitor.watch import Health, MomentHealth, monitor

__all__ = ["Health", "MomentHealth", "monitor"]


class _CallableModule(types.ModuleType):
    """Lets `motsim.monitor(...)` call the function while `motsim.monitor.watch` stays a module path."""

    def __call__(self, *args, **kwargs) -> Health:
        return monitor(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
