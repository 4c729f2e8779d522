"""Fitting durations from observations, some of them right-censored, with scipy.

Every fit is maximum likelihood through ``scipy.stats.<family>.fit`` (with
``scipy.stats.CensoredData`` when some values are only known to exceed a bound, as the
patience of an answered chat is), location fixed at 0 because durations start at 0. The
families are the scenario format's (exponential, lognormal, gamma; uniform where asked),
compared by AIC (the simplest family within :data:`PARSIMONY_AIC` of the lowest wins:
with heavily censored data a second parameter can lower the AIC a little while moving the
mean far beyond the data); the chosen fit is judged by a Kolmogorov–Smirnov test on the values
seen in full. When every family fails that test the scenario gets the data themselves
(``empirical``), and a sample with no spread becomes a constant.

The interval of a fitted mean comes from the observed information (a numerical Hessian of
the log-likelihood, delta method), so censored and uncensored fits get one treatment.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

#: The scenario format's families, with their scipy name and free parameters.
FAMILIES = {"exponential": "expon", "lognormal": "lognorm", "gamma": "gamma", "uniform": "uniform"}
#: Parameters each family estimates (location is fixed at 0 except for uniform).
FREE_PARAMETERS = {"exponential": 1, "lognormal": 2, "gamma": 2, "uniform": 2}
#: Below this many fully observed values a fit is not tried: the mean alone is given.
MIN_FIT = 10
#: KS p-value under which a family is said not to fit (the test is run on the fitted
#: parameters, so it is lenient: a rejection is a clear misfit).
MISFIT_P = 0.001
#: The scenario's ``cv`` bounds (``ccsim.scenario.limits``).
CV_BOUNDS = (0.001, 100.0)
#: Most values an empirical distribution written to a scenario keeps (quantiles beyond).
EMPIRICAL_POINTS = 1000
Z95 = 1.959963984540054
#: AIC units within which the family with fewer parameters is preferred (models that close
#: have about equal support; the simpler one extrapolates more safely).
PARSIMONY_AIC = 2.0
#: From this share of exact zeros on, a duration is a mixture of 0 and a fitted law (no
#: wrap-up on some legs, a request at the very start): no family has a mass at 0.
ZERO_SHARE = 0.02


@dataclass(frozen=True)
class FamilyFit:
    """One family's maximum-likelihood fit."""

    family: str
    params: tuple[float, ...]  # scipy's (shape..., loc, scale)
    log_likelihood: float
    aic: float
    ks_statistic: float
    ks_pvalue: float
    mean: float
    cv: float


@dataclass(frozen=True)
class DurationFit:
    """The distribution chosen for one quantity, with what it rests on.

    ``spec`` is the scenario's distribution mapping in seconds (``{"dist": "lognormal",
    "mean": 421.0, "cv": 0.8}``), ``None`` when there were no observations.
    """

    spec: dict[str, Any] | None
    chosen: str  # a family, "empirical", "constant", "mean only" or "none"
    n: int  # fully observed values
    n_censored: int
    mean: float  # the chosen distribution's mean (nan when none)
    mean_low: float
    mean_high: float
    fits: tuple[FamilyFit, ...] = ()
    note: str = ""
    zero_share: float = 0.0  # share of exact zeros (a mixture with 0 when large)
    observed: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    censored: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    @property
    def best(self) -> FamilyFit | None:
        return next((f for f in self.fits if f.family == self.chosen), None)

    def frozen_dist(self) -> Any:
        """The chosen family as a frozen scipy distribution (None if not parametric)."""
        best = self.best
        return None if best is None else getattr(stats, FAMILIES[best.family])(*best.params)


def _moments(family: str, params: tuple[float, ...]) -> tuple[float, float]:
    dist = getattr(stats, FAMILIES[family])(*params)
    mean, var = (float(v) for v in dist.stats(moments="mv"))
    cv = math.sqrt(var) / mean if mean > 0 and var >= 0 else math.nan
    return mean, cv


