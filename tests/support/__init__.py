"""Test harnesses and tiny random-weight models: imported by tests and benches, never by
production code (tests/test_import_rules.py checks)."""
