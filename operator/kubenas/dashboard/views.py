"""Trial records -> the JSON the dashboard draws. Pure: no I/O, no clock.

Both readers (run folders and the cluster) hand over a `Snapshot`, so the page is the same
in both modes. Everything that grows with the number of trials is bounded here: the trials
table is paginated, curves and series are downsampled, and chart inputs are capped to the
best trials. The counts, best trial, leaderboard and Pareto front come from
`engine.status`, the code that writes `result.json` and the NASExperiment status, so the
dashboard cannot disagree with them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubenas.api.trials import ACTIVE, DONE, Trial, trial_name
from kubenas.api.types import Experiment, Parameter
from kubenas.engine.status import LEADERBOARD_SIZE, pareto, ranked, summarize
from kubenas.space.space import SearchSpace

CURVE_POINTS = 100
CURVE_TRIALS = 24
SERIES_POINTS = 2000
PARALLEL_LIMIT = 1000
DETAIL_POINTS = 500
PAGE_SIZE = 25
PAGE_SIZE_MAX = 200
MISSING = "-"  # a slot a shorter architecture does not have (depth 2 of at most 4)
SORT_KEYS = ("index", "name", "phase", "budget", "rung", "value", "duration", "attempt")


class NotFound(LookupError):
    pass


class BadQuery(ValueError):
    pass


class ReadError(RuntimeError):
    """A reader could not read its source (a malformed file, an unreachable cluster); the
    message is one line for the user."""


@dataclass(frozen=True)
class Snapshot:
    """One experiment as a reader saw it.

    `trials` is None when the reader did not list them (the experiments page of the cluster
    uses the status alone). `live` says a local run holds the folder now, so its
    `result.json`, if any, is from an earlier run. `exp` is None when the spec does not
    parse; `problem` says why. `version` changes whenever what was read changes ("" when
    the reader cannot tell), so answers built from it can be reused.
    """

    id: str
    name: str
    namespace: str
    exp: Experiment | None
    status: Mapping[str, Any]
    trials: tuple[Trial, ...] | None = None
    live: bool = False
    problem: str | None = None
    version: str = ""


@dataclass(frozen=True)
class TrialQuery:
    sort: str = "index"
    descending: bool = False
    text: str = ""
    phases: tuple[str, ...] = ()
    page: int = 1
    size: int = PAGE_SIZE


def downsample(values: Sequence[Any], limit: int) -> list[Any]:
    """At most `limit` items at evenly spaced positions, first and last always kept."""
    n = len(values)
    if n <= limit:
        return list(values)
    if limit < 2:
        return [values[-1]][:limit]
    return [values[round(i * (n - 1) / (limit - 1))] for i in range(limit)]


def experiment_row(s: Snapshot) -> dict[str, Any]:
    """What the experiments page shows: the status, or while a local run is live (or left
    no result.json) the same summary computed from its trials."""
    row: dict[str, Any] = {"id": s.id, "name": s.name, "namespace": s.namespace,
                           "problem": s.problem}
    status = dict(s.status)
    if s.exp is not None and s.trials is not None and (s.live or not status):
        status = _derived_status(s.exp, s.trials, s.live)
    row.update(phase=status.get("phase") or "Unknown", reason=status.get("reason"),
               message=status.get("message"), strategy=status.get("strategy"),
               bestValue=status.get("bestValue"),
               bestTrial=(status.get("bestTrial") or {}).get("name"),
               progress=status.get("progress"), trials=status.get("trials") or {},
               startTime=status.get("startTime"), completionTime=status.get("completionTime"))
    if s.exp is not None:
        row["objective"] = {"metric": s.exp.objective.primary.metric,
                            "direction": s.exp.objective.primary.direction}
        row["maxTrials"] = s.exp.budget.max_trials
    return row


def _derived_status(exp: Experiment, trials: Sequence[Trial], live: bool) -> dict[str, Any]:
    out = summarize(exp, trials)
    done = sum(t.phase in DONE for t in trials)
    out["progress"] = f"{done}/{exp.budget.max_trials}"
    out["phase"] = "Running" if live else "Unknown"
    out["message"] = (f"{out['trials']['running']} running, {done} of "
                      f"{exp.budget.max_trials} trials done") if live else \
        "the run left no result.json (it was killed, or is still starting)"
    best = out.get("bestTrial")
    if best:
        out["bestValue"] = best["metrics"].get(exp.objective.primary.metric)
    return out


def _need(s: Snapshot) -> tuple[Experiment, tuple[Trial, ...]]:
    if s.exp is None:
        raise NotFound(f"{s.id}: {s.problem or 'the spec does not parse'}")
    return s.exp, s.trials or ()


def overview(s: Snapshot) -> dict[str, Any]:
    """Every chart of the experiment page, each bounded whatever the number of trials."""
    exp, trials = _need(s)
    space = SearchSpace(exp.space)
    board = ranked(exp, trials, space)
    t0 = _start(trials)
    return {
        "experiment": experiment_row(s),
        "objectives": [{"metric": o.metric, "direction": o.direction}
                       for o in exp.objective.all],
        "constraints": [{"metric": c.metric, "min": c.min, "max": c.max}
                        for c in exp.objective.constraints],
        "timeUnit": "simulated s" if exp.tabular is not None else "s",
        "family": exp.space.family,
        "bestTrial": _row(exp, board[0], t0) if board else None,
        "bestSoFar": best_so_far(exp, trials, t0),
        "pareto": pareto_view(exp, trials, space) if exp.objective.multi else None,
        "parallel": parallel_view(exp, trials, board),
        "opFrequency": op_frequency(exp, trials, board),
        "curves": curves(exp, trials, board),
        "promotions": promotions(exp, trials),
        "oneShot": one_shot_view(exp, s.status),
    }


def _start(trials: Sequence[Trial]) -> float:
    starts = [t.started_at for t in trials if t.started_at is not None]
    return min(starts) if starts else 0.0


def _value(exp: Experiment, t: Trial) -> float | None:
    """The primary metric: the final value, or the latest one while the trial runs."""
    value = t.metrics.get(exp.objective.primary.metric)
    return None if value is None else float(value)


def best_so_far(exp: Experiment, trials: Sequence[Trial], t0: float) -> dict[str, Any]:
    """Each succeeded trial's value at its finish time (and whether it is feasible), and the
    best feasible value so far."""
    objective = exp.objective.primary
    done = sorted((t for t in trials if t.phase == "Succeeded" and t.finished_at is not None
                   and objective.metric in t.metrics), key=lambda t: (t.finished_at, t.index))
    points, best = [], []
    running: float | None = None
    for t in done:
        value = float(t.metrics[objective.metric])
        when = round(float(t.finished_at) - t0, 3)  # type: ignore[arg-type]
        feasible = exp.objective.feasible(dict(t.metrics))
        points.append([when, value, trial_name(exp.name, t.index), feasible])
        if feasible and (
                running is None or objective.better(value, running)):
            running = value
            best.append([when, value, trial_name(exp.name, t.index)])
    if best and points:
        best.append([points[-1][0], best[-1][1], best[-1][2]])  # the step runs to the end
    return {"metric": objective.metric, "direction": objective.direction,
            "points": downsample(points, SERIES_POINTS), "best": best, "count": len(points)}


def pareto_view(exp: Experiment, trials: Sequence[Trial],
                space: SearchSpace) -> dict[str, Any]:
    """Succeeded trials in objective space, with feasibility and the status' front."""
    metrics = [o.metric for o in exp.objective.all]
    front = [trial_name(exp.name, t.index) for t in pareto(exp, trials, space)]
    members = set(front)
    points = []
    for t in trials:
        if t.phase == "Succeeded" and all(m in t.metrics for m in metrics):
            name = trial_name(exp.name, t.index)
            points.append({"name": name, "values": [float(t.metrics[m]) for m in metrics],
                           "feasible": exp.objective.feasible(dict(t.metrics)),
                           "front": name in members, "budget": t.budget})
    if len(points) > SERIES_POINTS:  # keep the front, thin the rest
        rest = downsample([p for p in points if not p["front"]], SERIES_POINTS)
        points = [p for p in points if p["front"]] + rest
    return {"metrics": metrics, "front": front, "points": points}