def _log_likelihood(
    family: str, params: tuple[float, ...], obs: np.ndarray, cens: np.ndarray
) -> float:
    dist = getattr(stats, FAMILIES[family])(*params)
    total = float(np.sum(dist.logpdf(obs)))
    if cens.size:
        total += float(np.sum(dist.logsf(cens)))
    return total


def _fit_family(family: str, obs: np.ndarray, cens: np.ndarray) -> FamilyFit | None:
    scipy_dist = getattr(stats, FAMILIES[family])
    data: Any = stats.CensoredData(uncensored=obs, right=cens) if cens.size else obs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if family == "uniform":
                if cens.size:
                    return None  # a censored uniform is not a family the data here need
                params = tuple(float(p) for p in scipy_dist.fit(obs))
            else:
                params = tuple(float(p) for p in scipy_dist.fit(data, floc=0))
        except (ValueError, RuntimeError, FloatingPointError):
            return None
    log_likelihood = _log_likelihood(family, params, obs, cens)
    if not math.isfinite(log_likelihood):
        return None
    mean, cv = _moments(family, params)
    if not (math.isfinite(mean) and mean > 0):
        return None
    ks = stats.kstest(obs, getattr(stats, FAMILIES[family])(*params).cdf) if not cens.size else None
    if ks is None:  # censored: KS on the uncensored part against the conditional law is
        # not defined; compare with the Kaplan–Meier curve instead (largest gap)
        ks_stat, ks_p = _km_distance(family, params, obs, cens), math.nan
    else:
        ks_stat, ks_p = float(ks.statistic), float(ks.pvalue)
    return FamilyFit(
        family=family,
        params=params,
        log_likelihood=log_likelihood,
        aic=2 * FREE_PARAMETERS[family] - 2 * log_likelihood,
        ks_statistic=ks_stat,
        ks_pvalue=ks_p,
        mean=mean,
        cv=cv,
    )


def kaplan_meier(obs: np.ndarray, cens: np.ndarray) -> Any:
    """scipy's Kaplan–Meier estimate (``scipy.stats.ecdf`` of censored data)."""
    return stats.ecdf(stats.CensoredData(uncensored=obs, right=cens))


def _km_distance(
    family: str, params: tuple[float, ...], obs: np.ndarray, cens: np.ndarray
) -> float:
    """Largest gap between the Kaplan–Meier survival and the fitted one (a KS distance)
    where at least 20 chats are still at risk."""
    km = kaplan_meier(obs, cens).sf
    everything = np.sort(np.concatenate([obs, cens]))
    at_risk = everything.size - np.searchsorted(everything, km.quantiles, side="left")
    kept = at_risk >= 20  # the curve's far tail rests on a handful of chats: not judged
    if not kept.any():
        return math.nan
    fitted = getattr(stats, FAMILIES[family])(*params).sf(km.quantiles[kept])
    return float(np.max(np.abs(km.probabilities[kept] - fitted)))


def _mean_interval(
    family: str, params: tuple[float, ...], obs: np.ndarray, cens: np.ndarray
) -> tuple[float, float]:
    """95% interval of the fitted mean: delta method on the observed information."""
    if family == "uniform":
        spread = (params[1]) / math.sqrt(12 * max(obs.size, 1))
        centre = params[0] + params[1] / 2
        return centre - Z95 * spread, centre + Z95 * spread
    free = [i for i in range(len(params)) if i != len(params) - 2]  # all but loc
    theta = np.array([params[i] for i in free], dtype=float)

    def full(values: np.ndarray) -> tuple[float, ...]:
        out = list(params)
        for index, value in zip(free, values, strict=True):
            out[index] = float(value)
        return tuple(out)

    def loglik(values: np.ndarray) -> float:
        return _log_likelihood(family, full(values), obs, cens)

    def mean_of(values: np.ndarray) -> float:
        return _moments(family, full(values))[0]

    steps = np.maximum(np.abs(theta) * 1e-4, 1e-8)
    k = theta.size
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.eye(k)[i] * steps[i]
            ej = np.eye(k)[j] * steps[j]
            value = (
                loglik(theta + ei + ej)
                - loglik(theta + ei - ej)
                - loglik(theta - ei + ej)
                + loglik(theta - ei - ej)
            ) / (4 * steps[i] * steps[j])
            hessian[i, j] = hessian[j, i] = value
    gradient = np.array(
        [
            (mean_of(theta + np.eye(k)[i] * steps[i]) - mean_of(theta - np.eye(k)[i] * steps[i]))
            / (2 * steps[i])
            for i in range(k)
        ]
    )
    mean = mean_of(theta)
    try:
        covariance = np.linalg.inv(-hessian)
        variance = float(gradient @ covariance @ gradient)
    except np.linalg.LinAlgError:
        variance = math.nan
    if not (math.isfinite(variance) and variance >= 0):
        return math.nan, math.nan
    half = Z95 * math.sqrt(variance)
    return max(mean - half, 0.0), mean + half


