"""Numbers and amounts in words, in English and Dutch, without floating point."""

from decimal import ROUND_HALF_UP, Decimal

LANGUAGES = {"en", "nl"}

# Currency names: (one major, many major, one minor, many minor) per language.
CURRENCIES = {
    "EUR": {"en": ("euro", "euros", "cent", "cents"), "nl": ("euro", "euro", "cent", "cent")},
    "GBP": {"en": ("pound", "pounds", "penny", "pence"), "nl": ("pond", "pond", "penny", "pence")},
    "USD": {"en": ("dollar", "dollars", "cent", "cents"), "nl": ("dollar", "dollar", "cent", "cent")},
    "CHF": {"en": ("franc", "francs", "centime", "centimes"), "nl": ("frank", "frank", "centime", "centimes")},
}

EN_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
NL_ONES = "nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien zestien zeventien achttien negentien".split()
NL_TENS = "_ _ twintig dertig veertig vijftig zestig zeventig tachtig negentig".split()
SCALES = [(10**9, "billion", "miljard"), (10**6, "million", "miljoen"), (1000, "thousand", "duizend")]


class Unsupported(Exception):
    pass


def english(n):
    if n < 20:
        return EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return EN_TENS[tens] + ("-" + EN_ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return EN_ONES[hundreds] + " hundred" + (" and " + english(rest) if rest else "")
    for scale, name, _ in SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            joiner = " and " if 0 < rest < 100 else ", " if rest else ""
            return english(high) + " " + name + joiner + (english(rest) if rest else "")
    raise AssertionError(n)


def dutch(n):
    if n < 20:
        return NL_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        if not ones:
            return NL_TENS[tens]
        # 21 = eenentwintig; "ë" where two vowels would run together: tweeëntwintig.
        link = "ën" if NL_ONES[ones].endswith("e") else "en"
        return NL_ONES[ones] + link + NL_TENS[tens]
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return ("" if hundreds == 1 else NL_ONES[hundreds]) + "honderd" + (dutch(rest) if rest else "")
    if n < 10**6:
        high, rest = divmod(n, 1000)
        return ("" if high == 1 else dutch(high)) + "duizend" + (" " + dutch(rest) if rest else "")
    for scale, _, name in SCALES[:2]:
        if n >= scale:
            high, rest = divmod(n, scale)
            return dutch(high) + " " + name + (" " + dutch(rest) if rest else "")
    raise AssertionError(n)


def amount(value, currency, lang, credit=False):
    """`value` (a non-negative Decimal) in `currency`, written out."""
    names = CURRENCIES.get(currency, {}).get(lang)
    if names is None:
        raise Unsupported(f"no words for currency `{currency}`: this plugin knows {', '.join(sorted(CURRENCIES))}")
    if value >= 10**12:
        raise Unsupported(f"{value} is too large to write out")
    cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    major, minor = divmod(cents, 100)
    say = english if lang == "en" else dutch
    one, many, one_minor, many_minor = names
    parts = [f"{say(major)} {one if major == 1 else many}"] if major or not minor else []
    if minor:
        parts.append(f"{say(minor)} {one_minor if minor == 1 else many_minor}")
    text = (" and " if lang == "en" else " en ").join(parts)
    if credit:
        text = ("a credit of " if lang == "en" else "een tegoed van ") + text
    return text
