"""Validation of built-in kinds beyond their pod defaults: object names, and Lease specs.

Names follow `k8s.io/apimachinery/pkg/util/validation` and each kind's `ValidateObjectMeta`
name function: most kinds are DNS-1123 subdomains, namespaces and StatefulSets DNS-1123
labels, Services DNS-1035 labels, RBAC kinds path segments. `generateName` is checked as a
prefix (a trailing dash allowed), then the generated name as a name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .errors import ApiError

Cause = dict[str, str]
NameFn = Callable[[str, bool], list[str]]

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + "(\\." + _LABEL + ")*"
_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_RE = re.compile(f"^{_LABEL}$")
_SUBDOMAIN_RE = re.compile(f"^{_SUBDOMAIN}$")
_DNS1035_RE = re.compile(f"^{_DNS1035}$")

_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric "
                  "character")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
              "or '-', and must start and end with an alphanumeric character")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character")


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """`validation.RegexError`, byte for byte (two examples read "'a',  or 'b', ")."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    message += " (e.g. "
    for i, example in enumerate(examples):
        if i:
            message += " or "
        message += f"'{example}', "
    return message + f"regex used for validation is '{fmt}')"


def _mask_trailing_dash(name: str) -> str:
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def dns_subdomain(name: str, prefix: bool = False) -> list[str]:
    if prefix:
        name = _mask_trailing_dash(name)
    errs = []
    if len(name) > 253:
        errs.append("must be no more than 253 characters")
    if not _SUBDOMAIN_RE.match(name):
        errs.append(_regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN, "example.com"))
    return errs


def dns_label(name: str, prefix: bool = False) -> list[str]:
    if prefix:
        name = _mask_trailing_dash(name)
    errs = []
    if len(name) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_RE.match(name):
        if _SUBDOMAIN_RE.match(name):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_LABEL_MSG, _LABEL, "my-name", "123-abc"))
    return errs


def dns1035_label(name: str, prefix: bool = False) -> list[str]:
    if prefix:
        name = _mask_trailing_dash(name)
    errs = []
    if len(name) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_RE.match(name):
        errs.append(_regex_error(_DNS1035_MSG, _DNS1035, "my-name", "abc-123"))
    return errs


def path_segment(name: str, prefix: bool = False) -> list[str]:
    """`path.IsValidPathSegmentName`, the RBAC kinds' name rule."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


# (group, plural) -> name function; every other built-in kind is a DNS-1123 subdomain.
_NAME_RULES: dict[tuple[str, str], NameFn] = {
    ("", "namespaces"): dns_label,
    ("", "services"): dns1035_label,
    ("apps", "statefulsets"): dns_label,
    ("rbac.authorization.k8s.io", "roles"): path_segment,
    ("rbac.authorization.k8s.io", "rolebindings"): path_segment,
    ("rbac.authorization.k8s.io", "clusterroles"): path_segment,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): path_segment,
}


def name_rule(group: str, plural: str) -> NameFn:
    return _NAME_RULES.get((group, plural), dns_subdomain)


def name_causes(group: str, plural: str, meta: dict[str, Any]) -> list[Cause]:
    """`ValidateObjectMeta`'s name checks: generateName as a prefix, then the name."""
    rule = name_rule(group, plural)
    causes = []
    generate = meta.get("generateName")
    if generate:
        causes += [_invalid("metadata.generateName", generate, m) for m in rule(generate, True)]
    name = meta.get("name")
    if isinstance(name, str) and name:
        causes += [_invalid("metadata.name", name, m) for m in rule(name, False)]
    return causes


def _invalid(field: str, value: Any, message: str) -> Cause:
    return {"field": field, "reason": "FieldValueInvalid",
            "message": f"Invalid value: {json.dumps(value)}: {message}"}


# ---- Leases -------------------------------------------------------------------------------
MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"  # metav1.RFC3339Micro
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _ParseError(ValueError):
    pass


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _num(value: str, fixed: bool) -> tuple[int, str] | None:
    """Go's `getnum`: one or two digits (exactly two when fixed)."""
    if not value[:1].isdigit():
        return None
    if not value[1:2].isdigit():
        return None if fixed else (int(value[0]), value[1:])
    return int(value[:2]), value[2:]


