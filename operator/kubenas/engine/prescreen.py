"""Zero-cost pre-screening: score many untrained candidates in one trial, train the best.

Zero-cost proxies rank NAS-Bench-201 cells well on CIFAR and badly on other tasks, so
they are checked before they are trusted. Every trained trial of a pre-screened
experiment also reports its proxies (`zc_<proxy>`); once `proxyGuardTrials` of them have
succeeded at the lowest budget, the guard measures each proxy's Spearman rank correlation
with the objective and keeps those at or above `minSpearman`. Only then does one
`zerocost` trial score `prescreen` candidates with the kept proxies, and its best
`prescreenTop` are trained first; after them, and whenever no proxy is kept, the
strategy proposes as usual. Everything is recomputed from the history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubenas.api import strategy_settings
from kubenas.api.trials import Trial, objective_value, trial_name
from kubenas.api.types import Experiment
from kubenas.space.oplist import split
from kubenas.space.space import Architecture
from kubenas.strategies import SearchContext

METRIC_PREFIX = "zc_"
BATCH_SIZE = 64


@dataclass(frozen=True)
class ProxyCheck:
    name: str
    spearman: float | None  # None: too few distinct values to rank
    kept: bool


@dataclass(frozen=True)
class Screen:
    """Start the zerocost trial with this KUBENAS_ZEROCOST request."""

    request: dict[str, Any]


@dataclass(frozen=True)
class Pick:
    """Train this screened candidate."""

    arch: Architecture


Screened = Screen | Pick


def _setting(exp: Experiment, name: str) -> Any:
    return strategy_settings.value(exp.strategy.name, exp.strategy.settings, name)


def enabled(exp: Experiment) -> bool:
    info = strategy_settings.STRATEGIES[exp.strategy.name]
    return "prescreen" in info.settings and int(_setting(exp, "prescreen")) > 0


def trial_request(exp: Experiment) -> dict[str, Any] | None:
    """KUBENAS_ZEROCOST of a trained trial: its own proxies, for the guard (None: off)."""
    if not enabled(exp):
        return None
    return {"proxies": list(_setting(exp, "proxies")), "batchSize": BATCH_SIZE}


def guard(exp: Experiment, trials: Sequence[Trial]) -> list[ProxyCheck] | None:
    """Each proxy's rank correlation with the objective over the first guard trials (None
    until that many trained trials have succeeded at the lowest budget)."""
    wanted = int(_setting(exp, "proxyGuardTrials"))
    done = [t for t in trials if t.rung == 0 and objective_value(exp, t) is not None][:wanted]
    if len(done) < wanted:
        return None
    scores = [exp.objective.primary.score(objective_value(exp, t) or 0.0) for t in done]
    threshold = float(_setting(exp, "minSpearman"))
    checks = []
    for name in _setting(exp, "proxies"):
        pairs = [(t.metrics[METRIC_PREFIX + name], s) for t, s in zip(done, scores, strict=True)
                 if METRIC_PREFIX + name in t.metrics]
        rho = _spearman(pairs)
        checks.append(ProxyCheck(name, rho, rho is not None and rho >= threshold))
    return checks


def _spearman(pairs: list[tuple[float, float]]) -> float | None:
    if len(pairs) < 3 or len({p for p, _ in pairs}) < 2 or len({s for _, s in pairs}) < 2:
        return None
    from scipy.stats import spearmanr  # here: scipy.stats costs every kubenas command 1.6 s

    rho = float(spearmanr([p for p, _ in pairs], [s for _, s in pairs]).statistic)
    return rho if math.isfinite(rho) else None


def screens(trials: Sequence[Trial]) -> list[Trial]:
    return [t for t in trials if t.kind == "zerocost"]


def next_trial(ctx: SearchContext) -> Screened | None:
    """The zerocost trial once the guard keeps a proxy, then its unseen candidates, best
    first; None hands the slot to the strategy."""
    exp = ctx.experiment
    if not enabled(exp):
        return None
    started = screens(ctx.trials)
    if not started:
        checks = guard(exp, ctx.trials)
        kept = [c.name for c in checks or () if c.kept]
        if not kept:
            return None
        return Screen({"proxies": kept, "choices": split(exp.space).choices,
                       "sample": int(_setting(exp, "prescreen")),
                       "top": int(_setting(exp, "prescreenTop")), "batchSize": BATCH_SIZE})
    done = next((t for t in started if t.phase == "Succeeded"), None)
    if done is None:
        return None
    ops = split(exp.space)
    for entry in (done.derived or {}).get("top", [])[: int(_setting(exp, "prescreenTop"))]:
        arch = ops.complete(entry["params"])
        if not ctx.seen(arch):
            return Pick(arch)
    return None


def summary(exp: Experiment, trials: Sequence[Trial], name: str) -> dict[str, Any] | None:
    """status.zeroCost: the guard's verdict per proxy and the screen trial (None: off)."""
    if not enabled(exp):
        return None
    out: dict[str, Any] = {"candidates": int(_setting(exp, "prescreen")),
                           "guardTrials": int(_setting(exp, "proxyGuardTrials"))}
    checks = guard(exp, trials)
    if checks is not None:
        out["proxies"] = [{"name": c.name, "kept": c.kept, **(
            {"spearman": round(c.spearman, 4)} if c.spearman is not None else {})}
            for c in checks]
    started = screens(trials)
    if started:
        screen = started[0]
        out["trial"] = trial_name(name, screen.index)
        out["phase"] = screen.phase
        if screen.derived:
            out["scored"] = int(screen.derived.get("scored", 0))
    return out
