"""Schemas of what the operator writes: the NASExperiment status and the NASTrial object.

Users write only the experiment spec (`kubenas.api.schema`); everything here is owned by the
operator. The experiment status is a bounded summary (see `kubenas.engine.status`), so every
list carries a `maxItems` that keeps the object far below etcd's size limit.
"""

from __future__ import annotations

from kubenas.api.openapi import (
    Schema,
    array,
    free_object,
    integer,
    number,
    obj,
    rule,
    string,
)
from kubenas.api.trials import KINDS

LEADERBOARD_SIZE = 10  # kubenas.engine.status.LEADERBOARD_SIZE; a test keeps them equal
PARETO_LIMIT = 32  # kubenas.engine.status.PARETO_LIMIT
ONE_SHOT_CANDIDATES = 20  # the largest strategy.settings.retrain
CURVE_LIMIT = 50  # docs/trial-contract.md: `curve` holds at most the last 50 values
EXPERIMENT_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Suspended")
TRIAL_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Stopped")


def _timestamp(description: str) -> Schema:
    return {"type": "string", "format": "date-time", "description": description}


def _generation(description: str) -> Schema:
    return {"type": "integer", "format": "int64", "minimum": 0, "description": description}


def _number_map(description: str) -> Schema:
    return {"type": "object", "description": description,
            "additionalProperties": {"type": "number", "description": "A metric value."}}


def condition_schema() -> Schema:
    """metav1.Condition, as Kubernetes' own types declare it (so kstatus and Flux read it)."""
    return obj("One aspect of the object's state (Kubernetes metav1.Condition).", {
        "type": string("Condition type in CamelCase: Ready, Reconciling or Stalled.",
                       pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
                               r"/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
                       max_length=316),
        "status": string("Whether the condition holds.", enum=("True", "False", "Unknown")),
        "reason": string("Machine-readable CamelCase reason for the last transition.",
                         pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", min_length=1,
                         max_length=1024),
        "message": string("Human-readable details about the last transition.",
                          max_length=32768),
        "lastTransitionTime": _timestamp("When the status last changed."),
        "observedGeneration": _generation("metadata.generation the condition was set for."),
    }, required=("type", "status", "reason", "message", "lastTransitionTime"))


def conditions_schema() -> Schema:
    schema = array("Standard conditions, one per type (kstatus-compatible: Ready, Reconciling, "
                   "Stalled).", condition_schema(), max_items=8)
    schema.update({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]})
    return schema


def trial_summary_schema(description: str) -> Schema:
    return obj(description, {
        "name": string("NASTrial name.", max_length=253),
        "budget": number("Training budget the trial ran with, in fidelity.resource units."),
        "architecture": free_object("The architecture's parameter values."),
        "metrics": _number_map("Final metrics the trial reported."),
    }, required=("name",))


def _trial_counts() -> Schema:
    return obj("Trial counts by phase.", {
        "total": integer("Trials created so far, promotions included.", minimum=0),
        "pending": integer("Trials created whose pod has not started.", minimum=0),
        "running": integer("Trials training now.", minimum=0),
        "succeeded": integer("Trials that finished and reported metrics.", minimum=0),
        "failed": integer("Trials whose trainer failed or timed out.", minimum=0),
        "stopped": integer("Trials stopped early (pruned, suspended or the search ended).",
                           minimum=0),
    })


def experiment_status_schema() -> Schema:
    return obj("Observed state of the search, written by the operator; bounded in size "
               "whatever the number of trials.", {
        "phase": string("Lifecycle phase of the search.", enum=EXPERIMENT_PHASES),
        "conditions": conditions_schema(),
        "observedGeneration": _generation("metadata.generation this status reflects."),
        "strategy": string("The search strategy in use: spec.strategy.name, or its default.",
                           max_length=63),
        "trials": _trial_counts(),
        "progress": string("Finished trials over budget.maxTrials, e.g. 7/20.", max_length=32),
        "bestValue": number("Primary objective value of bestTrial."),
        "bestTrial": trial_summary_schema("The best trial so far (feasible, largest budget, "
                                          "best objective)."),
        "bestModel": string("Where bestTrial's exported model is (model.onnx and its model "
                            "card): spec.export.dir/<trial> as the trial pods see it; locally "
                            "the run folder's best-model/.", max_length=2048),
        "leaderboard": array("The best trials, best first, one per distinct network.",
                             trial_summary_schema("A leaderboard entry."),
                             max_items=LEADERBOARD_SIZE),
        "paretoFront": array("Non-dominated trials over all objectives (multi-objective "
                             "search only), best primary objective first.",
                             trial_summary_schema("A Pareto-optimal trial."),
                             max_items=PARETO_LIMIT),
        "oneShot": one_shot_schema(),
        "zeroCost": zero_cost_schema(),
        "startTime": _timestamp("When the operator started the search."),
        "completionTime": _timestamp("When the search reached Succeeded or Failed."),
    })


