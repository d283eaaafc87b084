"""The built-in SSH server: agents log in with their public key and get the TUI, nothing else.

- :mod:`engine.ssh.settings` — ``[ssh]`` in the config (listen address, host key, idle
  timeout, session cap);
- :mod:`engine.ssh.keys` — public keys (parse, fingerprint) and the host key (load or
  generate 0600);
- :mod:`engine.ssh.server` — the asyncssh server and one PTY + ``ticketty`` process per
  session (:mod:`engine.ssh.session`).

asyncssh is imported only here, and only by ``ticketty serve ssh`` (and ``demo --ssh``).
"""
