"""The `kubenas` command: run a search locally, validate manifests, run the operator, benchmark.

Exit codes: 0 the experiment succeeded, 1 it failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from kubenas.api.parse import ManifestError, load_file
from kubenas.api.types import Experiment
from kubenas.backends.local.display import PlainDisplay, RichDisplay
from kubenas.backends.local.runner import LocalRunner
from kubenas.backends.runs import results as report
from kubenas.backends.runs.history import HistoryMismatch
from kubenas.engine.engine import Outcome

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


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
    return parser


def _error(message: str) -> int:
    print(f"kubenas: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _validate(args: argparse.Namespace) -> int:
    bad = 0
    for path in args.manifests:
        try:
            exp = load_file(path)
        except ManifestError as exc:
            print(exc, file=sys.stderr)
            bad += 1
        else:
            print(f"{path}: valid NASExperiment {exp.name!r}")
    return EXIT_USAGE if bad else 0


def _run(args: argparse.Namespace) -> int:
    try:
        exp = load_file(args.manifest)
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if args.parallel is not None and args.parallel < 1:
        return _error("--parallel must be at least 1")
    if exp.suspend:
        return _error(f"{args.manifest}: spec.suspend is true; set it to false to run")
    out = args.out or Path("runs") / exp.name
    if exp.tabular is not None:
        from kubenas.backends.tabular.simulate import run_manifest

        return run_manifest(exp, out)
    return _run_local(exp, out, args)


def _run_local(exp: Experiment, out: Path, args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)
    try:
        runner = LocalRunner(exp, out, parallel=args.parallel, fresh=args.fresh)
    except HistoryMismatch as exc:
        return _error(str(exc))
    started = datetime.now(UTC)
    display = PlainDisplay(exp, console) if args.plain or not console.is_terminal \
        else RichDisplay(exp, console)
    console.print(f"kubenas: running {exp.name} ({exp.strategy.name}, up to "
                  f"{exp.budget.max_trials} trials, {args.parallel or exp.budget.max_parallel} "
                  f"at a time) in {out}/")
    try:
        with display:
            result = runner.run(display)
    except KeyboardInterrupt:
        interrupted = Outcome("Failed", "Interrupted", "stopped by the user; run again to "
                                                       "continue")
        partial = report.status(exp, runner.trials, interrupted, started=started,
                                finished=datetime.now(UTC))
        report.write(out, exp, runner.trials, partial)
        console.print(f"kubenas: interrupted; partial results in {out}/ (run again to continue)")
        return EXIT_INTERRUPTED
    status = report.status(exp, result.trials, result.outcome, started=started,
                           finished=datetime.now(UTC))
    report.write(out, exp, result.trials, status)
    _summary(console, exp, status, out)
    return 0 if result.outcome.phase == "Succeeded" else EXIT_FAILED


def _summary(console: Console, exp: Experiment, status: dict[str, object], out: Path) -> None:
    console.print(f"kubenas: {status['phase']} ({status['reason']}): {status['message']}")
    best = status.get("bestTrial")
    if isinstance(best, dict):
        console.print(f"best trial {best['name']} at budget {best['budget']:g}:")
        console.print("  architecture " + json.dumps(best["architecture"]))
        console.print("  metrics      " + json.dumps(best["metrics"]))
    model = out / "best-model"
    console.print(f"results: {out / 'result.json'}, {out / 'trials.jsonl'}, "
                  f"{out / 'progress.png'}" + (f", {model}/" if model.exists() else ""))


def _operator(argv: list[str]) -> int:
    from kubenas.backends.kubernetes.main import run_operator

    return run_operator(argv)


def _bench(argv: list[str]) -> int:
    from kubenas.backends.tabular.bench import main as bench_main

    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
