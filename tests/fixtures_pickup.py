"""Fixtures for the pickup tests (loaded by tests/conftest.py through pytest_plugins)."""
