"""`{{id}}`: a tessera fragment. Templates call it as
`{{ fragment(name="{{id}}") }}` (optionally with `salutation="Hello"`);
it greets the record's recipient by salutation and last name, or by
company name."""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.render import Rendered
from wit_world.imports.types import ErrorCode, Location, PluginError


def escape(text):
    """Text as HTML: the record's data is never markup."""
    entities = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
    return "".join(entities.get(c, c) for c in text)


def error(code, message, field=None):
    location = Location(source=None, line=None, column=None, field=field) if field else None
    return Err(PluginError(code=code, message=message, location=location))


class Render(exports.Render):
    def render(self, name, params, context):
        if name != "{{id}}":
            raise error(ErrorCode.UNSUPPORTED, f"this plugin renders `{{id}}`, not `{name}`")
        try:
            record = json.loads(context)
        except ValueError as e:
            raise error(ErrorCode.INVALID_INPUT, f"the record is not JSON: {e}")
        person = record.get("personal") or {}

        def field(key):
            value = person.get(key)
            return value.strip() if isinstance(value, str) and value.strip() else None

        opening = next((p.value for p in params if p.name == "salutation"), "Dear")
        last, company, salutation = field("last_name"), field("company"), field("salutation")
        if last:
            greeting = f"{opening} {salutation} {last}," if salutation else f"{opening} {last},"
        elif company:
            greeting = f"{opening} {company},"
        else:
            raise error(
                ErrorCode.MISSING_DATA,
                "the record has neither a last name nor a company to greet",
                "personal.last_name",
            )
        return Rendered(html=f'<p class="greeting">{escape(greeting)}</p>', text=greeting)
