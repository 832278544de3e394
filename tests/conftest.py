"""Test configuration: real local servers come from bridge's own pytest plugin."""

pytest_plugins = ["bridge.testing.pytest_plugin"]
