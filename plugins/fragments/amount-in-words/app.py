"""`amount-in-words`: a tessera fragment, written in Python, that writes the
amount due out in words — "one hundred and twelve euros and forty cents" —
as cheques, payment orders and some legal notices require.

Call it from a template as `{{ fragment(name="amount-in-words") }}`. The
amount and currency come from the record's `content.payment` (else
`content.totals.payable`/`gross` with the invoice currency); the language is
the `lang` parameter, else the record's locale, else its language. A credit
note renders "credit of …". Parameters `amount` and `currency` override.
"""

import json
from decimal import Decimal, InvalidOperation

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.render import Rendered
from wit_world.imports.types import ErrorCode, Location, PluginError

import words


def error(code, message, field=None):
    location = Location(source=None, line=None, column=None, field=field) if field else None
    return Err(PluginError(code=code, message=message, location=location))


def escape(text):
    entities = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
    return "".join(entities.get(c, c) for c in text)


def language_of(record, params):
    chosen = params.get("lang")
    if chosen is None:
        production = record.get("production") or {}
        personal = record.get("personal") or {}
        chosen = production.get("locale") or personal.get("language") or "en"
    lang = chosen.split("-")[0].split("_")[0].lower()
    if lang not in words.LANGUAGES:
        raise error(
            ErrorCode.UNSUPPORTED,
            f"no words for language `{chosen}`: this plugin writes {', '.join(sorted(words.LANGUAGES))}",
            "lang",
        )
    return lang


def amount_of(record, params):
    content = record.get("content") or {}
    payment = content.get("payment") or {}
    totals = content.get("totals") or {}
    invoice = content.get("invoice") or {}
    amount = params.get("amount") or payment.get("amount") or totals.get("payable") or totals.get("gross")
    currency = params.get("currency") or payment.get("currency") or invoice.get("currency")
    if amount is None:
        raise error(ErrorCode.MISSING_DATA, "the record has no amount to write out", "content.payment.amount")
    if currency is None:
        raise error(ErrorCode.MISSING_DATA, "the record has no currency", "content.payment.currency")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise error(ErrorCode.INVALID_INPUT, f"amount `{amount}` is not a decimal number", "content.payment.amount")
    credit = bool(payment.get("credit")) or value < 0
    return abs(value), currency, credit


class Render(exports.Render):
    def render(self, name, params, context):
        if name != "amount-in-words":
            raise error(ErrorCode.UNSUPPORTED, f"this plugin renders `amount-in-words`, not `{name}`")
        try:
            record = json.loads(context)
        except ValueError as e:
            raise error(ErrorCode.INVALID_INPUT, f"the record is not JSON: {e}")
        params = {p.name: p.value for p in params}
        lang = language_of(record, params)
        value, currency, credit = amount_of(record, params)
        try:
            text = words.amount(value, currency, lang, credit)
        except words.Unsupported as e:
            raise error(ErrorCode.UNSUPPORTED, str(e), "content.payment.currency")
        return Rendered(html=f'<span class="amount-in-words">{escape(text)}</span>', text=text)
