"""The REST API: routes (``routes/``), their dependencies and the response builders."""
