"""Shared helpers for hull's integration tests (importable as `helpers` from any subdir).

tests/integration/conftest.py puts tests/integration on sys.path, so a test or a subdir
conftest can `from helpers.oci import Container` whatever pytest's import mode.
"""
