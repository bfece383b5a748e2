"""A process kubelet and scheduler: pods of the emulated cluster run as local processes."""

from .kubelet import Kubelet
from .nodes import NodeSpec, default_nodes
from .podspec import ImageCommands

__all__ = ["ImageCommands", "Kubelet", "NodeSpec", "default_nodes"]
