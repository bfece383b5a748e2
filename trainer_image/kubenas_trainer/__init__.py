"""kubenas_trainer: the reference trainer of the kubenas trial contract.

Run as `python -m kubenas_trainer`; see docs/trial-contract.md for its inputs and outputs.
"""
