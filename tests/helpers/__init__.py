"""Helpers shared by the test suites, imported as ``tests.helpers.<module>``.

- ``servers``: real servers (a throwaway Dovecot, aiosmtpd sinks, free ports);
- ``seeding``: copying a seeded template database per test;
- ``crash``: kill -9 a command once it has written some tickets;
- ``cli``, ``mail``, ``poll``: the console script in a subprocess, small messages, waiting on a
  condition;
- ``procs``: real ``ticketty engine`` processes, their logs and databases;
- ``tui`` / ``admin``: building the app with a frozen clock and waiting on it (Pilot).

Fixtures stay in the ``conftest.py`` files; these modules hold plain functions and classes.
"""
