"""Developer tooling: ``make dev`` (the whole platform on one machine, no Docker) and a local
``nats-server`` with JetStream. Not part of any service image."""
