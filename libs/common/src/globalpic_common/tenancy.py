"""Tenant ids, one definition for every service that keys data by tenant (storage keys, API
keys, job rows): letters and digits, then ``_ . -``, at most 64 characters, so an id is safe
inside a storage key, a NATS subject token and a file name."""

TENANT_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
