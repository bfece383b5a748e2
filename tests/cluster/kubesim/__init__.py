"""kubesim: an in-process Kubernetes test cluster (API server emulator, kubelet, Prometheus)."""
