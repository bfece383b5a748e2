"""Every malformed manifest is rejected with the file, the field path and a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kubenas.api.parse import ManifestError, load_file

CORPUS = sorted((Path(__file__).parent / "malformed").glob("*.yaml"))


def expected_field(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return first.removeprefix("# expect: ").strip()


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_rejected_with_field_path(path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_file(path)
    fields = [e.path for e in caught.value.errors]
    want = expected_field(path)
    assert any(f == want or f.startswith(want + ".") or f.startswith(want + "[")
               for f in fields), f"expected an error at {want}, got {caught.value}"
    for line in str(caught.value).splitlines():
        assert line.startswith(f"{path}: "), line
        assert len(line.split(": ", 2)) == 3, f"no reason given: {line}"


def test_cli_exits_nonzero_and_names_file_and_field(tmp_path: Path) -> None:
    path = CORPUS[0]
    result = subprocess.run([sys.executable, "-m", "kubenas", "run", str(path), "--out",
                             str(tmp_path)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert str(path) in result.stderr and expected_field(path) in result.stderr


def test_unknown_field_lists_valid_fields() -> None:
    with pytest.raises(ManifestError) as caught:
        load_file(Path(__file__).parent / "malformed" / "unknown-budget-field.yaml")
    assert "valid fields: maxTrials, maxParallelTrials" in str(caught.value)


def test_enum_error_lists_valid_values() -> None:
    with pytest.raises(ManifestError) as caught:
        load_file(Path(__file__).parent / "malformed" / "strategy-unknown.yaml")
    assert "valid values: random, grid, evolution" in str(caught.value)


def test_unreadable_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read file"):
        load_file(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed\n")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_file(broken)
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(ManifestError, match="exactly one document of kind NASExperiment"):
        load_file(other)
