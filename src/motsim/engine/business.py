"""The whole business (open population): who joins each month, and what the month's end leaves for
the next — referrals who join, prospects deterred, reviews and the public rating.

Each month's joiners are a vintage: a cohort (`engine.cohort.Cohort`) that starts the journey at
its own day 0, with its own horizon (the months left) and the business's cohort-wide events in its
own days. The engines step every vintage through the calendar month, then `Business.close`
draws, from what all of them did:

- referrals: Poisson(referral_rate × expected promoters), joining at the start of next month;
- deterred prospects: Poisson(deterrence_rate × expected detractors), off next month's prospects;
- reviews: Poisson counts per star level with the customers' expected reviews as means
  (`model.reviews.expected_reviews`), and the public rating they make.

At the start of a month, `Business.join` draws the prospects (Poisson at the month's mean times
the sample's share of the business), passes them through the funnel's moments and converts them
at the conversion the rating allows; joiners are ordered by how easily they joined, so that a
variant converting more keeps the baseline's joiners first. Every count comes from an inverse CDF
of one uniform keyed by the month, and every vintage's customers draw from whole random-stream
blocks keyed by (month, source): a variant with more joiners keeps the baseline's customers and
their numbers (common random numbers), and no number depends on workers or slices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, poisson

from motsim.engine.cohort import Cohort, Joining, draw_propensity, population
from motsim.engine.compiled import SOURCES, CompiledScenario
from motsim.engine.occurrences import slot_counts
from motsim.engine.streams import BLOCK, Streams
from motsim.engine.tally import ReplicationResult
from motsim.errors import ModelError
from motsim.model import reviews
from motsim.model.economics import discount_factors
from motsim.model.units import DAYS_PER_MONTH

BASE, PROSPECTS, REFERRAL = (SOURCES.index(s) for s in ("base", "prospects", "referral"))
PAID, REFERRED, FUNNEL = 0, 1, 2  # rows of `ReplicationResult.joiners`


def refuse_panel(panel: object) -> None:
    """An experiment's per-customer records are one cohort's: an open population has none to give."""
    if panel is not None:
        raise ModelError("an experiment randomises one cohort: simulate it on a scenario without [acquisition]")


@dataclass(frozen=True)
class NewCohort:
    """A vintage to start: its customers' segments and churn propensities, its streams and journey."""

    seg: np.ndarray
    propensity: np.ndarray
    streams: Streams
    journey: CompiledScenario  # its own horizon: the months left
    cohort_times: list[np.ndarray]  # cohort-wide events (outages) in its own days
    joining: Joining


