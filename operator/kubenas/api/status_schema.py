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

LEADERBOARD_SIZE = 10  # kubenas.engine.status.LEADERBOARD_SIZE; a test keeps them equal
PARETO_LIMIT = 32  # kubenas.engine.status.PARETO_LIMIT
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
        "startTime": _timestamp("When the operator started the search."),
        "completionTime": _timestamp("When the search reached Succeeded or Failed."),
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
