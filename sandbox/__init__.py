"""Local fakes of external platforms (Telegram) for tests, benchmarks and the demo."""
