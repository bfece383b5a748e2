"""The NASExperiment and NASTrial schemas: the single source of truth.

Both the local validator (`kubenas.api.validate`) and the CRDs under `crds/` are derived
from the dictionaries built here, so a manifest that `kubenas run` accepts is one the API
server accepts, and the other way round. The dictionaries are plain OpenAPI v3 structural
schemas with Kubernetes extensions (`x-kubernetes-validations` for CEL rules).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

GROUP = "kubenas.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

STRATEGIES = ("random", "grid", "evolution", "tpe", "reinforce", "bo", "nsga2", "parego")
DEFAULT_STRATEGY = "bo"
DEFAULT_MULTI_STRATEGY = "parego"  # a default that ignores objective.additional would surprise
FAMILIES_NOTE = "Built-in trainer families: macro_cnn, nb201. A custom trainer may accept others."
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


def _with(schema: Schema, description: str, **extra: Any) -> Schema:
    schema["description"] = description
    schema.update({k: v for k, v in extra.items() if v is not None})
    return schema


def string(description: str, *, enum: tuple[str, ...] | None = None, pattern: str | None = None,
           default: str | None = None, min_length: int | None = None,
           max_length: int | None = None) -> Schema:
    return _with({"type": "string"}, description, enum=list(enum) if enum else None,
                 pattern=pattern, default=default, minLength=min_length, maxLength=max_length)


def integer(description: str, *, minimum: int | None = None, maximum: int | None = None,
            default: int | None = None) -> Schema:
    return _with({"type": "integer"}, description, minimum=minimum, maximum=maximum,
                 default=default)


def number(description: str, *, minimum: float | None = None, maximum: float | None = None,
           exclusive_minimum: bool | None = None, default: float | None = None) -> Schema:
    return _with({"type": "number"}, description, minimum=minimum, maximum=maximum,
                 exclusiveMinimum=exclusive_minimum, default=default)


def boolean(description: str, *, default: bool | None = None) -> Schema:
    return _with({"type": "boolean"}, description, default=default)


def duration(description: str, *, default: str | None = None) -> Schema:
    """Seconds as an integer, or a Go-style duration string such as `90s`, `10m`, `1h30m`."""
    return _with({"x-kubernetes-int-or-string": True}, description, default=default,
                 **{"x-kubernetes-validations": [{
                     "rule": "type(self) == int ? self >= 0 : self.matches('" + DURATION_PATTERN
                             + "')",
                     "message": "must be a whole number of seconds or a duration like 90s, 10m,"
                                " 1h30m"}]})


def array(description: str, items: Schema, *, min_items: int | None = None,
          max_items: int | None = None, map_key: str | None = None) -> Schema:
    """A list; with `map_key` it is a map keyed by that field, so duplicate keys are invalid."""
    extra = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [map_key]} \
        if map_key else {}
    return _with({"type": "array", "items": items}, description, minItems=min_items,
                 maxItems=max_items, **extra)


def obj(description: str, properties: dict[str, Schema], *, required: tuple[str, ...] = (),
        rules: list[dict[str, str]] | None = None, defaulted: bool = False) -> Schema:
    """An object; `defaulted` makes an absent one `{}` so its fields' defaults apply."""
    schema: Schema = {"type": "object", "properties": properties}
    if defaulted:
        schema["default"] = {}
    if required:
        schema["required"] = list(required)
    if rules:
        schema["x-kubernetes-validations"] = rules
    return _with(schema, description)


def string_map(description: str) -> Schema:
    return _with({"type": "object", "additionalProperties": {"type": "string"}}, description)


