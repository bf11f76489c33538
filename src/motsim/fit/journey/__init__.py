"""`motsim fit journey`: the whole journey from an event log, one module per part.

- `schedules`: when each moment comes (`after`, `at_day`, periodic, or a Poisson rate);
- `outcomes`: outcome shares and scores, per segment where they differ;
- `churn`: churn on remembered experience (a binomial GLM on motsim's memory laws), contractual churn;
- `memory`: the memory law itself fitted, with profile-likelihood intervals;
- `drivers`: grouped-time Cox hazard ratios of churn after each bad outcome;
- `backtest`: the fit simulated against held-out months;
- `writer`: the runnable scenario (tomlkit), with the fit's uncertainty;
- `fitting`: the whole fit and `journey(...)`, the entry point;
- `results`: the typed results.
"""

from motsim.fit.journey.churn import MemoryParams, experience_panel
from motsim.fit.journey.fitting import journey
from motsim.fit.journey.results import Backtest, ChurnFit, JourneyDriver, JourneyFit, MomentFit, OutcomeFit
from motsim.fit.journey.schedules import schedule_of

__all__ = [
    "Backtest",
    "ChurnFit",
    "JourneyDriver",
    "JourneyFit",
    "MemoryParams",
    "MomentFit",
    "OutcomeFit",
    "experience_panel",
    "journey",
    "schedule_of",
]
