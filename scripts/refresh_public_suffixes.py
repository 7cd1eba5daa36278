"""Refresh corsfast/public_suffixes.txt from the Public Suffix List.

    python scripts/refresh_public_suffixes.py [PATH_OR_URL]

Reads the list (https://publicsuffix.org/list/public_suffix_list.dat by
default; a local file path works too, and with no network the copy bundled
in an installed ``publicsuffixlist`` package is used) and writes the rules
corsfast needs in a compact form: one rule per line, ICANN and private
sections together, comments dropped, internationalized names in the
punycode browsers send, sorted. The policy checks read it once, at
construction (corsfast/_suffixes.py); nothing is fetched at run time.

Run at development time and commit the result; the list is under the
Mozilla Public License 2.0, as the header of the written file says.
"""

from __future__ import annotations

import re
import sys
import urllib.request
from pathlib import Path

DEFAULT_SOURCE = "https://publicsuffix.org/list/public_suffix_list.dat"
TARGET = Path(__file__).resolve().parent.parent / "corsfast" / "public_suffixes.txt"


def read_source(source: str) -> str:
    if re.match(r"https?://", source):
        try:
            with urllib.request.urlopen(source, timeout=30) as response:
                return str(response.read().decode("utf-8"))
        except OSError as exc:
            bundled = _bundled()
            if bundled is None:
                raise SystemExit(f"cannot read {source} ({exc}) and no "
                                 f"publicsuffixlist package is installed") from None
            print(f"{source}: {exc}; using {bundled}", file=sys.stderr)
            return bundled.read_text(encoding="utf-8")
    return Path(source).read_text(encoding="utf-8")


def _bundled() -> Path | None:
    try:
        import publicsuffixlist
    except ImportError:
        return None
    path = Path(publicsuffixlist.__file__).with_name("public_suffix_list.dat")
    return path if path.exists() else None


def to_ascii(rule: str) -> str:
    """A rule in the form an Origin carries: lowercase, each label punycode."""
    prefix = "!" if rule.startswith("!") else ""
    labels = rule.lstrip("!").lower().split(".")
    out = [label if label.isascii() else "xn--" + label.encode("punycode").decode()
           for label in labels]
    return prefix + ".".join(out)


def rules(text: str) -> list[str]:
    found = set()
    for line in text.splitlines():
        rule = line.strip().split()[0] if line.strip() else ""
        if not rule or rule.startswith("//"):
            continue
        found.add(to_ascii(rule))
    return sorted(found)


def version(text: str) -> str:
    match = re.search(r"^// VERSION: (\S+)", text, re.MULTILINE)
    return match.group(1) if match else "unknown"


def main(argv: list[str]) -> int:
    source = argv[0] if argv else DEFAULT_SOURCE
    text = read_source(source)
    found = rules(text)
    if len(found) < 5000:
        raise SystemExit(f"only {len(found)} rules read from {source}: not the list")
    header = (
        "# The Public Suffix List (https://publicsuffix.org/), ICANN and private\n"
        "# sections, one rule per line, punycode, sorted; comments dropped.\n"
        f"# List version {version(text)}. Written by "
        "scripts/refresh_public_suffixes.py.\n"
        "# This Source Code Form is subject to the terms of the Mozilla Public\n"
        "# License, v. 2.0. If a copy of the MPL was not distributed with this\n"
        "# file, You can obtain one at https://mozilla.org/MPL/2.0/.\n"
    )
    TARGET.write_text(header + "\n".join(found) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(found)} rules, list version {version(text)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
