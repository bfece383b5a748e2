"""REINFORCE (`reinforce`): a policy-gradient controller, as in NASNet/ENAS without sharing.

The policy is one softmax per parameter slot (choices and int values are categories; a
float slot is a Gaussian over its normalised range with a learned mean). It is rebuilt from
the history every time: starting from uniform, each completed trial in index order applies
one REINFORCE step with an exponential-moving-average baseline and rewards normalised by
their running spread. Sampling the rebuilt policy proposes the next architecture; an
untried one is guaranteed through `ctx.fresh`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kubenas.api.types import Parameter
from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy

FLOAT_STD = 0.15


class Reinforce(Strategy):
    name = "reinforce"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self._replayed: list[tuple[int, float]] = []
        self._policy: Policy | None = None

    def propose(self, ctx: SearchContext) -> Architecture | None:
        policy = self._rebuild(ctx)
        return ctx.fresh(lambda: policy.sample(ctx))

    def _rebuild(self, ctx: SearchContext) -> Policy:
        """The policy after replaying the history; resumed when the history only grew."""
        done = [(t.index, v) for t, v in ctx.completed(rung=None)]
        if self._policy is None or done[: len(self._replayed)] != self._replayed:
            self._policy = Policy(ctx, self.setting("learningRate"),
                                  self.setting("baselineDecay"))
            self._replayed = []
        for index, value in done[len(self._replayed):]:
            self._policy.update(ctx, dict(ctx.trials[index].arch), value)
        self._replayed = done
        return self._policy


class Policy:
    def __init__(self, ctx: SearchContext, lr: float, decay: float) -> None:
        self.lr, self.decay = lr, decay
        self.logits = {p.name: np.zeros((ctx.space.max_count(p), _width(p)))
                       for p in ctx.space.parameters}
        self.baseline: float | None = None
        self.spread = 0.0

    def update(self, ctx: SearchContext, arch: Architecture, reward: float) -> None:
        if self.baseline is None:
            self.baseline = reward
            return
        advantage = reward - self.baseline
        self.spread = self.decay * self.spread + (1 - self.decay) * abs(advantage)
        step = self.lr * advantage / max(self.spread, 1e-12)
        for param, index in ctx.space.slots(arch):
            value = arch[param.name] if index is None else arch[param.name][index]
            row = self.logits[param.name][index or 0]
            if param.kind == "float":
                mean = _sigmoid(row[0])
                row[0] += step * (_unit(param, value) - mean) / FLOAT_STD**2 * mean * (1 - mean)
                continue
            grad = -_softmax(row)
            grad[_category(param, value)] += 1.0
            row += step * grad
        self.baseline = self.decay * self.baseline + (1 - self.decay) * reward

    def sample(self, ctx: SearchContext) -> Architecture:
        arch: Architecture = {}
        for param in _ordered(ctx):
            count = ctx.space.count(param, arch)
            values = [self._draw(param, self.logits[param.name][i], ctx.rng)
                      for i in range(count)]
            arch[param.name] = values if param.repeat is not None else values[0]
        return {p.name: arch[p.name] for p in ctx.space.parameters}

    @staticmethod
    def _draw(param: Parameter, row: np.ndarray, rng: np.random.Generator) -> Any:
        if param.kind == "float":
            unit = float(np.clip(rng.normal(_sigmoid(row[0]), FLOAT_STD), 0.0, 1.0))
            if param.log:
                value = math.exp(math.log(param.low) + unit * math.log(param.high / param.low))
            else:
                value = param.low + unit * (param.high - param.low)
            return float(min(max(value, param.low), param.high))
        return param.values()[int(rng.choice(len(row), p=_softmax(row)))]


def _ordered(ctx: SearchContext) -> list[Parameter]:
    counts = {p.repeat for p in ctx.space.parameters if isinstance(p.repeat, str)}
    return sorted(ctx.space.parameters, key=lambda p: p.name not in counts)


def _width(param: Parameter) -> int:
    return 1 if param.kind == "float" else len(param.values())


def _category(param: Parameter, value: Any) -> int:
    return param.values().index(value)


def _unit(param: Parameter, value: float) -> float:
    if param.log:
        return math.log(value / param.low) / math.log(param.high / param.low)
    return (value - param.low) / ((param.high - param.low) or 1.0)


def _softmax(row: np.ndarray) -> np.ndarray:
    e = np.exp(row - row.max())
    return e / e.sum()


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
