"""The SQLite-specific pieces of the store (see ``docs/architecture.md``, "Where SQL lives")."""
