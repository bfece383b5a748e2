"""The `kubenas` command: run a search locally, validate manifests, run the operator, benchmark.

Exit codes: 0 the experiment succeeded, 1 it failed, 2 bad input; stopped by a signal
(Ctrl-C, SIGTERM, SIGHUP): 128 + its number (130, 143, 129), with partial results kept.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from kubenas.api.builtin_trainer import uses_builtin, value_problems
from kubenas.api.parse import ManifestError, load_file
from kubenas.api.types import Experiment
from kubenas.api.validate import FieldError
from kubenas.backends.local import preflight
from kubenas.backends.local.display import PlainDisplay, RichDisplay
from kubenas.backends.local.export import BEST_MODEL
from kubenas.backends.local.runner import LocalRunner, RunFolderBusy, StopRequested
from kubenas.backends.runs import results
from kubenas.backends.runs.history import HistoryMismatch
from kubenas.dashboard import main as dashboard_main
from kubenas.engine.engine import Outcome

EXIT_FAILED, EXIT_USAGE = 1, 2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in ("operator", "bench"):
        return int(args.handler(rest))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.handler(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubenas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a NASExperiment on this machine")
    run.add_argument("manifest", type=Path, help="NASExperiment YAML file")
    run.add_argument("--parallel", type=int, metavar="N",
                     help="trials at once (default: spec.budget.maxParallelTrials)")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="run directory (default: runs/<experiment name>)")
    run.add_argument("--fresh", action="store_true",
                     help="discard trials an earlier run left in DIR instead of continuing")
    run.add_argument("--plain", action="store_true", help="log lines instead of a live display")
    run.set_defaults(handler=_run)
    check = sub.add_parser("validate", help="check NASExperiment manifests and exit")
    check.add_argument("manifests", type=Path, nargs="+")
    check.set_defaults(handler=_validate)
    operator = sub.add_parser("operator", help="run the Kubernetes operator (see --help)",
                              add_help=False)
    operator.set_defaults(handler=_operator)
    bench = sub.add_parser("bench", help="compare strategies on a tabular benchmark",
                           add_help=False)
    bench.set_defaults(handler=_bench)
    dashboard = sub.add_parser(
        "dashboard", help="serve a read-only web UI of run folders or the cluster",
        description="Serve a read-only web page of searches: run folders (--runs) or the "
                    "NASExperiments of a cluster (--cluster). It follows running searches.")
    dashboard_main.add_arguments(dashboard)
    dashboard.set_defaults(handler=dashboard_main.run)
    return parser


def _error(message: str) -> int:
    print(f"kubenas: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _refuse(source: object, errors: list[FieldError]) -> int:
    """Every problem, one line each, as `file: field: what is wrong`."""
    for error in errors:
        print(f"{source}: {error}", file=sys.stderr)
    return EXIT_USAGE


def _load(path: Path) -> Experiment | list[FieldError]:
    """The experiment, or every problem with it (schema, then the built-in trainer's values
    that the API server cannot check)."""
    try:
        exp = load_file(path)
    except ManifestError as exc:
        return exc.errors
    if uses_builtin(exp):
        problems = value_problems(exp)
        if problems:
            return [FieldError(field, message) for field, message in problems]
    return exp


def _validate(args: argparse.Namespace) -> int:
    bad = 0
    for path in args.manifests:
        exp = _load(path)
        if isinstance(exp, list):
            _refuse(path, exp)
            bad += 1
        else:
            print(f"{path}: valid NASExperiment {exp.name!r}")
    return EXIT_USAGE if bad else 0


def _run(args: argparse.Namespace) -> int:
    exp = _load(args.manifest)
    if isinstance(exp, list):
        return _refuse(args.manifest, exp)
    if exp.suspend:
        return _error(f"{args.manifest}: spec.suspend is true; set it to false to run")
    out = args.out or Path("runs") / exp.name
    if exp.tabular is not None:
        from kubenas.backends.tabular.simulate import run_manifest

        try:
            return run_manifest(exp, out)
        except ManifestError as exc:
            return _refuse(args.manifest, exc.errors)
    problems = preflight.problems(exp, out, args.parallel)
    if problems:
        return _refuse(args.manifest, problems)
    return _run_local(exp, out, args)


def _run_local(exp: Experiment, out: Path, args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)
    try:
        runner = LocalRunner(exp, out, parallel=args.parallel, fresh=args.fresh)
    except (HistoryMismatch, RunFolderBusy) as exc:
        return _error(str(exc))
    try:
        return _drive(exp, out, args, runner, console)
    finally:
        runner.close()


def _drive(exp: Experiment, out: Path, args: argparse.Namespace, runner: LocalRunner,
           console: Console) -> int:
    for warning in runner.warnings:
        console.print(f"kubenas: warning: {warning}")
    for folder in runner.stale:
        console.print(f"kubenas: stopped a trainer an earlier run left in {folder}")
    if runner.resumed:
        console.print(f"kubenas: continuing {runner.resumed} earlier trials from "
                      f"{out / 'trials.jsonl'} (--fresh starts over)")
    started = datetime.now(UTC)
    display = PlainDisplay(exp, console) if args.plain or not console.is_terminal \
        else RichDisplay(exp, console, runner.engine.space, args.parallel)
    console.print(f"kubenas: running {exp.name} ({exp.strategy.name}, up to "
                  f"{exp.budget.max_trials} trials, {args.parallel or exp.budget.max_parallel} "
                  f"at a time) in {out}/")
    previous = {sig: signal.signal(sig, lambda signum, _: runner.request_stop(signum))
                for sig in STOP_SIGNALS}
    try:
        with display:
            result = runner.run(display)
        status = results.status(exp, result.trials, result.outcome, started=started,
                                finished=datetime.now(UTC), space=runner.engine.space)
        _export(console, exp, runner, status, out)
    except StopRequested as stop:
        name = signal.Signals(stop.signum).name
        interrupted = Outcome("Failed", "Interrupted", f"stopped by {name}; run again to "
                                                       "continue")
        partial = results.status(exp, runner.trials, interrupted, started=started,
                                 finished=datetime.now(UTC), space=runner.engine.space)
        results.write(out, exp, runner.trials, partial)
        console.print(f"kubenas: stopped by {name}; partial results in {out}/ (run again to "
                      "continue)")
        return 128 + stop.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    results.write(out, exp, result.trials, status)
    _summary(console, exp, status, out)
    return 0 if result.outcome.phase == "Succeeded" else EXIT_FAILED


def _export(console: Console, exp: Experiment, runner: LocalRunner, status: dict[str, Any],
            out: Path) -> None:
    """Export the best trial's model into out/best-model and name it in the status."""
    best = status.get("bestTrial")
    # Locally the built-in trainer runs unless the template names a command (an image is
    # for the cluster); a custom trainer exports its own way.
    if not best or exp.trial_template.get("command"):
        return
    console.print(f"kubenas: exporting the best model ({best['name']}) to {out / BEST_MODEL}/")
    exported = runner.export_best(best["name"])
    if exported.path is None:
        console.print(f"kubenas: warning: no model exported: {exported.problem}")
    else:
        status["bestModel"] = str(exported.path)


def _summary(console: Console, exp: Experiment, status: dict[str, object], out: Path) -> None:
    console.print(f"kubenas: {status['phase']} ({status['reason']}): {status['message']}")
    best = status.get("bestTrial")
    if isinstance(best, dict):
        console.print(f"best trial {best['name']} at budget {best['budget']:g}:")
        console.print("  architecture " + json.dumps(best["architecture"]), markup=False)
        console.print("  metrics      " + json.dumps(best["metrics"]), markup=False)
    model = out / BEST_MODEL
    console.print(f"results: {out / 'result.json'}, {out / 'trials.jsonl'}, "
                  f"{out / 'progress.png'}" + (f", {model}/" if model.exists() else ""))


def _operator(argv: list[str]) -> int:
    try:
        from kubenas.backends.kubernetes.main import run_operator
    except ModuleNotFoundError as exc:
        return _error(f"kubenas operator needs {exc.name}, which comes with the operator "
                      "extra: pip install 'kubenas[operator]'")
    return run_operator(argv)


def _bench(argv: list[str]) -> int:
    from kubenas.backends.tabular.bench import main as bench_main

    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