def slots(exp: Experiment, trials: Sequence[Trial]) -> list[tuple[Parameter, int | None]]:
    """Each parameter, and each position of a repeated one (None: not repeated)."""
    out: list[tuple[Parameter, int | None]] = []
    for p in exp.space.parameters:
        if p.repeat is None:
            out.append((p, None))
            continue
        width = max((len(v) for t in trials if isinstance(v := t.arch.get(p.name), list)),
                    default=p.repeat if isinstance(p.repeat, int) else 0)
        out.extend((p, i) for i in range(width))
    return out


def _slot_name(p: Parameter, i: int | None) -> str:
    return p.name if i is None else f"{p.name}[{i}]"


def _slot_value(arch: Mapping[str, Any], p: Parameter, i: int | None) -> Any:
    value = arch.get(p.name)
    if i is not None:
        value = value[i] if isinstance(value, list) and i < len(value) else None
    return value


def _label(value: Any) -> str:
    if value is None:
        return MISSING
    return value if isinstance(value, str) else json.dumps(value)


def parallel_view(exp: Experiment, trials: Sequence[Trial],
                  board: Sequence[Trial]) -> dict[str, Any]:
    """Search parameters and objectives of the best succeeded trials (one per network)."""
    chosen = list(board[:PARALLEL_LIMIT])
    columns = slots(exp, trials)
    dims: list[dict[str, Any]] = []
    for p, i in columns:
        if p.kind == "choice":
            values = [_label(v) for v in p.choices]
            if any(_slot_value(t.arch, p, i) is None for t in chosen):
                values.append(MISSING)
            dims.append({"name": _slot_name(p, i), "type": "category", "data": values})
        else:
            dims.append({"name": _slot_name(p, i), "type": "value", "min": p.low,
                         "max": p.high, "log": p.log})
    for o in exp.objective.all:
        dims.append({"name": o.metric, "type": "value", "objective": o.direction})
    rows = []
    for t in chosen:
        row: list[Any] = []
        for p, i in columns:
            value = _slot_value(t.arch, p, i)
            row.append(_label(value) if p.kind == "choice" else value)
        row.extend(t.metrics.get(o.metric) for o in exp.objective.all)
        rows.append({"name": trial_name(exp.name, t.index), "value": row})
    return {"dimensions": dims, "rows": rows, "count": len(board)}


