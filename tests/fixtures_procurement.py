"""Fixtures for the procurement tests (loaded by tests/conftest.py through pytest_plugins)."""
