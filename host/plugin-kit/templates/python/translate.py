"""The `session` and `splitter` resources of `{{id}}`: one source (or one
part of it) being translated, and where the source may be cut. Every line
is a document, so the host may cut at any line start after the header."""

import json

from wit_world.exports import translate as wit
from wit_world.imports.types import ErrorCode, Location, PluginError

FIELDS = ["customer_ref", "document_id", "last_name", "email"]


class Splitter(wit.Splitter):
    def __init__(self, source_name, min_gap):
        self.min_gap = max(min_gap, 1)
        self.offset = 0
        self.line = 1
        self.line_start = False
        self.last_cut = 0

    def feed(self, chunk):
        cuts = []
        for i, byte in enumerate(bytes(chunk)):
            at = self.offset + i
            # A cut is made at a line's first byte, never after the last
            # byte of the source.
            if self.line_start and self.line > 1 and at >= self.last_cut + self.min_gap:
                self.last_cut = at
                cuts.append(wit.Cut(offset=at, line=self.line, state=b""))
            self.line_start = byte == 10
            if byte == 10:
                self.line += 1
        self.offset += len(chunk)
        return cuts

    def finish(self):
        return []


class Session(wit.Session):
    def __init__(self, source_name, start):
        self.source = source_name
        self.pending = b""
        # From a cut, the first line fed is the cut's line.
        self.number = start.line - 1 if start is not None else 0

    def feed(self, chunk):
        self.pending += bytes(chunk)
        out = []
        # A chunk may end anywhere, even inside a character: only whole
        # lines are decoded.
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            self.number += 1
            self.line(line, self.number, out)
        return out

    def finish(self):
        out = []
        if self.pending:
            line, self.pending = self.pending, b""
            self.number += 1
            self.line(line, self.number, out)
        return out

    def line(self, raw, number, out):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            out.append(self.reject(ErrorCode.INVALID_INPUT, "the line is not UTF-8", number, 1))
            return
        text = text[:-1] if text.endswith("\r") else text
        if number == 1 or not text.strip():
            return  # the header, or a blank line
        values = text.split(";")
        if len(values) != len(FIELDS):
            message = f"expected 4 fields ({';'.join(FIELDS)}), found {len(values)}"
            out.append(self.reject(ErrorCode.INVALID_INPUT, message, number, 1))
            return
        column = 1
        for name, value in zip(FIELDS[:3], values):
            if not value.strip():
                out.append(self.reject(ErrorCode.MISSING_DATA, f"{name} is empty", number, column, name))
                return
            column += len(value) + 1
        email = values[3].strip()
        record = {
            "cdm": "1.0",
            "reference": {
                "customer_ref": values[0].strip(),
                "document_id": values[1].strip(),
                "document_type": "letter",
                "source": {"name": self.source, "line": number},
            },
            "personal": {"last_name": values[2].strip()},
            "address": {},
            "production": {},
            "distribution": {"email": email or None},
            "content": {},
        }
        location = Location(source=self.source, line=number, column=1, field=None)
        out.append(wit.Outcome_Translated(wit.Emitted(cdm=json.dumps(record), location=location)))

    def reject(self, code, message, line, column, field=None):
        location = Location(source=self.source, line=line, column=column, field=field)
        return wit.Outcome_Rejected(PluginError(code=code, message=message, location=location))