def op_frequency(exp: Experiment, trials: Sequence[Trial],
                 board: Sequence[Trial]) -> dict[str, Any]:
    """How often each value of each choice slot appears among the leaderboard's trials."""
    top = list(board[:LEADERBOARD_SIZE])
    chosen = [(p, i) for p, i in slots(exp, trials) if p.kind == "choice"]
    values: list[str] = []
    for p, _ in chosen:
        values.extend(v for v in map(_label, p.choices) if v not in values)
    cells = []
    for s, (p, i) in enumerate(chosen):
        counts: dict[str, int] = {}
        for t in top:
            label = _label(_slot_value(t.arch, p, i))
            counts[label] = counts.get(label, 0) + 1
        for label, n in counts.items():
            if label not in values:
                values.append(label)
            cells.append([s, values.index(label), n])
    return {"slots": [_slot_name(p, i) for p, i in chosen], "values": values, "counts": cells,
            "trials": [trial_name(exp.name, t.index) for t in top]}


def one_shot_view(exp: Experiment, status: Mapping[str, Any]) -> dict[str, Any] | None:
    """status.oneShot as a heatmap of the supernet's operation weights (one row per slot of
    the searched op list, one column per operation) with the derived op of each slot, and
    the candidates with their supernet score and retrained value. None for a multi-trial
    search."""
    shot = status.get("oneShot")
    if not isinstance(shot, Mapping):
        return None
    weights = _mapping(shot.get("weights"))
    derived = _mapping(shot.get("architecture"))
    searched = next((p for p in exp.space.parameters if p.name in weights and p.choices),
                    None)
    out: dict[str, Any] = {k: shot.get(k) for k in ("method", "trial", "phase", "weightKind")}
    out.update(parameter=None, slots=[], ops=[], weights=[], derived=[])
    if searched is not None:
        ops = [_label(v) for v in searched.choices]
        rows = weights[searched.name]
        picked = derived.get(searched.name)
        out.update(parameter=searched.name, ops=ops,
                   slots=[f"{searched.name}[{i}]" for i in range(len(rows))],
                   weights=[[i, j, w] for i, row in enumerate(rows) for j, w in enumerate(row)
                            if j < len(ops) and _finite(w)],
                   derived=[_label(v) for v in picked] if isinstance(picked, list) else [])
    out["candidates"] = [
        {"architecture": c.get("architecture"), "score": c.get("score"),
         "trial": c.get("trial"), "value": c.get("value")}
        for c in shot.get("candidates", []) if isinstance(c, Mapping)]
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _curve_points(t: Trial, limit: int) -> list[list[float]]:
    """[epoch, value] pairs. A promoted trial resumes from its parent's checkpoint, so a
    curve shorter than its budget covers the last epochs."""
    offset = max(0, int(t.budget) - len(t.curve)) if t.parent is not None else 0
    return downsample([[offset + i + 1, v] for i, v in enumerate(t.curve)], limit)


