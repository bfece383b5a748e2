"""What a manifest must respect when its trials run the built-in trainer.

The trainer's vocabulary (`kubenas_trainer.catalog`) becomes CEL rules on the spec, so a
family, parameter, operation, dataset or metric the trainer does not know is refused by
`kubenas validate` and by the API server alike, before any trial runs. The rules apply
only when the trial template names neither an image nor a command (and trials are not
answered from a table): any other trainer may accept anything.

CEL on the API server can compare a choice value (an untyped value) only for equality, so
whether numeric choices lie within a parameter's bounds is checked by `value_problems`,
which `kubenas run` and the operator apply to the parsed experiment.
"""

from __future__ import annotations

from typing import Any

from kubenas_trainer.catalog import (
    DATASETS,
    FAMILIES,
    METRICS,
    Family,
    Param,
    Setting,
)

from kubenas.api.openapi import Schema, cel_list, rule
from kubenas.api.types import Experiment

# Tabular runs answer trials from a table: no trainer at all.
BUILTIN = ("(!has(self.tabular) && !has(self.trialTemplate.image) && "
           "!has(self.trialTemplate.command))")
CUSTOM_HINT = "set trialTemplate.command or trialTemplate.image to use your own trainer"


def uses_builtin(exp: Experiment) -> bool:
    template = exp.trial_template
    return exp.tabular is None and not template.get("image") and not template.get("command")


def rules() -> list[dict[str, str]]:
    """Spec-level rules for experiments that run the built-in trainer."""
    families = cel_list(list(FAMILIES))
    metrics = cel_list(METRICS)
    out = [
        rule(f"!{BUILTIN} || self.searchSpace.family in {families}",
             f"is not a family of the built-in trainer (valid: {', '.join(FAMILIES)}); "
             f"{CUSTOM_HINT}", field_path=".searchSpace.family"),
        rule(f"!{BUILTIN} || self.training.dataset in {cel_list(DATASETS)}",
             f"is not a dataset of the built-in trainer (valid: {', '.join(DATASETS)})",
             field_path=".training.dataset"),
        rule(f"!{BUILTIN} || (self.objective.metric in {metrics} && "
             f"(!has(self.objective.additional) || self.objective.additional.all(o, "
             f"o.metric in {metrics})) && (!has(self.objective.constraints) || "
             f"self.objective.constraints.all(c, c.metric in {metrics})))",
             f"the built-in trainer reports only {', '.join(METRICS)}",
             field_path=".objective"),
    ]
    for family in FAMILIES.values():
        out += _family_rules(family)
    return out


def _family_rules(family: Family) -> list[dict[str, str]]:
    when = f"!{BUILTIN} || self.searchSpace.family != '{family.name}' || "
    names = [p.name for p in family.params]
    required = [p.name for p in family.params if p.required]
    out = [
        rule(f"{when}self.searchSpace.parameters.all(p, p.name in {cel_list(names)})",
             f"{family.name} takes only the parameters {', '.join(names)}",
             field_path=".searchSpace.parameters"),
        rule(f"{when}{cel_list(required)}.all(n, self.searchSpace.parameters.exists(p, "
             "p.name == n))", f"{family.name} needs the parameters {', '.join(required)}",
             field_path=".searchSpace.parameters"),
    ]
    for param in family.params:
        check, shape = _param_rule(param)
        out.append(rule(f"{when}self.searchSpace.parameters.all(p, p.name != '{param.name}' || "
                        f"({check}))", f"{family.name} parameter {param.name} must be {shape}",
                        field_path=".searchSpace.parameters"))
    return out


def searched_as(param: Param) -> str:
    """How a search space must declare param, as the schema's message and the docs say it."""
    return _param_rule(param)[1]


