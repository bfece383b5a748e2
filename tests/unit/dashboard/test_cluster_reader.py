"""The cluster reader over an in-memory API: namespaces, labels, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from kubenas.backends.kubernetes.kube import ApiError
from kubenas.dashboard.cluster import ClusterExperiments
from kubenas.dashboard.views import NotFound, ReadError

SPEC = {"objective": {"metric": "acc"},
        "searchSpace": {"family": "toy", "parameters": [{"name": "w", "choice": [1, 2]}]},
        "budget": {"maxTrials": 4}, "trialTemplate": {"image": "x"}}


def experiment(ns: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": name, "namespace": ns, "uid": f"{ns}-{name}",
                         "generation": 1},
            "spec": SPEC, "status": {"phase": "Running", "bestValue": 0.5}}


def trial(ns: str, exp: str, index: int) -> dict[str, Any]:
    return {"metadata": {"name": f"{exp}-{index}", "namespace": ns,
                         "labels": {"kubenas.io/experiment": exp}},
            "spec": {"index": index, "architecture": {"w": 1}, "budget": 1},
            "status": {"phase": "Succeeded", "metrics": {"acc": 0.1 * index}}}


class FakeApi:
    def __init__(self, objs: list[dict[str, Any]], fail: int | None = None) -> None:
        self.objs, self.fail, self.paths = objs, fail, []

    def _match(self, path: str) -> list[dict[str, Any]]:
        if self.fail is not None:
            raise ApiError(self.fail, f"GET {path}: forbidden", "Forbidden")
        self.paths.append(path)
        kind = path.rsplit("/", 1)[-1]
        ns = path.split("/namespaces/")[1].split("/")[0] if "/namespaces/" in path else None
        return [o for o in self.objs if (kind == "nasexperiments") == ("spec" in o and
                "searchSpace" in o["spec"]) and ns in (None, o["metadata"]["namespace"])]

    def get(self, path: str) -> dict[str, Any] | None:
        base, name = path.rsplit("/", 1)
        return next((o for o in self._match(base) if o["metadata"]["name"] == name), None)

    def list(self, path: str, label_selector: str | None = None,
             field_selector: str | None = None) -> list[dict[str, Any]]:
        found = self._match(path)
        if label_selector:
            key, value = label_selector.split("=")
            found = [o for o in found if o["metadata"].get("labels", {}).get(key) == value]
        return found


def test_reads_the_named_namespaces_only() -> None:
    api = FakeApi([experiment("a", "x"), experiment("b", "y"), experiment("c", "z"),
                   trial("a", "x", 1), trial("a", "x", 0), trial("a", "other", 0)])
    reader = ClusterExperiments(api, ("a", "b"))  # type: ignore[arg-type]
    assert [s.id for s in reader.snapshots()] == ["a/x", "b/y"]
    assert all(s.trials is None for s in reader.snapshots())  # the list reads statuses only
    one = reader.snapshot("a/x")
    assert [t.index for t in one.trials or ()] == [0, 1]
    assert one.exp is not None and one.status["bestValue"] == 0.5
    with pytest.raises(NotFound):
        reader.snapshot("c/z")
    with pytest.raises(NotFound):
        reader.snapshot("a/missing")
    everywhere = ClusterExperiments(api, None)  # type: ignore[arg-type]
    assert [s.id for s in everywhere.snapshots()] == ["a/x", "b/y", "c/z"]


def test_a_refusal_is_one_line() -> None:
    reader = ClusterExperiments(FakeApi([], fail=403), ("a",), "https://k")  # type: ignore[arg-type]
    with pytest.raises(ReadError, match=r"^the Kubernetes API at https://k refused GET "
                                        r".*: forbidden \(403 Forbidden\)$"):
        reader.check()


def test_an_invalid_spec_is_listed_with_the_problem() -> None:
    bad = experiment("a", "x")
    bad["spec"] = {**SPEC, "budget": {"maxTrials": "ten"}}
    (snapshot,) = ClusterExperiments(FakeApi([bad]), ("a",)).snapshots()  # type: ignore[arg-type]
    assert snapshot.exp is None and "maxTrials" in (snapshot.problem or "")
