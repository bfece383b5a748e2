"""The NASExperiment spec schema: the single source of truth.

The local validator (`kubenas.api.validate`), the CRDs under `crds/` and the field reference
are all derived from the dictionaries built here, so a manifest that `kubenas validate`
accepts is one the API server accepts, and the other way round: every cross-field rule is a
CEL rule (`x-kubernetes-validations`) that both evaluate. The only deliberate difference:
unknown fields are errors locally (as with `kubectl apply --validate=strict`).
"""

from __future__ import annotations

from kubenas_trainer.catalog import (
    DATASETS,
    ONE_SHOT_FAMILIES,
    PATH_DATASETS,
    QUANTIZATIONS,
    TRAINING,
    Setting,
)

from kubenas.api import builtin_trainer, strategy_settings
from kubenas.api.builtin_trainer import BUILTIN, CUSTOM_HINT, setting_schema
from kubenas.api.openapi import (
    Schema,
    array,
    boolean,
    cel_list,
    duration,
    free_object,
    integer,
    number,
    number_map,
    obj,
    rule,
    scalar,
    string,
    string_map,
)
from kubenas.api.strategy_settings import DEFAULT_MULTI_STRATEGY, DEFAULT_STRATEGY

GROUP = "kubenas.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

STRATEGIES = strategy_settings.NAMES
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# Range bounds: values an architecture parameter can take, far from int64/float64 limits so
# that sizes, steps and samples stay exact.
INT_LIMIT = 2**31 - 1
FLOAT_LIMIT = 1e12
EFFECTIVE_STRATEGY = (f"(has(self.strategy.name) ? self.strategy.name : "
                      f"(has(self.objective.additional) ? '{DEFAULT_MULTI_STRATEGY}' : "
                      f"'{DEFAULT_STRATEGY}'))")


def _objective_term() -> Schema:
    return obj("An additional objective for multi-objective search.", {
        "metric": string("Name of the metric the trainer reports.", pattern=NAME_PATTERN,
                         max_length=63),
        "direction": string("Whether larger or smaller values are better.",
                            enum=("maximize", "minimize")),
    }, required=("metric", "direction"))


def _constraint() -> Schema:
    return obj("A bound a trial's metric must respect to count as feasible (constrained search).", {
        "metric": string("Name of the constrained metric.", pattern=NAME_PATTERN, max_length=63),
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
                         " flops, latency_ms).", pattern=NAME_PATTERN, max_length=63),
        "direction": string("Whether larger or smaller values are better.",
                            enum=("maximize", "minimize"), default="maximize"),
        "goal": number("Stop the search as soon as a trial reaches this value."),
        "additional": array("Further objectives; with any, the search is multi-objective and the "
                             "status reports the Pareto front.", _objective_term(), min_items=1,
                            max_items=4, map_key="metric"),
        "constraints": array("Bounds on metrics; only trials within them can be best.",
                             _constraint(), min_items=1, max_items=8, map_key="metric"),
    }, required=("metric",), rules=[
        rule("!has(self.additional) || self.additional.all(o, o.metric != self.metric)",
             "an additional objective repeats objective.metric", field_path=".additional"),
    ])


def _range(kind: str, item: Schema) -> Schema:
    limit = INT_LIMIT if kind == "int" else FLOAT_LIMIT
    bounded = dict(item, minimum=-limit, maximum=limit)
    props: dict[str, Schema] = {
        "min": dict(bounded, description=f"Smallest {kind} value (inclusive)."),
        "max": dict(bounded, description=f"Largest {kind} value (inclusive)."),
    }
    if kind == "float":
        props["log"] = boolean("Sample on a log scale (min must then be > 0).", default=False)
    else:
        props["step"] = integer("Spacing between allowed values.", minimum=1,
                                maximum=INT_LIMIT, default=1)
    rules = [rule("self.min <= self.max", "min must be <= max")]
    if kind == "float":
        rules.append(rule("!self.log || self.min > 0.0", "log scale needs min > 0"))
    article = "An" if kind == "int" else "A"
    return obj(f"{article} {kind} range, within +-{limit:g}.", props, required=("min", "max"),
               rules=rules)


