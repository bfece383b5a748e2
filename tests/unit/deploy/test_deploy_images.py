"""Both Dockerfiles copy only paths that exist; the operator image follows the design."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from .conftest import REPO

CONTEXTS = {REPO / "Dockerfile": REPO, REPO / "trainer_image" / "Dockerfile": REPO}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "")
            for ln in lines]


def copy_sources(dockerfile: Path) -> list[str]:
    sources = []
    for name, args in instructions(dockerfile):
        if name not in ("COPY", "ADD"):
            continue
        words = shlex.split(args)
        if any(w.startswith("--from") for w in words):
            continue  # from another build stage, not the context
        words = [w for w in words if not w.startswith("--")]
        sources.extend(words[:-1])
    return sources


@pytest.mark.parametrize("dockerfile", CONTEXTS, ids=lambda p: str(p.relative_to(REPO)))
def test_copied_paths_exist(dockerfile: Path) -> None:
    assert dockerfile.is_file(), f"{dockerfile} is missing"
    sources = copy_sources(dockerfile)
    assert sources, "no COPY found"
    missing = [s for s in sources if not (CONTEXTS[dockerfile] / s).exists()]
    assert not missing, f"{dockerfile.relative_to(REPO)} copies missing paths: {missing}"


def test_operator_image() -> None:
    steps = instructions(REPO / "Dockerfile")
    froms = [args for name, args in steps if name == "FROM"]
    assert len(froms) == 2, "multi-stage: build, then runtime"
    for base in froms:
        image = base.split()[0]
        assert image.startswith("python:3.11.") and image.endswith("-slim-bookworm"), image
    runs = " ".join(args for name, args in steps if name == "RUN")
    assert '".[operator]"' in runs and "torch" not in runs and "[trainer]" not in runs
    assert sorted(copy_sources(REPO / "Dockerfile")) == ["README.md", "operator/",
                                                          "pyproject.toml"]
    assert ("USER", "10001:10001") in steps
    assert ("HEALTHCHECK", "NONE") in steps
    assert ("ENTRYPOINT", '["kubenas"]') in steps and ("CMD", '["operator"]') in steps
    assert steps[-1][0] in ("CMD", "ENTRYPOINT")


def test_dockerignore_keeps_the_operator_context_small() -> None:
    patterns = [ln for ln in (REPO / ".dockerignore").read_text().splitlines()
                if ln and not ln.startswith("#")]
    assert patterns[0] == "*"
    assert {"!pyproject.toml", "!README.md", "!operator/"} <= set(patterns)
