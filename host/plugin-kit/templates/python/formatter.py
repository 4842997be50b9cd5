"""`{{id}}`: a tessera formatter. It makes a plain-text letter: the
document id, the subject when there is one, then the text rendition
wrapped at `text.width` characters (metadata; 72 when not given)."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.format import Formatted
from wit_world.imports.types import ErrorCode, Location, PluginError


LINES_PER_PAGE = 64  # lines of text on one printed page


def wrap(line, width):
    """Greedy word wrap; a word longer than the width stays whole."""
    if len(line) <= width:
        return [line]
    lines, current = [], ""
    for word in line.split(" "):
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


class Format(exports.Format):
    def format(self, doc):
        width = 72
        given = next((e.value for e in doc.metadata if e.name == "text.width"), None)
        if given is not None:
            if not (given.isascii() and given.isdigit()) or not 20 <= int(given) <= 200:
                location = Location(source=None, line=None, column=None, field="text.width")
                message = f"text.width `{given}` is not a whole number from 20 to 200"
                raise Err(PluginError(code=ErrorCode.INVALID_INPUT, message=message, location=location))
            width = int(given)
        out = f"{doc.document_id}\n"
        if doc.subject is not None:
            out += f"Subject: {doc.subject}\n"
        out += "\n"
        lines = [line[:-1] if line.endswith("\r") else line for line in doc.text.split("\n")]
        if lines and lines[-1] == "":
            lines.pop()
        for line in lines:
            for wrapped in wrap(line, width):
                out += wrapped + "\n"
        # Since contract 0.2.0 a formatter may state its page count, which the
        # host meters usage and postage by: here, 64 lines to a page.
        pages = -(-out.count("\n") // LINES_PER_PAGE)
        return Formatted(bytes=out.encode("utf-8"), media_type="text/plain; charset=utf-8", extension="txt", pages=pages)