def parameter_schema() -> Schema:
    return obj("One searchable parameter: exactly one of choice, int and float.", {
        "name": string("Name the trainer receives the value under.", pattern=NAME_PATTERN,
                       max_length=63),
        "choice": array("Distinct categorical values to choose from.",
                        scalar("A value: string, number or boolean."), min_items=1,
                        max_items=256),
        "int": _range("int", {"type": "integer"}),
        "float": _range("float", {"type": "number"}),
        "repeat": {"x-kubernetes-int-or-string": True, "description":
                   "Repeat this parameter per layer: a count (1 to 64), or the name of an int "
                   "parameter whose value sets the count (e.g. the network's depth). The "
                   "trainer receives a list."},
    }, required=("name",), rules=[
        rule("[has(self.choice), has(self.int), has(self.float)].filter(x, x).size() == 1",
             "set exactly one of choice, int and float"),
        rule("!has(self.choice) || self.choice.all(c, self.choice.filter(d, c == d).size() == 1)",
             "choices must be distinct", field_path=".choice"),
        rule("!has(self.repeat) || (type(self.repeat) == int ? self.repeat >= 1 && "
             "self.repeat <= 64 : self.repeat.matches('^[a-z][a-z0-9_]*$'))",
             "repeat must be a count from 1 to 64 or a parameter name", field_path=".repeat"),
    ])


def search_space_schema() -> Schema:
    return obj("The architectures to search.", {
        "family": string("Model builder the trainer uses. Built-in trainer families: "
                         + ", ".join(builtin_trainer.FAMILIES)
                         + ". A custom trainer may accept others.", pattern=NAME_PATTERN,
                         max_length=63),
        "parameters": array("The searchable parameters.", parameter_schema(), min_items=1,
                            max_items=64, map_key="name"),
        "cell": obj("Declares the parameters as the edges of a DAG cell, so that encodings that "
                    "build the same network are searched once.", {
            "parameter": string("The repeated choice parameter that lists the edge operations.",
                                pattern=NAME_PATTERN, max_length=63),
            "nodes": integer("Number of nodes; edges are listed as (1<-0), (2<-0), (2<-1), "
                             "(3<-0), ...", minimum=2, maximum=12),
            "zeroOp": scalar("The operation that removes an edge (e.g. none)."),
            "identityOp": scalar("The operation that passes its input through (e.g. skip)."),
        }, required=("parameter", "nodes", "zeroOp")),
    }, required=("family", "parameters"), rules=[
        rule("self.parameters.all(p, !has(p.repeat) || type(p.repeat) == int || "
             "self.parameters.exists(q, q.name == p.repeat && has(q.int) && q.int.min >= 1 && "
             "q.int.max <= 64))",
             "repeat must be a count, or the name of an int parameter within 1..64",
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
                        "decisions.", minimum=0, maximum=INT_LIMIT, default=0),
        "settings": strategy_settings.union_schema(),
    }, defaulted=True)


ONE_SHOT = f"{EFFECTIVE_STRATEGY} in {cel_list(strategy_settings.ONE_SHOT)}"
PRESCREEN = ("(has(self.strategy.settings) && has(self.strategy.settings.prescreen) && "
             "self.strategy.settings.prescreen > 0)")
_OP_LIST = "(has(p.repeat) && has(p.choice) && p.choice.size() > 1)"


