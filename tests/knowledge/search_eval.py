"""The evaluation set of the knowledge base's search (issue 17, item 5): articles a company
keeps (HR, finance, IT, administration, sales; mostly Chinese, some English) and the queries
people type, each with the article(s) that answer it. ``test_search_quality.py`` indexes
them through the real path and measures recall@5 and MRR@10.

The queries are of the kinds the issue names: a word that occurs only inside longer words
(报销 in 差旅报销制度), Chinese mixed with English, numbers and identifiers, exact titles,
English articles, and prefixes (what is typed so far). Many articles share words on
purpose (报销, 申请, 密码, 系统 ...), so that a query has to be ranked, not just matched.
"""

from __future__ import annotations

from typing import NamedTuple


class EvalArticle(NamedTuple):
    key: str
    space: str  # hr | finance | it | admin | sales
    title: str
    summary: str
    tags: tuple[str, ...]
    body: str
    lang: str = "zh-hans"


class EvalQuery(NamedTuple):
    text: str
    relevant: tuple[str, ...]  # article keys, any order
    kind: str  # inside | mixed | identifier | title | english | prefix | question


SPACES = {
    "hr": ("人力资源", "Human resources"),
    "finance": ("财务", "Finance"),
    "it": ("IT 服务台", "IT service desk"),
    "admin": ("行政", "Administration"),
    "sales": ("销售", "Sales"),
}

A = EvalArticle

