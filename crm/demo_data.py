"""The demo company's customers, made up but realistic: company names as Chinese companies
are named (region + trade name + trade + company form), unified social credit codes with a
correct check character, people's names, phone numbers. Deterministic (a seeded generator),
so two runs of ``seed_demo`` make the same customers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from portal.codes import uscc_check_character

__all__ = ["DemoAccount", "DemoContact", "accounts"]

# (province, city, the city's two-digit area code of the credit code's region part)
REGIONS = [
    ("上海市", "上海", "310115"),
    ("浙江省", "杭州", "330106"),
    ("浙江省", "宁波", "330212"),
    ("江苏省", "南京", "320115"),
    ("江苏省", "苏州", "320594"),
    ("江苏省", "无锡", "320214"),
    ("广东省", "广州", "440106"),
    ("广东省", "深圳", "440300"),
    ("北京市", "北京", "110108"),
    ("山东省", "青岛", "370212"),
    ("四川省", "成都", "510107"),
    ("湖北省", "武汉", "420106"),
]
TRADE_NAMES = [
    "华通",
    "恒信",
    "明远",
    "云帆",
    "海联",
    "金桥",
    "瑞丰",
    "鼎盛",
    "远航",
    "天成",
    "博源",
    "宏达",
    "新锐",
    "中科",
    "东方",
    "立信",
    "嘉和",
    "卓越",
    "盛世",
    "永安",
    "汇川",
    "创联",
    "正泰",
    "安盛",
    "久远",
    "锦程",
    "华星",
    "晨光",
    "智联",
    "同创",
]
# (trade words of the name, industry code of crm.models.Industry)
TRADES = [
    ("精密机械制造", "manufacturing"),
    ("电子科技", "manufacturing"),
    ("贸易", "trade"),
    ("进出口", "trade"),
    ("软件技术", "it"),
    ("信息技术", "it"),
    ("物流", "logistics"),
    ("供应链管理", "logistics"),
    ("建设工程", "construction"),
    ("医疗器械", "healthcare"),
    ("新能源科技", "energy"),
    ("商贸", "retail"),
]
FORMS = ["有限公司", "有限责任公司", "股份有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "晓东",
    "思远",
    "雨桐",
    "子涵",
]
TITLES = ["总经理", "采购经理", "财务总监", "IT 主管", "运营总监", "行政主管", "技术负责人"]
LEVELS = ["A"] * 10 + ["B"] * 30 + ["C"] * 70 + ["D"] * 40


@dataclass(frozen=True)
class DemoContact:
    name: str
    title: str
    mobile: str
    email: str


@dataclass(frozen=True)
class DemoAccount:
    name: str
    credit_code: str
    province: str
    city: str
    industry: str
    level: str
    phone: str
    contacts: tuple[DemoContact, ...]


def _credit_code(rng: random.Random, region: str) -> str:
    """An 18-character code: 9 (registered by the market regulator) 1 (enterprise), the
    region, a 9-character organization code, and the GB 32100-2015 check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + region + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc_check_character(body)


def _person(rng: random.Random, domain: str) -> DemoContact:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    mobile = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
    return DemoContact(
        name=name,
        title=rng.choice(TITLES),
        mobile=mobile,
        email=f"{rng.choice('abcdefghjkmnpqrstwxyz')}{rng.randrange(1000)}@{domain}",
    )


def accounts(count: int = 150, seed: int = 2026) -> Iterator[DemoAccount]:
    """``count`` distinct customers (no two share a name or a credit code)."""
    rng = random.Random(seed)  # noqa: S311  # made-up demo data, repeatable on purpose
    names: set[str] = set()
    codes: set[str] = set()
    while len(names) < count:
        province, city, region = rng.choice(REGIONS)
        trade, industry = rng.choice(TRADES)
        trade_name = rng.choice(TRADE_NAMES)
        name = f"{city}{trade_name}{trade}{rng.choice(FORMS)}"
        code = _credit_code(rng, region)
        if name in names or code in codes:
            continue
        names.add(name)
        codes.add(code)
        domain = f"c{rng.randrange(10**6):06d}.example.cn"
        yield DemoAccount(
            name=name,
            credit_code=code,
            province=province,
            city=city,
            industry=industry,
            level=rng.choice(LEVELS),
            phone=f"0{rng.randrange(10, 999)}-{rng.randrange(10**7, 10**8)}",
            contacts=tuple(_person(rng, domain) for _ in range(rng.randint(1, 3))),
        )
