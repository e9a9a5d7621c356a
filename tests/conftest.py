"""Shared fixtures. The PostgreSQL server fixture lives in tests/pg.py."""

pytest_plugins = ["tests.pg"]