def parse_micro_time(value: str) -> datetime:
    """`time.Parse(RFC3339Micro, value)`, with Go's error messages."""
    def cannot(rest: str, elem: str) -> _ParseError:
        return _ParseError(f"parsing time {_quote(value)} as {_quote(MICRO_LAYOUT)}: cannot "
                           f"parse {_quote(rest)} as {_quote(elem)}")

    def out_of_range(what: str) -> _ParseError:
        return _ParseError(f"parsing time {_quote(value)}: {what} out of range")

    rest = value
    fields: dict[str, int] = {}
    for literal, elem, key, fixed, limit in (
            ("", "2006", "year", True, None), ("-", "01", "month", True, (1, 12)),
            ("-", "02", "day", True, None), ("T", "15", "hour", False, (0, 23)),
            (":", "04", "minute", True, (0, 59)), (":", "05", "second", True, (0, 59))):
        if literal:
            if not rest.startswith(literal):
                raise cannot(rest, literal)
            rest = rest[len(literal):]
        if key == "year":
            if len(rest) < 4 or not rest[:4].isdigit():
                raise cannot(rest, elem)
            number, rest = int(rest[:4]), rest[4:]
        else:
            got = _num(rest, fixed)
            if got is None:
                raise cannot(rest, elem)
            number, rest = got
        if limit is not None and not limit[0] <= number <= limit[1]:
            raise out_of_range(key)
        fields[key] = number
    if len(rest) < 7 or rest[0] not in ".," or not rest[1:7].isdigit():
        raise cannot(rest, ".000000")
    micros, rest = int(rest[1:7]), rest[7:]
    if rest.startswith("Z"):
        offset, rest = 0, rest[1:]
    else:
        if len(rest) < 6 or rest[3] != ":" or rest[0] not in "+-" \
                or not (rest[1:3] + rest[4:6]).isdigit():
            raise cannot(rest, "Z07:00")
        hours, minutes = int(rest[1:3]), int(rest[4:6])
        if hours > 24:
            raise out_of_range("time zone offset hour")
        if minutes > 60:
            raise out_of_range("time zone offset minute")
        offset = (hours * 60 + minutes) * (-1 if rest[0] == "-" else 1)
        rest = rest[6:]
    if rest:
        raise _ParseError(f"parsing time {_quote(value)}: extra text: {_quote(rest)}")
    year, month, day = fields["year"], fields["month"], fields["day"]
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= _DAYS[month - 1] + (1 if month == 2 and leap else 0):
        raise out_of_range("day")
    moment = datetime(year, month, day, fields["hour"], fields["minute"], fields["second"],
                      micros, tzinfo=timezone(timedelta(minutes=offset)))
    return moment.astimezone(UTC)


def micro_time(value: Any, kind: str, version: str = "v1") -> str | None:
    """A `metav1.MicroTime` field as the server reads and writes it back (UTC, 6 digits)."""
    if value is None:
        return None
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    if not isinstance(value, str):
        raise ApiError(400, prefix + f"json: cannot unmarshal {_go_type(value)} into Go value "
                                     "of type string")
    try:
        moment = parse_micro_time(value)
    except _ParseError as err:
        raise ApiError(400, prefix + str(err)) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array"}.get(type(value), "value")


def prepare_lease(lease: dict[str, Any]) -> None:
    spec = lease.get("spec")
    if not isinstance(spec, dict):
        return
    for key in ("acquireTime", "renewTime"):
        if key in spec:
            spec[key] = micro_time(spec[key], "Lease")
            if spec[key] is None:
                del spec[key]


def lease_causes(lease: dict[str, Any]) -> list[Cause]:
    """`ValidateLeaseSpec`: durations and transitions in range, preferredHolder needs strategy."""
    spec = lease.get("spec") or {}
    causes = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        causes.append(_invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        causes.append(_invalid("spec.leaseTransitions", transitions,
                               "must be greater than or equal to 0"))
    if spec.get("preferredHolder") and not spec.get("strategy"):
        causes.append({"field": "spec.preferredHolder", "reason": "FieldValueForbidden",
                       "message": "Forbidden: may only be specified if `strategy` is defined"})
    return causes