def _one_shot_rules() -> list[dict[str, str]]:
    """What a supernet or a zero-cost screen needs: one operation list searched (each slot
    picks one of its choices), every other parameter fixed, no table."""
    names = ", ".join(strategy_settings.ONE_SHOT)
    return [
        rule(f"!({ONE_SHOT} || {PRESCREEN}) || (self.searchSpace.parameters.filter(p, "
             f"{_OP_LIST}).size() == 1 && self.searchSpace.parameters.all(p, {_OP_LIST} || "
             "(has(p.choice) && p.choice.size() == 1) || (has(p.int) && p.int.min == p.int.max)"
             "))", f"one-shot search ({names}) and strategy.settings.prescreen search one "
             "operation list (a choice with repeat); give every other parameter one value",
             field_path=".searchSpace.parameters"),
        rule(f"!{BUILTIN} || !({ONE_SHOT} || {PRESCREEN}) || "
             f"self.searchSpace.family in {cel_list(ONE_SHOT_FAMILIES)}",
             f"the built-in trainer has supernets and zero-cost screens for "
             f"{' and '.join(ONE_SHOT_FAMILIES)} only; {CUSTOM_HINT}",
             field_path=".searchSpace.family"),
        rule(f"!({ONE_SHOT} || {PRESCREEN}) || !has(self.tabular)",
             "a table cannot answer a supernet or zero-cost trial; use a multi-trial "
             "strategy without prescreen", field_path=".tabular"),
        rule(f"!({ONE_SHOT}) || !has(self.objective.additional)",
             f"{names} optimise one objective; use nsga2 or parego for several",
             field_path=".objective.additional"),
        rule(f"!({ONE_SHOT}) || self.objective.metric in ['val_accuracy', 'val_loss']",
             "a supernet is trained on the loss and scores candidates by accuracy: the "
             "objective must be val_accuracy or val_loss", field_path=".objective.metric"),
        rule(f"!({ONE_SHOT}) || !has(self.fidelity) || self.fidelity.resource == 'epochs'",
             "a supernet trains in epochs", field_path=".fidelity.resource"),
    ]


def _settings_rules() -> list[dict[str, str]]:
    """Each setting only for the strategies that take it (the unset name's default included)."""
    names = sorted(strategy_settings.union_schema()["properties"])
    return [rule(f"!has(self.strategy.settings) || !has(self.strategy.settings.{name}) || "
                 f"{EFFECTIVE_STRATEGY} in {cel_list(strategy_settings.takers(name))}",
                 f"settings.{name} is a setting of {', '.join(strategy_settings.takers(name))} "
                 "only", field_path=f".strategy.settings.{name}")
            for name in names]


def budget_schema() -> Schema:
    return obj("Limits on the search.", {
        "maxTrials": integer("Trials to run in all, promotions to larger budgets included.",
                             minimum=1, maximum=100000, default=20),
        "maxParallelTrials": integer("Trials running at once.", minimum=1, maximum=1000,
                                     default=1),
        "maxFailedTrials": integer("Trainer failures tolerated; one more fails the experiment.",
                                   minimum=0, maximum=100000, default=3),
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
        "min": number("Budget of a new trial.", minimum=0, exclusive_minimum=True,
                      maximum=FLOAT_LIMIT),
        "max": number("Largest budget a trial is promoted to.", minimum=0,
                      exclusive_minimum=True, maximum=FLOAT_LIMIT),
        "reductionFactor": integer("Promote the best 1/eta of each rung; budgets grow by eta.",
                                   minimum=2, maximum=100, default=3),
        "levels": array("Explicit budgets per rung, strictly increasing, overriding min, max "
                        "and reductionFactor (useful for tabular benchmarks).",
                        number("A budget.", minimum=0, exclusive_minimum=True,
                               maximum=FLOAT_LIMIT), min_items=1, max_items=16),
    }, rules=[
        rule("has(self.levels) || (has(self.min) && has(self.max))", "set min and max, or levels"),
        rule("!has(self.min) || !has(self.max) || self.min <= self.max", "min must be <= max"),
        rule("!has(self.levels) || (self.levels.isSorted() && "
             "self.levels.all(a, self.levels.filter(b, b == a).size() == 1))",
             "levels must be strictly increasing", field_path=".levels"),
        rule("!has(self.min) || !has(self.max) || self.max <= self.min * 1e6",
             "max may be at most a million times min", field_path=".max"),
    ])


