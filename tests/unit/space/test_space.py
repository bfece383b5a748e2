"""Counting and listing a finite space without enumerating more than it must."""

from __future__ import annotations

from pathlib import Path

from kubenas.api.parse import load_file, parse
from kubenas.space.space import SearchSpace

REPO = Path(__file__).resolve().parents[3]


def _space(manifest: str) -> SearchSpace:
    return SearchSpace(load_file(REPO / manifest).space)


def test_size_counts_depth_dependent_repeats_like_the_grid() -> None:
    space = _space("examples/quickstart.yaml")  # depth 1..4, width x3, op x6 per layer
    assert space.size == len(list(space.grid())) == 3 * sum(6**d for d in range(1, 5))
    assert _space("benchmarks/nb201/experiment.yaml").size == 5**6


def test_a_huge_finite_space_is_counted_not_listed() -> None:
    manifest = {
        "apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
        "metadata": {"name": "huge"},
        "spec": {"objective": {"metric": "acc"},
                 "searchSpace": {"family": "toy", "parameters": [
                     {"name": "depth", "int": {"min": 1, "max": 8}},
                     {"name": "op", "choice": list(range(10)), "repeat": "depth"},
                     {"name": "width", "choice": [16, 32], "repeat": 4}]},
                 "trialTemplate": {"command": ["toy-trainer"]}},
    }
    space = SearchSpace(parse(manifest).space)  # listing its 1.8e9 encodings takes hours
    assert space.size == 2**4 * sum(10**d for d in range(1, 9))
    assert space.networks() is None


def test_networks_lists_each_nb201_network_once() -> None:
    space = _space("benchmarks/nb201/experiment.yaml")
    networks = space.networks()
    assert networks is not None
    archs, keys = networks
    assert len(archs) == len(set(keys)) == 6466
    assert [space.key(a) for a in archs[:100]] == keys[:100]