def one_shot_schema() -> Schema:
    weights = {"type": "object", "description": "Per searched parameter: one row per slot, one "
               "weight per operation (in searchSpace order).", "additionalProperties": {
                   "type": "array", "items": {"type": "array", "items": {"type": "number"}}}}
    candidate = obj("A derived candidate and how it did retrained.", {
        "architecture": free_object("The candidate's parameter values."),
        "score": number("Its validation accuracy with the supernet's shared weights."),
        "trial": string("The NASTrial that retrained it.", max_length=253),
        "value": number("The retrain's primary objective value."),
    })
    return obj("One-shot search (darts, drnas, spos): the supernet trial and what it derived.", {
        "method": string("The one-shot method.", max_length=63),
        "trial": string("The supernet NASTrial.", max_length=253),
        "phase": string("The supernet trial's phase.", enum=TRIAL_PHASES),
        "architecture": free_object("The architecture the supernet derived."),
        "candidates": array("The derived candidates retrained standalone, best supernet score "
                            "first.", candidate, max_items=ONE_SHOT_CANDIDATES),
        "weights": weights,
        "weightKind": string("probability (darts, drnas: the operation weights) or frequency "
                             "(spos: how often the evolutionary search's population used each "
                             "operation).", enum=("probability", "frequency")),
    })


def zero_cost_schema() -> Schema:
    proxy = obj("One zero-cost proxy and the guard's verdict on it.", {
        "name": string("The proxy.", max_length=63),
        "spearman": number("Spearman rank correlation with the objective over the guard "
                           "trials."),
        "kept": {"type": "boolean", "description": "Whether the screen uses it "
                 "(spearman >= minSpearman)."},
    }, required=("name", "kept"))
    return obj("Zero-cost pre-screening (strategy.settings.prescreen).", {
        "candidates": integer("Candidates the screen scores.", minimum=0),
        "guardTrials": integer("Trained trials that check the proxies first.", minimum=0),
        "proxies": array("The guard's verdict per proxy, once the guard trials succeeded.",
                         proxy, max_items=16),
        "trial": string("The zerocost NASTrial that scored the candidates.", max_length=253),
        "phase": string("Its phase.", enum=TRIAL_PHASES),
        "scored": integer("Candidates it scored.", minimum=0),
    })


def trial_spec_schema() -> Schema:
    return obj("One training run of one architecture at one budget; immutable, created by the "
               "operator.", {
        "experiment": string("Name of the owning NASExperiment.", max_length=253),
        "index": integer("Position of the trial in the experiment's history; the name is "
                         "<experiment>-<index>.", minimum=0),
        "architecture": free_object("The architecture's parameter values, passed to the "
                                    "trainer as KUBENAS_ARCHITECTURE params."),
        "family": string("Model builder the trainer uses (spec.searchSpace.family).",
                         max_length=253),
        "budget": number("Training budget, in fidelity.resource units.", minimum=0,
                         exclusive_minimum=True),
        "rung": integer("Successive-halving rung; 0 for a new trial.", minimum=0, default=0),
        "parent": string("Name of the trial this one resumes from (a promotion).",
                         max_length=253),
        "seed": integer("Seed passed to the trainer as KUBENAS_SEED.", minimum=0),
        "kind": string("train: one architecture trained standalone; supernet: a one-shot "
                       "search in one trial; zerocost: zero-cost proxies of many untrained "
                       "candidates.", enum=KINDS, default="train"),
        "request": free_object("What a supernet or zerocost trial is asked: its "
                               "KUBENAS_SUPERNET or KUBENAS_ZEROCOST."),
    }, required=("experiment", "index", "architecture", "family", "budget"),
        rules=[rule("self == oldSelf", "NASTrial spec is immutable")])


def trial_status_schema() -> Schema:
    return obj("Observed state of the trial, written by the operator.", {
        "phase": string("Lifecycle phase of the trial.", enum=TRIAL_PHASES),
        "metrics": _number_map("Final metrics from the trainer's result (or the latest scraped "
                               "values while running)."),
        "value": number("The experiment's primary objective metric, copied from metrics for "
                        "the Value printer column."),
        "curve": array("The last objective values of the learning curve, one per epoch.",
                       {"type": "number", "description": "An objective value."},
                       max_items=CURVE_LIMIT),
        "derived": free_object("What a supernet trial derived (architecture, candidates, "
                               "weights) or a zerocost trial scored (its best candidates)."),
        "pod": string("Name of the pod that runs (or ran) the trial.", max_length=253),
        "attempt": integer("How many times a pod was started for this trial.", minimum=0),
        "reason": string("CamelCase reason for the phase, e.g. DeadlineExceeded.",
                         max_length=1024),
        "message": string("Human-readable details, e.g. the trainer's error.",
                          max_length=32768),
        "startTime": _timestamp("When the trial's pod started."),
        "completionTime": _timestamp("When the trial finished."),
        "observedGeneration": _generation("metadata.generation this status reflects."),
        "conditions": conditions_schema(),
    })
