"""A Kubernetes API server emulator that real clients (kubectl, helm, kopf) can drive."""

from .faults import Faults
from .server import ApiServer, Hooks

__all__ = ["ApiServer", "Faults", "Hooks"]