def _setting(setting: Setting) -> Schema:
    if setting.name == "dataset":  # a custom trainer may take other datasets
        return setting_schema(setting, setting.description + " A custom trainer may accept "
                              "others.", enum=False)
    return setting_schema(setting)


def training_schema() -> Schema:
    """The built-in trainer's settings (`kubenas_trainer.catalog`) plus kubenas's own `epochs`;
    every one reaches the trainer in KUBENAS_TRAINING except epochs, which sets budgets."""
    props = {s.name: _setting(s) for s in TRAINING}
    props["epochs"] = number("Budget of every trial when no fidelity schedule is set, in "
                             "fidelity.resource units.", minimum=0, exclusive_minimum=True,
                             maximum=FLOAT_LIMIT, default=5)
    return obj("Settings passed to the trainer as KUBENAS_TRAINING (datasets of the built-in "
               f"trainer: {', '.join(DATASETS)}).", props, rules=[
        rule(f"!(self.dataset in {cel_list(PATH_DATASETS)}) || has(self.path)",
             f"the {' and '.join(PATH_DATASETS)} datasets need a path", field_path=".path")],
        defaulted=True)


def _env_var() -> Schema:
    return obj("An environment variable (Kubernetes EnvVar).", {
        "name": string("Variable name.", min_length=1, max_length=256),
        "value": string("Value."),
        "valueFrom": free_object("Source of the value (Kubernetes EnvVarSource)."),
    }, required=("name",), rules=[
        rule("!has(self.value) || !has(self.valueFrom)", "set value or valueFrom, not both")])


def trial_template_schema() -> Schema:
    return obj("How each trial runs. Locally only command, args and env apply.", {
        "image": string("Trainer image; defaults to the operator's configured trainer image.",
                        min_length=1),
        "command": array("Entrypoint; defaults to python -m kubenas_trainer.",
                         string("An argument.", min_length=1), min_items=1),
        "args": array("Arguments to the entrypoint.", {"type": "string"}),
        "env": array("Extra environment variables.", _env_var(), map_key="name"),
        "envFrom": array("Sources of environment variables (Kubernetes EnvFromSource).",
                         free_object("A ConfigMap or Secret to take variables from.")),
        "resources": _resources(),
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
        "imagePullSecrets": array("Secrets for pulling the trainer image from a private "
                                  "registry.", obj("A secret reference.", {
                                      "name": string("Secret name.", min_length=1)},
                                      required=("name",))),
        "podSpec": free_object("A full Kubernetes PodSpec that trial pods start from: init "
                               "containers, sidecars, security context and anything else. "
                               "The container named trainer (or the first) runs the trainer, "
                               "and the fields above apply to it. Within the operator's "
                               "trial-pod policy."),
        "workload": obj("What runs a trial.", {
            "kind": string("Pod (one pod per trial), or Job: an indexed batch/v1 Job, whose "
                           "conditions decide the trial, for trials that span several nodes.",
                           enum=("Pod", "Job"), default="Pod"),
            "replicas": integer("Job only: pods per trial (indexed completions, all run at "
                                "once); the one with index 0 reports the result.", minimum=1,
                                maximum=1000, default=1),
        }, rules=[rule("self.replicas == 1 || self.kind == 'Job'",
                       "replicas above 1 need kind Job", field_path=".replicas")],
            defaulted=True),
        "checkpointDir": string("Directory (in the trial) where checkpoints live, one "
                                "subdirectory per trial; promotions resume from it."),
        "metricsPort": integer("Port the trainer serves /metrics on.", minimum=1,
                               maximum=65535, default=9090),
    }, defaulted=True)