def _param_rule(param: Param) -> tuple[str, str]:
    """(CEL over a search parameter `p`, what the message says it must be)."""
    if isinstance(param.length, int):
        repeat, per = (f"has(p.repeat) && type(p.repeat) == int && p.repeat == {param.length}",
                       f"repeated {param.length} times")
    elif isinstance(param.length, str):
        repeat, per = (f"has(p.repeat) && (type(p.repeat) == int || "
                       f"p.repeat == '{param.length}')", f"repeated per {param.length}")
    else:
        repeat, per = "!has(p.repeat)", "and not repeated"
    values = param.ops or param.values or ((True, False) if param.kind == "bool" else ())
    if values:
        shown = ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
        return (f"{repeat} && has(p.choice) && p.choice.all(c, {cel_list(values)}.exists(o, "
                f"c == o))", f"a choice of {shown}, {per}")
    low, high = param.minimum, param.maximum
    below = "<" if param.exclusive_maximum else "<="
    shown = f"{_num(low)}..{_num(high)}" + (" (max excluded)" if param.exclusive_maximum else "")
    if param.kind == "int":
        return (f"{repeat} && !has(p.float) && (has(p.choice) || "
                f"(p.int.min >= {int(low or 0)} && p.int.max {below} {int(high or 0)}))",
                f"an int range within {shown}, or a choice, {per}")
    return (f"{repeat} && (has(p.choice) || (has(p.float) && p.float.min >= "
            f"{float(low or 0)!r} && p.float.max {below} {float(high or 0)!r}) || (has(p.int) "
            f"&& p.int.min >= {int(low or 0)} && p.int.max {below} {int(high or 0)}))",
            f"a range within {shown}, or a choice, {per}")


def _num(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer()
                                     else str(value))


def value_problems(exp: Experiment) -> list[tuple[str, str]]:
    """(field path, problem) for choice values or counts the built-in trainer would refuse;
    the schema's rules have checked everything else."""
    family = FAMILIES.get(exp.space.family)
    if family is None or not uses_builtin(exp):
        return []
    out = []
    for i, p in enumerate(exp.space.parameters):
        param = family.param(p.name)
        path = f"spec.searchSpace.parameters[{i}]"
        if param is None:
            continue
        if param.kind in ("int", "number") and p.kind == "choice":
            for j, value in enumerate(p.choices):
                if not _in_bounds(param, value):
                    out.append((f"{path}.choice[{j}]", f"{value!r} is not valid for "
                                f"{family.name} parameter {param.name}: must be "
                                f"{_kind(param)} within {_num(param.minimum)}.."
                                f"{_num(param.maximum)}"))
        if isinstance(param.length, str) and isinstance(p.repeat, int):
            longest = _largest(exp, param.length)
            if longest is not None and p.repeat < longest:
                out.append((f"{path}.repeat", f"must be at least {longest}, the largest "
                                              f"{param.length}, or '{param.length}'"))
    return out


def _kind(param: Param) -> str:
    return "an integer" if param.kind == "int" else "a number"


def _in_bounds(param: Param, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if param.kind == "int" and not float(value).is_integer():
        return False
    low = param.minimum if param.minimum is not None else -float("inf")
    high = param.maximum if param.maximum is not None else float("inf")
    return low <= value and (value < high if param.exclusive_maximum else value <= high)


def _largest(exp: Experiment, name: str) -> int | None:
    for p in exp.space.parameters:
        if p.name == name:
            values = [v for v in (p.choices if p.kind == "choice" else (p.high,))
                      if isinstance(v, int | float) and not isinstance(v, bool)]
            return int(max(values)) if values else None
    return None


def setting_schema(setting: Setting, description: str | None = None,
                   enum: bool = True) -> Schema:
    """The API schema of a trainer catalog setting: a `spec.training` field, or a one-shot
    method's strategy setting (which the trainer receives in KUBENAS_SUPERNET)."""
    schema: Schema = {"type": setting.kind, "description": description or setting.description}
    if setting.default is not None:
        schema["default"] = setting.default
    if setting.enum and enum:
        schema["enum"] = list(setting.enum)
    if setting.minimum is not None:
        schema["minimum"] = setting.minimum
        if setting.exclusive_minimum:
            schema["exclusiveMinimum"] = True
    if setting.maximum is not None:
        schema["maximum"] = setting.maximum
    if setting.kind == "string":
        schema["minLength"] = 1
    return schema
