"""The what-if room: what a change is worth, and how sure we are.

- `questions`: `run` and `appraise` — the questions the command line and the app ask in one call;
- `compare`: the baseline against interventions on common random numbers (`WhatIf`);
- `valuation`: cost lines, ΔCLV, NPV, ROI, payback, cash flows, break-evens in money (arithmetic only);
- `roi`: one intervention priced, with its break-even effect (`Pricing`);
- `steps`, `levers`, `rank`: the moments of truth ranked by a standard step of each lever (`Ranking`);
- `propagation`, `metamodel`: uncertain inputs carried into every answer, simulation noise removed;
- `attribution`: the churn each moment causes (counterfactual);
- `projection`: an observed lift turned into lifetime value.
"""
