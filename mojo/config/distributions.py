"""Distributions of a study's random parameters, and how each one draws a value.

A parameter's draw depends only on (seed, trial number, parameter name): every draw gets its own
random stream, so adding or removing one parameter never changes the values of the others.
Each distribution also maps a point ``u`` of [0, 1] to its value (``ppf``, the inverse CDF):
what the sampling designs other than ``random`` use (see :mod:`mojo.trials.sampling`). The normal
inverse CDF is the standard library's (:class:`statistics.NormalDist`, exact to double precision),
so that the config layer, which every Snakemake job imports, imports no SciPy.
"""

from __future__ import annotations

import hashlib
import json
import math
from statistics import NormalDist
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Field, field_validator, model_validator

from mojo.config.base import Frozen
from mojo.config.numbers import Real, Whole, check_range, first_non_finite, to_real, to_whole

Int64 = Annotated[Whole, Field(ge=np.iinfo(np.int64).min, le=np.iinfo(np.int64).max)]
"""A whole number NumPy can draw (a signed 64-bit integer)."""

LARGEST_EXPONENT = math.log(np.finfo(float).max)
"""``exp`` of more than this overflows to infinity (about 709.8)."""

STANDARD_NORMAL = NormalDist()


def _open(u: float) -> float:
    """``u`` moved into the open interval (0, 1), where the normal inverse CDF is finite: a
    design's point may lie on the cube's face (0) by chance."""
    return min(max(u, 2.0**-53), 1.0 - 2.0**-53)