ARTICLES: list[EvalArticle] = [
    # --- 人力资源 -------------------------------------------------------------------------------
    A(
        "hr-annual-leave",
        "hr",
        "带薪年假管理办法",
        "员工带薪年假的天数、申请方式和结转规则。",
        ("休假", "考勤"),
        "## 适用范围\n本办法适用于公司全体正式员工。\n\n## 假期天数\n累计工作满1年不满10年的，"
        "每年5天；满10年不满20年的，每年10天；满20年的，每年15天。\n\n## 申请\n员工应至少提前"
        "3个工作日在 OA 中提交休假单，由直属上级审批。未休完的假期可结转至次年3月31日。",
    ),
    A(
        "hr-sick-leave",
        "hr",
        "病假与医疗期规定",
        "病假的证明材料、工资发放和医疗期计算。",
        ("休假", "病假"),
        "员工因病需要休息的，应提供二级以上医院出具的病假证明。病假期间按本人基本工资的80%"
        "发放病假工资。医疗期根据累计工作年限确定，最短3个月，最长24个月。",
    ),
    A(
        "hr-marriage-leave",
        "hr",
        "婚假和产假申请指南",
        "婚假3天，产假98天及奖励假，陪产假15天。",
        ("休假", "婚假", "产假"),
        "符合法定结婚年龄的员工可享受婚假3天，需在领取结婚证后一年内休完。女员工生育享受产假"
        "98天，另按本市规定增加奖励假60天；男员工享受陪产假15天。申请时请上传结婚证或出生证明。",
    ),
    A(
        "hr-attendance",
        "hr",
        "考勤打卡制度",
        "上下班打卡时间、迟到早退和补卡的规定。",
        ("考勤", "打卡"),
        "公司实行弹性工作制，核心工作时间为上午10:00至下午4:00。员工每日上下班须在企业微信"
        "打卡。忘记打卡的，每月可补卡3次，超过次数的按旷工半天处理。迟到30分钟以上按事假计算。",
    ),
    A(
        "hr-overtime",
        "hr",
        "加班申请与调休规则",
        "加班须事先申请，工作日加班可调休。",
        ("考勤", "加班", "调休"),
        "加班须事先在 OA 提交加班申请并经部门负责人批准。工作日和休息日加班优先安排调休，"
        "调休须在加班后6个月内使用；法定节假日加班按300%支付加班费。",
    ),
    A(
        "hr-onboarding",
        "hr",
        "新员工入职手续清单",
        "入职当天需要带的材料和要办的事。",
        ("入职", "新员工"),
        "入职当天请携带：身份证原件、学历学位证书、离职证明、一寸照片2张、本人银行卡。"
        "HR 会为你办理劳动合同签订、工牌领取、企业邮箱开通和电脑领用。试用期一般为3个月。",
    ),
    A(
        "hr-resignation",
        "hr",
        "离职交接流程",
        "提出离职、工作交接和离职证明的办理。",
        ("离职", "交接"),
        "员工离职须提前30日以书面形式通知公司（试用期内提前3日）。离职前须完成工作交接、"
        "归还电脑和工牌、结清借款。最后工作日 HR 出具离职证明，社保和公积金于次月停缴。",
    ),
    A(
        "hr-probation",
        "hr",
        "试用期考核与转正",
        "试用期目标、考核方式和转正申请。",
        ("转正", "考核", "试用期"),
        "试用期满前两周，员工在系统中提交转正申请和述职报告，直属上级和部门负责人评估。"
        "考核结果分为通过、延长试用和不予录用三种。延长试用期最长不超过6个月。",
    ),
    A(
        "hr-performance",
        "hr",
        "年度绩效考核办法",
        "绩效等级、评分流程和结果应用。",
        ("绩效", "考核"),
        "绩效考核每年进行两次，分为 S、A、B、C、D 五个等级。流程为员工自评、上级评分、"
        "部门校准和 HR 复核。考核结果与年终奖、调薪和晋升挂钩，连续两次 D 的将进入改进计划。",
    ),
    A(
        "hr-salary",
        "hr",
        "工资发放与个税说明",
        "每月发薪日、工资条查看和个人所得税扣缴。",
        ("薪酬", "个税"),
        "工资于每月10日发放上月薪酬，遇节假日提前。员工可在 HR 系统查看电子工资条。"
        "个人所得税由公司代扣代缴，专项附加扣除请每年12月在个人所得税 App 中确认。",
    ),
    A(
        "hr-social-insurance",
        "hr",
        "社保和公积金缴纳说明",
        "五险一金的缴费基数、比例和查询。",
        ("社保", "公积金", "福利"),
        "公司为员工缴纳养老、医疗、失业、工伤、生育保险和住房公积金。缴费基数每年7月调整，"
        "公积金缴存比例为12%。员工可在当地社保局网站或公积金 App 查询缴存记录。",
    ),
    A(
        "hr-commercial-insurance",
        "hr",
        "补充商业医疗保险理赔",
        "门诊和住院费用的理赔材料及时限。",
        ("福利", "保险", "理赔"),
        "公司为全体员工购买补充商业医疗保险，门诊自付部分报销80%，住院自付部分报销90%。"
        "理赔请在就诊后90天内提交发票原件、费用清单和病历，通过保险公司小程序上传。",
    ),
    A(
        "hr-training",
        "hr",
        "员工培训管理制度",
        "内部培训、外部培训申请和培训协议。",
        ("培训", "学习"),
        "新员工须完成入职培训和信息安全培训。外部培训费用超过5000元的，员工须签订培训服务"
        "协议，约定服务期。培训结束后一周内提交培训总结。",
    ),
    A(
        "hr-referral",
        "hr",
        "内部推荐奖励政策",
        "推荐人才入职后的奖金标准与发放时间。",
        ("招聘", "内推"),
        "员工推荐的候选人成功入职并通过试用期后，推荐人可获得推荐奖金：普通岗位3000元，"
        "技术和管理岗位8000元。HR 总监及招聘团队成员不参与内推奖励。",
    ),
    A(
        "hr-business-travel-leave",
        "hr",
        "出差期间考勤处理",
        "出差期间的打卡、加班和假期计算。",
        ("考勤", "出差"),
        "出差期间无需每日打卡，须在 OA 提交出差申请作为考勤依据。出差途中遇周末不计加班，"
        "如需在目的地休假，须另行提交休假申请。",
    ),
    A(
        "hr-remote-work",
        "hr",
        "居家办公管理规定",
        "可以居家办公的情形、申请和工作要求。",
        ("远程办公", "考勤"),
        "因特殊情况需要居家办公的，须提前一天经直属上级同意。居家办公期间须保持企业微信在线，"
        "通过 VPN 访问内部系统，每天下班前提交工作日报。",
    ),
    A(
        "hr-employee-card",
        "hr",
        "工牌补办与门禁权限",
        "工牌遗失补办和门禁开通。",
        ("工牌", "门禁"),
        "工牌遗失请立即通知行政部挂失，补办收取工本费20元。新开门禁权限由部门负责人在 OA "
        "提交申请，行政部审核后开通。",
    ),
    A(
        "hr-labor-contract",
        "hr",
        "劳动合同签订与续签",
        "合同期限、续签时间和无固定期限合同。",
        ("合同", "劳动合同"),
        "首次签订的劳动合同期限为3年，合同到期前30天 HR 将通知续签意向。连续签订两次固定期限"
        "劳动合同后，员工可要求签订无固定期限劳动合同。",
    ),
    A(
        "hr-holiday-2025",
        "hr",
        "2025年法定节假日安排",
        "元旦、春节、清明、劳动节、端午、中秋和国庆的放假时间。",
        ("节假日", "放假"),
        "根据国务院办公厅通知，2025年春节放假8天，劳动节放假5天，国庆节和中秋节合计放假8天。"
        "调休上班的周末请照常打卡。",
    ),
    A(
        "hr-holiday-2024",
        "hr",
        "2024年法定节假日安排",
        "2024年各节日的放假与调休。",
        ("节假日", "放假"),
        "2024年春节放假8天，清明节3天，劳动节5天，端午节3天，中秋节3天，国庆节7天。",
    ),
    A(
        "hr-employee-handbook",
        "hr",
        "员工手册（2024版）",
        "公司的基本制度、行为规范和员工权利义务。",
        ("制度", "手册"),
        "本手册包括公司简介、行为准则、考勤休假、薪酬福利、保密义务和奖惩规定。员工入职时须"
        "阅读并签署确认书。",
    ),
    A(
        "hr-code-of-conduct",
        "hr",
        "员工行为准则",
        "廉洁从业、利益冲突申报和礼品收受规定。",
        ("合规", "行为规范"),
        "员工不得收受供应商价值超过200元的礼品或宴请，无法拒绝的须在3个工作日内向合规部申报。"
        "存在利益冲突的，应主动回避并书面报告。",
    ),
    A(
        "hr-certificate",
        "hr",
        "在职证明和收入证明开具",
        "办理签证、贷款所需证明的申请方式。",
        ("证明",),
        "员工可在 HR 系统自助申请在职证明和收入证明，HR 在2个工作日内盖章。签证用的英文在职"
        "证明请在备注中说明。",
    ),
    A(
        "hr-promotion",
        "hr",
        "职级晋升管理办法",
        "晋升条件、评审时间和职级体系。",
        ("晋升", "职级"),
        "公司职级分为 P1 至 P9 专业序列和 M1 至 M5 管理序列。每年4月和10月开展晋升评审，"
        "申请人须在现职级任职满一年且最近一次绩效为 A 及以上。",
    ),
    A(
        "hr-birthday-benefit",
        "hr",
        "员工生日会与节日福利",
        "生日礼金、节日礼品和团建费用。",
        ("福利", "团建"),
        "员工生日当月可领取生日礼金300元。春节、端午、中秋发放节日礼品。每个部门每季度有"
        "人均200元的团建费用。",
    ),
    A(
        "hr-maternity-room",
        "hr",
        "母婴室使用须知",
        "母婴室的位置、预约和使用规范。",
        ("母婴室", "女职工"),
        "母婴室位于3楼东侧，哺乳期女职工可刷工牌进入。请保持室内整洁，冰箱仅用于存放母乳。",
    ),
    # --- 财务 ------------------------------------------------------------------------------------
    A(
        "fin-travel-expense",
        "finance",
        "差旅报销制度",
        "出差交通、住宿、补助的标准和报销流程。",
        ("报销", "差旅"),
        "## 交通\n员工出差乘坐高铁二等座，经理级以上可乘一等座；航班须选择经济舱。\n\n## 住宿\n"
        "一线城市每晚不超过500元，其他城市不超过350元。\n\n## 补助\n出差补助每天100元。\n\n"
        "## 报销\n出差结束后15日内在费控系统提交报销单，附发票和行程单。",
    ),
    A(
        "fin-daily-expense",
        "finance",
        "日常费用报销流程",
        "办公用品、交通、招待等日常费用怎么报。",
        ("报销",),
        "日常费用在费控系统提交，选择费用类型并上传电子发票。单笔超过5000元的须部门负责人和"
        "财务经理审批。报销款每周二、周四打入工资卡。",
    ),
    A(
        "fin-invoice-rules",
        "finance",
        "发票开具与取得规范",
        "增值税专用发票与普通发票的要求。",
        ("发票", "税务"),
        "公司名称：上海恒通贸易有限公司，纳税人识别号 91310000MA1K2X3Y4Z。取得增值税专用发票时"
        "须核对抬头、税号、金额和税率。电子发票须在全国增值税发票查验平台查验真伪。",
    ),
    A(
        "fin-einvoice",
        "finance",
        "电子发票报销常见问题",
        "电子发票重复报销、打印和查验的问题解答。",
        ("发票", "报销", "FAQ"),
        "问：电子发票需要打印吗？答：在费控系统上传 PDF 或 OFD 文件即可，无需打印。问：如何避免"
        "重复报销？答：系统会按发票号码自动查重。",
    ),
    A(
        "fin-loan",
        "finance",
        "员工借款与还款规定",
        "备用金借款的额度、审批和核销。",
        ("借款", "备用金"),
        "因公出差或采购需要借款的，在费控系统提交借款申请，额度不超过2万元。借款须在事项结束"
        "后30天内报销核销，逾期未还的从工资中扣回。",
    ),
    A(
        "fin-entertainment",
        "finance",
        "业务招待费管理办法",
        "招待标准、事前申请和报销要求。",
        ("招待", "报销"),
        "业务招待须事前申请，人均标准不超过300元。报销时须写明招待对象、人数和事由，附发票和"
        "消费明细。禁止在高档娱乐场所招待。",
    ),
    A(
        "fin-budget",
        "finance",
        "部门预算编制指南",
        "年度预算编制时间表和模板。",
        ("预算",),
        "每年10月启动下一年度预算编制。各部门按模板填报人员、费用和资本性支出预算，11月底前"
        "提交财务部汇总，12月经总经理办公会审批。",
    ),
    A(
        "fin-payment",
        "finance",
        "供应商付款申请流程",
        "合同付款、预付款和付款周期。",
        ("付款", "供应商"),
        "供应商付款须在 OA 提交付款申请，附合同、发票和验收单。财务每周三、周五集中付款。"
        "预付款超过合同金额30%的须总经理审批。",
    ),
    A(
        "fin-fixed-assets",
        "finance",
        "固定资产管理规定",
        "资产入库、盘点、调拨和报废。",
        ("资产", "盘点"),
        "单价2000元以上、使用期限超过一年的设备列为固定资产，贴资产标签。每年12月全面盘点一次。"
        "资产调拨和报废须在资产系统中申请。",
    ),
    A(
        "fin-code-fin007",
        "finance",
        "FIN-007 费用科目对照表",
        "费控系统费用类型与会计科目的对应关系。",
        ("科目", "FIN-007"),
        "本表编号 FIN-007，列出差旅费、交通费、办公费、招待费、培训费、通讯费等费用类型对应"
        "的会计科目编码，供填写报销单时选择。",
    ),
    A(
        "fin-code-fin012",
        "finance",
        "FIN-012 付款审批权限表",
        "不同金额付款的审批人。",
        ("审批", "FIN-012"),
        "编号 FIN-012。付款金额5万元以下由财务经理审批，5万至50万元由财务总监审批，50万元以上"
        "由总经理审批。",
    ),
    A(
        "fin-sap-posting",
        "finance",
        "SAP 凭证录入操作手册",
        "在 SAP 中录入和冲销会计凭证。",
        ("SAP", "凭证"),
        "登录 SAP 后使用事务码 FB50 录入总账凭证，FB60 录入供应商发票，FB08 冲销凭证。"
        "过账前请检查成本中心和利润中心。",
    ),
    A(
        "fin-sap-reimbursement",
        "finance",
        "SAP 报销单状态查询",
        "查看报销单在 SAP 中的审批和付款状态。",
        ("SAP", "报销"),
        "费控系统的报销单审批通过后自动生成 SAP 凭证。在费控系统的单据详情可看到 SAP 凭证号和"
        "付款日期；如显示“过账失败”，请联系财务共享中心。",
    ),
    A(
        "fin-tax-deduction",
        "finance",
        "个人所得税专项附加扣除填报",
        "子女教育、住房贷款利息等扣除项目。",
        ("个税", "税务"),
        "专项附加扣除包括子女教育、继续教育、大病医疗、住房贷款利息、住房租金、赡养老人和3岁以下"
        "婴幼儿照护。每年12月在个人所得税 App 确认下一年度扣除信息。",
    ),
    A(
        "fin-month-end",
        "finance",
        "月末结账时间表",
        "各类单据的截止日期和关账安排。",
        ("结账",),
        "每月25日为当月报销单截止日，28日完成应收应付对账，次月3日前关账。截止日后提交的单据"
        "计入下月。",
    ),
    A(
        "fin-corporate-card",
        "finance",
        "公务卡使用规定",
        "公务卡的申请、消费范围和还款。",
        ("公务卡", "报销"),
        "经常出差的员工可申请公务卡，用于差旅和招待支出。公务卡消费须在账单日后20天内在费控"
        "系统报销，公司直接还款至银行。",
    ),
    A(
        "fin-exchange",
        "finance",
        "境外出差外币报销",
        "外币发票的汇率折算和报销。",
        ("报销", "外币", "差旅"),
        "境外出差的外币支出按消费当月1日中国人民银行公布的中间价折算为人民币。境外票据请附中文"
        "说明，信用卡消费附账单。",
    ),
    A(
        "fin-contract-review",
        "finance",
        "合同财务审核要点",
        "付款条款、发票条款和税率的审核。",
        ("合同", "审核"),
        "财务审核合同时重点关注：付款节点与验收是否匹配、发票类型和税率、违约金条款、币种。"
        "合同金额超过100万元的须财务总监会签。",
    ),
    A(
        "fin-petty-cash",
        "finance",
        "备用金管理办法",
        "部门备用金的额度、保管和报账。",
        ("备用金",),
        "各部门可申请不超过5000元的备用金，由指定专人保管，每月底报账补足。",
    ),
    A(
        "fin-audit",
        "finance",
        "年度审计配合须知",
        "外部审计期间需要准备的资料。",
        ("审计",),
        "每年2月至3月会计师事务所进行年度审计。各部门须配合提供合同、验收单和盘点记录，"
        "并在5个工作日内回复审计询证。",
    ),
    # --- IT 服务台 -------------------------------------------------------------------------------
    A(
        "it-vpn-setup",
        "it",
        "VPN 客户端安装与连接",
        "在 Windows 和 macOS 上安装 VPN 客户端并连接公司内网。",
        ("VPN", "远程办公"),
        "1. 从软件中心下载 GlobalProtect 客户端。\n2. 门户地址填写 vpn.hengtong.cn。\n3. 使用域账号"
        "和密码登录，首次登录需绑定手机令牌。\n\n连接成功后即可访问 OA、费控和 SAP 等内部系统。",
    ),
    A(
        "it-vpn-troubleshoot",
        "it",
        "VPN 连接失败排查",
        "VPN 提示认证失败、超时或频繁断开时怎么办。",
        ("VPN", "故障"),
        "认证失败：检查域账号密码是否过期，令牌时间是否同步。连接超时：切换网络或关闭代理软件。"
        "频繁断开：升级客户端到最新版本。仍无法解决请拨打服务台电话 8000。",
    ),
    A(
        "it-password-reset",
        "it",
        "域账号密码重置",
        "忘记密码或密码过期时自助重置。",
        ("密码", "账号"),
        "访问自助服务门户 password.hengtong.cn，输入工号并通过手机验证码验证后即可重置密码。"
        "新密码至少12位，须包含大小写字母、数字和符号，不能与最近5次相同。密码每90天过期。",
    ),
    A(
        "it-account-locked",
        "it",
        "账号被锁定怎么办",
        "连续输错密码导致账号锁定的解锁方法。",
        ("密码", "账号", "锁定"),
        "连续输错密码5次账号将锁定30分钟，到时自动解锁。急需使用可在自助门户验证身份后立即解锁。"
        "手机上旧密码自动重试也会导致锁定，请同时更新手机邮箱中的密码。",
    ),
    A(
        "it-mfa",
        "it",
        "多因素认证（MFA）绑定",
        "手机令牌的绑定、更换手机和丢失处理。",
        ("MFA", "账号", "安全"),
        "登录公司系统需要多因素认证。请在手机安装 Microsoft Authenticator "
        "并扫描门户上的二维码绑定。"
        "更换手机前请先在门户解绑；手机丢失请联系服务台重置。",
    ),
    A(
        "it-email-outlook",
        "it",
        "Outlook 邮箱配置",
        "在电脑和手机上配置企业邮箱。",
        ("邮箱", "Outlook"),
        "电脑：打开 Outlook，输入企业邮箱地址，自动发现配置后输入域密码。手机：安装 Outlook App，"
        "添加 Exchange 账户。邮箱容量为50GB，单个附件不超过25MB。",
    ),
    A(
        "it-email-signature",
        "it",
        "邮件签名统一格式",
        "企业邮件签名的模板和设置方法。",
        ("邮箱", "签名"),
        "邮件签名包括姓名、职位、部门、手机和公司地址，字体为微软雅黑10号。在 Outlook 的 文件 >"
        " 选项 > 邮件 > 签名 中设置。",
    ),
    A(
        "it-shared-mailbox",
        "it",
        "共享邮箱和邮件组申请",
        "部门共享邮箱、邮件组的申请与管理。",
        ("邮箱", "邮件组"),
        "部门可申请共享邮箱（如 hr@hengtong.cn）和邮件组。在 IT 服务门户提交申请，说明用途和成员，"
        "由部门负责人审批。",
    ),
    A(
        "it-printer",
        "it",
        "打印机添加与扫描设置",
        "连接办公区打印机，设置扫描到邮箱。",
        ("打印机", "扫描"),
        "在 Windows 设置 > 打印机和扫描仪 中添加 \\\\print01 上的打印机，按楼层选择。扫描：在打印机"
        "面板选择“扫描到邮箱”，刷工牌后文件发送到本人邮箱。彩色打印须部门审批。",
    ),
    A(
        "it-printer-jam",
        "it",
        "打印机卡纸和无法打印",
        "打印任务卡住、卡纸或显示脱机时的处理。",
        ("打印机", "故障"),
        "卡纸：按面板提示打开前盖取出纸张。打印任务卡住：在电脑的打印队列中取消任务后重试。"
        "显示脱机：检查网络或重新添加打印机。",
    ),
    A(
        "it-wifi",
        "it",
        "办公区 Wi-Fi 连接说明",
        "员工网络和访客网络的连接方式。",
        ("Wi-Fi", "网络"),
        "员工连接 HT-Staff，使用域账号认证；访客连接 HT-Guest，密码每周一更新并张贴在前台。"
        "个人设备请勿接入 HT-Staff。",
    ),
    A(
        "it-laptop-request",
        "it",
        "笔记本电脑领用与更换",
        "新员工电脑领用、到期更换和配置标准。",
        ("电脑", "资产"),
        "新员工入职当天在 IT 服务台领取笔记本电脑。标准配置：14英寸、16GB 内存、512GB 固态硬盘。"
        "电脑使用满4年可申请更换，研发岗位可申请高配。",
    ),
    A(
        "it-software-install",
        "it",
        "软件安装申请",
        "从软件中心安装，或申请正版软件许可证。",
        ("软件", "安装"),
        "常用软件请在软件中心自助安装。需要付费软件（如 Adobe、AutoCAD）的，在 IT 服务门户提交"
        "软件申请，经部门负责人审批后由 IT 分配许可证。禁止安装盗版软件。",
    ),
    A(
        "it-oa-login",
        "it",
        "OA 系统登录问题",
        "OA 无法登录、页面空白和浏览器要求。",
        ("OA", "登录"),
        "OA 使用域账号登录，推荐 Chrome 或 Edge 浏览器。页面空白请清除浏览器缓存；提示“会话过期”"
        "请重新登录。外网访问 OA 须先连接 VPN。",
    ),
    A(
        "it-sap-login",
        "it",
        "SAP GUI 安装与登录",
        "安装 SAP GUI 客户端并配置登录条目。",
        ("SAP", "登录"),
        "在软件中心安装 SAP GUI 8.0，添加系统条目 PRD（生产）和 QAS（测试）。SAP 账号与域账号不同，"
        "初始密码由 IT 发送至邮箱，首次登录须修改。",
    ),
    A(
        "it-sap-permission",
        "it",
        "SAP 权限申请",
        "申请 SAP 事务码和角色权限。",
        ("SAP", "权限"),
        "在 IT 服务门户选择“SAP 权限申请”，填写所需角色或事务码及理由，经上级和模块负责人审批后"
        "开通。离岗或转岗时权限自动回收。",
    ),
    A(
        "it-meeting-room-av",
        "it",
        "会议室投屏和视频会议",
        "会议室电视投屏、腾讯会议和 Teams 的使用。",
        ("会议", "投屏"),
        "会议室电视支持无线投屏：电脑安装投屏助手后输入屏幕上的投屏码。视频会议可使用腾讯会议或"
        " Teams，会议室终端已登录公司账号。",
    ),
    A(
        "it-security-phishing",
        "it",
        "识别钓鱼邮件",
        "钓鱼邮件的常见特征和举报方式。",
        ("安全", "邮箱"),
        "钓鱼邮件常冒充领导或财务，催促转账或要求输入密码。遇到可疑邮件请勿点击链接，使用 Outlook"
        " 的“报告钓鱼”按钮举报。信息安全部每季度进行钓鱼演练。",
    ),
    A(
        "it-data-backup",
        "it",
        "文件备份与 OneDrive 使用",
        "个人文件同步到 OneDrive 和恢复误删文件。",
        ("备份", "OneDrive"),
        "公司为每位员工提供1TB OneDrive 空间，桌面和文档文件夹默认同步。误删文件可在回收站恢复，"
        "93天内有效。禁止将公司文件同步到个人网盘。",
    ),
    A(
        "it-usb-policy",
        "it",
        "U 盘和移动存储使用规定",
        "移动存储的使用审批和加密要求。",
        ("安全", "U盘"),
        "公司电脑默认禁用 U 盘写入。因工作需要的，须在 IT 服务门户申请并使用公司配发的加密 U 盘。",
    ),
    A(
        "it-antivirus",
        "it",
        "防病毒软件与系统补丁",
        "终端安全软件和 Windows 更新要求。",
        ("安全", "补丁"),
        "所有电脑须安装公司终端安全软件，不得卸载。Windows 补丁每月第二个周三推送，请在3天内重启"
        "完成安装。",
    ),
    A(
        "it-service-desk",
        "it",
        "IT 服务台联系方式与服务时间",
        "电话、门户和现场支持的时间。",
        ("服务台",),
        "服务台电话 8000（工作日8:30-18:00），紧急故障24小时热线 8999。也可在 IT 服务门户提交工单，"
        "现场支持位于2楼 IT 服务台。",
    ),
    A(
        "it-phone",
        "it",
        "企业微信安装与登录",
        "企业微信的安装、绑定和常见问题。",
        ("企业微信",),
        "在手机应用商店下载企业微信，使用公司登记的手机号登录。收不到验证码请联系 HR 核对手机号。"
        "离职后账号自动停用。",
    ),
    A(
        "it-git",
        "it",
        "GitLab 账号与代码仓库申请",
        "研发人员申请 GitLab 账号和仓库权限。",
        ("GitLab", "研发"),
        "研发人员使用域账号登录 gitlab.hengtong.cn。新建仓库或申请仓库权限，请联系项目负责人在"
        " GitLab 中添加成员。",
    ),
    A(
        "it-iso27001",
        "it",
        "ISO 27001 信息安全管理体系",
        "公司的信息安全认证和员工职责。",
        ("安全", "ISO 27001", "合规"),
        "公司于2023年通过 ISO 27001 认证。员工须完成年度信息安全培训，遵守数据分级和访问控制要求，"
        "发现安全事件立即报告信息安全部。",
    ),
    A(
        "it-data-classification",
        "it",
        "数据分级与保密要求",
        "公开、内部、机密、绝密四级数据的处理。",
        ("安全", "保密"),
        "公司数据分为公开、内部、机密、绝密四级。机密以上数据不得通过个人邮箱或即时通讯工具发送，"
        "外发须加密并经部门负责人批准。",
    ),
    # --- 行政 -------------------------------------------------------------------------------------
    A(
        "adm-meeting-room",
        "admin",
        "会议室预订规则",
        "在企业微信预订会议室，取消和超时规则。",
        ("会议室", "预订"),
        "会议室在企业微信“会议室”应用中预订，最长可预订4小时。会议开始15分钟未签到自动释放。"
        "大会议室（20人以上）须提前一天预订。",
    ),
    A(
        "adm-visitor",
        "admin",
        "访客登记与接待",
        "访客预约、登记和陪同规定。",
        ("访客", "前台"),
        "接待访客请提前在企业微信提交访客预约，访客凭短信到前台换取访客证。访客须由员工全程陪同，"
        "不得进入机房和财务室。",
    ),
    A(
        "adm-parking",
        "admin",
        "停车位申请与停车费",
        "员工车位申请和访客停车。",
        ("停车",),
        "员工车位按司龄和岗位分配，可在行政门户申请排队。访客停车请提前登记车牌，免费2小时。",
    ),
    A(
        "adm-canteen",
        "admin",
        "员工食堂就餐指南",
        "就餐时间、餐补和充值。",
        ("食堂", "餐补"),
        "食堂位于B1层，午餐时间11:30-13:30。公司每月发放餐补600元到工牌，可在食堂和便利店消费，"
        "不可提现。",
    ),
    A(
        "adm-office-supplies",
        "admin",
        "办公用品领用",
        "文具、耗材的领用和采购申请。",
        ("办公用品", "采购"),
        "常用文具在各楼层行政柜自取。打印纸、硒鼓等耗材在行政门户申请领用。特殊办公用品须在 OA "
        "提交采购申请。",
    ),
    A(
        "adm-express",
        "admin",
        "快递收发规定",
        "公司快递寄件和个人快递代收。",
        ("快递",),
        "公务寄件在前台登记，使用公司月结账户。个人快递可寄到公司前台代收，请在3天内取走。",
    ),
    A(
        "adm-business-card",
        "admin",
        "名片印制申请",
        "名片的格式和申请流程。",
        ("名片",),
        "在行政门户提交名片申请，填写中英文姓名、职位和手机号。名片每盒100张，5个工作日内送达。",
    ),
    A(
        "adm-fire-safety",
        "admin",
        "消防安全与疏散演练",
        "灭火器位置、疏散路线和演练时间。",
        ("安全", "消防"),
        "每层楼梯口配有灭火器和消防栓。火警时请勿乘电梯，按疏散指示从最近的安全出口撤离到楼前空地"
        "集合。每年5月和11月组织消防演练。",
    ),
    A(
        "adm-dormitory",
        "admin",
        "员工宿舍申请",
        "外地新员工的过渡宿舍。",
        ("宿舍", "住宿"),
        "外地新入职员工可申请过渡宿舍，最长3个月，每月收取管理费300元。在行政门户提交住宿申请。",
    ),
    A(
        "adm-shuttle-bus",
        "admin",
        "班车路线与时刻表",
        "上下班班车的线路和发车时间。",
        ("班车", "交通"),
        "公司开通4条班车线路，早上7:30从各站点发车，晚上18:10从公司发车。乘车请刷工牌。",
    ),
    A(
        "adm-seal",
        "admin",
        "公章使用与用印申请",
        "公章、合同章的用印审批。",
        ("公章", "用印"),
        "使用公章、合同章须在 OA 提交用印申请，附待盖章文件，按审批流经部门负责人和法务审核后，"
        "到行政部用印。公章原则上不外借。",
    ),
    A(
        "adm-travel-booking",
        "admin",
        "差旅预订平台使用",
        "通过商旅平台预订机票和酒店。",
        ("差旅", "预订"),
        "出差审批通过后，在商旅平台预订机票、火车票和酒店，费用由公司统一结算，无需个人垫付和报销。"
        "超标预订须说明原因。",
    ),
    A(
        "adm-office-move",
        "admin",
        "工位调整与搬迁",
        "工位变更和部门搬迁的申请。",
        ("工位",),
        "工位调整须部门负责人在行政门户提交申请，行政部统一安排搬迁时间，IT 协助迁移电话和网络。",
    ),
    # --- 销售 -------------------------------------------------------------------------------------
    A(
        "sales-crm-opportunity",
        "sales",
        "CRM 商机录入规范",
        "商机阶段、金额和预计成交日期的填写。",
        ("CRM", "商机"),
        "新商机须在24小时内录入 CRM，填写客户、产品、金额和预计成交日期。商机阶段分为线索、需求"
        "确认、方案报价、商务谈判、赢单和输单。每周一更新商机阶段。",
    ),
    A(
        "sales-quotation",
        "sales",
        "报价单审批流程",
        "标准报价、折扣申请和报价有效期。",
        ("报价", "折扣"),
        "销售在 CRM 生成报价单。折扣在9折以内由销售经理审批，9折至8折由大区总监审批，低于8折须"
        "销售副总裁审批。报价有效期30天。",
    ),
    A(
        "sales-contract",
        "sales",
        "销售合同签订流程",
        "合同模板、审批和归档。",
        ("合同", "销售"),
        "使用法务部发布的标准合同模板。非标准条款须法务审核。合同审批通过后双方盖章，原件交商务部"
        "归档，扫描件上传 CRM。",
    ),
    A(
        "sales-commission",
        "sales",
        "销售提成计算办法",
        "提成比例、回款条件和发放时间。",
        ("提成", "薪酬"),
        "销售提成按回款金额计算：新客户4%，老客户2%。回款到账后次月随工资发放。出现坏账的，已发"
        "提成在后续月份扣回。",
    ),
    A(
        "sales-customer-visit",
        "sales",
        "客户拜访记录要求",
        "拜访前准备、拜访记录和跟进。",
        ("客户", "拜访"),
        "拜访客户后24小时内在 CRM 填写拜访记录，包括拜访对象、沟通内容和下一步计划。重要客户拜访"
        "须提前与销售经理沟通。",
    ),
    A(
        "sales-credit",
        "sales",
        "客户信用额度申请",
        "新客户信用评估和赊销额度。",
        ("信用", "客户"),
        "赊销客户须申请信用额度，提交营业执照、近一年财务报表。财务部评估后确定额度和账期，"
        "一般不超过60天。",
    ),
    A(
        "sales-collection",
        "sales",
        "应收账款催收指引",
        "逾期账款的催收步骤。",
        ("回款", "应收"),
        "账款逾期7天电话提醒，逾期30天发送催款函，逾期90天由法务发送律师函。每月5日前销售须确认"
        "名下客户的对账单。",
    ),
    A(
        "sales-product-pricing",
        "sales",
        "2024年产品价格表",
        "各产品线的标准价和渠道价。",
        ("价格", "产品"),
        "2024年价格表包括智能仓储系统、物流管理软件和年度维保服务三条产品线的标准价和渠道价，"
        "自2024年1月1日起执行。",
    ),
    A(
        "sales-channel",
        "sales",
        "渠道合作伙伴管理",
        "代理商的准入、分级和返利。",
        ("渠道", "代理商"),
        "渠道伙伴分为金牌、银牌和注册三级，按年度销售额评定。返利每季度结算一次，以发票冲抵货款。",
    ),
    A(
        "sales-bid",
        "sales",
        "投标工作流程",
        "招标信息登记、标书编制和投标保证金。",
        ("投标", "标书"),
        "获取招标信息后在 CRM 登记。标书由售前牵头编制，商务部负责资质文件，投标保证金通过付款"
        "申请办理。中标后3天内通知法务准备合同。",
    ),
    A(
        "sales-demo-env",
        "sales",
        "客户演示环境申请",
        "申请产品演示账号和环境。",
        ("演示", "售前"),
        "在售前门户申请演示环境，填写客户名称和演示时间，环境保留14天。请勿在演示环境录入客户真实"
        "数据。",
    ),
    A(
        "sales-kpi",
        "sales",
        "销售团队 KPI 考核",
        "季度销售目标、回款和新客户指标。",
        ("KPI", "考核", "销售"),
        "销售 KPI 包括合同额（50%）、回款额（30%）和新客户数（20%）。每季度考核一次，完成率低于"
        "60%的进入改进计划。",
    ),
    # --- 常见问题 (FAQ): short answers that share words with the policies above -------------------
    A(
        "faq-leave-balance",
        "hr",
        "如何查询剩余年假天数",
        "在 HR 系统查看假期余额。",
        ("休假", "FAQ"),
        "登录 HR 系统，进入“我的假期”即可查看本年度剩余年假、调休和病假天数。余额每天凌晨更新。",
    ),
    A(
        "faq-leave-cancel",
        "hr",
        "已批准的休假可以撤销吗",
        "撤销或修改已审批的休假单。",
        ("休假", "FAQ"),
        "休假开始前可在 OA 撤销休假单，撤销后假期天数自动退回。休假已开始的，请联系 HR 手工调整。",
    ),
    A(
        "faq-payslip",
        "hr",
        "工资条在哪里看",
        "电子工资条的查看方式和密码。",
        ("薪酬", "FAQ"),
        "每月10日后在 HR 系统“薪资”栏目查看电子工资条，打开时需要输入查询密码，默认为身份证后6位。",
    ),
    A(
        "faq-housing-fund-withdraw",
        "hr",
        "公积金提取怎么办理",
        "购房、租房提取公积金的材料。",
        ("公积金", "FAQ"),
        "租房提取可在公积金 App 线上办理，每年一次；购房提取需购房合同和发票，"
        "到公积金中心柜台办理。",
    ),
    A(
        "faq-expense-deadline",
        "finance",
        "报销单提交有时间限制吗",
        "费用发生后的报销时限。",
        ("报销", "FAQ"),
        "费用须在发生后90天内报销，差旅费在出差结束后15天内报销。跨年度的票据须在次年1月15日前提交。",
    ),
    A(
        "faq-expense-rejected",
        "finance",
        "报销单被退回怎么处理",
        "报销单退回的常见原因和修改方法。",
        ("报销", "FAQ"),
        "常见退回原因：发票抬头错误、缺少行程单、超标准未说明。按退回意见修改后在费控系统重新提交，"
        "无需重新走前面已通过的审批。",
    ),
    A(
        "faq-invoice-title",
        "finance",
        "发票抬头和税号是什么",
        "开票信息的标准写法。",
        ("发票", "FAQ"),
        "抬头：上海恒通贸易有限公司；税号：91310000MA1K2X3Y4Z；地址电话和开户行在财务门户首页可查。",
    ),
    A(
        "faq-taxi",
        "finance",
        "打车费用可以报销吗",
        "市内交通费的报销范围。",
        ("报销", "交通", "FAQ"),
        "因公外出的打车费可以报销，须在企业滴滴下单或附行程单。晚上21点后加班打车回家可报销，上下班"
        "通勤打车不予报销。",
    ),
    A(
        "faq-vpn-slow",
        "it",
        "VPN 连上了但是很慢",
        "VPN 速度慢的原因和优化方法。",
        ("VPN", "FAQ"),
        "VPN 只有访问内部系统的流量走公司线路。速度慢时请关闭大流量下载，尝试切换到离你最近的网关"
        "节点，或使用有线网络。",
    ),
    A(
        "faq-password-expire",
        "it",
        "密码快过期了怎么修改",
        "密码到期提醒和修改方法。",
        ("密码", "FAQ"),
        "密码到期前14天会收到邮件提醒。在公司电脑上按 Ctrl+Alt+Del 选择“更改密码”，或在自助门户"
        "修改。修改后请同步更新手机上的邮箱和 Wi-Fi 密码。",
    ),
    A(
        "faq-new-computer-software",
        "it",
        "新电脑需要装哪些软件",
        "新电脑的标准软件清单。",
        ("软件", "电脑", "FAQ"),
        "新电脑已预装 Office、Outlook、企业微信、终端安全软件和 VPN 客户端。其他软件请在软件中心"
        "安装。",
    ),
    A(
        "faq-printer-color",
        "it",
        "怎么开通彩色打印",
        "彩色打印权限的申请。",
        ("打印机", "FAQ"),
        "彩色打印默认关闭。在 IT 服务门户提交彩色打印权限申请，经部门负责人批准后开通，按部门"
        "统计用量。",
    ),
    A(
        "faq-meeting-room-cancel",
        "admin",
        "会议室订了不用要取消吗",
        "取消会议室预订和爽约规则。",
        ("会议室", "FAQ"),
        "不用时请及时在企业微信取消预订。一个月内爽约3次的，将暂停预订权限两周。",
    ),
    A(
        "faq-meal-allowance",
        "admin",
        "餐补余额可以累积吗",
        "餐补的有效期和余额。",
        ("餐补", "FAQ"),
        "每月餐补在当月底清零，不可累积到下月。离职当月的餐补按出勤天数发放。",
    ),
    A(
        "faq-crm-mobile",
        "sales",
        "手机上能用 CRM 吗",
        "CRM 移动端的安装和登录。",
        ("CRM", "FAQ"),
        "可以。在企业微信工作台打开 CRM 应用，支持查看客户、录入拜访记录和审批报价单。",
    ),
    A(
        "faq-discount-approval",
        "sales",
        "折扣审批要多久",
        "报价折扣审批的时效。",
        ("折扣", "报价", "FAQ"),
        "销售经理审批一般在4小时内完成，大区总监1个工作日，副总裁2个工作日。紧急报价请在申请中注明。",
    ),
    A(
        "hr-exit-interview",
        "hr",
        "离职面谈记录表",
        "离职面谈的问题清单。",
        ("离职",),
        "HR 在员工最后工作日前进行离职面谈，了解离职原因、对公司的建议，记录存入员工档案。",
    ),
    A(
        "hr-internship",
        "hr",
        "实习生管理办法",
        "实习生的招聘、补贴和考勤。",
        ("实习生", "招聘"),
        "实习生每周出勤不少于3天，实习补贴按天计算，本科每天150元，硕士每天200元。实习结束可开具"
        "实习证明。",
    ),
    A(
        "hr-team-building",
        "hr",
        "团建活动组织指引",
        "团建预算、活动形式和安全要求。",
        ("团建", "福利"),
        "团建费用按人均200元每季度预算，可用于聚餐、户外拓展和文体活动。外出活动须购买意外险，"
        "不得安排高风险项目。",
    ),
    A(
        "fin-purchase",
        "finance",
        "采购申请与比价规定",
        "采购金额分级和三家比价要求。",
        ("采购", "供应商"),
        "单次采购金额超过1万元的须三家比价，超过10万元的须招标。采购申请在 OA 提交，附比价单。",
    ),
    A(
        "fin-vat-rate",
        "finance",
        "常用增值税税率一览",
        "货物、服务、不动产的增值税税率。",
        ("税务", "发票"),
        "销售货物税率13%，交通运输和建筑服务9%，现代服务6%，小规模纳税人征收率3%（阶段性减按1%）。",
    ),
    A(
        "it-wechat-work-approval",
        "it",
        "企业微信审批与 OA 的关系",
        "哪些审批在企业微信，哪些在 OA。",
        ("企业微信", "OA", "审批"),
        "请假、加班、出差等审批已从企业微信迁移到 OA，企业微信只保留会议室预订和访客预约。OA 的待办"
        "会推送到企业微信消息。",
    ),
    A(
        "it-teams",
        "it",
        "Microsoft Teams 使用入门",
        "Teams 团队、频道和会议。",
        ("Teams", "会议"),
        "Teams 用于跨部门项目协作：创建团队、在频道中讨论和共享文件，会议可录制并自动生成字幕。",
    ),
    A(
        "it-remote-desktop",
        "it",
        "远程桌面连接办公电脑",
        "在家通过远程桌面访问公司电脑。",
        ("远程办公", "远程桌面"),
        "先连接 VPN，再打开“远程桌面连接”，输入公司电脑的计算机名（贴在电脑背面的资产标签上）。"
        "公司电脑须保持开机且未休眠。",
    ),
    A(
        "it-file-share",
        "it",
        "部门共享盘访问",
        "映射部门共享文件夹和权限申请。",
        ("共享盘", "权限"),
        "部门共享盘地址为 \\\\files01\\部门名称。在文件资源管理器中映射网络驱动器即可访问。"
        "跨部门访问须对方部门负责人审批。",
    ),
    A(
        "adm-lost-found",
        "admin",
        "失物招领",
        "遗失物品的登记和认领。",
        ("前台",),
        "在公司拾到物品请交到前台登记。遗失物品可到前台认领，保管期为30天。",
    ),
    A(
        "adm-cleaning",
        "admin",
        "办公区保洁与垃圾分类",
        "保洁时间和垃圾分类要求。",
        ("保洁",),
        "保洁每天早上8点前完成，工位垃圾请分类投放到茶水间的分类垃圾桶。",
    ),
    A(
        "sales-travel-tips",
        "sales",
        "销售出差注意事项",
        "销售人员出差的预订和报销提示。",
        ("差旅", "销售"),
        "销售出差请在商旅平台预订，客户招待须事前申请。出差结束后及时提交报销，并在 CRM 更新拜访"
        "记录。",
    ),
    A(
        "sales-lost-deal",
        "sales",
        "输单原因分析",
        "输单复盘和原因记录。",
        ("商机", "复盘"),
        "商机输单时须在 CRM 选择输单原因（价格、功能、关系、时机），"
        "金额超过50万元的输单须组织复盘。",
    ),
    A(
        "sales-onboarding",
        "sales",
        "销售新人入门指南",
        "销售新员工第一个月要做的事。",
        ("新员工", "销售"),
        "第一周完成产品培训和 CRM 培训，第二周跟随资深销售拜访客户，第一个月末完成产品演示考核。",
    ),
    # --- English --------------------------------------------------------------------------------
    A(
        "en-expense-policy",
        "finance",
        "Expense Reimbursement Policy",
        "What can be claimed, the limits and how to submit an expense report.",
        ("expenses",),
        "Employees are reimbursed for reasonable business expenses. Submit an expense report "
        "in the expense system within 90 days with the electronic invoice attached. Claims "
        "above 5,000 CNY need the approval of the finance manager.",
        "en",
    ),
    A(
        "en-travel-policy",
        "finance",
        "Business Travel Policy",
        "Flights, trains, hotels and the daily allowance on business trips.",
        ("travel",),
        "Book economy class flights and second class high-speed trains through the travel "
        "platform. Hotel limits are 500 CNY per night in tier-one cities and 350 CNY "
        "elsewhere. The daily allowance is 100 CNY.",
        "en",
    ),
    A(
        "en-vpn-guide",
        "it",
        "Connecting to the VPN from Home",
        "Install the VPN client and sign in with your domain account.",
        ("VPN", "remote work"),
        "Download the GlobalProtect client from the software centre, enter the portal address "
        "vpn.hengtong.cn and sign in with your domain account. Approve the sign-in on your "
        "authenticator app.",
        "en",
    ),
    A(
        "en-password-reset",
        "it",
        "How to Reset Your Password",
        "Self-service password reset for the domain account.",
        ("password", "account"),
        "Go to the self-service portal, enter your employee number and verify with a text message "
        "code. Passwords must be at least 12 characters and expire every 90 days.",
        "en",
    ),
    A(
        "en-laptop",
        "it",
        "Laptop Request and Replacement",
        "Getting a laptop on your first day and replacing an old one.",
        ("laptop", "hardware"),
        "New employees collect their laptop at the IT service desk. Laptops older than four years "
        "can be replaced. Report a broken laptop through the IT service portal.",
        "en",
    ),
    A(
        "en-printer",
        "it",
        "Printing and Scanning in the Office",
        "Add a printer and scan documents to your email.",
        ("printer",),
        "Add the printer for your floor from the print server. To scan, choose Scan to Email "
        "on the printer panel and tap your badge. Colour printing needs approval.",
        "en",
    ),
    A(
        "en-wifi",
        "it",
        "Wi-Fi for Employees and Guests",
        "Which wireless network to use and how to sign in.",
        ("Wi-Fi", "network"),
        "Employees use HT-Staff with their domain account. Guests use HT-Guest; the password "
        "changes every Monday and is posted at reception.",
        "en",
    ),
    A(
        "en-annual-leave",
        "hr",
        "Annual Leave Policy",
        "How many days of paid annual leave you get and how to request them.",
        ("leave",),
        "Employees with one to ten years of service get five days of paid annual leave a year, "
        "ten to twenty years ten days, and more than twenty years fifteen days. Request leave "
        "in the OA system at least three working days ahead.",
        "en",
    ),
    A(
        "en-sick-leave",
        "hr",
        "Sick Leave and Medical Certificates",
        "When a medical certificate is needed and how sick pay works.",
        ("leave", "sick"),
        "A medical certificate from a hospital is required. Sick pay is 80% of base salary.",
        "en",
    ),
    A(
        "en-onboarding",
        "hr",
        "New Hire Onboarding Checklist",
        "Documents to bring and tasks for your first week.",
        ("onboarding",),
        "Bring your ID card, degree certificates, the certificate from your last employer and your "
        "bank card. HR sets up your contract, badge, email and laptop on the first day.",
        "en",
    ),
    A(
        "en-benefits",
        "hr",
        "Employee Benefits Overview",
        "Social insurance, housing fund, health insurance and other benefits.",
        ("benefits",),
        "The company pays social insurance and the housing provident fund, provides supplementary "
        "health insurance, a monthly meal allowance of 600 CNY, birthday gifts and team-building "
        "budgets.",
        "en",
    ),
    A(
        "en-performance-review",
        "hr",
        "Performance Review Process",
        "Ratings, the calibration meeting and what the results affect.",
        ("performance",),
        "Reviews happen twice a year with five ratings from S to D: self-review, manager review, "
        "calibration and HR check. Results drive the bonus, salary increases and promotions.",
        "en",
    ),
    A(
        "en-code-of-conduct",
        "hr",
        "Code of Conduct: Gifts and Conflicts of Interest",
        "Rules on gifts, hospitality and declaring conflicts of interest.",
        ("compliance",),
        "Do not accept gifts or hospitality worth more than 200 CNY from suppliers. Declare any "
        "conflict of interest to compliance in writing within three working days.",
        "en",
    ),
    A(
        "en-remote-work",
        "hr",
        "Working from Home Guidelines",
        "When you may work from home and what is expected.",
        ("remote work",),
        "Working from home needs your manager's approval a day ahead. Stay online on WeCom, "
        "use the VPN for internal systems and send a daily report.",
        "en",
    ),
    A(
        "en-crm-guide",
        "sales",
        "CRM Opportunity Management Guide",
        "Recording opportunities and keeping stages up to date.",
        ("CRM", "sales"),
        "Create an opportunity in the CRM within 24 hours with the customer, product, amount and "
        "expected close date. Update the stage every Monday.",
        "en",
    ),
    A(
        "en-discount",
        "sales",
        "Discount Approval Matrix",
        "Who approves which discount on a quotation.",
        ("pricing", "quotation"),
        "Discounts up to 10% are approved by the sales manager, 10% to 20% by the regional "
        "director, and more than 20% by the vice president of sales.",
        "en",
    ),
    A(
        "en-commission",
        "sales",
        "Sales Commission Plan",
        "Commission rates and when commissions are paid.",
        ("commission",),
        "Commission is paid on collected revenue: 4% for new customers and 2% for existing ones, "
        "with the salary of the month after payment is received.",
        "en",
    ),
    A(
        "en-phishing",
        "it",
        "Spotting Phishing Emails",
        "Warning signs of phishing and how to report it.",
        ("security", "email"),
        "Phishing emails often pretend to come from executives or finance and push you to transfer "
        "money or enter your password. Use the Report Phishing button in Outlook.",
        "en",
    ),
    A(
        "en-sap-access",
        "it",
        "Requesting SAP Access",
        "How to ask for SAP roles and transaction codes.",
        ("SAP",),
        "Open the IT service portal, choose SAP access request, name the role or transaction code "
        "and the reason. Your manager and the module owner approve it.",
        "en",
    ),
    A(
        "en-meeting-rooms",
        "admin",
        "Booking Meeting Rooms",
        "Reserving rooms in WeCom and the no-show rule.",
        ("meeting room",),
        "Book rooms in the WeCom meeting room app for up to four hours. A booking is released if "
        "nobody checks in within 15 minutes.",
        "en",
    ),
    A(
        "en-visitors",
        "admin",
        "Visitor Registration",
        "Registering and escorting visitors.",
        ("visitors",),
        "Register visitors in WeCom in advance. Visitors collect a pass at reception and must be "
        "escorted at all times.",
        "en",
    ),
    A(
        "en-fire-safety",
        "admin",
        "Fire Safety and Evacuation",
        "Fire extinguishers, evacuation routes and drills.",
        ("safety",),
        "Do not use the lifts in a fire. Leave by the nearest emergency exit and gather in "
        "front of the building. Drills take place in May and November.",
        "en",
    ),
    A(
        "en-data-classification",
        "it",
        "Data Classification and Handling",
        "Public, internal, confidential and secret data.",
        ("security",),
        "Confidential and secret data must not be sent through personal email or chat apps; "
        "sending it outside the company requires encryption and approval.",
        "en",
    ),
    A(
        "en-iso27001",
        "it",
        "ISO 27001 Information Security",
        "Our certification and what every employee must do.",
        ("security", "ISO 27001"),
        "The company has been ISO 27001 certified since 2023. Complete the annual security "
        "training and report incidents to the information security team at once.",
        "en",
    ),
    A(
        "en-invoice-faq",
        "finance",
        "Invoice FAQ for Suppliers",
        "Company name, tax number and invoice requirements.",
        ("invoice",),
        "Invoices must show Shanghai Hengtong Trading Co., Ltd. and the tax number "
        "91310000MA1K2X3Y4Z. We accept electronic VAT invoices in PDF or OFD format.",
        "en",
    ),
    A(
        "en-holidays-2025",
        "hr",
        "Public Holidays 2025",
        "Public holidays and make-up working days in 2025.",
        ("holidays",),
        "In 2025 the Spring Festival holiday lasts eight days, Labour Day five days, and the "
        "National Day and Mid-Autumn holidays eight days together.",
        "en",
    ),
]

