"""Read the trial contract (docs/trial-contract.md) from the environment and the CLI.

Everything a trial needs arrives here once, is validated once and is frozen, so the
rest of the trainer never reads `os.environ` and every bad input fails before any
training starts, with a message that names the variable and what would be valid.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DATASETS = ("digits", "mnist", "synthetic", "npz", "folder")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("sgd", "adam")
RESOURCES = ("epochs", "steps")
OBJECTIVES = ("val_accuracy", "val_loss", "train_loss", "samples_per_second")
DEFAULT_TERMINATION_LOG = "/dev/termination-log"

# (environment variable, CLI flag, help) in contract order; the flag overrides the variable.
_VARIABLES = (
    ("KUBENAS_TRIAL", "--trial", "the trial's name, for logs"),
    ("KUBENAS_ARCHITECTURE", "--architecture", 'architecture JSON {"family":..,"params":{..}}'),
    ("KUBENAS_BUDGET", "--budget", "how much to train, in units of the resource"),
    ("KUBENAS_RESOURCE", "--resource", "unit of the budget: epochs (default) or steps"),
    ("KUBENAS_OBJECTIVE", "--objective", "metric the result's curve follows"),
    ("KUBENAS_SEED", "--seed", "seed for weights, data order and splits"),
    ("KUBENAS_TRAINING", "--training", "training settings as JSON"),
    ("KUBENAS_CHECKPOINT_DIR", "--checkpoint-dir", "where to write this trial's checkpoint"),
    ("KUBENAS_RESUME_FROM", "--resume-from", "checkpoint directory to resume from"),
    ("KUBENAS_METRICS_PORT", "--metrics-port", "Prometheus port; 0 turns the server off"),
    ("KUBENAS_METRICS_HOST", "--metrics-host", "address the metrics server binds"),
    ("KUBENAS_TERMINATION_LOG", "--termination-log", "where to write the final result"),
    ("KUBENAS_EXPORT_DIR", "--export-dir", "export TorchScript model.pt + architecture.json"),
    ("KUBENAS_THREADS", "--threads", "CPU threads for torch (default: torch's choice)"),
)


class ContractError(ValueError):
    """Bad trial input: the trainer exits with code 2 and this message."""


@dataclass(frozen=True)
class TrainingConfig:
    """The `KUBENAS_TRAINING` settings, with defaults filled in."""

    dataset: str = "digits"
    path: str | None = None
    batch_size: int = 64
    learning_rate: float = 0.05
    validation_fraction: float = 0.2
    device: str = "auto"
    compile: bool = False
    optimizer: str = "sgd"
    weight_decay: float = 5e-4
    # Only for the synthetic dataset: its image size, channels and sample count.
    image_size: int = 16
    channels: int = 1
    samples: int = 2000


@dataclass(frozen=True)
class Contract:
    """One trial's inputs, validated."""

    trial: str
    architecture: dict[str, Any]
    budget: float
    resource: str
    objective: str
    seed: int
    training: TrainingConfig
    checkpoint_dir: str | None
    resume_from: str | None
    metrics_port: int
    metrics_host: str
    termination_log: str
    termination_log_explicit: bool
    export_dir: str | None
    threads: int | None

    @property
    def target(self) -> int:
        """The budget rounded up to whole epochs or steps (at least one)."""
        return max(1, math.ceil(self.budget))


