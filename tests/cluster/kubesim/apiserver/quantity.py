"""`resource.Quantity`: parsing, arithmetic, and the canonical form Go prints.

A quantity keeps its format from parsing: binary suffixes (Ki, Mi, ...) are BinarySI,
decimal suffixes and plain numbers DecimalSI, exponents DecimalExponent. `String()` is the
canonical form: DecimalSI as the largest power of 1000 that keeps an integer mantissa
(`1500m`, `2k`, `500m`), BinarySI as the largest power of 1024 that does (`1536Mi`), and
BinarySI values below 1024 or with fractions printed as DecimalSI. Sums keep the format of
the left operand, or take the right one's when the left is zero, as `Quantity.Add` does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
            "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_BINARY_SUFFIX = {v: k for k, v in _BINARY.items()}
_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$")


class QuantityError(ValueError):
    pass


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    format: str = "DecimalSI"  # DecimalSI, BinarySI or DecimalExponent

    @staticmethod
    def parse(text: str | int | float) -> Quantity:
        if isinstance(text, int | float) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise QuantityError("quantities must match the regular expression")
        m = _RE.match(text.strip())
        if not m:
            raise QuantityError("quantities must match the regular expression "
                                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        number, suffix, exponent = m.groups()
        value = Decimal(number)
        if exponent is not None:
            return Quantity(_round(value * Decimal(10) ** int(exponent)), "DecimalExponent")
        if suffix in _BINARY:
            return Quantity(_round(value * (2 ** _BINARY[suffix])), "BinarySI")
        return Quantity(_round(value * Decimal(10) ** _DECIMAL[suffix or ""]), "DecimalSI")

    def __add__(self, other: Quantity) -> Quantity:
        fmt = other.format if self.value == 0 else self.format
        return Quantity(self.value + other.value, fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.format)

    def __str__(self) -> str:
        return canonical(self)


ZERO = Quantity(Decimal(0))


def _round(value: Decimal) -> Decimal:
    """Quantities hold at most nanounits; smaller fractions round up, as Go's do."""
    return value.quantize(Decimal("1e-9"), rounding=ROUND_CEILING).normalize() \
        if value != value.to_integral_value() else value.to_integral_value()


def canonical(q: Quantity) -> str:
    fmt, value = q.format, q.value
    if fmt == "BinarySI" and (-1024 < value < 1024 or value != value.to_integral_value()):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        mantissa, exp = int(value), 0
        while mantissa and mantissa % 1024 == 0 and exp < 60:
            mantissa //= 1024
            exp += 10
        return f"{mantissa}{_BINARY_SUFFIX.get(exp, '')}"
    # Decimal: an integer mantissa times 10**exponent, the exponent a multiple of 3.
    if value == 0:
        return "0"
    sign, digits, exponent = value.normalize().as_tuple()
    mantissa = int("".join(map(str, digits)))
    exp = int(exponent)
    shift = exp % 3  # floor to a multiple of 3, as Go's switch on exponent % 3 does
    mantissa *= 10 ** shift
    exp -= shift
    text = ("-" if sign else "") + str(mantissa)
    if fmt == "DecimalSI" and exp in _DECIMAL_SUFFIX:
        return text + _DECIMAL_SUFFIX[exp]
    return text + (f"e{exp}" if exp else "")


def parse(text: str | int | float) -> Quantity:
    return Quantity.parse(text)


def milli_ceil(q: Quantity) -> int:
    return math.ceil(q.value * 1000)
