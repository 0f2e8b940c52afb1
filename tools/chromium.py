"""Debian's Chromium, as the tools and the tests launch it (one list of flags for all).

Without the background-networking flags Chromium tries to reach Google's hosts at every start,
which this project's machines cannot reach; the rest keep a headless run quiet and repeatable.
"""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
