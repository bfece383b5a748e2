"""Read the trial contract (docs/trial-contract.md) from the environment and the CLI.

Everything a trial needs arrives here once, is validated once and is frozen, so the
rest of the trainer never reads `os.environ` and every bad input fails before any
training starts, with a message that names the variable and what would be valid.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .catalog import (
    FAMILIES,
    METRICS,
    PATH_DATASETS,
    QUANTIZATIONS,
    SETTINGS,
    SUPERNET_CANDIDATES,
    SUPERNET_METHOD_SETTINGS,
    SUPERNET_METHODS,
    SUPERNET_SETTINGS,
    ZERO_COST,
    ZERO_COST_PROXIES,
    Param,
    Setting,
)

RESOURCES = ("epochs", "steps")
DEFAULT_OBJECTIVE = "val_accuracy"
DEFAULT_TERMINATION_LOG = "/dev/termination-log"

# (environment variable, CLI flag, help) in contract order; the flag overrides the variable.
_VARIABLES = (
    ("KUBENAS_TRIAL", "--trial", "the trial's name, for logs"),
    ("KUBENAS_ARCHITECTURE", "--architecture", 'architecture JSON {"family":..,"params":{..}}'),
    ("KUBENAS_BUDGET", "--budget", "how much to train, in units of the resource"),
    ("KUBENAS_RESOURCE", "--resource", "unit of the budget: epochs (default) or steps"),
    ("KUBENAS_OBJECTIVE", "--objective", "metric the result's curve follows"),
    ("KUBENAS_SEED", "--seed", "seed for weights and data order"),
    ("KUBENAS_SPLIT_SEED", "--split-seed",
     "seed of the train/validation split (default 0; one per experiment)"),
    ("KUBENAS_TRAINING", "--training", "training settings as JSON"),
    ("KUBENAS_CHECKPOINT_DIR", "--checkpoint-dir", "where to write this trial's checkpoint"),
    ("KUBENAS_RESUME_FROM", "--resume-from", "checkpoint directory to resume from"),
    ("KUBENAS_METRICS_PORT", "--metrics-port", "Prometheus port; 0 turns the server off"),
    ("KUBENAS_METRICS_HOST", "--metrics-host", "address the metrics server binds"),
    ("KUBENAS_TERMINATION_LOG", "--termination-log", "where to write the final result"),
    ("KUBENAS_EXPORT_DIR", "--export-dir",
     "export model.onnx and its model card here (optional)"),
    ("KUBENAS_EXPORT", "--export",
     'export options as JSON {"quantize": "none"|"int8", "foundBy": {..}} (optional)'),
    ("KUBENAS_THREADS", "--threads", "CPU threads for torch (default: torch's choice)"),
    ("KUBENAS_DATA_CACHE", "--data-cache",
     "directory the run's trials share to cache the loaded dataset (optional)"),
    ("KUBENAS_SUPERNET", "--supernet",
     'one-shot search as JSON {"method": .., "choices": {<param>: [op, ..]}} (optional)'),
    ("KUBENAS_ZEROCOST", "--zero-cost",
     'zero-cost proxies as JSON {"proxies": [...], "batchSize": 64}, plus "choices", '
     '"sample" and "top" for a bulk search without training (optional)'),
)


class ContractError(ValueError):
    """Bad trial input: the trainer exits with code 2 and this message."""


def _default(key: str) -> Any:
    return SETTINGS[key].default


@dataclass(frozen=True)
class TrainingConfig:
    """The `KUBENAS_TRAINING` settings, with the catalog's defaults filled in.

    One field per `catalog.TRAINING` setting, named in snake_case (`batchSize` is
    `batch_size`); the defaults are the catalog's, never a copy of them.
    """

    dataset: str = _default("dataset")
    path: str | None = _default("path")
    batch_size: int = _default("batchSize")
    learning_rate: float = _default("learningRate")
    optimizer: str = _default("optimizer")
    weight_decay: float = _default("weightDecay")
    validation_fraction: float = _default("validationFraction")
    device: str = _default("device")
    compile: bool = _default("compile")
    # Only for the synthetic dataset: its image size, channels and sample count.
    image_size: int = _default("imageSize")
    channels: int = _default("channels")
    samples: int = _default("samples")
    # How latency_ms is measured: the runtime, pinned threads, untimed and timed runs.
    latency_runtime: str = _default("latencyRuntime")
    latency_threads: int = _default("latencyThreads")
    latency_warmup: int = _default("latencyWarmup")
    latency_runs: int = _default("latencyRuns")


def field_name(key: str) -> str:
    """The TrainingConfig field of a KUBENAS_TRAINING key: `batchSize` -> `batch_size`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