# Kubernetes' resource.Quantity, as its OpenAPI schema writes it.
QUANTITY = (r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
            r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")
GPU = "nvidia.com/gpu"


def _quantities(description: str) -> Schema:
    value = {"x-kubernetes-int-or-string": True, "pattern": QUANTITY,
             "description": "A quantity, e.g. 2, 500m, 4Gi."}
    return {"type": "object", "description": description, "additionalProperties": value}


def _resources() -> Schema:
    whole = (f"!has(self.{{0}}) || !('{GPU}' in self.{{0}}) || "
             f"string(self.{{0}}['{GPU}']).matches('^[0-9]+$')")
    return obj("Trainer container resources (Kubernetes ResourceRequirements), e.g. "
               "limits: {nvidia.com/gpu: 1}.", {
                   "limits": _quantities("Largest amounts the trainer may use."),
                   "requests": _quantities("Amounts the scheduler reserves."),
                   "claims": array("Dynamic resource claims.", free_object("A claim.")),
               }, rules=[rule(whole.format(k), f"{GPU} must be a whole number of GPUs",
                              field_path=f".{k}") for k in ("limits", "requests")])


def tabular_schema() -> Schema:
    fidelity = obj("What evaluating at one budget reveals and costs.", {
        "level": number("The budget (as in fidelity.levels); may be left out when the "
                        "experiment has one budget level."),
        "metrics": string_map("Metric name -> column revealed at this budget."),
        "costColumn": string("Column holding the cost in simulated seconds."),
        "cost": number("Simulated seconds of every evaluation at this budget, for a table "
                       "without a cost column.", minimum=0),
        "costScale": number("Multiplier applied to the cost column.", minimum=0, default=1.0),
    }, required=("metrics",), rules=[rule("has(self.costColumn) != has(self.cost)",
                                          "set exactly one of costColumn and cost")])
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
        "reference": number_map(
                           "Hypervolume reference point: objective metric -> value, in the "
                           "units it is scored in. An objective not listed uses its worst "
                           "value in the table."),
    }, required=("table", "key", "fidelities"))


def export_schema() -> Schema:
    return obj("How the best model is exported: ONNX with its preprocessing and a model card "
               "(see docs/edge.md).", {
        "quantize": string("int8 also writes model.int8.onnx (ONNX Runtime static "
                           "quantisation), with its accuracy beside the float model's.",
                           enum=QUANTIZATIONS, default="none"),
        "dir": string("On the cluster: directory in the trial pod, on a mounted volume or a "
                      "bucket mount, where every trial exports its model to <dir>/<trial>; "
                      "status.bestModel names the best one. Locally the run folder's "
                      "best-model/ is used.", pattern=r"^/.*", max_length=1024),
    }, defaulted=True)


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
        "export": export_schema(),
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
        *_settings_rules(),
        *_one_shot_rules(),
        *builtin_trainer.rules(),
    ])


# What trials already ran under: changing it would mix trials that mean different things.
IMMUTABLE = ("searchSpace", "objective", "strategy", "fidelity", "training")
NAME_LIMIT = 50  # trial `<name>-<index>` and pod names must stay valid label values (63)


def name_rules() -> list[dict[str, str]]:
    """Rules on metadata.name, at the object root (where a CRD rule can see it)."""
    return [rule(f"self.metadata.name.size() <= {NAME_LIMIT} && "
                 "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
                 f"must be a DNS label of at most {NAME_LIMIT} characters (lowercase letters, "
                 "digits, '-'), so that trial and pod names derived from it stay valid",
                 field_path=".metadata.name")]


def immutability_rules() -> list[dict[str, str]]:
    """Root-level transition rules: the search may not change under trials that already ran.

    They sit on the object root because only there can a rule see `status` (whether trials
    exist) next to `spec`. The local validator never has an old object, so it skips them.
    """
    started = "has(oldSelf.status) && has(oldSelf.status.trials) && oldSelf.status.trials.total > 0"
    same = "(has(self.spec.{0}) == has(oldSelf.spec.{0}) && " \
           "(!has(self.spec.{0}) || self.spec.{0} == oldSelf.spec.{0}))"
    return [rule(f"!({started}) || {same.format(field)}",
                 f"spec.{field} is immutable once trials exist", field_path=f".spec.{field}",
                 reason="FieldValueForbidden")
            for field in IMMUTABLE]