def _identity(value: Any) -> str:
    """Equal values of one kind give one key: 1 and 1.0 alike, but true and 1 not (Python's
    ``True == 1`` would make a boolean match a number)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, default=repr)


def _refuse_non_finite(value: Any) -> Any:
    found = first_non_finite(value)
    if found is not None:
        held = "is not" if found is value else f"holds {found}, not"
        raise ValueError(f"{value!r} {held} a finite number")
    return value


class _Distribution(Frozen):
    nominal: Any = None
    """The value used in the nominal trial (trial 0). Defaults to the distribution's centre."""

    unit: str | None = None
    """Unit of the value, shown in tables and plots (e.g. ``m``, ``kg``, ``rad/s``)."""

    def default_nominal(self) -> Any:
        raise NotImplementedError

    def draw(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def ppf(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1] (the inverse CDF): a design's point, mapped."""
        raise NotImplementedError

    def nominal_value(self) -> Any:
        return self.default_nominal() if self.nominal is None else self.nominal

    def bounds(self) -> tuple[float, float] | None:
        """The closed interval the values lie in, when the distribution has one."""
        return None

    def coerce(self, value: Any) -> Any:
        """An override as a value of this parameter: ``--config`` hands over numbers as text."""
        try:
            return _refuse_non_finite(value)
        except ValueError as error:
            raise ValueError(f"override {error}") from None

    @model_validator(mode="after")
    def _nominal_within_bounds(self):
        bounds = self.bounds()
        if self.nominal is not None and bounds is not None:
            low, high = bounds
            if not (low <= self.nominal <= high):
                raise ValueError(f"nominal = {self.nominal!r} lies outside [{low}, {high}]")
        return self


class _Numeric(_Distribution):
    """A distribution of finite numbers: its nominal and overrides are finite numbers (an
    override replaces the distribution, so it may lie outside the bounds)."""

    nominal: Real | None = None

    def _number(self, value: Any) -> float:
        return to_real(value)

    def coerce(self, value: Any) -> float:
        try:
            return self._number(value)
        except ValueError as error:
            raise ValueError(f"override {error}") from None


class _Bounded(_Numeric):
    """A distribution on [low, high]; ``low == high`` is allowed and always gives that value."""

    low: Real
    """Smallest value (inclusive)."""

    high: Real
    """Largest value (inclusive)."""

    @model_validator(mode="after")
    def _low_not_above_high(self):
        check_range(self.low, self.high)
        return self

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class Uniform(_Bounded):
    """Every value in [low, high] equally likely."""

    dist: Literal["uniform"]

    def default_nominal(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def ppf(self, u: float) -> float:
        return min(self.low + (self.high - self.low) * u, self.high)


class Integer(_Bounded):
    """A whole number in [low, high], each equally likely (for counts, seeds, indices)."""

    dist: Literal["integer"]
    low: Int64
    high: Int64
    nominal: Whole | None = None

    def default_nominal(self) -> int:
        return (self.low + self.high) // 2

    def _number(self, value: Any) -> int:
        return to_whole(value)

    def draw(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))

    def ppf(self, u: float) -> int:
        """Each whole number in [low, high] owns an equal share of [0, 1]."""
        return min(self.low + int(u * (self.high - self.low + 1)), self.high)


class Normal(_Numeric):
    """Gaussian with the given mean and standard deviation."""

    dist: Literal["normal"]
    mean: Real
    std: Real = Field(ge=0)

    @model_validator(mode="after")
    def _draws_are_finite(self):
        # A draw is mean + std * z; |z| > 10 has a chance of 1e-23.
        if not math.isfinite(abs(self.mean) + 10 * self.std):
            raise ValueError(
                f"|mean| + 10 * std = |{self.mean:g}| + 10 * {self.std:g} overflows, so draws "
                "would be infinite; need a finite |mean| + 10 * std"
            )
        return self

    def default_nominal(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.normal(self.mean, self.std))

    def ppf(self, u: float) -> float:
        return self.mean + self.std * STANDARD_NORMAL.inv_cdf(_open(u))


def _below_mean_ppf(mean: float, std: float, low: float, high: float, u: float) -> float:
    """The ``u`` quantile of Normal(mean, std) truncated to [low, high], both at most ``mean``.
    Its CDF there is ``erfc`` of a positive number, exact to the last digits down to 1e-308 (37
    standard deviations), where ``1 + erf`` keeps only the digits above 1e-16: at 8 standard
    deviations that left a handful of distinct values. Beyond 37, the bound nearer the mean."""
    lo, hi = (0.5 * math.erfc((mean - bound) / (std * math.sqrt(2))) for bound in (low, high))
    q = lo + (hi - lo) * u
    if not q > 0.0:
        return high
    return min(max(mean + std * STANDARD_NORMAL.inv_cdf(q), low), high)


class TruncatedNormal(_Bounded):
    """Gaussian (mean, std) restricted to [low, high]; drawn by inverting the CDF, so it is exact
    in the tails too: a range wholly on one side of the mean is inverted in the lower tail (an
    upper one mirrored into it), where the CDF keeps its digits."""

    dist: Literal["truncnormal"]
    mean: Real
    std: Real = Field(gt=0)

    def default_nominal(self) -> float:
        return min(max(self.mean, self.low), self.high)

    def draw(self, rng: np.random.Generator) -> float:
        return self.ppf(rng.random())

    def ppf(self, u: float) -> float:
        if self.high < self.mean:
            return _below_mean_ppf(self.mean, self.std, self.low, self.high, u)
        if self.low > self.mean:
            return -_below_mean_ppf(-self.mean, self.std, -self.high, -self.low, 1.0 - u)
        # The mean inside the range: the CDF's digits suffice (and these draws stay bit for bit).
        normal = NormalDist(self.mean, self.std)
        lo, hi = normal.cdf(self.low), normal.cdf(self.high)
        q = lo + (hi - lo) * u
        if not 0.0 < q < 1.0:  # both bounds beyond double precision of the CDF
            return self.default_nominal()
        return min(max(normal.inv_cdf(q), self.low), self.high)


class LogNormal(_Numeric):
    """exp(X) with X ~ Normal(mu, sigma): positive values spread over orders of magnitude
    (damping, stiffness, friction coefficients)."""

    dist: Literal["lognormal"]
    mu: Real
    """Mean of the underlying normal, i.e. log of the median."""
    sigma: Real = Field(ge=0)
    """Standard deviation of the underlying normal."""

    @model_validator(mode="after")
    def _draws_are_finite(self):
        # A draw is exp(mu + sigma * z); |z| > 10 has a chance of 1e-23.
        if self.mu + 10 * self.sigma > LARGEST_EXPONENT:
            raise ValueError(
                f"mu + 10 * sigma = {self.mu + 10 * self.sigma:g} would draw infinite values; "
                f"need mu + 10 * sigma <= {LARGEST_EXPONENT:.1f}"
            )
        return self

    def default_nominal(self) -> float:
        return math.exp(self.mu)

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.lognormal(self.mu, self.sigma))

    def ppf(self, u: float) -> float:
        return math.exp(self.mu + self.sigma * STANDARD_NORMAL.inv_cdf(_open(u)))