@dataclass(frozen=True)
class ExportConfig:
    """The `KUBENAS_EXPORT` options; they matter only with KUBENAS_EXPORT_DIR."""

    quantize: str = "none"
    # How the model was found (experiment, strategy, trial, ...), copied into the model card.
    found_by: dict[str, Any] = field(default_factory=dict)


_SUPERNET_SETTINGS = {s.name: s for s in SUPERNET_SETTINGS}


@dataclass(frozen=True)
class SupernetConfig:
    """The `KUBENAS_SUPERNET` one-shot search: which method, which ops each slot of the
    family's op list `param` chooses among, and the method's settings (catalog defaults)."""

    method: str
    param: str
    choices: tuple[str, ...]
    candidates: int = SUPERNET_CANDIDATES.default
    arch_learning_rate: float = _SUPERNET_SETTINGS["archLearningRate"].default
    kl_weight: float = _SUPERNET_SETTINGS["klWeight"].default
    population: int = _SUPERNET_SETTINGS["population"].default
    cycles: int = _SUPERNET_SETTINGS["cycles"].default

    def as_json(self) -> dict[str, Any]:
        """The search in canonical form, defaults filled in (a checkpoint records it)."""
        settings = {key: getattr(self, field_name(key))
                    for key in SUPERNET_METHOD_SETTINGS[self.method]}
        return {"method": self.method, "choices": {self.param: list(self.choices)},
                "candidates": self.candidates, "settings": settings}


@dataclass(frozen=True)
class ZeroCostConfig:
    """The `KUBENAS_ZEROCOST` options. Without `param` a trial adds the proxies of its
    architecture to its metrics; with it (a bulk search) it trains nothing and scores up to
    `sample` architectures whose op-list param `param` takes each slot from `choices`."""

    proxies: tuple[str, ...]
    batch_size: int = 64
    param: str | None = None
    choices: tuple[str, ...] = ()
    sample: int = 0
    top: int = 10


@dataclass(frozen=True)
class Contract:
    """One trial's inputs, validated."""

    trial: str
    architecture: dict[str, Any]
    budget: float
    resource: str
    objective: str
    seed: int
    split_seed: int
    training: TrainingConfig
    checkpoint_dir: str | None
    resume_from: str | None
    metrics_port: int
    metrics_host: str
    termination_log: str
    termination_log_explicit: bool
    export_dir: str | None
    export: ExportConfig
    threads: int | None
    data_cache: str | None
    supernet: SupernetConfig | None = None
    zero_cost: ZeroCostConfig | None = None

    @property
    def target(self) -> int:
        """The budget rounded up to whole epochs or steps (at least one)."""
        return max(1, math.ceil(self.budget))


def _parse_training(text: str | None) -> tuple[TrainingConfig, list[str]]:
    """Parse KUBENAS_TRAINING against catalog.SETTINGS; unknown keys are warnings."""
    if not text:
        return TrainingConfig(), []
    raw = _json(text, "KUBENAS_TRAINING", "a JSON object")
    if not isinstance(raw, dict):
        raise ContractError("KUBENAS_TRAINING must be a JSON object")
    values, warnings = _typed(raw, SETTINGS, "KUBENAS_TRAINING")
    config = TrainingConfig(**values)
    if config.dataset in PATH_DATASETS and not config.path:
        raise ContractError(f"KUBENAS_TRAINING.path is required for dataset {config.dataset!r}")
    return config, warnings


def _typed(raw: Mapping[str, Any], table: Mapping[str, Setting],
           name: str) -> tuple[dict[str, Any], list[str]]:
    """Values of `raw` checked against catalog settings, keyed by their snake_case field;
    unknown keys are warnings, a bad value is a ContractError naming `<name>.<key>`."""
    values: dict[str, Any] = {}
    warnings = []
    for key, value in raw.items():
        setting = table.get(key)
        if setting is None:
            warnings.append(f"{name}: ignoring unknown key {key!r}")
            continue
        problem = setting.problem(value)
        if problem is not None:
            raise ContractError(f"{name}.{key} {problem}")
        values[field_name(key)] = float(value) if setting.kind == "number" else value
    return values, warnings


def _parse_export(text: str | None) -> tuple[ExportConfig, list[str]]:
    """Parse KUBENAS_EXPORT; unknown keys are warnings, as in KUBENAS_TRAINING."""
    if not text:
        return ExportConfig(), []
    valid = 'a JSON object like {"quantize": "int8", "foundBy": {...}}'
    raw = _json(text, "KUBENAS_EXPORT", valid)
    if not isinstance(raw, dict):
        raise ContractError(f"KUBENAS_EXPORT must be {valid}, got {text!r}")
    quantize = raw.get("quantize", "none")
    if quantize not in QUANTIZATIONS:
        raise ContractError(f"KUBENAS_EXPORT.quantize must be one of {', '.join(QUANTIZATIONS)}, "
                            f"got {quantize!r}")
    found_by = raw.get("foundBy", {})
    if not isinstance(found_by, dict):
        raise ContractError(f"KUBENAS_EXPORT.foundBy must be a JSON object, got {found_by!r}")
    warnings = [f"KUBENAS_EXPORT: ignoring unknown key {key!r}" for key in raw
                if key not in ("quantize", "foundBy")]
    return ExportConfig(quantize, found_by), warnings


