"""The Kubernetes backend: a kopf operator that runs each trial as a NASTrial and a Pod.

Handlers only wake reconciles; `reconcile.py` reads every input from the API server, asks
the engine, and applies its decision with idempotent calls. See docs/operator.md.
"""
