"""The data dictionary: the USCC checksum and the ISO 4217 list, ``code_check`` (the one entry
point every form, import and API uses), the rules' defaults and ``clean()``, the page, its
printout and PDF, and ``/api/v1/dictionary/``."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from portal import codes
from portal.choices import CodeChecksum, CodeRuleKey
from portal.codes import code_check, uscc_check_character, uscc_is_valid
from portal.models import CodeRule, Department

pytestmark = pytest.mark.django_db

# Real unified social credit codes, as printed on the companies' business licences, and the
# example of GB 32100-2015 itself.
REAL_USCC = [
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100799655058B",  # 阿里巴巴（中国）网络技术有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91350100M000100Y43",  # the standard's example
]

# --- the unified social credit code (GB 32100-2015) ----------------------------------------------


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_unified_social_credit_codes_are_valid(code: str) -> None:
    assert uscc_check_character(code[:17]) == code[17]
    assert uscc_is_valid(code)


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("9144030070846113J", "0"),  # 31 - sum mod 31 is 31: the check value is 0
        ("9144030070846113W", "Y"),  # the last character of the alphabet (value 30)
    ],
)
def test_check_character_at_the_ends_of_the_alphabet(first17: str, check: str) -> None:
    assert uscc_check_character(first17) == check
    assert uscc_is_valid(first17 + check)


@pytest.mark.parametrize(
    "code",
    [
        "914403001922038217",  # Huawei's with a wrong check character
        "91440300708461136Y",
        "914403001922308216",  # two digits swapped: the weights catch it
        "91440300708461136t",  # lower case
        "9144030070846113I0",  # I is not in the alphabet (reads like 1)
        "91440300192203821",  # 17 characters
        "9144030019220382160",  # 19 characters
        "",
    ],
)
def test_wrong_unified_social_credit_codes_are_refused(code: str) -> None:
    assert not uscc_is_valid(code)


def test_check_character_needs_seventeen_characters_of_the_alphabet() -> None:
    with pytest.raises(ValueError, match="17"):
        uscc_check_character("9144030019220382")
    with pytest.raises(ValueError, match="USCC"):
        uscc_check_character("914403001922038O1")  # the letter O


# --- currencies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["CNY", "USD", "EUR", "HKD", "JPY", "XAU"])
def test_current_iso_4217_codes_pass(code: str) -> None:
    assert codes.checksum_passes(CodeChecksum.ISO4217, code)


@pytest.mark.parametrize("code", ["ABC", "cny", "RMB", "XXX", "XTS", "HRK", ""])
def test_other_codes_are_not_currencies(code: str) -> None:
    assert not codes.checksum_passes(CodeChecksum.ISO4217, code)


# --- code_check ---------------------------------------------------------------------------------


def test_the_migrations_write_every_key_with_its_checksum_and_uniqueness() -> None:
    rules = {rule.key: rule for rule in CodeRule.objects.all()}
    assert set(rules) == set(CodeRuleKey.values)
    assert rules["uscc"].checksum == CodeChecksum.USCC
    assert rules["currency"].checksum == CodeChecksum.ISO4217
    assert not rules["currency"].is_unique
    assert rules["customer_code"].is_unique
    for rule in rules.values():
        rule.full_clean()
        code_check(rule.key, rule.example)  # every default example is valid by its own rule


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("uscc", "914403001922038217", "code_checksum"),
        ("uscc", "91440300192203821", "code_rule"),
        ("currency", "RMB", "code_checksum"),
        ("currency", "usd", "code_rule"),
        ("customer_code", "c-1", "code_rule"),
        ("cost_center", "CC 1001", "code_rule"),
        ("product_code", "", "code_rule"),
        ("employee_no", "E12345", "code_rule"),
    ],
)
def test_code_check_refuses_with_the_rule_and_its_example(key: str, value: str, error: str) -> None:
    with translation.override("en"):
        with pytest.raises(ValidationError) as excinfo:
            code_check(key, value)
        message = excinfo.value.messages[0]
        assert str(CodeRuleKey(key).label) in message, "the message names the rule"
    assert excinfo.value.code == error
    assert CodeRule.objects.get(key=key).example in message, "and gives its example"


def test_code_check_speaks_chinese() -> None:
    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        code_check("currency", "RMB")
    assert "CNY" in excinfo.value.messages[0]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("uscc", REAL_USCC[0]),
        ("currency", "USD"),
        ("cost_center", "CC-2001"),
        ("product_code", "SKU.01"),
    ],
)
def test_code_check_accepts_a_valid_code(key: str, value: str) -> None:
    code_check(key, value)


def test_code_check_refuses_a_key_the_dictionary_does_not_know() -> None:
    with pytest.raises(ValidationError) as excinfo:
        code_check("iban", "DE00")
    assert excinfo.value.code == "unknown_code_rule"


def test_code_check_follows_a_rule_changed_by_the_administrator() -> None:
    CodeRule.objects.filter(key="customer_code").update(pattern=r"KH\d{5}", example="KH00001")
    code_check("customer_code", "KH12345")
    with pytest.raises(ValidationError) as excinfo:
        code_check("customer_code", "C000123")
    assert "KH00001" in excinfo.value.messages[0]


def test_code_check_falls_back_to_the_default_without_a_row() -> None:
    CodeRule.objects.filter(key="uscc").delete()
    code_check("uscc", REAL_USCC[1])
    with pytest.raises(ValidationError):
        code_check("uscc", "91440300708461136Y")


def test_a_rule_whose_pattern_was_broken_behind_clean_lets_nothing_through() -> None:
    CodeRule.objects.filter(key="cost_center").update(pattern=r"CC(\d")
    with pytest.raises(ValidationError):
        code_check("cost_center", "CC1")


def test_model_fields_use_the_same_check(org: dict[str, Department]) -> None:
    CodeRule.objects.filter(key="department_code").update(
        pattern=r"[0-9A-HJ-NPQRTUWXY]{18}", example=REAL_USCC[0], checksum=CodeChecksum.USCC
    )
    sales = org["sales"]
    sales.code = "914403001922038217"  # the pattern's shape, a wrong check character
    with pytest.raises(ValidationError) as excinfo:
        sales.full_clean()
    assert set(excinfo.value.message_dict) == {"code"}
    sales.code = REAL_USCC[0]
    sales.full_clean()


# --- the rule's clean() -------------------------------------------------------------------------


def test_a_rule_whose_example_fails_its_checksum_is_refused() -> None:
    rule = CodeRule.objects.get(key="uscc")
    rule.example = "914403001922038217"  # matches the pattern, wrong check character
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    assert set(excinfo.value.message_dict) == {"example"}
    rule.refresh_from_db()
    assert rule.example == "91350100M000100Y43"


def test_a_currency_rule_with_a_made_up_example_is_refused() -> None:
    rule = CodeRule.objects.get(key="currency")
    rule.example = "ABC"
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    assert "ISO 4217" in excinfo.value.message_dict["example"][0]


def test_a_checksum_that_is_not_a_choice_is_refused() -> None:
    rule = CodeRule.objects.get(key="product_code")
    rule.checksum = "luhn"
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    assert set(excinfo.value.message_dict) == {"checksum"}


# --- the page, the printout, the PDF ------------------------------------------------------------


def test_the_page_lists_every_code_with_its_rule(login, employee) -> None:
    with translation.override("zh-hans"):
        response = login(employee).get(reverse("portal:dictionary"))
    assert response.status_code == 200
    page = response.content.decode()
    for rule in CodeRule.objects.all():
        assert f'data-key="{rule.key}"' in page
        assert rule.example in page
    assert "统一社会信用代码" in page or "unified social credit code" in page
    assert reverse("portal:dictionary_print") in page
    assert f'href="{reverse("portal:dictionary")}"' in page, "the navigation links to it"


def test_the_page_shows_an_administrators_description(login, employee) -> None:
    CodeRule.objects.filter(key="cost_center").update(description="见财务制度第 4 章")
    page = login(employee).get(reverse("portal:dictionary")).content.decode()
    assert "见财务制度第 4 章" in page


def test_the_page_needs_a_signed_in_person(client) -> None:
    response = client.get(reverse("portal:dictionary"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))


def test_the_printable_version_has_its_print_styles(login, employee) -> None:
    response = login(employee).get(reverse("portal:dictionary_print"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "@media print" in page
    assert "@page" in page
    assert "portal/print.js" in page
    assert "91350100M000100Y43" in page


def test_the_pdf_is_a_download(login, employee) -> None:
    response = login(employee).get(reverse("portal:dictionary_print") + "?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF-")


# --- the API ------------------------------------------------------------------------------------


def test_the_api_lists_every_rule(login, employee) -> None:
    response = login(employee).get("/api/v1/dictionary/")
    assert response.status_code == 200
    rules = {row["key"]: row for row in response.json()}
    assert set(rules) == set(CodeRuleKey.values)
    assert rules["uscc"]["checksum"] == "uscc"
    assert rules["currency"]["unique"] is False
    assert rules["currency"]["unique_within"] == ""
    assert rules["customer_code"]["used_by"]


def test_the_api_checks_a_value(login, employee) -> None:
    client = login(employee)
    valid = client.post(
        "/api/v1/dictionary/check/",
        {"key": "uscc", "value": REAL_USCC[2]},
        content_type="application/json",
    )
    assert valid.status_code == 200
    assert valid.json() == {"valid": True, "message": ""}
    invalid = client.post(
        "/api/v1/dictionary/check/",
        {"key": "uscc", "value": "91330100799655058C"},
        content_type="application/json",
    )
    assert invalid.status_code == 200
    assert invalid.json()["valid"] is False
    assert "91350100M000100Y43" in invalid.json()["message"]


def test_the_api_refuses_an_unknown_key_naming_the_field(login, employee) -> None:
    response = login(employee).post(
        "/api/v1/dictionary/check/", {"key": "iban", "value": "x"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"key"}


def test_the_api_needs_credentials(client) -> None:
    assert client.get("/api/v1/dictionary/").status_code == 401
    answer = client.post(
        "/api/v1/dictionary/check/",
        {"key": "currency", "value": "CNY"},
        content_type="application/json",
    )
    assert answer.status_code == 401
