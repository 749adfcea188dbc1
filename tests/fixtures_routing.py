"""Fixtures for the routing tests (loaded by tests/conftest.py through pytest_plugins)."""
