"""`kubenas validate` and `kubectl apply` give the same verdict on every corpus file.

Both corpora go through the local validator and through the real kubectl against the test
cluster with the generated CRDs (server-side dry run). The only files allowed to differ are
those marked `kubectl-accepts:`, whose problem kubectl removes before the server sees the
object (kubectl keeps the last of duplicate YAML keys); for them the test proves that kubectl
really does accept them, so the mark cannot hide a real disagreement.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kubenas.api.parse import ManifestError, load_file

from tests.corpus import ACCEPTED, MALFORMED, expected_field, header

from .conftest import Kubectl

pytestmark = pytest.mark.slow
CLIENT_SIDE = {"apiVersion": "in version", "kind": "no matches for kind"}


def _local(path: Path) -> bool:
    try:
        load_file(path)
    except ManifestError:
        return False
    return True


def _names(field: str, stderr: str) -> bool:
    """Whether kubectl's error names the field; `a[key]` and `a.key` spell one map entry."""
    if field in CLIENT_SIDE:
        return CLIENT_SIDE[field] in stderr
    if "error parsing" in stderr:  # refused by kubectl's own YAML-to-JSON step: names the file
        return True
    return field in re.sub(r"\[([A-Za-z_][^\]]*)\]", r".\1", stderr)


def test_local_and_server_verdicts_agree(kubectl: Kubectl) -> None:
    disagree, unnamed, hidden = [], [], []
    agree = 0
    for path in [*MALFORMED, *ACCEPTED]:
        proc = kubectl("apply", "--dry-run=server", "-f", str(path), check=False)
        server, local = proc.returncode == 0, _local(path)
        if header(path, "kubectl-accepts"):
            hidden.append(path.name)
            if not server or local:
                disagree.append(f"{path.name}: marked kubectl-accepts, but kubectl "
                                f"{'accepts' if server else 'refuses'} and kubenas "
                                f"{'accepts' if local else 'refuses'}")
            continue
        if server != local:
            disagree.append(f"{path.name}: kubectl {'accepts' if server else 'refuses'} "
                            f"({proc.stderr.strip()[:300]}), kubenas "
                            f"{'accepts' if local else 'refuses'}")
            continue
        agree += 1
        field = expected_field(path) if path in MALFORMED else None
        if field and not _names(field, proc.stderr):
            unnamed.append(f"{path.name}: kubectl's error does not name {field}: "
                           f"{proc.stderr.strip()[:300]}")
    print(f"verdicts agree on {agree} of {agree + len(hidden)} files; "
          f"{len(hidden)} differ by design: {', '.join(hidden)}")
    assert not disagree, "\n".join(disagree)
    assert not unnamed, "\n".join(unnamed)
    assert agree == len(MALFORMED) + len(ACCEPTED) - len(hidden)
    assert sorted(hidden) == ["yaml-duplicate-key.yaml", "yaml-duplicate-nested-key.yaml"]
