"""The covering problem: the cheapest whole numbers of shifts whose agents cover every
interval's requirement, by integer programming (``scipy.optimize.milp``, which ships HiGHS).

Rows are intervals, columns are shifts (a template at one start time). ``coverage[i, j]``
is the part of interval ``i`` an agent on shift ``j`` is on duty (1 for the whole
interval, 0.5 for half of it, 0 when off shift or on a break), so the covering constraint
``coverage @ x >= requirement`` counts agent-time, and agents on a break do not count.

The limits a planner gives are constraints of the same program, so that they bind exactly
rather than by post-hoc rounding: at most ``column_max[j]`` agents on a shift, at most
``group_max`` agents over each set of columns (a template's starts together), and at most
``on_duty_max`` agents on duty in any interval. The objective is the total cost of the
shifts. HiGHS proves optimality (to ``mip_rel_gap``, 0 here); a time limit keeps a huge
problem from running for ever, and the solution found by then is reported as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Give the solver at most this many seconds (a planner's problem takes well under one).
TIME_LIMIT_S = 60.0
#: Coverage at or below this counts as none (fractions of agent-time are exact to ~1e-9).
EPSILON = 1e-9


class CoveringInfeasible(ValueError):
    """No whole numbers of shifts meet every requirement within the limits.

    ``reasons`` pairs each row that cannot be covered even with every shift at its limit
    with why (empty when the limits only conflict together)."""

    def __init__(self, message: str, reasons: Sequence[tuple[int, str]] = ()) -> None:
        super().__init__(message)
        self.reasons = list(reasons)

    @property
    def intervals(self) -> list[int]:
        return [i for i, _ in self.reasons]


@dataclass(frozen=True)
class CoveringSolution:
    """Agents per shift (column), the total cost, and whether HiGHS proved it optimal."""

    counts: tuple[int, ...]
    cost: float
    optimal: bool
    bound: float  # the best lower bound on the cost (equal to ``cost`` when optimal)
    message: str

    def covered(self, coverage: np.ndarray) -> np.ndarray:
        """Agents on duty per interval (agent-time over the interval's length)."""
        return np.asarray(coverage, dtype=float) @ np.asarray(self.counts, dtype=float)


def solve_covering(
    coverage: Sequence[Sequence[float]] | np.ndarray,
    requirement: Sequence[float],
    cost: Sequence[float],
    *,
    column_max: Sequence[int | None] | None = None,
    groups: Sequence[tuple[Sequence[int], int]] = (),
    on_duty_max: int | None = None,
    on_duty: Sequence[Sequence[float]] | np.ndarray | None = None,
    time_limit: float = TIME_LIMIT_S,
) -> CoveringSolution:
    """The cheapest whole numbers of shifts covering ``requirement`` (see the module notes).

    ``groups``: ``(columns, most)`` pairs, at most ``most`` agents over those columns
    together. ``on_duty``: rows of 0/1 (which shifts are on duty), one per stretch of time
    in which nobody starts, ends or breaks, that ``on_duty_max`` bounds at every instant
    (default: the coverage rows, exact when shifts change only at interval edges).
    Raises :class:`CoveringInfeasible` with the intervals that cannot be met.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    a = np.asarray(coverage, dtype=float)
    need = np.asarray(requirement, dtype=float)
    price = np.asarray(cost, dtype=float)
    if a.ndim != 2 or a.shape != (len(need), len(price)):
        raise ValueError(
            f"coverage must be intervals x shifts ({len(need)} x {len(price)}), got {a.shape}"
        )
    if np.any(a < 0) or np.any(a > 1 + EPSILON):
        raise ValueError("coverage must lie in [0, 1] (the part of an interval on duty)")
    if np.any(price < 0) or not np.all(np.isfinite(price)):
        raise ValueError("costs must be finite and not negative")
    if np.any(need < 0) or not np.all(np.isfinite(need)):
        raise ValueError("requirements must be finite and not negative")
    shifts = len(price)
    upper = np.full(shifts, np.inf)
    if column_max is not None:
        for j, most in enumerate(column_max):
            if most is not None:
                upper[j] = most
    _explain_uncoverable(a, need, upper, groups, on_duty_max)
    if shifts == 0:  # nothing to schedule and (checked above) nothing needed
        return CoveringSolution((), 0.0, True, 0.0, "no shifts and no requirement")

    constraints = [LinearConstraint(a, need, np.inf)]
    if on_duty_max is not None:
        rows = a if on_duty is None else np.asarray(on_duty, dtype=float)
        if rows.size:
            constraints.append(LinearConstraint(rows.reshape(-1, shifts), 0, on_duty_max))
    for columns, most in groups:
        row = np.zeros(shifts)
        row[list(columns)] = 1
        constraints.append(LinearConstraint(row, 0, most))
    result = milp(
        price,
        constraints=constraints,
        integrality=np.ones(shifts),
        bounds=Bounds(np.zeros(shifts), upper),
        options={"time_limit": time_limit, "mip_rel_gap": 0.0, "presolve": True},
    )
    if result.x is None:
        if result.status == 2:
            raise CoveringInfeasible(
                "the limits together leave no plan that covers every interval (each interval "
                "alone could be covered): raise max_at_once, max_per_shift or max_agents",
            )
        raise CoveringInfeasible(f"the solver found no plan: {result.message}")
    counts = tuple(round(float(v)) for v in result.x)
    total = float(np.dot(price, counts))
    bound = float(getattr(result, "mip_dual_bound", total) or total)
    optimal = result.status == 0
    if optimal:
        bound = total
    return CoveringSolution(counts, total, optimal, bound, str(result.message))


def _explain_uncoverable(
    a: np.ndarray,
    need: np.ndarray,
    upper: np.ndarray,
    groups: Sequence[tuple[Sequence[int], int]],
    on_duty_max: int | None,
) -> None:
    """Raise for the intervals that no choice of shifts within the limits can cover."""
    capped = upper.copy()
    for columns, most in groups:
        for j in columns:
            capped[j] = min(capped[j], most)
    reasons: list[tuple[int, str]] = []
    for i, required in enumerate(need):
        if required <= EPSILON:
            continue
        covering = a[i] > EPSILON
        if not covering.any():
            reasons.append((i, f"needs {_agents(required)} but no shift is on duty in it"))
            continue
        most = float(np.sum(np.where(covering, a[i] * np.minimum(capped, 1e12), 0.0)))
        if on_duty_max is not None and on_duty_max < required - EPSILON:
            reasons.append((i, f"needs {_agents(required)}, more than max_at_once ({on_duty_max})"))
        elif most < required - EPSILON:
            reasons.append(
                (
                    i,
                    f"needs {_agents(required)} but the shifts covering it can bring at most "
                    f"{_agents(most)} within their limits",
                )
            )
    if reasons:
        raise CoveringInfeasible("; ".join(f"interval {i}: {why}" for i, why in reasons), reasons)


def _agents(value: float) -> str:
    shown = f"{value:g}" if abs(value - round(value)) > EPSILON else str(round(value))
    return f"{shown} agent{'' if shown == '1' else 's'}"


__all__ = ["CoveringInfeasible", "CoveringSolution", "solve_covering"]
