"""Local stand-ins for the services driftkeeper talks to (no network, no mocks)."""
