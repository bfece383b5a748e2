"""The trial contract as environment variables: the one place both backends build it.

See docs/trial-contract.md. The local runner adds these to a subprocess environment; the
operator renders them into the trial pod's container env.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from kubenas.api.trials import Trial, trial_name
from kubenas.api.types import Experiment

DEFAULT_COMMAND = ("python", "-m", "kubenas_trainer")


def trial_seed(exp: Experiment, trials: Sequence[Trial], trial: Trial) -> int:
    """A promoted trial keeps its root ancestor's seed, so resuming continues the same run."""
    root = trial
    while root.parent is not None:
        root = trials[root.parent]
    return (exp.strategy.seed * 1_000_003 + root.index) % (2**31)


def trial_env(exp: Experiment, trial: Trial, *, seed: int, metrics_port: int,
              checkpoint_dir: str | None = None, resume_from: str | None = None,
              termination_log: str | None = None, export_dir: str | None = None) -> dict[str, str]:
    env = {
        "KUBENAS_TRIAL": trial_name(exp.name, trial.index),
        "KUBENAS_ARCHITECTURE": json.dumps({"family": exp.space.family,
                                            "params": dict(trial.arch)}, sort_keys=True),
        "KUBENAS_BUDGET": _number(trial.budget),
        "KUBENAS_RESOURCE": exp.fidelity.resource if exp.fidelity else "epochs",
        "KUBENAS_SEED": str(seed),
        "KUBENAS_OBJECTIVE": exp.objective.primary.metric,
        "KUBENAS_TRAINING": json.dumps({k: v for k, v in exp.training.items() if k != "epochs"},
                                       sort_keys=True),
        "KUBENAS_METRICS_PORT": str(metrics_port),
    }
    optional = {"KUBENAS_CHECKPOINT_DIR": checkpoint_dir, "KUBENAS_RESUME_FROM": resume_from,
                "KUBENAS_TERMINATION_LOG": termination_log, "KUBENAS_EXPORT_DIR": export_dir}
    env.update({k: v for k, v in optional.items() if v})
    return env


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