Q = EvalQuery

QUERIES: list[EvalQuery] = [
    # a word that occurs only inside longer words
    Q("年假", ("hr-annual-leave", "faq-leave-balance"), "inside"),
    Q("差旅", ("fin-travel-expense", "adm-travel-booking"), "inside"),
    Q("产假", ("hr-marriage-leave",), "inside"),
    Q("调休", ("hr-overtime",), "inside"),
    Q("打卡", ("hr-attendance",), "inside"),
    Q("转正", ("hr-probation",), "inside"),
    Q("公积金", ("hr-social-insurance", "faq-housing-fund-withdraw"), "inside"),
    Q("卡纸", ("it-printer-jam",), "inside"),
    Q("理赔", ("hr-commercial-insurance",), "inside"),
    Q("招待", ("fin-entertainment",), "inside"),
    Q("比价", ("fin-purchase",), "inside"),
    Q("用印", ("adm-seal",), "inside"),
    Q("班车", ("adm-shuttle-bus",), "inside"),
    Q("提成", ("sales-commission",), "inside"),
    Q("餐补", ("faq-meal-allowance", "adm-canteen"), "inside"),
    Q("备用金", ("fin-petty-cash", "fin-loan"), "inside"),
    Q("医疗期", ("hr-sick-leave",), "inside"),
    Q("工资条", ("faq-payslip", "hr-salary"), "inside"),
    Q("钓鱼", ("it-security-phishing",), "inside"),
    Q("疏散", ("adm-fire-safety",), "inside"),
    Q("重置", ("it-password-reset",), "inside"),
    # Chinese and English mixed
    Q("VPN 连接", ("it-vpn-setup", "it-vpn-troubleshoot"), "mixed"),
    Q("VPN 很慢", ("faq-vpn-slow",), "mixed"),
    Q("SAP 权限", ("it-sap-permission",), "mixed"),
    Q("SAP 凭证", ("fin-sap-posting",), "mixed"),
    Q("Outlook 签名", ("it-email-signature",), "mixed"),
    Q("CRM 商机", ("sales-crm-opportunity",), "mixed"),
    Q("OA 登录", ("it-oa-login",), "mixed"),
    Q("Wi-Fi 访客", ("it-wifi",), "mixed"),
    Q("MFA 绑定", ("it-mfa",), "mixed"),
    Q("GitLab 仓库", ("it-git",), "mixed"),
    Q("企业微信审批", ("it-wechat-work-approval",), "mixed"),
    Q("ＶＰＮ安装", ("it-vpn-setup",), "mixed"),  # full width, no space
    # numbers and identifiers
    Q("FIN-007", ("fin-code-fin007",), "identifier"),
    Q("fin-012", ("fin-code-fin012",), "identifier"),
    Q("ISO 27001", ("it-iso27001", "en-iso27001"), "identifier"),
    Q("2025 节假日", ("hr-holiday-2025",), "identifier"),
    Q("2024 放假", ("hr-holiday-2024",), "identifier"),
    Q("FB50", ("fin-sap-posting",), "identifier"),
    Q(
        "91310000MA1K2X3Y4Z",
        ("fin-invoice-rules", "faq-invoice-title", "en-invoice-faq"),
        "identifier",
    ),
    Q("服务台 8000", ("it-service-desk",), "identifier"),
    Q("GlobalProtect", ("it-vpn-setup", "en-vpn-guide"), "identifier"),
    # exact titles
    Q("差旅报销制度", ("fin-travel-expense",), "title"),
    Q("域账号密码重置", ("it-password-reset",), "title"),
    Q("会议室预订规则", ("adm-meeting-room",), "title"),
    Q("报价单审批流程", ("sales-quotation",), "title"),
    Q("员工行为准则", ("hr-code-of-conduct",), "title"),
    Q("新员工入职手续清单", ("hr-onboarding",), "title"),
    Q("打印机卡纸和无法打印", ("it-printer-jam",), "title"),
    Q("Annual Leave Policy", ("en-annual-leave",), "title"),
    # English articles
    Q("reset password", ("en-password-reset",), "english"),
    Q("expense report", ("en-expense-policy",), "english"),
    Q("hotel allowance", ("en-travel-policy",), "english"),
    Q("phishing", ("en-phishing",), "english"),
    Q("commission", ("en-commission",), "english"),
    Q("laptop replacement", ("en-laptop",), "english"),
    Q("meeting room booking", ("en-meeting-rooms",), "english"),
    Q("sick leave", ("en-sick-leave",), "english"),
    Q("discount approval", ("en-discount",), "english"),
    Q("Visitor", ("en-visitors",), "english"),
    # prefixes: what is typed so far
    Q("VP", ("it-vpn-setup", "it-vpn-troubleshoot", "faq-vpn-slow", "en-vpn-guide"), "prefix"),
    Q("passw", ("en-password-reset",), "prefix"),
    Q("reimb", ("en-expense-policy",), "prefix"),
    Q("onboar", ("en-onboarding",), "prefix"),
    Q("Outl", ("it-email-outlook",), "prefix"),
    Q("差旅报", ("fin-travel-expense",), "prefix"),
    Q("带薪年", ("hr-annual-leave",), "prefix"),
    Q("会议室预", ("adm-meeting-room",), "prefix"),
    Q("GitL", ("it-git",), "prefix"),
    # questions: not every word is in the answer
    Q("怎么申请年假", ("hr-annual-leave",), "question"),
    Q("忘记密码怎么办", ("it-password-reset",), "question"),
    Q("发票抬头写什么", ("faq-invoice-title", "fin-invoice-rules"), "question"),
    Q("出差住宿标准", ("fin-travel-expense",), "question"),
    Q("how do I reset my password", ("en-password-reset",), "question"),
]