def _sample_interval(values: np.ndarray) -> tuple[float, float]:
    if values.size < 2:
        return math.nan, math.nan
    mean = float(values.mean())
    half = Z95 * float(values.std(ddof=1)) / math.sqrt(values.size)
    return max(mean - half, 0.0), mean + half


def _spec(family: str, mean: float, cv: float, params: tuple[float, ...]) -> dict[str, Any]:
    if family == "exponential":
        return {"dist": "exponential", "mean": mean}
    if family == "uniform":
        return {"dist": "uniform", "low": max(params[0], 0.0), "high": params[0] + params[1]}
    return {"dist": family, "mean": mean, "cv": min(max(cv, CV_BOUNDS[0]), CV_BOUNDS[1])}


def empirical_values(values: np.ndarray) -> list[float]:
    """The values an empirical distribution keeps: all of them up to
    :data:`EMPIRICAL_POINTS`, else that many evenly spaced quantiles (a bounded file that
    resamples the same shape)."""
    values = np.sort(values)
    if values.size > EMPIRICAL_POINTS:
        values = np.quantile(values, (np.arange(EMPIRICAL_POINTS) + 0.5) / EMPIRICAL_POINTS)
    return [float(v) for v in values]


def fit_duration(
    observed: Any,
    censored: Any = (),
    families: tuple[str, ...] = ("exponential", "lognormal", "gamma"),
) -> DurationFit:
    """Fit durations (seconds): ``observed`` seen in full, ``censored`` known only to be
    at least that long. Returns the best family by AIC, or constant / empirical / mean
    only when the data call for it (see the module doc)."""
    obs = np.asarray(observed, dtype=float)
    cens = np.asarray(censored, dtype=float)
    obs = obs[np.isfinite(obs) & (obs >= 0)]
    cens = cens[np.isfinite(cens) & (cens >= 0)]
    zeros = obs <= 0
    if zeros.any() and (~zeros).any():
        if zeros.mean() >= ZERO_SHARE:
            return _with_zeros(fit_duration(obs[~zeros], cens[cens > 0], families), obs, cens)
        obs = obs[~zeros]  # a few exact zeros: left out (no family has a mass at 0)
    base = {"n": int(obs.size), "n_censored": int(cens.size), "observed": obs, "censored": cens}
    if obs.size == 0:
        return DurationFit(
            spec=None,
            chosen="none",
            mean=math.nan,
            mean_low=math.nan,
            mean_high=math.nan,
            note="no observation",
            **base,
        )
    spread = float(obs.std()) / float(obs.mean()) if obs.mean() > 0 else 0.0
    if spread < CV_BOUNDS[0] and (cens.size == 0 or float(cens.max()) <= float(obs.max())):
        value = float(np.median(obs))
        return DurationFit(
            spec={"dist": "constant", "value": value},
            chosen="constant",
            mean=value,
            mean_low=value,
            mean_high=value,
            note="every observed value is the same",
            **base,
        )
    if obs.size < MIN_FIT:
        if cens.size:  # exponential MLE with censoring: exposure over events (exact interval)
            exposure = float(obs.sum() + cens.sum())
            mean = exposure / obs.size
            low = 2 * exposure / stats.chi2.ppf(0.975, 2 * obs.size)
            high = 2 * exposure / stats.chi2.ppf(0.025, 2 * obs.size)
        else:
            mean = float(obs.mean())
            low, high = _sample_interval(obs)
        note = f"only {obs.size} observations: exponential with their mean, no family compared"
        return DurationFit(
            spec={"dist": "exponential", "mean": mean},
            chosen="mean only",
            mean=mean,
            mean_low=low,
            mean_high=high,
            note=note,
            **base,
        )
    fits = [f for f in (_fit_family(name, obs, cens) for name in families) if f is not None]
    fits.sort(key=lambda f: f.aic)
    if not fits:
        return DurationFit(
            spec=empirical_spec(obs),
            chosen="empirical",
            mean=float(obs.mean()),
            mean_low=_sample_interval(obs)[0],
            mean_high=_sample_interval(obs)[1],
            note="no family could be fitted",
            **base,
        )
    best = min(
        (f for f in fits if f.aic <= fits[0].aic + PARSIMONY_AIC),
        key=lambda f: (FREE_PARAMETERS[f.family], f.aic),
    )
    if not cens.size and all(f.ks_pvalue < MISFIT_P for f in fits):
        low, high = _sample_interval(obs)
        note = (
            f"no family fits (best {best.family}: KS p = {best.ks_pvalue:.2g}); "
            "the data are resampled"
        )
        return DurationFit(
            spec=empirical_spec(obs),
            chosen="empirical",
            mean=float(obs.mean()),
            mean_low=low,
            mean_high=high,
            fits=tuple(fits),
            note=note,
            **base,
        )
    low, high = _mean_interval(best.family, best.params, obs, cens)
    reach = float(max(obs.max(), cens.max() if cens.size else 0.0))
    note = ""
    if cens.size and best.mean > reach:
        note = (
            f"the data reach only {reach:.3g}s, below the fitted mean: beyond that the "
            "curve (and the mean) is the family's extrapolation"
        )
    return DurationFit(
        spec=_spec(best.family, best.mean, best.cv, best.params),
        chosen=best.family,
        mean=best.mean,
        mean_low=low,
        mean_high=high,
        note=note,
        fits=tuple(fits),
        **base,
    )