def curves(exp: Experiment, trials: Sequence[Trial],
           board: Sequence[Trial]) -> dict[str, Any]:
    """Learning curves of running trials and of the best ones, with their parents."""
    chosen: dict[int, Trial] = {t.index: t for t in trials if t.phase == "Running" and t.curve}
    for t in board:
        if len(chosen) >= CURVE_TRIALS:
            break
        if t.curve:
            chosen.setdefault(t.index, t)
            parent = trials[t.parent] if t.parent is not None and t.parent < len(trials) \
                else None
            if parent is not None and parent.curve:
                chosen.setdefault(parent.index, parent)
    return {"metric": exp.objective.primary.metric,
            "withCurves": sum(bool(t.curve) for t in trials),
            "series": [{"name": trial_name(exp.name, t.index), "phase": t.phase,
                        "budget": t.budget,
                        "parent": None if t.parent is None else trial_name(exp.name, t.parent),
                        "points": _curve_points(t, CURVE_POINTS)}
                       for t in sorted(chosen.values(), key=lambda t: t.index)]}


def promotions(exp: Experiment, trials: Sequence[Trial]) -> list[dict[str, Any]]:
    """Each promoted trial with the trial it resumed from."""
    out = []
    for t in trials:
        if t.parent is None or t.parent >= len(trials):
            continue
        parent = trials[t.parent]
        out.append({"name": trial_name(exp.name, t.index),
                    "parent": trial_name(exp.name, parent.index), "budget": t.budget,
                    "parentBudget": parent.budget, "value": _value(exp, t),
                    "parentValue": _value(exp, parent), "phase": t.phase})
    return out[-SERIES_POINTS:]


def _duration(t: Trial, now: float | None) -> float | None:
    """Start to finish, or for a running trial start to `now` (the reader's clock)."""
    if t.started_at is None:
        return None
    end = t.finished_at if t.finished_at is not None else now if t.phase == "Running" \
        else None
    return None if end is None else round(max(0.0, end - t.started_at), 3)


def _row(exp: Experiment, t: Trial, t0: float, now: float | None = None) -> dict[str, Any]:
    return {"name": trial_name(exp.name, t.index), "index": t.index, "phase": t.phase,
            "budget": t.budget, "rung": t.rung,
            "parent": None if t.parent is None else trial_name(exp.name, t.parent),
            "value": _value(exp, t), "metrics": dict(sorted(t.metrics.items())),
            "architecture": dict(t.arch), "reason": t.reason, "message": t.message,
            "duration": _duration(t, now), "attempt": t.attempt, "epochs": len(t.curve),
            "started": None if t.started_at is None else round(t.started_at - t0, 3),
            "finished": None if t.finished_at is None else round(t.finished_at - t0, 3)}