# KUBENAS_TRAINING key -> (field, type, check, what is valid)
_TRAINING_KEYS: dict[str, tuple[str, type, Any, str]] = {
    "dataset": ("dataset", str, lambda v: v in DATASETS, f"one of {', '.join(DATASETS)}"),
    "path": ("path", str, lambda v: bool(v), "a non-empty path"),
    "batchSize": ("batch_size", int, lambda v: v >= 1, "an integer >= 1"),
    "learningRate": ("learning_rate", float, lambda v: v > 0, "a number > 0"),
    "validationFraction": (
        "validation_fraction", float, lambda v: 0 < v < 1, "a number between 0 and 1",
    ),
    "device": ("device", str, lambda v: v in DEVICES, f"one of {', '.join(DEVICES)}"),
    "compile": ("compile", bool, lambda v: True, "true or false"),
    "optimizer": ("optimizer", str, lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "weightDecay": ("weight_decay", float, lambda v: v >= 0, "a number >= 0"),
    "imageSize": ("image_size", int, lambda v: 4 <= v <= 512, "an integer from 4 to 512"),
    "channels": ("channels", int, lambda v: 1 <= v <= 4, "an integer from 1 to 4"),
    "samples": ("samples", int, lambda v: v >= 20, "an integer >= 20"),
}


def _typed(value: Any, kind: type) -> Any:
    """Return value as kind, or raise TypeError; bools are never numbers here."""
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif isinstance(value, kind):
        return value
    raise TypeError


def _parse_training(text: str | None) -> tuple[TrainingConfig, list[str]]:
    """Parse KUBENAS_TRAINING; unknown keys are returned as warnings, not errors."""
    if not text:
        return TrainingConfig(), []
    raw = _json(text, "KUBENAS_TRAINING", "a JSON object")
    if not isinstance(raw, dict):
        raise ContractError("KUBENAS_TRAINING must be a JSON object")
    values: dict[str, Any] = {}
    warnings = []
    for key, value in raw.items():
        if key not in _TRAINING_KEYS:
            warnings.append(f"KUBENAS_TRAINING: ignoring unknown key {key!r}")
            continue
        field, kind, check, valid = _TRAINING_KEYS[key]
        try:
            typed = _typed(value, kind)
        except TypeError:
            typed = None
        if typed is None or not check(typed):
            raise ContractError(f"KUBENAS_TRAINING.{key} must be {valid}, got {value!r}")
        values[field] = typed
    config = TrainingConfig(**values)
    if config.dataset in ("npz", "folder") and not config.path:
        raise ContractError(f"KUBENAS_TRAINING.path is required for dataset {config.dataset!r}")
    return config, warnings


def _json(text: str, name: str, valid: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{name} must be {valid}: {exc}") from None


def _parse_architecture(text: str | None) -> dict[str, Any]:
    if not text:
        raise ContractError("KUBENAS_ARCHITECTURE is required")
    arch = _json(text, "KUBENAS_ARCHITECTURE", 'JSON like {"family": ..., "params": {...}}')
    if not isinstance(arch, dict) or not isinstance(arch.get("family"), str):
        raise ContractError('KUBENAS_ARCHITECTURE must be {"family": <name>, "params": {...}}')
    params = arch.get("params", {})
    if not isinstance(params, dict):
        raise ContractError("KUBENAS_ARCHITECTURE.params must be a JSON object")
    return {"family": arch["family"], "params": params}


def _number(text: str | None, name: str, valid: str, check: Any) -> float:
    if text is None or text == "":
        raise ContractError(f"{name} is required ({valid})")
    try:
        value = float(text)
    except ValueError:
        raise ContractError(f"{name} must be {valid}, got {text!r}") from None
    if not math.isfinite(value) or not check(value):
        raise ContractError(f"{name} must be {valid}, got {text!r}")
    return value


def _integer(text: str | None, name: str, default: int, valid: str, check: Any) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ContractError(f"{name} must be {valid}, got {text!r}") from None
    if not check(value):
        raise ContractError(f"{name} must be {valid}, got {text!r}")
    return value


def _choice(text: str | None, name: str, default: str, choices: Sequence[str]) -> str:
    value = text or default
    if value not in choices:
        raise ContractError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubenas-trainer",
        description="Train one architecture for one budget (the kubenas trial contract). "
        "Every flag mirrors an environment variable and overrides it.",
    )
    for env, flag, help_text in _VARIABLES:
        parser.add_argument(flag, dest=env, metavar=env, help=help_text)
    return parser


def load_contract(
    argv: Sequence[str] | None, environ: Mapping[str, str]
) -> tuple[Contract, list[str]]:
    """Return the validated contract and any warnings; raise ContractError on bad input.

    CLI flags win over environment variables. argparse itself exits with code 2 on an
    unknown flag, which matches the contract's code for bad input.
    """
    flags = vars(_argument_parser().parse_args(argv))
    values = {
        env: flags[env] if flags[env] is not None else environ.get(env) for env, _, _ in _VARIABLES
    }
    training, warnings = _parse_training(values["KUBENAS_TRAINING"])
    termination_log = values["KUBENAS_TERMINATION_LOG"]
    host = values["KUBENAS_METRICS_HOST"] or environ.get("POD_IP") or "0.0.0.0"
    contract = Contract(
        trial=values["KUBENAS_TRIAL"] or "trial",
        architecture=_parse_architecture(values["KUBENAS_ARCHITECTURE"]),
        budget=_number(values["KUBENAS_BUDGET"], "KUBENAS_BUDGET", "a number > 0",
                       lambda v: v > 0),
        resource=_choice(values["KUBENAS_RESOURCE"], "KUBENAS_RESOURCE", "epochs", RESOURCES),
        objective=_choice(values["KUBENAS_OBJECTIVE"], "KUBENAS_OBJECTIVE", "val_accuracy",
                          OBJECTIVES),
        seed=_integer(values["KUBENAS_SEED"], "KUBENAS_SEED", 0, "an integer from 0 to 2**32-1",
                      lambda v: 0 <= v < 2**32),
        training=training,
        checkpoint_dir=values["KUBENAS_CHECKPOINT_DIR"] or None,
        resume_from=values["KUBENAS_RESUME_FROM"] or None,
        metrics_port=_integer(values["KUBENAS_METRICS_PORT"], "KUBENAS_METRICS_PORT", 0,
                              "a port from 0 (off) to 65535", lambda v: 0 <= v <= 65535),
        metrics_host=host,
        termination_log=termination_log or DEFAULT_TERMINATION_LOG,
        termination_log_explicit=bool(termination_log),
        export_dir=values["KUBENAS_EXPORT_DIR"] or None,
        threads=_integer(values["KUBENAS_THREADS"], "KUBENAS_THREADS", 0,
                         "an integer >= 1", lambda v: v >= 1) or None,
    )
    return contract, warnings
