"""Widgets the screens are built from (the virtual ticket table, the thread, forms …)."""