def free_object(description: str) -> Schema:
    """An object whose fields the API server keeps as they are (Kubernetes types we pass on)."""
    return _with({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, description)


def any_value(description: str) -> Schema:
    return _with({"x-kubernetes-preserve-unknown-fields": True}, description)


def rule(cel: str, message: str, field_path: str | None = None,
         reason: str | None = None) -> dict[str, str]:
    out = {"rule": cel, "message": message}
    if field_path:
        out["fieldPath"] = field_path
    if reason:
        out["reason"] = reason
    return out


def _objective_term() -> Schema:
    return obj("An additional objective for multi-objective search.", {
        "metric": string("Name of the metric the trainer reports.", pattern=NAME_PATTERN),
        "direction": string("Whether larger or smaller values are better.",
                            enum=("maximize", "minimize")),
    }, required=("metric", "direction"))


def _constraint() -> Schema:
    return obj("A bound a trial's metric must respect to count as feasible (constrained search).", {
        "metric": string("Name of the constrained metric.", pattern=NAME_PATTERN),
        "max": number("Largest allowed value."),
        "min": number("Smallest allowed value."),
    }, required=("metric",), rules=[
        rule("has(self.max) || has(self.min)", "set max, min or both"),
        rule("!has(self.max) || !has(self.min) || self.min <= self.max", "min must be <= max"),
    ])


def objective_schema() -> Schema:
    return obj("What the search optimises.", {
        "metric": string("Name of the metric to optimise, as the trainer reports it "
                         "(the built-in trainer reports val_accuracy, val_loss, train_loss, params,"
                         " flops, latency_ms).", pattern=NAME_PATTERN),
        "direction": string("Whether larger or smaller values are better.",
                            enum=("maximize", "minimize"), default="maximize"),
        "goal": number("Stop the search as soon as a trial reaches this value."),
        "additional": array("Further objectives; with any, the search is multi-objective and the "
                             "status reports the Pareto front.", _objective_term(), max_items=4),
        "constraints": array("Bounds on metrics; only trials within them can be best.",
                             _constraint(), max_items=8),
    }, required=("metric",))


def _range(kind: str, item: Schema) -> Schema:
    props: dict[str, Schema] = {
        "min": dict(item, description=f"Smallest {kind} value (inclusive)."),
        "max": dict(item, description=f"Largest {kind} value (inclusive)."),
    }
    if kind == "float":
        props["log"] = boolean("Sample on a log scale (min must then be > 0).", default=False)
    else:
        props["step"] = integer("Spacing between allowed values.", minimum=1, default=1)
    rules = [rule("self.min <= self.max", "min must be <= max")]
    if kind == "float":
        rules.append(rule("!self.log || self.min > 0.0", "log scale needs min > 0"))
    article = "An" if kind == "int" else "A"
    return obj(f"{article} {kind} range.", props, required=("min", "max"), rules=rules)


def parameter_schema() -> Schema:
    return obj("One searchable parameter: exactly one of choice, int and float.", {
        "name": string("Name the trainer receives the value under.", pattern=NAME_PATTERN,
                       max_length=63),
        "choice": array("Categorical values to choose from.",
                        any_value("A value: string, number or boolean."), min_items=1,
                        max_items=256),
        "int": _range("int", {"type": "integer"}),
        "float": _range("float", {"type": "number"}),
        "repeat": _with({"x-kubernetes-int-or-string": True},
                        "Repeat this parameter per layer: a count, or the name of an int "
                        "parameter whose value sets the count (e.g. the network's depth). The "
                        "trainer receives a list."),
    }, required=("name",), rules=[
        rule("[has(self.choice), has(self.int), has(self.float)].filter(x, x).size() == 1",
             "set exactly one of choice, int and float"),
        rule("!has(self.repeat) || type(self.repeat) != int || self.repeat >= 1",
             "repeat must be >= 1", field_path=".repeat"),
    ])


def search_space_schema() -> Schema:
    return obj("The architectures to search.", {
        "family": string("Model builder the trainer uses. " + FAMILIES_NOTE,
                         pattern=NAME_PATTERN),
        "parameters": array("The searchable parameters.", parameter_schema(), min_items=1,
                            max_items=64, map_key="name"),
        "cell": obj("Declares the parameters as the edges of a DAG cell, so that encodings that "
                    "build the same network are searched once.", {
            "parameter": string("The repeated choice parameter that lists the edge operations.",
                                pattern=NAME_PATTERN, max_length=63),
            "nodes": integer("Number of nodes; edges are listed as (1<-0), (2<-0), (2<-1), "
                             "(3<-0), ...", minimum=2, maximum=12),
            "zeroOp": any_value("The operation that removes an edge (e.g. none)."),
            "identityOp": any_value("The operation that passes its input through (e.g. skip)."),
        }, required=("parameter", "nodes", "zeroOp")),
    }, required=("family", "parameters"), rules=[
        rule("self.parameters.all(p, !has(p.repeat) || type(p.repeat) == int || "
             "self.parameters.exists(q, q.name == p.repeat && has(q.int) && q.int.min >= 1))",
             "repeat must be a count, or the name of an int parameter with min >= 1",
             field_path=".parameters"),
        rule("!has(self.cell) || self.parameters.exists(p, p.name == self.cell.parameter && "
             "has(p.choice) && has(p.repeat) && type(p.repeat) == int && "
             "p.repeat == self.cell.nodes * (self.cell.nodes - 1) / 2 && "
             "p.choice.exists(c, c == self.cell.zeroOp) && "
             "(!has(self.cell.identityOp) || p.choice.exists(c, c == self.cell.identityOp)))",
             "cell.parameter must name a choice parameter repeated once per edge "
             "(nodes*(nodes-1)/2) whose choices include zeroOp and identityOp",
             field_path=".cell"),
    ])


def strategy_schema() -> Schema:
    return obj("How the next architectures are proposed.", {
        "name": string(f"Search strategy. Unset: {DEFAULT_STRATEGY}, or {DEFAULT_MULTI_STRATEGY} "
                       "when objective.additional is set.", enum=STRATEGIES),
        "seed": integer("Seed for every random choice; same seed and history give the same "
                        "decisions.", minimum=0, default=0),
        "settings": free_object("Strategy settings, e.g. population and tournamentSize for "
                                "evolution. See docs/strategies.md."),
    }, defaulted=True)


def budget_schema() -> Schema:
    return obj("Limits on the search.", {
        "maxTrials": integer("Trials to run in all, promotions to larger budgets included.",
                             minimum=1, maximum=100000, default=20),
        "maxParallelTrials": integer("Trials running at once.", minimum=1, maximum=1000,
                                     default=1),
        "maxFailedTrials": integer("Trainer failures tolerated; one more fails the experiment.",
                                   minimum=0, default=3),
        "maxDuration": duration("Wall-clock limit for the whole search (simulated seconds for "
                                "tabular benchmarks)."),
        "trialTimeout": duration("Wall-clock limit for one trial; a trial past it fails with "
                                 "DeadlineExceeded."),
        "gpuAware": boolean("Never run more trials than there are GPUs allocatable on matching "
                            "nodes (operator only).", default=False),
    }, defaulted=True)


def fidelity_schema() -> Schema:
    return obj("Partial training: trials start at the minimum budget and the best are promoted "
               "(asynchronous successive halving).", {
        "resource": string("Unit of the training budget.", enum=("epochs", "steps"),
                           default="epochs"),
        "min": number("Budget of a new trial.", minimum=0, exclusive_minimum=True),
        "max": number("Largest budget a trial is promoted to.", minimum=0,
                      exclusive_minimum=True),
        "reductionFactor": integer("Promote the best 1/eta of each rung; budgets grow by eta.",
                                   minimum=2, default=3),
        "levels": array("Explicit budgets per rung, overriding min, max and reductionFactor "
                        "(useful for tabular benchmarks).", {"type": "number"}, min_items=1),
    }, rules=[
        rule("has(self.levels) || (has(self.min) && has(self.max))", "set min and max, or levels"),
        rule("!has(self.min) || !has(self.max) || self.min <= self.max", "min must be <= max"),
    ])


def training_schema() -> Schema:
    return obj("Settings passed to the trainer as KUBENAS_TRAINING.", {
        "dataset": string("Dataset to train on.", enum=("digits", "mnist", "synthetic", "npz",
                                                        "folder"), default="digits"),
        "path": string("File (npz) or folder (image folder) of the dataset, as mounted in the "
                       "trial."),
        "epochs": number("Budget of every trial when no fidelity schedule is set, in "
                         "fidelity.resource units.", minimum=0, exclusive_minimum=True, default=5),
        "batchSize": integer("Samples per step.", minimum=1, maximum=65536, default=64),
        "learningRate": number("Initial learning rate.", minimum=0, exclusive_minimum=True,
                               default=0.05),
        "validationFraction": number("Share of the data held out for validation.", minimum=0.01,
                                     maximum=0.9, default=0.2),
        "device": string("Where to train.", enum=("auto", "cpu", "cuda"), default="auto"),
        "compile": boolean("Use torch.compile (GPU only).", default=False),
    }, rules=[rule("!(self.dataset in ['npz', 'folder']) || has(self.path)",
                   "npz and folder datasets need a path", field_path=".path")], defaulted=True)


def trial_template_schema() -> Schema:
    return obj("How each trial runs. Locally only command, args and env apply.", {
        "image": string("Trainer image; defaults to the operator's configured trainer image."),
        "command": array("Entrypoint; defaults to python -m kubenas_trainer.",
                         {"type": "string"}),
        "args": array("Arguments to the entrypoint.", {"type": "string"}),
        "env": array("Extra environment variables (Kubernetes EnvVar).",
                     free_object("An environment variable: name with value or valueFrom.")),
        "resources": free_object("Container resources (requests/limits), e.g. "
                                 "limits: {nvidia.com/gpu: 1}."),
        "nodeSelector": string_map("Node labels a trial pod must match."),
        "tolerations": array("Pod tolerations.", free_object("A toleration.")),
        "affinity": free_object("Pod affinity."),
        "priorityClassName": string("PriorityClass of trial pods."),
        "runtimeClassName": string("RuntimeClass of trial pods."),
        "serviceAccountName": string("ServiceAccount of trial pods."),
        "queueName": string("Kueue LocalQueue, set as the kueue.x-k8s.io/queue-name label."),
        "labels": string_map("Extra labels on trial pods."),
        "annotations": string_map("Extra annotations on trial pods."),
        "volumes": array("Pod volumes (e.g. the dataset and a checkpoint PVC).",
                         free_object("A volume.")),
        "volumeMounts": array("Trainer container volume mounts.", free_object("A volume mount.")),
        "checkpointDir": string("Directory (in the trial) where checkpoints live, one "
                                "subdirectory per trial; promotions resume from it."),
        "metricsPort": integer("Port the trainer serves /metrics on.", minimum=1,
                               maximum=65535, default=9090),
    }, defaulted=True)


def tabular_schema() -> Schema:
    fidelity = obj("What evaluating at one budget reveals and costs.", {
        "level": number("The budget (as in fidelity.levels)."),
        "metrics": string_map("Metric name -> column revealed at this budget."),
        "costColumn": string("Column holding the cost in simulated seconds."),
        "costScale": number("Multiplier applied to the cost column.", minimum=0, default=1.0),
    }, required=("level", "metrics", "costColumn"))
    return obj("Answer trials from a lookup table on a simulated clock instead of training "
               "(benchmarks). Used by kubenas run and kubenas bench; the operator rejects it.", {
        "table": string("CSV file, relative to the manifest."),
        "key": obj("How an architecture finds its row.", {
            "column": string("Column holding the key."),
            "format": string("Python format string over the architecture's parameters that "
                             "yields the key, e.g. '{depth}-{op[0]}'."),
        }, required=("column", "format")),
        "fidelities": array("One entry per budget level.", fidelity, min_items=1),
        "staticMetrics": string_map("Metric name -> column known at any budget (cost, size)."),
        "reportMetrics": string_map("Metric name -> column reported for the returned best "
                                    "only, never shown to the search (e.g. test accuracy)."),
        "resume": boolean("A promoted trial pays only the extra budget (resumes from its "
                          "checkpoint).", default=True),
        "judge": string_map("Objective metric -> report metric the benchmark scores the "
                            "returned result on (e.g. val_accuracy -> test_accuracy). An "
                            "objective not listed is scored on its own static metric."),
        "reference": _with({"type": "object", "additionalProperties": {"type": "number"}},
                           "Hypervolume reference point: objective metric -> value, in the "
                           "units it is scored in. An objective not listed uses its worst "
                           "value in the table."),
    }, required=("table", "key", "fidelities"))


def experiment_spec_schema() -> Schema:
    return obj("A neural architecture search.", {
        "objective": objective_schema(),
        "searchSpace": search_space_schema(),
        "strategy": strategy_schema(),
        "budget": budget_schema(),
        "fidelity": fidelity_schema(),
        "training": training_schema(),
        "trialTemplate": trial_template_schema(),
        "tabular": tabular_schema(),
        "suspend": boolean("Stop running trials and start no new ones until set back to false.",
                           default=False),
    }, required=("objective", "searchSpace"), rules=[
        rule("!has(self.strategy.name) || self.strategy.name != 'grid' || "
             "self.searchSpace.parameters.all(p, !has(p.float))",
             "grid needs a finite space: replace float parameters by choice or int",
             field_path=".strategy.name"),
        rule("!has(self.strategy.name) || self.strategy.name != 'nsga2' || "
             "has(self.objective.additional)",
             "nsga2 needs a second objective in objective.additional",
             field_path=".strategy.name"),
        rule("!has(self.strategy.name) || self.strategy.name != 'parego' || "
             "has(self.objective.additional)",
             "parego needs a second objective in objective.additional",
             field_path=".strategy.name"),
    ])


def immutability_rules() -> list[dict[str, str]]:
    """Root-level transition rules: the search may not change under trials that already ran.

    They sit on the object root because only there can a rule see `status` (whether trials
    exist) next to `spec`. The local validator never has an old object, so it skips them.
    """
    started = "has(oldSelf.status) && has(oldSelf.status.trials) && oldSelf.status.trials.total > 0"
    return [rule(f"!({started}) || self.spec.{field} == oldSelf.spec.{field}",
                 f"spec.{field} is immutable once trials exist", field_path=f".spec.{field}",
                 reason="FieldValueForbidden")
            for field in ("searchSpace", "objective", "strategy")]
