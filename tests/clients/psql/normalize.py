#!/usr/bin/env python3
"""Normalize psql output so PostgreSQL 15 and Enishi can be compared byte for byte.

Reads psql output on stdin, writes the normalized text on stdout.  Only what
legitimately differs between two servers is rewritten:

* the cells of "Owner" columns (\\l, \\dn, \\dt, \\dv, ...) become <owner>:
  e.g. PostgreSQL 15 reports the public schema's owner as pg_database_owner;
* the cells of "Size" columns (\\l+, \\dt+, ...) become <size>;
* server version strings ("PostgreSQL 15.x ...") become PostgreSQL <version>;
* OIDs of user objects (16384 and above) where psql prints them with an
  "OID" label become <oid>.

A table whose cells were rewritten is laid out again exactly as psql's aligned
format would have laid it out, so column widths do not leak the original values.
Everything else passes through untouched.
"""
import re
import sys

NORMALIZED_COLUMNS = {"Owner": "<owner>", "Size": "<size>"}

VERSION_RE = re.compile(r"PostgreSQL \d+(\.\d+)*( \([^)]*\))?( on [^,|]*)?(, compiled by [^|]*?, \d+-bit)?")
OID_RE = re.compile(r"\b(OID|oid)( |: |=)(1[6-9]\d{3}|[2-9]\d{4}|\d{6,})\b")
SEPARATOR_RE = re.compile(r"^-+(\+-+)*$")
FOOTER_RE = re.compile(r"^\(\d+ rows?\)$")


def split_row(line, ncols):
    """Cells of an aligned-format row (border 1), without the outer margins."""
    if not line.startswith(" "):
        return None
    parts = line[1:].split(" | ")
    if len(parts) != ncols:
        return None
    return parts


def render(title_lines, headers, rows, aligns):
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    total = len(widths) * 3 - 1 + sum(widths)
    out = []
    for t in title_lines:
        t = t.strip()
        out.append(" " * ((total - len(t)) // 2) + t if total >= len(t) else t)
    cells = []
    for h, w in zip(headers, widths):
        left = (w - len(h)) // 2
        cells.append(" " * left + h + " " * (w - len(h) - left))
    out.append(" " + " | ".join(cells) + " ")
    out.append("+".join("-" * (w + 2) for w in widths))
    for r in rows:
        cells = []
        last = len(r) - 1
        for i, (c, w) in enumerate(zip(r, widths)):
            if aligns[i] == "r":
                cells.append(c.rjust(w))
            elif i == last:
                cells.append(c)
            else:
                cells.append(c.ljust(w))
        out.append(" " + " | ".join(cells))
    return out


def normalize_table(lines, start):
    """lines[start] is a header row followed by a separator line.

    Returns (new_lines, next_index) or None when the table is left alone."""
    header, sep = lines[start], lines[start + 1]
    widths = [len(seg) - 2 for seg in sep.split("+")]
    ncols = len(widths)
    headers = split_row(header, ncols)
    if headers is None:
        return None
    headers = [h.strip() for h in headers]
    targets = {i: NORMALIZED_COLUMNS[h] for i, h in enumerate(headers) if h in NORMALIZED_COLUMNS}
    if not targets:
        return None
    rows, raw = [], []
    i = start + 2
    while i < len(lines) and lines[i].startswith(" "):
        cells = split_row(lines[i], ncols)
        if cells is None or any(c.endswith("+") and len(c) == w + 1 for c, w in zip(cells, widths)):
            return None  # not a plain one-line-per-row table: leave it alone
        raw.append(cells)
        i += 1
    aligns = []
    for col, w in enumerate(widths):
        right = any(r[col].strip() and r[col].startswith(" ") for r in raw)
        # an all-blank last cell is only padded when the column is right-aligned
        right = right or (col == ncols - 1 and any(r[col] == " " * w and w > 0 for r in raw))
        aligns.append("r" if right else "l")
    for r in raw:
        rows.append([(targets[c] if c in targets and r[c].strip() else r[c].strip())
                     for c in range(ncols)])
    # Title: the lines right above the header that are centered text.
    title_start = start
    while title_start > 0 and lines[title_start - 1].startswith(" ") and "|" not in lines[title_start - 1] \
            and lines[title_start - 1].strip():
        title_start -= 1
    titles = lines[title_start:start]
    return title_start, render(titles, headers, rows, aligns), i


def main():
    lines = sys.stdin.read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and SEPARATOR_RE.match(lines[i + 1]) and "|" in lines[i] + " |":
            res = normalize_table(lines, i)
            if res is not None:
                title_start, new, nxt = res
                # drop the already-emitted title lines, then emit the rebuilt table
                del out[len(out) - (i - title_start):]
                out.extend(new)
                i = nxt
                continue
        out.append(lines[i])
        i += 1
    text = "\n".join(out)
    text = VERSION_RE.sub("PostgreSQL <version>", text)
    text = OID_RE.sub(lambda m: m.group(1) + m.group(2) + "<oid>", text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