class Business:
    """The open population's joiners, word of mouth and rating, month by month, for one replication."""

    def __init__(self, journey: CompiledScenario, streams: Streams, result: ReplicationResult):
        assert journey.acquisition is not None
        self.journey, self.streams, self.result = journey, streams, result
        self.a = journey.acquisition
        self.share = journey.customers / journey.population  # of the business simulated (a sample's)
        self.discount = discount_factors(journey.months, journey.annual_discount_rate)
        self.cohort_times = slot_counts(journey, streams)[1]  # the business's, in calendar days
        self.history = np.zeros((journey.months, 5))  # reviews per month and star level
        self.referred = 0  # referrals made last month: this month's referred joiners
        self.deterred = 0  # prospects deterred last month
        self.multiplier = self._rating(0)[1]  # conversion over its reference, this month
        self._promoters = self._detractors = 0.0
        self._expected = np.zeros(5)

    # --- the month's start ---------------------------------------------------------------------
    def join(self, month: int) -> list[NewCohort]:
        """The vintages joining at the start of `month`: the base (month 0), prospects who convert,
        and last month's referrals.
        """
        a, r = self.a, self.result
        out = []
        if month == 0 and a.initial_base:
            seg, propensity = population(self.journey, self.streams)
            out.append(self._vintage(0, BASE, seg, propensity, self.streams, first=True))
        u = self.streams.generator("acquisition", month).random(2)
        mean = self.share * float(a.prospects[month])
        prospects = max(0, int(poisson.ppf(u[0], mean)) - self.deterred) if mean > 0 else 0  # ppf(0) is -1
        r.prospects[month] += prospects
        convert = a.conversion * self.multiplier
        if a.funnel:
            n, scores, through, spend = self._funnel(month, prospects, convert)
        else:
            n, scores, through, spend = max(0, int(binom.ppf(u[1], prospects, min(1.0, convert)))), (), 0, 0.0
        r.joiners[PAID, month] += n - through
        r.joiners[FUNNEL, month] += through
        r.acquisition_spend[month] += spend + a.cost_per_acquisition * n + a.referral_cost * self.referred
        r.joiners[REFERRED, month] += self.referred
        first = month == 0 and not a.initial_base
        for source, count in ((PROSPECTS, n), (REFERRAL, self.referred)):
            if count:
                streams = self.streams.within("vintage", month, source)
                seg = np.minimum(
                    np.searchsorted(np.cumsum(a.mix), streams.generator("segment").random(count), side="right"),
                    len(a.mix) - 1,
                )
                propensity = draw_propensity(self.journey, seg, streams.generator("propensity"))
                if source == REFERRAL:
                    propensity = np.minimum(1.0, propensity * a.referred_churn)
                out.append(
                    self._vintage(month, source, seg, propensity, streams, first and source == PROSPECTS, scores)
                )
        return out

    def _vintage(
        self,
        month: int,
        source: int,
        seg: np.ndarray,
        propensity: np.ndarray,
        streams: Streams,
        first: bool = False,
        scores: tuple = (),
    ) -> NewCohort:
        r = self.result
        r.vintage_size[month, source] += len(seg)
        if first:
            r.cohort_size = len(seg)
        start = month * DAYS_PER_MONTH
        joining = Joining(
            month,
            source,
            self,
            first=first,
            full_blocks=source != BASE,  # the base's size is the scenario's: it draws as one cohort does
            money=self.a.referred_margin if source == REFERRAL else 1.0,
            scores=scores if source == PROSPECTS else (),
        )
        return NewCohort(
            seg,
            propensity,
            streams,
            dataclasses.replace(self.journey, months=self.journey.months - month),
            [t[t >= start] - start for t in self.cohort_times],
            joining,
        )

    def _funnel(self, month: int, prospects: int, convert: float) -> tuple[int, tuple, int, float]:
        """Prospects through the funnel's moments: (joiners, their funnel experiences in order, joiners
        who met any funnel moment, the funnel's cost). Prospect i joins when u_i < convert × the
        product of its outcomes' conversion effects; joiners are ordered by u_i over that product.
        """
        funnel, r = self.a.funnel, self.result
        blocks = [
            self.streams.generator("acquisition", "funnel", month, b).random((1 + 2 * len(funnel), BLOCK))[
                :, : min(BLOCK, prospects - b * BLOCK)
            ]
            for b in range(-(-prospects // BLOCK))
        ]
        u = np.concatenate(blocks, axis=1) if blocks else np.empty((1 + 2 * len(funnel), 0))
        factor = np.ones(prospects)
        met, codes = [], []
        for k, f in enumerate(funnel):
            meets = u[1 + 2 * k] < f.reach
            code = np.minimum(np.searchsorted(f.cum_p, u[2 + 2 * k], side="right"), len(f.outcomes) - 1)
            factor = np.where(meets, factor * f.conversion[code], factor)
            met.append(meets)
            codes.append(code)
        with np.errstate(divide="ignore"):
            key = np.where(factor > 0, u[0] / factor, np.inf)
        joined = np.flatnonzero(key < convert)
        order = joined[np.argsort(key[joined], kind="stable")]
        scores, spend, through = [], 0.0, np.zeros(len(order), bool)
        for k, f in enumerate(funnel):
            sizes = len(f.outcomes)
            r.funnel_met[k] += met[k].sum()
            r.funnel_codes[k] += np.bincount(codes[k][met[k]], minlength=sizes)
            who = np.flatnonzero(met[k][order])
            code = codes[k][order][who]
            r.funnel_joined[k] += np.bincount(code, minlength=sizes)
            scores.append((who, f.scores[code]))
            through[who] = True
            spend += f.cost * float(met[k].sum())
        return len(order), tuple(scores), int(through.sum()), spend

    # --- fed by the cohorts ----------------------------------------------------------------------
    def opened(self, cohort: Cohort, t: int, margin: float) -> None:
        """A cohort starts calendar month t with its customers still here, earning `margin`."""
        joining, r = cohort.joining, self.result
        if joining.first:
            r.cohort_active[t] += cohort.here
            r.cohort_flow[t] += margin
        r.active_source[t, joining.source] += cohort.here
        r.vintage_value[joining.month, joining.source] += margin * self.discount[t]
        if joining.source != BASE:
            r.tenure_flow[t - joining.month] += margin

    def served(self, cohort: Cohort, t: int, cost: float) -> None:
        """A cohort's cost to serve in calendar month t."""
        joining, r = cohort.joining, self.result
        if joining.first:
            r.cohort_flow[t] -= cost
        r.vintage_value[joining.month, joining.source] -= cost * self.discount[t]
        if joining.source != BASE:
            r.tenure_flow[t - joining.month] -= cost

    def ended(self, cohort: Cohort, t: int) -> None:
        """A cohort's customers still here at the horizon (t = the horizon)."""
        if cohort.joining.first:
            self.result.cohort_active[t] += cohort.here

    def month_end(
        self,
        cohort: Cohort,
        month: int,
        active: np.ndarray,
        experience: np.ndarray,
        promoter: np.ndarray,
        detractor: np.ndarray,
        leave: np.ndarray,
    ) -> None:
        """A cohort's month end: its expected promoters and detractors, who left, and the reviews its
        customers (`active`, remembering `experience`) are expected to post.
        """
        self._promoters += float(promoter.sum())
        self._detractors += float(detractor.sum())
        self.result.churned[cohort.offset + month] += int(leave.sum())
        a = self.a
        if not a.reviews:
            return
        post = 1.0 - cohort.review_skip[active]
        if a.review_p_at_churn:
            post = np.where(leave, 1.0 - (1.0 - post) * (1.0 - a.review_p_at_churn), post)
        some = post > 0
        if some.any():
            self._expected += reviews.expected_reviews(
                experience[some], post[some], a.stars_at_neutral, a.stars_per_point, a.stars_noise_sd, a.extremity
            )
        cohort.review_skip[:] = 1.0

    # --- the month's end -------------------------------------------------------------------------
    def close(self, month: int) -> None:
        """Every cohort has closed `month`: draw its referrals, deterred prospects and reviews, and move
        the rating (next month's conversion).
        """
        j, r = self.journey, self.result
        u = self.streams.generator("acquisition", "close", month).random(7)
        referred = int(reviews.draw_counts(np.array([j.referral_rate * self._promoters]), u[:1])[0])
        deterred = int(reviews.draw_counts(np.array([j.deterrence_rate * self._detractors]), u[1:2])[0])
        r.referrals[month] += referred
        r.deterred[month] += deterred
        self.referred, self.deterred = referred, deterred
        # the business's reviews, drawn whole from the sample's expected ones scaled up: drawn at the
        # sample's scale, each review would count 1/share times, and the first few reviews (which move
        # a young business's conversion most) would come in steps of 1/share
        counts = reviews.draw_counts(self._expected / self.share, u[2:])
        self.history[month] = counts
        r.reviews[month] += counts * self.share  # the sample's share, as every other count
        shown, self.multiplier = self._rating(month + 1)
        r.rating[month] = shown
        self._promoters = self._detractors = 0.0
        self._expected = np.zeros(5)

    def _rating(self, months: int) -> tuple[float, float]:
        """The public rating shown after `months` months of reviews (NaN before any) and conversion over
        its reference (the rating as prospects weigh it, and how many reviews they see).
        """
        a = self.a
        real = reviews.window(self.history[:months], a.rating_window)  # the business's reviews
        virtual = max(0.0, min(a.initial_reviews, a.rating_window - real.sum()))
        args = (a.initial_rating, a.prior_weight, virtual, a.initial_rating)
        shown = reviews.public_rating(real, *args)
        seen = reviews.public_rating(real, *args, one_star_weight=a.one_star_weight)
        seen = a.initial_rating if np.isnan(seen) else seen
        count = real.sum() + virtual
        multiplier = float(
            reviews.conversion_multiplier(seen, count, a.reference_rating, a.elasticity, a.peak, a.volume_lift)
        )
        return shown, multiplier
