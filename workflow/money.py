"""Money as Chinese offices write it: amounts in 元 with two decimals (角 and 分), shown with
thousands separators, and in capital numerals (大写) on a printout, as on a cheque or an
invoice: 12345.60 → 壹万贰仟叁佰肆拾伍元陆角整.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# The largest amount a money field takes (below 1 trillion 元, up to 9999亿).
MAX_AMOUNT = Decimal("999999999999.99")

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_GROUP_UNITS = ("", "万", "亿")


def as_amount(value: object) -> Decimal | None:
    """``value`` as an amount rounded to the 分, or None if it is not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(value: object) -> str:
    """``12,345.60``: thousands separators and two decimals; the value unchanged as text if it
    is not a number."""
    amount = as_amount(value)
    if amount is None:
        return "" if value is None else str(value)
    return f"{amount:,.2f}"


def _group(number: int) -> str:
    """0 < ``number`` < 10000 in capitals, with 零 where a digit inside is missing."""
    text = ""
    zero = False
    for position in range(3, -1, -1):
        digit = number // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text


def _integer(number: int) -> str:
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    text = ""
    needs_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            needs_zero = bool(text)
            continue
        if text and (needs_zero or group < 1000):
            text += "零"
        needs_zero = False
        text += _group(group) + _GROUP_UNITS[index]
    return text


def capital(value: object) -> str:
    """The amount in capital numerals (大写), e.g. 壹万贰仟叁佰肆拾伍元陆角整, 零元整 for 0,
    负 before a negative amount; "" if ``value`` is not a number."""
    amount = as_amount(value)
    if amount is None:
        return ""
    if amount > MAX_AMOUNT or amount < -MAX_AMOUNT:
        return ""
    sign = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = _integer(yuan) + "元" if yuan else ""
    if jiao == 0 and fen == 0:
        return sign + (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return sign + text
