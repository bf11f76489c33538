"""Readable words for dotted paths, so that a reader sees "onboarding: share good", not
`moments.onboarding.outcomes.good.p` (a scenario's `label` on an uncertain input wins).
"""

from __future__ import annotations

FIELDS = {
    "p": "share",
    "monthly_revenue": "monthly revenue",
    "gross_margin": "gross margin",
    "acquisition_cost": "acquisition cost",
    "annual_discount_rate": "discount rate",
    "experience_sensitivity": "sensitivity to experience",
    "baseline_monthly": "monthly churn at a neutral memory",
    "involuntary_monthly": "involuntary monthly churn",
    "capacity": "agents",
    "rate_per_month": "occurrences a month",
    "every_months": "months between occurrences",
    "recovery_p": "share of failures recovered",
    "recovered_score": "score of a recovered failure",
    "unrecovered_score": "score of an unrecovered failure",
    "defect_p": "chance a bad outcome ends it",
    "cost": "cost per occurrence",
    "reach": "share reached",
    "w_peak": "weight of the peak",
    "w_end": "weight of the end",
    "half_life_months": "memory half-life (months)",
    "negativity_bias": "negativity bias",
    "referral_rate": "referrals per promoter a month",
    "deterrence_rate": "prospects deterred per detractor a month",
    "cost_one_off": "one-off cost",
    "cost_per_customer_month": "cost per customer-month",
    "wait_penalty_per_minute": "score lost per minute waited",
    "patience_minutes": "patience (minutes)",
    "share": "share of customers",
}


def field_words(name: str) -> str:
    """One field's name in words."""
    return FIELDS.get(name, name.replace("_", " "))


def path_words(path: str, owner: str | None = None) -> str:
    """A dotted path in words; an intervention's own input (its costs, its effect) is prefixed by its name."""
    parts = path.split(".")
    if parts[0] == "interventions" and len(parts) >= 3:
        owner, parts = parts[1], parts[2:]
    text = _words(parts)
    return f"{owner}: {text}" if owner else text


def _words(parts: list[str]) -> str:
    head = parts[0]
    if head == "cost_per_occurrence" and len(parts) == 2:
        return f"cost per {parts[1]}"
    if head == "segments" and len(parts) >= 4 and parts[2] == "moments":
        return f"{_words(['moments', *parts[3:]])} for {parts[1]}"
    if head in ("moments", "segments", "resources") and len(parts) >= 3:
        rest = parts[2:]
        if len(rest) == 3 and rest[0] == "outcomes" and rest[2] == "p":
            return f"{parts[1]}: share {rest[1]}"
        if len(rest) == 3 and rest[0] == "outcomes" and rest[2] == "score":
            return f"{parts[1]}: score of {rest[1]}"
        if rest[0] == "failure" and len(rest) == 2:
            return f"{parts[1]}: " + ("failure share" if rest[1] == "p" else field_words(rest[1]))
        return f"{parts[1]}: " + " ".join(field_words(p) for p in rest)
    if len(parts) == 2:
        return field_words(parts[1])
    return " ".join(field_words(p) for p in parts)
