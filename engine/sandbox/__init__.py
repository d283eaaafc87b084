"""Local stand-ins for the outside world (demo mode and tests): an SMTP sink for now."""
