"""`{{id}}`: a tessera translator. It reads semicolon-separated lines
`customer_ref;document_id;last_name;email` (the first line is the header)
and makes one CDM letter record per line. A line it cannot use is
rejected with its line, column and field; the rest of the source goes on.

componentize-py looks for the exported resource `translate.session` as the
class `Session` of the module `translate` (translate.py, beside this file)."""

from wit_world import exports


class Translate(exports.Translate):
    pass