class Choice(_Distribution):
    """One of a list of distinct values (numbers, strings, booleans or lists, mixed if need be),
    optionally weighted."""

    dist: Literal["choice"]
    values: list[Any] = Field(min_length=1)
    weights: list[Annotated[Real, Field(ge=0)]] | None = None
    """Relative weights, one per value; uniform when omitted."""

    @field_validator("values")
    @classmethod
    def _values_distinct_and_finite(cls, values: list[Any]) -> list[Any]:
        _refuse_non_finite(values)
        seen: set[str] = set()
        for value in values:
            if _identity(value) in seen:
                raise ValueError(f"{value!r} appears more than once; values must be distinct")
            seen.add(_identity(value))
        return values

    @model_validator(mode="after")
    def _weights_match_values(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if not 0 < sum(self.weights) < math.inf:
                raise ValueError(f"weights = {self.weights} must have a positive, finite sum")
        if self.nominal is not None and self.index(self.nominal) is None:
            raise ValueError(f"nominal = {self.nominal!r} is not one of values = {self.values!r}")
        return self

    def index(self, value: Any) -> int | None:
        """Where ``value`` is in ``values`` (as :func:`_identity` compares), or None."""
        key = _identity(value)
        return next((i for i, v in enumerate(self.values) if _identity(v) == key), None)

    def default_nominal(self) -> Any:
        return self.values[0]

    def nominal_value(self) -> Any:
        """The entry of ``values`` the nominal names (``1.0`` names ``1``): draws and nominal agree."""
        return self.values[0 if self.nominal is None else self.index(self.nominal)]

    def coerce(self, value: Any) -> Any:
        index = self.index(value)
        if index is None and isinstance(value, str):
            import yaml  # "--config 'overrides={n: 2}'" hands the value over as the text "2"

            try:
                index = self.index(yaml.safe_load(value))
            except yaml.YAMLError:
                pass
        if index is None:
            raise ValueError(f"override {value!r} is not one of values = {self.values!r}")
        return self.values[index]

    def draw(self, rng: np.random.Generator) -> Any:
        p = None
        if self.weights is not None:
            p = np.asarray(self.weights, dtype=float) / sum(self.weights)
        return self.values[int(rng.choice(len(self.values), p=p))]

    def ppf(self, u: float) -> Any:
        """Value i owns the share [W(i-1), W(i)) / W(n) of [0, 1], W the cumulative weights: a
        value of weight 0 owns nothing and is never chosen."""
        weights = self.weights or [1.0] * len(self.values)
        cumulative = np.cumsum(weights, dtype=float)
        index = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
        last = max(i for i, w in enumerate(weights) if w > 0)  # u = 1, or rounding in the sum
        return self.values[min(index, last)]


class Constant(_Distribution):
    """Always the same value: a named constant that still shows up in every table."""

    dist: Literal["constant"]
    value: Any

    _finite = field_validator("value", "nominal")(_refuse_non_finite)

    def default_nominal(self) -> Any:
        return self.value

    def draw(self, rng: np.random.Generator) -> Any:
        return self.value

    def ppf(self, u: float) -> Any:
        return self.value


Distribution = Annotated[
    Union[Uniform, Integer, Normal, TruncatedNormal, LogNormal, Choice, Constant],
    Field(discriminator="dist"),
]
"""Any parameter distribution, chosen by its ``dist`` key."""

def name_key(name: str) -> int:
    """A stable 64-bit integer for a parameter name (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def parameter_rng(seed: int, stream: int, name: str) -> np.random.Generator:
    """The random stream of one parameter in one trial (or one optimiser evaluation)."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, name_key(name)]))


def trial_seed(seed: int, stream: int) -> int:
    """A 32-bit seed for user code in one trial (e.g. sensor noise), derived like the draws."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


__all__ = [
    "Choice",
    "Constant",
    "Distribution",
    "Integer",
    "LogNormal",
    "Normal",
    "TruncatedNormal",
    "Uniform",
    "parameter_rng",
    "trial_seed",
]
