"""scripts/check_dependencies.py finds an import its install profile does not declare."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "check_dependencies.py"


def _check(pyproject: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--pyproject", str(pyproject)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_every_profile_declares_what_it_imports() -> None:
    done = _check(REPO / "pyproject.toml")
    assert done.returncode == 0, done.stderr


def test_a_removed_dependency_is_named_with_the_file_that_imports_it(tmp_path: Path) -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert '    "scipy>=1.11",\n' in text and '"kopf>=1.37", ' in text
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(text.replace('    "scipy>=1.11",\n', "").replace('"kopf>=1.37", ', ""))
    done = _check(pyproject)
    assert done.returncode == 1
    assert "operator/kubenas/strategies/surrogate.py: imports scipy (scipy), which kubenas " \
           "(base dependencies) does not declare" in done.stderr
    assert "operator/kubenas/backends/kubernetes/main.py: imports kopf (kopf), which the " \
           "operator image (.[operator]) does not declare" in done.stderr
