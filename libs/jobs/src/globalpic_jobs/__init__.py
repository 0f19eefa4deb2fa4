"""The job store both the gateway and the orchestrator speak: the tables and their migrations,
the state transitions of an image, the JetStream streams and the messages on them.

A library, not a service: the gateway writes a job at submission and reads it back for the
API; the orchestrator moves its images through their states. Neither imports the other.
"""