def parse_query(params: Mapping[str, str]) -> TrialQuery:
    """The trials table's query string: sort, order, q, phase (comma list), page, size."""
    sort = params.get("sort") or "index"
    if sort not in SORT_KEYS:
        raise BadQuery(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    order = params.get("order") or "asc"
    if order not in ("asc", "desc"):
        raise BadQuery(f"order must be asc or desc, got {order!r}")
    try:
        page = int(params.get("page") or 1)
        size = int(params.get("size") or PAGE_SIZE)
    except ValueError:
        raise BadQuery("page and size must be integers") from None
    if page < 1 or not 1 <= size <= PAGE_SIZE_MAX:
        raise BadQuery(f"page must be >= 1 and size 1..{PAGE_SIZE_MAX}")
    phases = tuple(p for p in (params.get("phase") or "").split(",") if p)
    return TrialQuery(sort, order == "desc", (params.get("q") or "").strip().lower(), phases,
                      page, size)


def trials_page(s: Snapshot, query: TrialQuery, now: float | None = None) -> dict[str, Any]:
    """One page of the trials table, filtered and sorted; unknown values sort last. `now`
    (seconds on the trials' clock) gives running trials a duration so far."""
    exp, trials = _need(s)
    t0 = _start(trials)
    rows = [_row(exp, t, t0, now) for t in trials]
    if query.phases:
        rows = [r for r in rows if r["phase"] in query.phases]
    if query.text:
        rows = [r for r in rows if query.text in _haystack(r)]
    known = [r for r in rows if r[query.sort] is not None]
    unknown = [r for r in rows if r[query.sort] is None]
    known.sort(key=lambda r: (r[query.sort], r["index"]), reverse=query.descending)
    rows = known + unknown
    pages = max(1, math.ceil(len(rows) / query.size))
    page = min(query.page, pages)
    metrics = sorted({m for t in trials for m in t.metrics})
    return {"total": len(trials), "matched": len(rows), "page": page, "pages": pages,
            "size": query.size, "sort": query.sort,
            "order": "desc" if query.descending else "asc", "metrics": metrics,
            "objective": exp.objective.primary.metric,
            "phases": sorted({t.phase for t in trials}),
            "rows": rows[(page - 1) * query.size: page * query.size]}


def _haystack(row: dict[str, Any]) -> str:
    return " ".join([row["name"], row["phase"], json.dumps(row["architecture"]),
                     row["reason"] or "", row["message"] or ""]).lower()


def trial_detail(s: Snapshot, name: str, now: float | None = None) -> dict[str, Any]:
    """One trial: its row, its curve, its promotion chain and a drawing of its network."""
    exp, trials = _need(s)
    by_name = {trial_name(exp.name, t.index): t for t in trials}
    trial = by_name.get(name)
    if trial is None:
        raise NotFound(f"{s.id} has no trial {name!r}")
    t0 = _start(trials)
    chain, cursor = [], trial
    while cursor.parent is not None and cursor.parent < len(trials):
        cursor = trials[cursor.parent]
        chain.append(trial_name(exp.name, cursor.index))
    return {"experiment": experiment_row(s), "trial": _row(exp, trial, t0, now),
            "curve": _curve_points(trial, DETAIL_POINTS), "ancestors": chain,
            "children": [trial_name(exp.name, t.index) for t in trials
                         if t.parent == trial.index],
            "active": trial.phase in ACTIVE, "rendering": rendering(exp, dict(trial.arch))}


def rendering(exp: Experiment, arch: Mapping[str, Any]) -> dict[str, Any]:
    """A cell as a graph of nodes and operation edges, or a network as a stack of layers
    (position i of every repeated parameter), with the scalar settings beside it."""
    cell = exp.space.cell
    if cell is not None and isinstance(arch.get(cell.parameter), list):
        ops = arch[cell.parameter]
        edges = [{"from": source, "to": target, "op": ops[i]}
                 for i, (target, source) in enumerate(cell.edges) if i < len(ops)]
        settings = {k: v for k, v in arch.items() if k != cell.parameter}
        return {"kind": "cell", "nodes": cell.nodes, "edges": edges, "zeroOp": cell.zero_op,
                "settings": settings}
    lists = {k: v for k, v in arch.items() if isinstance(v, list)}
    depth = max((len(v) for v in lists.values()), default=0)
    layers = [{k: v[i] for k, v in lists.items() if i < len(v)} for i in range(depth)]
    settings = {k: v for k, v in arch.items() if k not in lists}
    return {"kind": "stack", "layers": layers, "settings": settings}
