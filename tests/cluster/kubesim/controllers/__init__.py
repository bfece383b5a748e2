"""Controllers of kube-controller-manager that tests need, talking to the API over HTTP."""

from .job import JobController

__all__ = ["JobController"]
