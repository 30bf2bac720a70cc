"""Vlanfabric: a sample Pitstop network driver in Python (service.py)."""
