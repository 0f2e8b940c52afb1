"""Code blocks with fewer elements: Pygments' spans around names are dropped.

Pygments wraps every token of a highlighted block in a ``<span>`` with the token's class (on
``momentum``, 3,785 of the page's 8,560 elements were inside its code blocks), and a browser
parses, styles and lays out each one, on a phone too. Names (class ``n``) are the
most common token, and Material colours them as the code around them
(``--md-code-hl-name-color`` is ``var(--md-code-fg-color)``, in both schemes): their spans
change nothing on screen, so the text stays and the span goes. Other tokens keep theirs.

Markdown pages only: the labs' code is styled by the notebook stylesheet, which colours names.
"""

from __future__ import annotations

import re

_NAME = re.compile(r'<span class="n">([^<]*)</span>')


def plain_names(html: str) -> str:
    """``html`` with each Pygments name span replaced by its text."""
    return _NAME.sub(r"\1", html)
