"""Fixtures shared by every test folder: the test cluster (tests/cluster/kubesim)."""

pytest_plugins = ["kubesim.testing", "kubesim.testing_kubelet"]
