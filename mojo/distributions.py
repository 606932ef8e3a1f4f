"""Distributions of a study's random parameters, and how each one draws a value.

A parameter's draw depends only on (seed, trial number, parameter name): every draw gets its own
random stream, so adding or removing one parameter never changes the values of the others.
"""

from __future__ import annotations

import hashlib
import math
from statistics import NormalDist
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Distribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nominal: Any = None
    """The value used in the nominal trial (trial 0). Defaults to the distribution's centre."""

    unit: str | None = None
    """Unit of the value, shown in tables and plots (e.g. ``m``, ``kg``, ``rad/s``)."""

    def default_nominal(self) -> Any:
        raise NotImplementedError

    def draw(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def nominal_value(self) -> Any:
        return self.default_nominal() if self.nominal is None else self.nominal

    def bounds(self) -> tuple[float, float] | None:
        """The closed interval the values lie in, when the distribution has one."""
        return None

    def coerce(self, value: Any) -> Any:
        """An override as a value of this parameter: ``--config`` hands over numbers as text."""
        return value

    @model_validator(mode="after")
    def _nominal_within_bounds(self):
        bounds = self.bounds()
        if self.nominal is not None and bounds is not None:
            low, high = bounds
            if not (low <= self.nominal <= high):
                raise ValueError(f"nominal = {self.nominal!r} lies outside [{low}, {high}]")
        return self


class _Bounded(_Distribution):
    low: float
    """Smallest value (inclusive)."""

    high: float
    """Largest value (inclusive)."""

    @model_validator(mode="before")
    @classmethod
    def _low_not_above_high(cls, data: Any) -> Any:
        if isinstance(data, dict):
            low, high = data.get("low"), data.get("high")
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
                raise ValueError(f"low = {low} is greater than high = {high}; need low <= high")
        return data

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class _Real:
    """Mixin of the distributions of real numbers: overrides become floats."""

    def coerce(self, value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"override {value!r} is not a number") from None


class Uniform(_Real, _Bounded):
    """Every value in [low, high] equally likely."""

    dist: Literal["uniform"]

    def default_nominal(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


class Integer(_Bounded):
    """A whole number in [low, high], each equally likely (for counts, seeds, indices)."""

    dist: Literal["integer"]
    low: int
    high: int

    def default_nominal(self) -> int:
        return (self.low + self.high) // 2

    def coerce(self, value: Any) -> int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not number.is_integer():
            raise ValueError(f"override {value!r} is not a whole number")
        return int(number)

    def draw(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))


class Normal(_Real, _Distribution):
    """Gaussian with the given mean and standard deviation."""

    dist: Literal["normal"]
    mean: float
    std: float = Field(ge=0)

    def default_nominal(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.normal(self.mean, self.std))


class TruncatedNormal(_Real, _Bounded):
    """Gaussian (mean, std) restricted to [low, high]; drawn by inverting the CDF, so it is exact
    even far in the tails."""

    dist: Literal["truncnormal"]
    mean: float
    std: float = Field(gt=0)

    def default_nominal(self) -> float:
        return min(max(self.mean, self.low), self.high)

    def draw(self, rng: np.random.Generator) -> float:
        normal = NormalDist(self.mean, self.std)
        lo, hi = normal.cdf(self.low), normal.cdf(self.high)
        u = lo + (hi - lo) * rng.random()
        if not 0.0 < u < 1.0:  # both bounds beyond double precision of the CDF
            return self.default_nominal()
        return min(max(normal.inv_cdf(u), self.low), self.high)


class LogNormal(_Real, _Distribution):
    """exp(X) with X ~ Normal(mu, sigma): positive values spread over orders of magnitude
    (damping, stiffness, friction coefficients)."""

    dist: Literal["lognormal"]
    mu: float
    """Mean of the underlying normal, i.e. log of the median."""
    sigma: float = Field(ge=0)
    """Standard deviation of the underlying normal."""

    def default_nominal(self) -> float:
        return math.exp(self.mu)

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.lognormal(self.mu, self.sigma))


class Choice(_Distribution):
    """One of a list of values (numbers, strings or lists), optionally weighted."""

    dist: Literal["choice"]
    values: list[Any] = Field(min_length=1)
    weights: list[float] | None = None
    """Relative weights, one per value; uniform when omitted."""

    @model_validator(mode="after")
    def _weights_match_values(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError(f"weights = {self.weights} must be non-negative with a positive sum")
        if self.nominal is not None and self.nominal not in self.values:
            raise ValueError(f"nominal = {self.nominal!r} is not one of values = {self.values!r}")
        return self

    def default_nominal(self) -> Any:
        return self.values[0]

    def coerce(self, value: Any) -> Any:
        if isinstance(value, str) and value not in self.values:
            import yaml  # "--config 'overrides={n: 2}'" hands the value over as the text "2"

            parsed = yaml.safe_load(value)
            return parsed if parsed in self.values else value
        return value

    def draw(self, rng: np.random.Generator) -> Any:
        p = None
        if self.weights is not None:
            p = np.asarray(self.weights, dtype=float) / sum(self.weights)
        return self.values[int(rng.choice(len(self.values), p=p))]


class Constant(_Distribution):
    """Always the same value: a named constant that still shows up in every table."""

    dist: Literal["constant"]
    value: Any

    def default_nominal(self) -> Any:
        return self.value

    def draw(self, rng: np.random.Generator) -> Any:
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