def searched_param(family: str) -> Param | None:
    """The op-list param a one-shot search searches: the family's one `ops` param, if any."""
    spec = FAMILIES.get(family)
    return next((p for p in spec.params if p.kind == "ops"), None) if spec else None


def _parse_supernet(text: str | None,
                    architecture: dict[str, Any]) -> tuple[SupernetConfig | None, list[str]]:
    """Parse KUBENAS_SUPERNET against the architecture's family; unknown keys are warnings."""
    if not text:
        return None, []
    name = "KUBENAS_SUPERNET"
    valid = ('a JSON object like {"method": "darts", "choices": {"edges": ["nor_conv_3x3", '
             '"skip_connect"]}, "candidates": 3, "settings": {}}')
    raw = _json(text, name, valid)
    if not isinstance(raw, dict):
        raise ContractError(f"{name} must be {valid}, got {text!r}")
    method = raw.get("method")
    if method not in SUPERNET_METHODS:
        raise ContractError(f"{name}.method must be one of {', '.join(SUPERNET_METHODS)}, "
                            f"got {method!r}")
    param, ops = _op_list(name, raw.get("choices"), architecture, "one-shot search", 2)
    candidates = raw.get("candidates", SUPERNET_CANDIDATES.default)
    problem = SUPERNET_CANDIDATES.problem(candidates)
    if problem is not None:
        raise ContractError(f"{name}.candidates {problem}")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise ContractError(f"{name}.settings must be a JSON object, got {settings!r}")
    warnings = [f"{name}: ignoring unknown key {key!r}" for key in raw
                if key not in ("method", "choices", "candidates", "settings")]
    values, unknown = _typed(settings, _SUPERNET_SETTINGS, f"{name}.settings")
    warnings += unknown + [f"{name}.settings: method {method} ignores {key!r}"
                           for key in settings if key in _SUPERNET_SETTINGS
                           and key not in SUPERNET_METHOD_SETTINGS[method]]
    return SupernetConfig(method, param, ops, candidates, **values), warnings


def _parse_zero_cost(text: str | None,
                     arch: dict[str, Any]) -> tuple[ZeroCostConfig | None, list[str]]:
    """Parse KUBENAS_ZEROCOST; with `choices` (a bulk search) check them against the catalog
    family of KUBENAS_ARCHITECTURE. Unknown keys are warnings, as in KUBENAS_TRAINING."""
    if not text:
        return None, []
    valid = 'a JSON object like {"proxies": ["synflow", "naswot"], "batchSize": 64}'
    raw = _json(text, "KUBENAS_ZEROCOST", valid)
    if not isinstance(raw, dict):
        raise ContractError(f"KUBENAS_ZEROCOST must be {valid}, got {text!r}")
    proxies = raw.get("proxies")
    if (not isinstance(proxies, list) or not proxies
            or not all(isinstance(p, str) and p in ZERO_COST_PROXIES for p in proxies)
            or len(set(proxies)) != len(proxies)):
        raise ContractError("KUBENAS_ZEROCOST.proxies must be a non-empty list of distinct "
                            f"names from {', '.join(ZERO_COST_PROXIES)}, got {proxies!r}")
    settings = {s.name: s for s in ZERO_COST}
    values = {}
    for setting in settings.values():
        value = raw.get(setting.name, setting.default)
        problem = None if value is None else setting.problem(value)
        if problem is not None:
            raise ContractError(f"KUBENAS_ZEROCOST.{setting.name} {problem}")
        values[setting.name] = value
    known = ("proxies", "choices", *settings)
    warnings = [f"KUBENAS_ZEROCOST: ignoring unknown key {key!r}" for key in raw
                if key not in known]
    config = ZeroCostConfig(tuple(proxies), values["batchSize"])
    if "choices" not in raw:
        bulk_only = [key for key in ("sample", "top") if key in raw]
        if bulk_only:
            raise ContractError(f"KUBENAS_ZEROCOST.{bulk_only[0]} needs choices (it applies "
                                "only to a bulk search)")
        return config, warnings
    param, choices = _op_list("KUBENAS_ZEROCOST", raw["choices"], arch, "a bulk search", 1)
    if values["sample"] is None:
        raise ContractError("KUBENAS_ZEROCOST.sample is required with choices (a bulk search): "
                            f"{settings['sample'].valid}")
    return replace(config, param=param, choices=choices, sample=values["sample"],
                   top=values["top"]), warnings


