"""ticketty's composition root: the one package that knows both the CLI and the TUI.

``engine`` (the headless library, with the CLI in ``engine.cli``) never imports ``tui``; ``tui``
never imports ``engine.cli``. :mod:`ticketty.main` joins them: it runs the CLI with the TUI's
entry points injected. The layers and the contracts that keep them are in
docs/architecture.md (checked by ``lint-imports``).
"""
