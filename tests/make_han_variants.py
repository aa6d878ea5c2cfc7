"""Write ``smtpprobe/core/han_variants.py`` from the Unicode Han database.

``python tests/make_han_variants.py Unihan_Variants.txt[.bz2]`` reads the database's
``kSimplifiedVariant`` field (Unicode 15.0; Debian ships it in the package
``unicode-data`` as ``/usr/share/unicode/Unihan_Variants.txt.bz2``) and writes each
traditional character and its one simplified form, both in the Basic Multilingual Plane,
as a table in Python (the pure core reads no files). A character whose simplified forms
are several keeps those that name it back as their ``kTraditionalVariant``, and of those
the first in code-point order (线 for 線, 钟 for 鍾, 余 for 餘: the common form of each of
the six such characters). Used by
``smtpprobe.core.written_forms`` so that a pattern written in one script reads the other;
``tests/core/test_written_forms.py`` checks the table's form.
"""

from __future__ import annotations

import bz2
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "smtpprobe" / "core" / "han_variants.py"
HEADER = '''"""Traditional Han characters and their simplified forms (generated; do not edit).

From the Unicode Han database (Unihan_Variants.txt, kSimplifiedVariant, Unicode 15.0.0, as
Debian's unicode-data 15.0.0-1 ships it; https://www.unicode.org/reports/tr38/), Basic
Multilingual Plane only, one simplified form per character. Written by
``python tests/make_han_variants.py Unihan_Variants.txt.bz2``; the Unicode data files are
under the Unicode License (https://www.unicode.org/license.txt).
"""

# Each pair: the traditional character, then its simplified form.
PAIRS = (
'''
_PER_LINE = 22  # pairs: 88 wide characters, within the line length


def _read(path: Path) -> dict[str, dict[str, list[str]]]:
    fields: dict[str, dict[str, list[str]]] = {}
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt", encoding="utf-8") as raw:
        for line in raw:
            if line.startswith("#") or not line.strip():
                continue
            code, field, value = line.rstrip("\n").split("\t")
            chars = [chr(int(v.split("<")[0][2:], 16)) for v in value.split()]
            fields.setdefault(field, {})[chr(int(code[2:], 16))] = chars
    return fields


def pairs(path: Path) -> list[tuple[str, str]]:
    """The (traditional, simplified) pairs, in code-point order."""
    fields = _read(path)
    simplified = fields.get("kSimplifiedVariant", {})
    traditional = fields.get("kTraditionalVariant", {})
    out: list[tuple[str, str]] = []
    for trad, forms in sorted(simplified.items()):
        forms = [f for f in forms if f != trad and ord(f) <= 0xFFFF]
        if ord(trad) > 0xFFFF or not forms:
            continue
        if len(forms) > 1:
            forms = sorted(f for f in forms if trad in traditional.get(f, []))
            if not forms:
                continue
        out.append((trad, forms[0]))
    # A simplified form that is itself simplified further would make the reading depend on
    # the order of translation: such a pair is left out.
    folded = {t for t, _ in out}
    return [(t, s) for t, s in out if s not in folded]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tests/make_han_variants.py Unihan_Variants.txt[.bz2]")
        return 2
    found = pairs(Path(argv[1]))
    text = "".join(t + s for t, s in found)
    step = 2 * _PER_LINE
    lines = "".join(f'    "{text[i : i + step]}"\n' for i in range(0, len(text), step))
    OUT.write_text(HEADER + lines + ")\n", encoding="utf-8")
    print(f"{OUT}: {len(found)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
