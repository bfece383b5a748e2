"""Architectures as plain dicts, and the operations strategies need on them.

An architecture maps each parameter name to a value; a repeated parameter maps to a list.
Everything here is a pure function of the space and a `numpy.random.Generator`, so that the
engine stays deterministic.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from kubenas.api.types import Parameter, SearchSpaceSpec
from kubenas.space.cell import cell_key

Architecture = dict[str, Any]
MEMO_LIMIT = 1 << 17
NETWORKS_LIMIT = 200_000
_UNSET = object()


class SearchSpace:
    """Sampling, mutation, enumeration, encoding and identity of architectures.

    It also owns the caches of what is derived from the space: per-architecture results
    (keys, encodings, feature views) and whole-space ones (the list of distinct networks),
    freed with it. An engine owns one; a benchmark that runs thousands of engines over one
    space hands them the same SearchSpace.
    """

    def __init__(self, spec: SearchSpaceSpec) -> None:
        self.spec = spec
        self.family = spec.family
        self.parameters = spec.parameters
        self._by_name = {p.name: p for p in spec.parameters}
        self._memos: dict[str, dict[tuple[Any, ...], Any]] = {}
        self._derived: dict[str, Any] = {}

    # -- shape -----------------------------------------------------------------------------
    def count(self, param: Parameter, arch: Architecture) -> int:
        """How many values a repeated parameter holds in this architecture."""
        if isinstance(param.repeat, int):
            return param.repeat
        if isinstance(param.repeat, str):
            return int(arch[param.repeat])
        return 1

    def max_count(self, param: Parameter) -> int:
        if isinstance(param.repeat, str):
            return int(self._by_name[param.repeat].high)
        return self.count(param, {})

    @property
    def finite(self) -> bool:
        return all(p.finite for p in self.parameters)

    @property
    def size(self) -> float:
        """Number of distinct encodings (not of distinct networks), counted without
        enumerating them: a finite space can still be far too large to list."""
        if not self.finite:
            return math.inf
        fixed, dependent = self._split()
        drivers = [self._by_name[n] for n in sorted({str(p.repeat) for p in dependent})]
        total = math.prod(float(p.cardinality) ** self.count(p, {}) for p in fixed
                          if p not in drivers)
        per_drivers = 0.0  # encodings of the dependent parameters, summed over driver values
        for combo in itertools.product(*(d.values() for d in drivers)):
            counts = dict(zip((d.name for d in drivers), combo, strict=True))
            per_drivers += math.prod(float(p.cardinality) ** int(counts[str(p.repeat)])
                                     for p in dependent)
        return total * per_drivers

    def networks(self) -> tuple[list[Architecture], list[str]] | None:
        """One architecture per distinct network, with its key, in grid order; None for a
        space of more than NETWORKS_LIMIT encodings. Listed once per SearchSpace."""
        return self.derived("networks", self._list_networks)

    def _list_networks(self) -> tuple[list[Architecture], list[str]] | None:
        if self.size > NETWORKS_LIMIT:
            return None
        found: dict[str, Architecture] = {}
        for arch in self.grid():
            found.setdefault(self.key(arch), arch)
        return list(found.values()), list(found)

    def derived(self, kind: str, compute: Callable[[], Any]) -> Any:
        """compute(), once per SearchSpace and kind: a whole-space result to keep."""
        value = self._derived.get(kind, _UNSET)
        if value is _UNSET:
            value = self._derived[kind] = compute()
        return value

    # -- sampling --------------------------------------------------------------------------
    def sample_value(self, param: Parameter, rng: np.random.Generator) -> Any:
        if param.kind == "choice":
            return param.choices[int(rng.integers(len(param.choices)))]
        if param.kind == "int":
            steps = (int(param.high) - int(param.low)) // param.step
            return int(param.low) + param.step * int(rng.integers(steps + 1))
        if param.log:
            value = math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
        else:
            value = rng.uniform(param.low, param.high)
        return float(min(max(value, param.low), param.high))  # exp(log(x)) may miss x

    def sample(self, rng: np.random.Generator) -> Architecture:
        arch: Architecture = {}
        for p in self._ordered():
            if p.repeat is None:
                arch[p.name] = self.sample_value(p, rng)
            else:
                arch[p.name] = [self.sample_value(p, rng) for _ in range(self.count(p, arch))]
        return arch

    def _ordered(self) -> list[Parameter]:
        """Count-setting parameters first, so repeats know their length."""
        counts = {p.repeat for p in self.parameters if isinstance(p.repeat, str)}
        return sorted(self.parameters, key=lambda p: p.name not in counts)

    # -- neighbourhood ---------------------------------------------------------------------
    def slots(self, arch: Architecture) -> list[tuple[Parameter, int | None]]:
        """Every place one value can change: (parameter, list index or None)."""
        out: list[tuple[Parameter, int | None]] = []
        for p in self.parameters:
            if p.repeat is None:
                out.append((p, None))
            else:
                out.extend((p, i) for i in range(self.count(p, arch)))
        return out

    def with_value(self, arch: Architecture, param: Parameter, index: int | None, value: Any,
                   rng: np.random.Generator) -> Architecture:
        """A copy of arch with one slot changed; repeats follow a changed count."""
        new = {k: list(v) if isinstance(v, list) else v for k, v in arch.items()}
        if index is None:
            new[param.name] = value
        else:
            new[param.name][index] = value
        for p in self.parameters:
            if p.repeat == param.name and index is None:
                values = new[p.name][: int(value)]
                while len(values) < int(value):
                    values.append(self.sample_value(p, rng))
                new[p.name] = values
        return new

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one slot to a different value (a float moves by a Gaussian step)."""
        slots = self.slots(arch)
        param, index = slots[int(rng.integers(len(slots)))]
        current = arch[param.name] if index is None else arch[param.name][index]
        if param.finite:
            options = [v for v in param.values() if v != current]
            if not options:
                return arch
            value = options[int(rng.integers(len(options)))]
        else:
            value = self._perturb(param, float(current), rng)
        return self.with_value(arch, param, index, value, rng)

    def _perturb(self, param: Parameter, current: float, rng: np.random.Generator) -> float:
        if param.log:
            span = math.log(param.high) - math.log(param.low)
            value = math.exp(math.log(current) + rng.normal(0, 0.2 * span))
        else:
            value = current + rng.normal(0, 0.2 * (param.high - param.low))
        return float(min(max(value, param.low), param.high))

    def neighbours(self, arch: Architecture, rng: np.random.Generator) -> list[Architecture]:
        """All one-slot changes of a finite architecture, in a fixed order."""
        out: list[Architecture] = []
        for param, index in self.slots(arch):
            current = arch[param.name] if index is None else arch[param.name][index]
            values = param.values() if param.finite else (
                self._perturb(param, current, rng) for _ in range(4))
            out.extend(self.with_value(arch, param, index, v, rng)
                       for v in values if v != current)
        return out

    def crossover(self, a: Architecture, b: Architecture,
                  rng: np.random.Generator) -> Architecture:
        """Uniform crossover; a count parameter carries its repeats with it."""
        child: Architecture = {}
        for p in self._ordered():
            if p.repeat is None:
                child[p.name] = self._pick(p, [a[p.name], b[p.name]], rng)
                continue
            parents = (a[p.name], b[p.name])
            child[p.name] = [self._pick(p, [v[i] for v in parents if i < len(v)], rng)
                             for i in range(self.count(p, child))]
        return child

    def _pick(self, param: Parameter, candidates: list[Any], rng: np.random.Generator) -> Any:
        if not candidates:
            return self.sample_value(param, rng)
        return candidates[int(rng.integers(len(candidates)))]

    def grid(self) -> Iterator[Architecture]:
        """Every architecture of a finite space, in a fixed order."""
        fixed, dependent = self._split()
        axes = [self._axis(p, p.repeat if isinstance(p.repeat, int) else None) for p in fixed]
        for combo in itertools.product(*axes):
            base = {p.name: v for p, v in zip(fixed, combo, strict=True)}
            dep_axes = [self._axis(p, int(base[str(p.repeat)])) for p in dependent]
            for rest in itertools.product(*dep_axes):
                arch = dict(base)
                arch.update({p.name: v for p, v in zip(dependent, rest, strict=True)})
                yield {p.name: arch[p.name] for p in self.parameters}

    def _split(self) -> tuple[list[Parameter], list[Parameter]]:
        """Parameters with a fixed count, and those repeated as another parameter says."""
        dependent = [p for p in self.parameters if isinstance(p.repeat, str)]
        return [p for p in self.parameters if p not in dependent], dependent

    @staticmethod
    def _axis(param: Parameter, repeat: int | None) -> list[Any]:
        values = param.values()
        if repeat is None:
            return list(values)
        return [list(v) for v in itertools.product(values, repeat=repeat)]

    # -- identity and encoding -------------------------------------------------------------
    def key(self, arch: Architecture) -> str:
        """A stable identity string; equal for encodings of the same network."""
        return self.memo("key", arch, self._key)

    def _key(self, arch: Architecture) -> str:
        arch = {p.name: arch[p.name] for p in self.parameters}
        cell = self.spec.cell
        if cell is not None:
            arch[cell.parameter] = cell_key(arch[cell.parameter], cell)
        return json.dumps(arch, sort_keys=True, separators=(",", ":"))

    def encode(self, arch: Architecture) -> np.ndarray:
        """A fixed-length feature vector: one-hot for choices, [0, 1] for ranges.

        Repeats are padded to their largest count with zeros, so that architectures of
        different depths share one feature space. The result is shared: do not modify it.
        """
        return self.memo("code", arch, self._frozen_encode)

    def memo(self, kind: str, arch: Architecture, compute: Callable[[Architecture], Any]) -> Any:
        """compute(arch), memoised per kind and architecture value; each kind's cache is
        cleared wholesale past MEMO_LIMIT entries."""
        cache = self._memos.setdefault(kind, {})
        values = tuple(tuple(v) if isinstance(v, list) else v
                       for v in (arch[p.name] for p in self.parameters))
        hit = cache.get(values)
        if hit is None:
            if len(cache) >= MEMO_LIMIT:
                cache.clear()
            hit = cache[values] = compute(arch)
        return hit

    def _frozen_encode(self, arch: Architecture) -> np.ndarray:
        vector = self._encode(arch)
        vector.flags.writeable = False
        return vector

    def _encode(self, arch: Architecture) -> np.ndarray:
        feats: list[float] = []
        for p in self.parameters:
            values = arch[p.name] if p.repeat is not None else [arch[p.name]]
            for i in range(self.max_count(p)):
                feats.extend(self._encode_value(p, values[i]) if i < len(values)
                             else [0.0] * self._width(p))
        return np.asarray(feats, dtype=np.float64)

    @staticmethod
    def _width(p: Parameter) -> int:
        return len(p.choices) if p.kind == "choice" else 1

    @staticmethod
    def _encode_value(p: Parameter, value: Any) -> list[float]:
        if p.kind == "choice":
            return [1.0 if c == value else 0.0 for c in p.choices]
        if p.log:
            return [(math.log(value) - math.log(p.low)) / max(math.log(p.high / p.low), 1e-12)]
        return [(float(value) - p.low) / max(p.high - p.low, 1e-12)]

    def validate(self, arch: Architecture) -> list[str]:
        """Problems that make arch not a member of this space (empty when it is)."""
        problems = [f"missing parameter {p.name}" for p in self.parameters if p.name not in arch]
        problems += [f"unknown parameter {k}" for k in arch if k not in self._by_name]
        if problems:
            return problems
        for p in self.parameters:
            values = arch[p.name] if p.repeat is not None else [arch[p.name]]
            if p.repeat is not None and (not isinstance(values, list)
                                         or len(values) != self.count(p, arch)):
                problems.append(f"{p.name} must be a list of {self.count(p, arch)} values")
                continue
            problems += [f"{p.name}: {v!r} is not allowed" for v in values
                         if not _member(p, v)]
        return problems


def _member(p: Parameter, value: Any) -> bool:
    if p.kind == "choice":
        return value in p.choices
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if p.kind == "int" and (not float(value).is_integer() or (int(value) - p.low) % p.step):
        return False
    return p.low <= value <= p.high