def _with_zeros(positive: DurationFit, obs: np.ndarray, cens: np.ndarray) -> DurationFit:
    """``positive`` (fitted to the values above 0) with the share of zeros as a mixture."""
    share = float((obs <= 0).mean())
    if positive.spec is None:
        spec: dict[str, Any] | None = {"dist": "constant", "value": 0.0}
    else:
        spec = {
            "dist": "mixture",
            "components": [
                {"weight": round(share, 6), "of": {"dist": "constant", "value": 0.0}},
                {"weight": round(1 - share, 6), "of": positive.spec},
            ],
        }
    note = f"{share:.1%} exactly 0, the rest {positive.chosen}"
    if positive.note:
        note += f" ({positive.note})"
    return DurationFit(
        spec=spec,
        chosen=positive.chosen,
        n=int(obs.size),
        n_censored=int(cens.size),
        mean=(1 - share) * positive.mean,
        mean_low=(1 - share) * positive.mean_low,
        mean_high=(1 - share) * positive.mean_high,
        fits=positive.fits,
        note=note,
        observed=obs,
        censored=cens,
        zero_share=share,
    )


def empirical_spec(values: np.ndarray) -> dict[str, Any]:
    return {"dist": "empirical", "values": empirical_values(values)}


def poisson_rate_interval(count: int, exposure: float) -> tuple[float, float]:
    """Exact (Garwood) 95% interval of a Poisson rate: ``count`` events in ``exposure``."""
    low = stats.chi2.ppf(0.025, 2 * count) / 2 if count > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    return float(low) / exposure, float(high) / exposure


def proportion_interval(successes: int, trials: int) -> tuple[float, float]:
    """Exact (Clopper–Pearson) 95% interval of a probability."""
    if trials <= 0:
        return math.nan, math.nan
    interval = stats.binomtest(successes, trials).proportion_ci(0.95, method="exact")
    return float(interval.low), float(interval.high)
