# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/RESULTS.md: each benchmark script appends its entry under its own "## " heading."""
import os
import re


def append_entry(rpath, heading, entry):
    """Append the lines @entry at the end of section "## @heading" (made if missing), print them."""
    text = open(rpath).read() if os.path.exists(rpath) else "# Benchmark results\n"
    h = r"^## " + re.escape(heading) + r"[ \t]*\n"
    m = re.search(h, text, re.M)
    if not m:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n"
        m = re.search(h, text, re.M)
    nxt = re.search(r"^## ", text[m.end():], re.M)
    end = m.end() + nxt.start() if nxt else len(text)
    section = text[m.end():end].rstrip("\n")
    section = (section + "\n\n" if section.strip() else "\n") + "\n".join(entry)
    text = text[:m.end()] + section + ("\n\n" + text[end:] if nxt else "\n")
    open(rpath, "w").write(text)
    print("\n".join(entry))
