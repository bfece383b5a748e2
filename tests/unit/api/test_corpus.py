"""The corpora: every malformed manifest is refused with the file, the field path and a reason;
every accepted one is valid; hostile files are refused without hanging."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kubenas.api.parse import ManifestError, load_file

from tests.corpus import ACCEPTED, MALFORMED, expected_field


def test_the_corpora_are_large_enough() -> None:
    assert len(MALFORMED) >= 80 and len(ACCEPTED) >= 30


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_is_refused_at_its_field(path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_file(path)
    fields = [e.path for e in caught.value.errors]
    want = expected_field(path)
    assert any(f == want or f.startswith((want + ".", want + "[")) for f in fields), \
        f"expected an error at {want!r}, got {caught.value}"
    for line in str(caught.value).splitlines():
        assert line.startswith(f"{path}: "), line
        assert len(line.split(": ", 2)) >= 2 and line.split(": ")[-1], f"no reason: {line}"


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: p.stem)
def test_accepted_is_valid(path: Path) -> None:
    assert load_file(path).name


def test_every_problem_is_listed_not_just_the_name() -> None:
    path = next(p for p in MALFORMED if p.stem == "name-invalid-and-more")
    with pytest.raises(ManifestError) as caught:
        load_file(path)
    assert {e.path for e in caught.value.errors} >= {"metadata.name", "spec.budget.maxTrials"}


def test_messages_say_what_is_valid() -> None:
    def message(stem: str) -> str:
        with pytest.raises(ManifestError) as caught:
            load_file(next(p for p in MALFORMED if p.stem == stem))
        return str(caught.value)

    assert "valid fields: maxTrials, maxParallelTrials" in message("unknown-budget-field")
    assert "valid values: random, grid, evolution" in message("strategy-unknown")
    assert "valid: macro_cnn, nb201" in message("family-unknown-builtin")
    assert "duplicate key (line" in message("yaml-duplicate-key")
    assert "settings.population is a setting of evolution, nsga2, spos only" in \
        message("setting-of-another-strategy")
    assert "must be a string, number or boolean, got array" in message("choice-nested-list")


def test_cli_lists_every_problem_with_exit_code_2(tmp_path: Path) -> None:
    paths = [str(p) for p in MALFORMED[:3]]
    result = subprocess.run([sys.executable, "-m", "kubenas", "validate", *paths],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for path in paths:
        assert f"{path}: " in result.stderr


def test_hostile_files_are_refused_without_hanging(tmp_path: Path) -> None:
    """A 15 MB manifest and an alias bomb, through the CLI with a hard time limit."""
    huge = tmp_path / "huge.yaml"
    values = ", ".join(str(i) for i in range(1_000_000))
    huge.write_text(ACCEPTED[0].read_text().replace("choice: [16, 32]",
                                                    f"choice: [{values}]"))
    assert huge.stat().st_size > 5_000_000
    bomb = next(p for p in MALFORMED if p.stem == "yaml-alias-bomb")
    result = subprocess.run([sys.executable, "-m", "kubenas", "validate", str(huge), str(bomb)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "MiB, the API server's object size limit" in result.stderr
    assert "YAML aliases expand to more than 200,000 values" in result.stderr


def test_unreadable_and_non_manifest_files(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read file"):
        load_file(tmp_path / "missing.yaml")
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(ManifestError, match="exactly one document of kind NASExperiment"):
        load_file(other)