def _op_list(name: str, choices: Any, architecture: dict[str, Any], what: str,
             minimum: int) -> tuple[str, tuple[str, ...]]:
    """The family's one op-list param that `<name>.choices` searches, and its ops (at least
    `minimum`, distinct); KUBENAS_ARCHITECTURE must leave that param out."""
    family = architecture["family"]
    param = searched_param(family)
    if param is None:
        supported = [f for f in FAMILIES if searched_param(f)]
        raise ContractError(f"{name}: {what} supports {' and '.join(supported)}, not family "
                            f"{family!r}")
    if not isinstance(choices, dict) or list(choices) != [param.name]:
        raise ContractError(f"{name}.choices must be an object with the one key "
                            f"{param.name!r} (the {family} op list), got {choices!r}")
    ops = choices[param.name]
    where = f"{name}.choices.{param.name}"
    if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
        raise ContractError(f"{where} must be a list of op names, got {ops!r}")
    unknown = [op for op in ops if op not in param.ops]
    if unknown:
        raise ContractError(f"{where}: unknown op {unknown[0]!r}; valid ops are "
                            f"{list(param.ops)}")
    if len(set(ops)) != len(ops) or len(ops) < minimum:
        raise ContractError(f"{where} must list at least {minimum} distinct "
                            f"op{'s' if minimum > 1 else ''}, got {ops!r}")
    if param.name in architecture["params"]:
        raise ContractError(f"KUBENAS_ARCHITECTURE.params must not set {param.name!r}: "
                            f"{name}.choices searches it")
    return param.name, tuple(ops)


def _refuse_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _json(text: str, name: str, valid: str) -> Any:
    """Strict JSON: NaN and Infinity are refused, as nothing downstream may carry them."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
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
    export, export_warnings = _parse_export(values["KUBENAS_EXPORT"])
    architecture = _parse_architecture(values["KUBENAS_ARCHITECTURE"])
    zero_cost, zero_cost_warnings = _parse_zero_cost(values["KUBENAS_ZEROCOST"], architecture)
    termination_log = values["KUBENAS_TERMINATION_LOG"]
    host = values["KUBENAS_METRICS_HOST"] or environ.get("POD_IP") or "0.0.0.0"
    budget = _number(values["KUBENAS_BUDGET"], "KUBENAS_BUDGET", "a number > 0",
                     lambda v: v > 0)
    resource = _choice(values["KUBENAS_RESOURCE"], "KUBENAS_RESOURCE", "epochs", RESOURCES)
    supernet, supernet_warnings = _parse_supernet(values["KUBENAS_SUPERNET"], architecture)
    if supernet is not None and resource != "epochs":
        raise ContractError(f"KUBENAS_RESOURCE must be epochs for a one-shot search "
                            f"(KUBENAS_SUPERNET), got {resource!r}")
    if supernet is not None and zero_cost is not None:
        raise ContractError("KUBENAS_SUPERNET and KUBENAS_ZEROCOST exclude each other: a trial "
                            "is a one-shot search or scores proxies, not both")
    contract = Contract(
        trial=values["KUBENAS_TRIAL"] or "trial",
        architecture=architecture,
        budget=budget,
        resource=resource,
        objective=_choice(values["KUBENAS_OBJECTIVE"], "KUBENAS_OBJECTIVE", DEFAULT_OBJECTIVE,
                          METRICS),
        seed=_integer(values["KUBENAS_SEED"], "KUBENAS_SEED", 0, "an integer from 0 to 2**32-1",
                      lambda v: 0 <= v < 2**32),
        split_seed=_integer(values["KUBENAS_SPLIT_SEED"], "KUBENAS_SPLIT_SEED", 0,
                            "an integer >= 0", lambda v: v >= 0),
        training=training,
        checkpoint_dir=values["KUBENAS_CHECKPOINT_DIR"] or None,
        resume_from=values["KUBENAS_RESUME_FROM"] or None,
        metrics_port=_integer(values["KUBENAS_METRICS_PORT"], "KUBENAS_METRICS_PORT", 0,
                              "a port from 0 (off) to 65535", lambda v: 0 <= v <= 65535),
        metrics_host=host,
        termination_log=termination_log or DEFAULT_TERMINATION_LOG,
        termination_log_explicit=bool(termination_log),
        export_dir=values["KUBENAS_EXPORT_DIR"] or None,
        export=export,
        threads=_integer(values["KUBENAS_THREADS"], "KUBENAS_THREADS", 0,
                         "an integer >= 1", lambda v: v >= 1) or None,
        data_cache=values["KUBENAS_DATA_CACHE"] or None,
        supernet=supernet,
        zero_cost=zero_cost,
    )
    return contract, warnings + export_warnings + supernet_warnings + zero_cost_warnings
