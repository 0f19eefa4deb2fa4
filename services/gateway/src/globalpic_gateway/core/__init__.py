"""Settings, database, auth, problem details, uploads and messaging shared by API and runner."""
