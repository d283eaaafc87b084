"""A channel's health in words, the same for ``ticketty channels list`` and the TUI."""

from __future__ import annotations

from typing import Any


def health_words(health: dict[str, Any], enabled: bool) -> str:
    """Health in words; a failing server must never read as fine."""
    if not enabled:
        return "disabled"
    err_at = health.get("last_error_at") or 0
    ok_at = health.get("last_sync_at") or 0
    if health.get("needs_reauth"):
        return "needs re-authorisation"
    if health.get("last_error") and err_at >= ok_at:
        return f"failing: {health['last_error']}"
    if health.get("connected"):
        return "connected"
    if ok_at:
        return "idle"
    return "not connected yet"
