"""The agent interface and its backends."""
