"""Every word the pages show, in Chinese and English: the platform's here, each part's in its ``i18n.py``.

Templates never hold UI text: they call ``t("key")``. Each catalogue (:data:`MESSAGES` here,
``MESSAGES`` in the ``words`` module a part's manifest names) keeps both languages side by
side, so a test can prove they have the same keys and switching language never shows a raw
key. :func:`messages` is all of them together, merged on first use. Chinese is the default
(``settings.default_language``); the visitor's choice lives in the ``lang`` cookie.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from onecity.core import parts
from onecity.core.errors import DomainError, Key, Words
from onecity.core.identity.roles import Role
from onecity.web import audit_words

LANG_COOKIE = "lang"
LANGUAGES = ("zh", "en")
#: The value of ``<html lang>`` for each language.
HTML_LANG = {"zh": "zh-CN", "en": "en"}

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "app.name": "OneCity",
        "app.subtitle": "一网通办 · 一网统管",
        "app.tagline": "城市数字治理开放平台",
        "nav.home": "首页",
        "nav.users": "用户管理",
        "nav.audit": "审计日志",
        "nav.main": "主导航",
        "lang.switch": "语言",
        "lang.zh": "中文",
        "lang.en": "English",
        "a11y.large": "长辈版",
        "a11y.standard": "标准版",
        "a11y.large_hint": "切换为大字号、高对比度显示",
        "a11y.standard_hint": "切换回标准显示",
        "account.signed_in_as": "当前用户",
        "account.login": "登录",
        "account.logout": "退出登录",
        "footer.text": "OneCity — 城市数字治理开放平台（开源）。数据枢纽 · 政务服务 · 城市运行。",
        "footer.time_zone": "时间均为北京时间（Asia/Shanghai）",
        "skip.content": "跳到主要内容",
        # home
        "home.title": "上海市城市数字治理",
        "home.lead": "一座城市、两张网：政务服务“一网通办”，城市运行“一网统管”，共同建立在城市数据枢纽之上。",
        "home.map.title": "上海市十六个区",
        "home.map.caption": "悬停在某个区上，可查看其街道、镇、乡的数量。",
        "home.map.loading": "地图加载中……",
        "home.map.unavailable": "地图暂时无法显示，请查看下方的列表。",
        "home.map.townships": "街镇数量",
        "home.map.unit": "个",
        "home.map.aria": "上海市十六个区的行政区划地图",
        "basemap.label": "城市底图",
        "basemap.unavailable": "此浏览器无法显示地图（需要 WebGL），请查看页面上的列表。",
        "home.list.title": "各区街道、镇、乡数量",
        "home.list.district": "区",
        "home.list.townships": "街镇",
        "home.stats.districts": "个区",
        "home.stats.townships": "个街道、镇、乡",
        "home.parts.title": "平台的三个组成部分",
        "home.part.hub.title": "城市数据枢纽",
        "home.part.hub.body": "行政区划、人口和法人等基础库、数据目录，以及有目的、可审计的跨部门数据共享。",
        "home.part.services.title": "政务服务 · 一网通办",
        "home.part.services.body": "线上线下一个案卷：事项目录、跨部门流程、“两个免于提交”、"
        "电子证照、一件事和免申即享。",
        "home.part.operations.title": "城市运行 · 一网统管",
        "home.part.operations.body": "物联感知、12345 热线和网格巡查汇聚成事件闭环："
        "发现、立案、派遣、处置、核查、结案、评价。",
        # login
        "password.title": "修改密码",
        "password.forced": "您的密码已由管理员重置。请先设置只有您自己知道的新密码，再继续使用。",
        "password.rules": "新密码至少 10 个字符，须同时包含字母和数字或符号。",
        "password.current": "当前密码（管理员重置后为临时密码）",
        "password.new": "新密码",
        "password.again": "再次输入新密码",
        "password.submit": "保存新密码",
        "password.differ": "两次输入的新密码不一致。",
        "password.same": "新密码不能与当前密码相同。",
        "password.wrong_current": "当前密码不正确。",
        "password.api_refused": "该密码由管理员重置，请先在“修改密码”页面（/account/password）设置您自己的密码。",
        "nav.password": "修改密码",
        "login.title": "登录",
        "login.intro": "市民、企业和工作人员都在这里登录。工作人员请使用所在单位分配的账号。",
        "login.username": "用户名",
        "login.password": "密码",
        "login.submit": "登录",
        "login.bad_credentials": "用户名或密码错误，或账号已停用。",
        "login.missing": "请输入用户名和密码。",
        "login.throttled": "登录失败次数过多，请在 {minutes} 分钟后再试。",
        "login.csrf": "表单已过期或并非来自本站，请重新提交。",
        "inbox.title": "我的消息",
        "inbox.intro": "办件结果、政策推送等通知。登记了电子邮箱的，同时发送邮件。",
        "inbox.empty": "还没有消息。",
        "inbox.new": "未读",
        "inbox.open": "查看",
        "inbox.mark_read": "标为已读",
        "inbox.mark_all": "全部标为已读",
        "inbox.header": "消息",
        "inbox.header_unread": "消息（{n} 条未读）",
        "login.register": "注册居民账号",
        "login.forgot": "忘记密码",
        "login.registered": "账号已注册并已关联您的户籍信息，请登录。",
        "login.reset_done": "密码已重设，原来的登录都已退出。请用新密码登录。",
        "register.title": "注册居民账号",
        "register.intro": "填写与身份证一致的姓名和公民身份号码，我们会与人口库核对；核对一致时向您的邮箱发送验证码。",
        "register.name": "姓名",
        "register.id_number": "公民身份号码",
        "register.id_hint": "18 位，最后一位可能是 X。",
        "register.email": "电子邮箱",
        "register.email_hint": "验证码和办事通知将发送到这里。",
        "register.send_code": "发送验证码",
        "register.code_sent": "如果您填写的姓名和身份号码与人口库中的记录一致，验证码已发送至 {email}。",
        "register.username_hint": "3–64 位小写字母、数字或 . _ -，登录时使用。",
        "register.password_hint": "至少 10 位，须同时包含字母和数字或符号。",
        "register.password2": "再次输入密码",
        "register.submit": "完成注册",
        "register.have_account": "已有账号？去登录",
        "register.name_missing": "请填写与身份证一致的姓名。",
        "register.id_invalid": "公民身份号码不正确，请核对（18 位，校验位须正确）。",
        "register.email_invalid": "请填写有效的电子邮箱，例如 name@example.cn。",
        "reset.title": "重设密码",
        "reset.intro": "填写您的用户名；如果账号登记了电子邮箱，我们会把验证码发送到该邮箱。"
        "工作人员请联系本单位管理员。",
        "reset.code_sent": "如果该用户名属于登记了电子邮箱的居民账号，验证码已发送至该邮箱。",
        "reset.new_password": "新密码",
        "reset.submit": "重设密码",
        "reset.back": "返回登录",
        "reset.username_missing": "请填写用户名。",
        "codes.code": "验证码",
        "codes.hint": "邮件中的 6 位数字，{minutes} 分钟内有效。",
        "codes.wrong": "验证码错误或已失效，请重新获取。",
        "codes.throttled": "请求过于频繁，请在 {minutes} 分钟后再试。",
        "codes.ask_again": "没有收到？重新获取验证码",
        "password.too_short": "密码至少需要 {n} 位。",
        "password.mixed": "密码须同时包含字母和数字或符号。",
        "password.mismatch": "两次输入的密码不一致。",
        "account.username_invalid": "用户名须为 3–64 位小写字母、数字或 . _ -。",
        "account.username_taken": "该用户名已被使用，请换一个。",
        "form.fix_below": "请按下方提示修改后再提交。",
        # users
        "users.title": "用户管理",
        "users.scope": "您管理的区域：{division}",
        "users.count": "共 {count} 个用户",
        "users.empty": "您的区域内还没有用户。",
        "users.search.label": "查找用户",
        "users.search.hint": "用户名或姓名的一部分",
        "users.search.simulated": "包括模拟城市的账号",
        "users.search.submit": "查找",
        "pager.label": "翻页",
        "pager.previous": "← 上一页",
        "pager.next": "下一页 →",
        "users.page": "第 {page} 页",
        "users.edit.title": "账号：{name}",
        "users.edit.back": "返回用户列表",
        "users.edit.account": "账号",
        "users.edit.roles.submit": "保存角色",
        "users.edit.grantable": "只能授予您本人持有的角色。",
        "users.edit.own_roles": "不能修改自己的角色，请由其他管理员办理。",
        "users.edit.self": "这是您自己的账号：停用或重置密码请由其他管理员办理；修改密码请在个人设置中进行。",
        "users.edit.disable": "停用账号",
        "users.edit.enable": "重新启用账号",
        "users.edit.disable.help": "停用后该账号不能登录，已登录的页面随即失效。",
        "users.edit.enable.help": "启用后该账号可以重新登录。",
        "users.edit.reset": "重置密码",
        "users.edit.reset.help": "生成一次性临时密码，仅显示一次；该账号已登录的页面随即退出。",
        "users.edit.temporary.title": "临时密码（仅显示这一次，请当面或电话告知本人）",
        "users.edit.temporary.help": "本人用它登录后须先设置新密码才能继续使用。离开本页后将无法再次查看。",
        "users.edit.done.roles": "角色已保存。",
        "users.edit.done.enabled": "账号已启用。",
        "users.edit.done.disabled": "账号已停用。",
        "users.edit.done.password": "密码已重置。",
        "users.edit.missing": "没有这个账号。",
        "users.edit.own_account": "不能停用自己的账号。",
        "users.edit.own_password": "请在个人设置中用当前密码修改自己的密码，不要重置。",
        "users.edit.staff_only": "只有工作人员才能持有角色。",
        "users.edit.one_role": "工作人员至少要有一个角色。",
        "users.col.username": "用户名",
        "users.col.name": "姓名",
        "users.col.kind": "类型",
        "users.col.roles": "角色",
        "users.col.agency": "单位",
        "users.col.division": "区划",
        "users.col.status": "状态",
        "users.col.created": "创建时间",
        "users.active": "启用",
        "users.inactive": "停用",
        "users.create.title": "新建工作人员账号",
        "users.create.display_name": "姓名",
        "users.create.password": "初始密码",
        "users.create.password_hint": "至少 {min_length} 位，且须包含字母和数字或符号。",
        "users.create.agency": "所属单位",
        "users.create.division": "服务区划",
        "users.create.roles": "角色（可多选）",
        "users.create.submit": "创建账号",
        "users.create.done": "已创建账号 {username}。",
        "users.create.no_agency": "您的区域内还没有单位，请先通过接口或命令行创建单位。",
        "kind.citizen": "市民",
        "kind.enterprise": "企业",
        "kind.staff": "工作人员",
        "kind.system": "系统",
        # audit
        "audit.title": "审计日志",
        "audit.intro": "每一次登录、数据读取和变更都写入不可篡改的哈希链。以下是您区域内最新的记录。",
        "audit.empty": "暂无审计记录。",
        "audit.col.seq": "序号",
        "audit.col.at": "时间",
        "audit.col.actor": "操作人",
        "audit.col.action": "操作",
        "audit.col.object": "对象",
        "audit.col.outcome": "结果",
        "audit.col.division": "区划",
        "audit.verify.submit": "校验哈希链",
        "audit.verify.ok": "哈希链完整：共校验 {entries} 条记录，未发现篡改。",
        "audit.verify.broken": "哈希链已被破坏：第 {seq} 条记录有问题（{reason}）。",
        "audit.verify.progress": "校验进度",
        "audit.search.title": "查找记录",
        "audit.search.actor": "操作人",
        "audit.search.actor_hint": "用户名或姓名的一部分",
        "audit.search.action": "操作",
        "audit.search.object_type": "对象类型",
        "audit.search.object_id": "对象编号",
        "audit.search.since": "起始日期",
        "audit.search.until": "截止日期（含当天）",
        "audit.search.any": "全部",
        "audit.search.submit": "查找",
        "audit.search.clear": "清除条件",
        "audit.search.this_object": "查看这一对象的全部记录",
        "audit.search.bad_date": "请按 年-月-日 填写日期，例如 2026-06-01。",
        "audit.search.until_before_since": "截止日期不能早于起始日期。",
        "audit.search.bad_action": "没有这种操作，请从列表中选择。",
        "audit.search.bad_object": "没有这种对象类型，请从列表中选择。",
        "audit.export": "导出为CSV",
        "audit.older": "更早的记录 →",
        "audit.newest": "← 最新记录",
        "audit.actor.system": "系统：",
        "audit.csv.seq": "序号",
        "audit.csv.at": "时间",
        "audit.csv.actor": "操作人标识",
        "audit.csv.actor_name": "操作人",
        "audit.csv.action": "操作代码",
        "audit.csv.action_words": "操作",
        "audit.csv.object_type": "对象类型代码",
        "audit.csv.object_words": "对象类型",
        "audit.csv.object_id": "对象编号",
        "audit.csv.subject": "数据主体",
        "audit.csv.purpose": "事由",
        "audit.csv.outcome": "结果",
        "audit.csv.division": "区划代码",
        "audit.csv.hash": "哈希",
        "outcome.success": "成功",
        "outcome.denied": "拒绝",
        "outcome.failed": "失败",
        # who read my data (the hub's catalogue, sharing and division words are in their parts' i18n.py)
        "nav.my_data": "谁查看了我的数据",
        "mydata.title": "谁查看了我的数据",
        "mydata.intro": "政府部门每次读取您的个人信息都会留下记录：谁、何时、读取了哪些字段、为了什么。",
        "mydata.linked": "您的账号已关联人口基础信息，下面也列出对您的户籍和居住信息的读取。",
        "mydata.not_linked": "您的账号尚未关联人口基础信息。请携带身份证到任一社区事务受理服务中心办理关联，"
        "之后即可查看部门对您的人口信息的读取记录。",
        "mydata.empty": "还没有部门读取过您的数据。",
        "mydata.col.at": "时间",
        "mydata.col.who": "读取部门和人员",
        "mydata.col.what": "读取的数据",
        "mydata.col.why": "用途",
        "mydata.masked": "（脱敏）",
        "mydata.action.account_created": "开通账号",
        "mydata.action.account_updated": "变更账号",
        "mydata.action.account_read": "查看账号信息",
        "mydata.action.resident_linked": "账号关联人口基础信息（核验身份后）",
        "mydata.action.record_read": "读取人口基础信息",
        "mydata.action.certificates_read": "读取您的电子证照",
        "mydata.action.case_read": "查看您的办件",
        "mydata.action.credential_issued": "向您签发电子证照",
        "mydata.action.credential_checked": "核验您的电子证照（扫码）",
        "mydata.action.credential_printed": "下载您的电子证照打印件",
        "mydata.action.credential_read": "查看您的电子证照",
        "mydata.action.reporter_read": "查看您反映问题时留下的联系方式",
        # errors
        "error.title": "出错了",
        "error.back_home": "返回首页",
        "error.sign_in": "登录",
        "error.detail": "详细信息",
        "error.400": "请求有误",
        "error.401": "请先登录",
        "error.403": "没有权限",
        "error.403.body": "您的账号没有访问此页面或执行此操作的权限。如有需要，请联系本区域的管理员。",
        "error.404": "页面不存在",
        "error.404.body": "您要找的页面不存在，可能已被移动或地址有误。",
        "error.405": "不支持此操作",
        "error.409": "与现有数据冲突",
        "words.or": "或",
        "transition.conflict": "{thing} {name} 当前为「{state}」，此操作只能在「{allowed}」时进行。",
        "error.422": "输入有误",
        "error.422.body": "提交的内容不符合要求，请检查后重试。",
        "error.429": "操作过于频繁",
        "error.500": "系统内部错误",
        "error.500.body": "系统出现意外错误，没有任何数据被修改。反馈问题时请提供参考编号 {reference}。",
        "error.503": "服务暂不可用",
        "error.generic.body": "请求未能完成。",
    },
    "en": {
        "app.name": "OneCity",
        "app.subtitle": "One network for services · One network for operations",
        "app.tagline": "Open platform for city digital governance",
        "nav.home": "Home",
        "nav.users": "Users",
        "nav.audit": "Audit log",
        "nav.main": "Main navigation",
        "lang.switch": "Language",
        "lang.zh": "中文",
        "lang.en": "English",
        "a11y.large": "Large text",
        "a11y.standard": "Standard text",
        "a11y.large_hint": "Switch to large, high-contrast text",
        "a11y.standard_hint": "Switch back to the standard display",
        "account.signed_in_as": "Signed in as",
        "account.login": "Sign in",
        "account.logout": "Sign out",
        "footer.text": "OneCity — an open-source platform for city digital governance. "
        "Data hub · Government services · Urban operations.",
        "footer.time_zone": "All times are China Standard Time (Asia/Shanghai)",
        "skip.content": "Skip to main content",
        # home
        "home.title": "Digital governance for Shanghai",
        "home.lead": "One city, two networks: every government service through one network (一网通办), the whole "
        "city watched and managed through another (一网统管), both standing on one city data hub.",
        "home.map.title": "Shanghai's 16 districts",
        "home.map.caption": "Hover over a district to see how many subdistricts, towns and townships it has.",
        "home.map.loading": "Loading the map…",
        "home.map.unavailable": "The map cannot be shown right now; see the list below.",
        "home.map.townships": "Townships",
        "home.map.unit": "",
        "home.map.aria": "Map of Shanghai's 16 districts",
        "basemap.label": "City base map",
        "basemap.unavailable": "This browser cannot draw the map (it needs WebGL); use the lists on the page.",
        "home.list.title": "Townships by district",
        "home.list.district": "District",
        "home.list.townships": "Townships",
        "home.stats.districts": "districts",
        "home.stats.townships": "subdistricts, towns and townships",
        "home.parts.title": "Three parts, one platform",
        "home.part.hub.title": "City data hub",
        "home.part.hub.body": "Administrative geography, the base registries of people and firms, the data catalogue, "
        "and purpose-bound, audited data sharing between agencies.",
        "home.part.services.title": "Government services",
        "home.part.services.body": "One case file online or at the counter: service items, cross-agency workflows, "
        "no document asked for twice, e-certificates, life events and proactive benefits.",
        "home.part.operations.title": "Urban operations",
        "home.part.operations.body": "Sensors, the 12345 hotline and grid inspectors feed one event loop: detect, "
        "register, dispatch, dispose, verify, close and evaluate.",
        # login
        "password.title": "Change your password",
        "password.forced": (
            "An administrator reset your password. Choose a new one that only you know before you go on."
        ),
        "password.rules": "At least 10 characters, mixing letters with digits or symbols.",
        "password.current": "Current password (the temporary one after a reset)",
        "password.new": "New password",
        "password.again": "New password again",
        "password.submit": "Save the new password",
        "password.differ": "The two new passwords differ.",
        "password.same": "Choose a password other than the current one.",
        "password.wrong_current": "The current password is not correct.",
        "password.api_refused": "An administrator reset this password: choose your own at /account/password first.",
        "nav.password": "Change password",
        "login.title": "Sign in",
        "login.intro": "Residents, businesses and staff sign in here; staff use the account their agency gave them.",
        "login.username": "Username",
        "login.password": "Password",
        "login.submit": "Sign in",
        "login.bad_credentials": "Wrong username or password, or the account is disabled.",
        "login.missing": "Enter your username and password.",
        "login.throttled": "Too many failed sign-ins. Try again in {minutes} minute(s).",
        "login.csrf": "The form has expired or did not come from this site. Please submit it again.",
        "inbox.title": "My messages",
        "inbox.intro": "Notifications about your cases, benefits offered to you and more; "
        "e-mailed too when your account has an e-mail address.",
        "inbox.empty": "No messages yet.",
        "inbox.new": "New",
        "inbox.open": "Open",
        "inbox.mark_read": "Mark as read",
        "inbox.mark_all": "Mark all as read",
        "inbox.header": "Messages",
        "inbox.header_unread": "Messages ({n} unread)",
        "login.register": "Register as a resident",
        "login.forgot": "Forgot your password?",
        "login.registered": "Your account is registered and linked to your residence record. Please sign in.",
        "login.reset_done": "Your password was reset and every earlier sign-in was ended. "
        "Sign in with the new password.",
        "register.title": "Register as a resident",
        "register.intro": "Give your name and ID number exactly as on your ID card; we check them against the "
        "population registry and, when they match, e-mail you a code.",
        "register.name": "Name",
        "register.id_number": "Resident ID number",
        "register.id_hint": "18 characters; the last may be X.",
        "register.email": "E-mail address",
        "register.email_hint": "Your code and notifications about your applications are sent here.",
        "register.send_code": "Send me a code",
        "register.code_sent": "If the name and ID number match a record of the population registry, "
        "a code was sent to {email}.",
        "register.username_hint": "3–64 lowercase letters, digits or . _ -; you sign in with it.",
        "register.password_hint": "At least 10 characters, mixing letters with digits or symbols.",
        "register.password2": "Password again",
        "register.submit": "Create my account",
        "register.have_account": "Already registered? Sign in",
        "register.name_missing": "Enter your name as on your ID card.",
        "register.id_invalid": "This ID number is not valid; check it (18 characters, with a correct check character).",
        "register.email_invalid": "Enter a valid e-mail address, like name@example.cn.",
        "reset.title": "Reset your password",
        "reset.intro": "Enter your username; if the account has an e-mail address, we send a code there. "
        "Staff: ask your agency's administrator.",
        "reset.code_sent": "If this username belongs to a resident's account with an e-mail address, "
        "a code was sent to that address.",
        "reset.new_password": "New password",
        "reset.submit": "Reset my password",
        "reset.back": "Back to sign-in",
        "reset.username_missing": "Enter your username.",
        "codes.code": "Code",
        "codes.hint": "The six digits in the e-mail; good for {minutes} minutes.",
        "codes.wrong": "The code is wrong or has expired. Ask for a new one.",
        "codes.throttled": "Too many requests. Try again in {minutes} minute(s).",
        "codes.ask_again": "No code? Ask for a new one",
        "password.too_short": "The password needs at least {n} characters.",
        "password.mixed": "The password must mix letters with digits or symbols.",
        "password.mismatch": "The two passwords differ.",
        "account.username_invalid": "A username is 3–64 lowercase letters, digits or . _ -.",
        "account.username_taken": "This username is taken; choose another.",
        "form.fix_below": "Please correct what is marked below and submit again.",
        # users
        "users.title": "Users",
        "users.scope": "Your area: {division}",
        "users.count": "{count} user(s)",
        "users.empty": "There are no users in your area yet.",
        "users.search.label": "Find users",
        "users.search.hint": "part of a username or name",
        "users.search.simulated": "Include the simulated city's accounts",
        "users.search.submit": "Find",
        "pager.label": "Pages",
        "pager.previous": "← Previous page",
        "pager.next": "Next page →",
        "users.page": "Page {page}",
        "users.edit.title": "Account: {name}",
        "users.edit.back": "Back to the users",
        "users.edit.account": "Account",
        "users.edit.roles.submit": "Save the roles",
        "users.edit.grantable": "You can grant only roles you hold yourself.",
        "users.edit.own_roles": "You cannot change your own roles; ask another administrator.",
        "users.edit.self": (
            "This is your own account: another administrator disables it or resets its password; "
            "change your password in your settings."
        ),
        "users.edit.disable": "Disable the account",
        "users.edit.enable": "Enable the account again",
        "users.edit.disable.help": "A disabled account cannot sign in; its open pages stop working at once.",
        "users.edit.enable.help": "An enabled account can sign in again.",
        "users.edit.reset": "Reset the password",
        "users.edit.reset.help": (
            "Makes a one-time temporary password, shown once; the account's open pages are signed out."
        ),
        "users.edit.temporary.title": "Temporary password (shown this once: tell the person in person or by phone)",
        "users.edit.temporary.help": (
            "Signing in with it, they must choose a new password before anything else. "
            "It cannot be shown again once you leave this page."
        ),
        "users.edit.done.roles": "The roles were saved.",
        "users.edit.done.enabled": "The account is enabled.",
        "users.edit.done.disabled": "The account is disabled.",
        "users.edit.done.password": "The password was reset.",
        "users.edit.missing": "There is no such account.",
        "users.edit.own_account": "You cannot disable your own account.",
        "users.edit.own_password": "Change your own password with your current one in your settings, not by a reset.",
        "users.edit.staff_only": "Only staff hold roles.",
        "users.edit.one_role": "Staff hold at least one role.",
        "users.col.username": "Username",
        "users.col.name": "Name",
        "users.col.kind": "Kind",
        "users.col.roles": "Roles",
        "users.col.agency": "Agency",
        "users.col.division": "Division",
        "users.col.status": "Status",
        "users.col.created": "Created",
        "users.active": "Active",
        "users.inactive": "Disabled",
        "users.create.title": "Create a staff account",
        "users.create.display_name": "Full name",
        "users.create.password": "Initial password",
        "users.create.password_hint": "At least {min_length} characters, mixing letters with digits or symbols.",
        "users.create.agency": "Agency",
        "users.create.division": "Division served",
        "users.create.roles": "Roles (one or more)",
        "users.create.submit": "Create account",
        "users.create.done": "Account {username} created.",
        "users.create.no_agency": "There is no agency in your area yet; create one through the API or the CLI first.",
        "kind.citizen": "Citizen",
        "kind.enterprise": "Enterprise",
        "kind.staff": "Staff",
        "kind.system": "System",
        # audit
        "audit.title": "Audit log",
        "audit.intro": "Every sign-in, read of personal data and change is appended to a tamper-evident hash chain. "
        "These are the latest entries in your area.",
        "audit.empty": "No audit entries yet.",
        "audit.col.seq": "No.",
        "audit.col.at": "Time",
        "audit.col.actor": "Actor",
        "audit.col.action": "Action",
        "audit.col.object": "Object",
        "audit.col.outcome": "Outcome",
        "audit.col.division": "Division",
        "audit.verify.submit": "Verify the hash chain",
        "audit.verify.ok": "The chain is intact: {entries} entries verified, nothing altered.",
        "audit.verify.broken": "The chain is broken at entry {seq} ({reason}).",
        "audit.verify.progress": "Verification progress",
        "audit.search.title": "Find entries",
        "audit.search.actor": "Actor",
        "audit.search.actor_hint": "a username, or part of a name",
        "audit.search.action": "Action",
        "audit.search.object_type": "Kind of object",
        "audit.search.object_id": "Object number",
        "audit.search.since": "From",
        "audit.search.until": "To (inclusive)",
        "audit.search.any": "Any",
        "audit.search.submit": "Find",
        "audit.search.clear": "Clear",
        "audit.search.this_object": "Every entry about this object",
        "audit.search.bad_date": "Write the date as year-month-day, e.g. 2026-06-01.",
        "audit.search.until_before_since": "The end date cannot be before the start date.",
        "audit.search.bad_action": "There is no such action; choose one from the list.",
        "audit.search.bad_object": "There is no such kind of object; choose one from the list.",
        "audit.export": "Export as CSV",
        "audit.older": "Older entries →",
        "audit.newest": "← Newest entries",
        "audit.actor.system": "System:",
        "audit.csv.seq": "No.",
        "audit.csv.at": "Time",
        "audit.csv.actor": "Actor id",
        "audit.csv.actor_name": "Actor",
        "audit.csv.action": "Action code",
        "audit.csv.action_words": "Action",
        "audit.csv.object_type": "Object type code",
        "audit.csv.object_words": "Kind of object",
        "audit.csv.object_id": "Object number",
        "audit.csv.subject": "Data subject",
        "audit.csv.purpose": "Purpose",
        "audit.csv.outcome": "Outcome",
        "audit.csv.division": "Division code",
        "audit.csv.hash": "Hash",
        "outcome.success": "Success",
        "outcome.denied": "Denied",
        "outcome.failed": "Failed",
        # who read my data (the hub's catalogue, sharing and division words are in their parts' i18n.py)
        "nav.my_data": "Who read my data",
        "mydata.title": "Who read my data",
        "mydata.intro": "Every time an agency reads your personal information it leaves a record: who, when, which "
        "fields, and why.",
        "mydata.linked": "Your account is linked to your population record: reads of your registration and "
        "residence are listed too.",
        "mydata.not_linked": "Your account is not linked to your population record yet. Bring your ID card to any "
        "community service centre to link it; you will then see who reads your population "
        "record.",
        "mydata.empty": "No agency has read your data yet.",
        "mydata.col.at": "When",
        "mydata.col.who": "Agency and officer",
        "mydata.col.what": "What was read",
        "mydata.col.why": "Purpose",
        "mydata.masked": "(masked)",
        "mydata.action.account_created": "Account opened",
        "mydata.action.account_updated": "Account changed",
        "mydata.action.account_read": "Account details read",
        "mydata.action.resident_linked": "Account linked to your population record (identity checked)",
        "mydata.action.record_read": "Population record read",
        "mydata.action.certificates_read": "Your e-certificates read",
        "mydata.action.case_read": "Your application case read",
        "mydata.action.credential_issued": "E-certificate issued to you",
        "mydata.action.credential_checked": "Your e-certificate checked (QR code)",
        "mydata.action.credential_printed": "A printout of your e-certificate downloaded",
        "mydata.action.credential_read": "Your e-certificate viewed",
        "mydata.action.reporter_read": "Your contact details on a report you made read",
        # errors
        "error.title": "Something went wrong",
        "error.back_home": "Back to the home page",
        "error.sign_in": "Sign in",
        "error.detail": "Details",
        "error.400": "Bad request",
        "error.401": "Please sign in",
        "error.403": "Access denied",
        "error.403.body": "Your account may not open this page or take this action. Ask your area's administrator "
        "if you need it.",
        "error.404": "Page not found",
        "error.404.body": "The page you are looking for does not exist; it may have moved or the address is wrong.",
        "error.405": "Not allowed",
        "error.409": "Conflicts with existing data",
        "words.or": " or ",
        "transition.conflict": "{thing} {name} is {state}: this can be done only while it is {allowed}.",
        "error.422": "Invalid input",
        "error.422.body": "What was submitted is not valid; please check it and try again.",
        "error.429": "Too many attempts",
        "error.500": "Internal error",
        "error.500.body": "Something went wrong on our side; nothing was changed. Quote reference {reference} when "
        "reporting it.",
        "error.503": "Service unavailable",
        "error.generic.body": "The request could not be completed.",
    },
}
for _lang, _words in audit_words.messages().items():
    MESSAGES[_lang].update(_words)

Translator = Callable[..., str]


#: The platform's words and every installed part's, merged by :func:`messages`.
_CATALOGUE: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
#: The words modules merged into it so far.
_MERGED: set[str] = set()


def check(catalogue: dict[str, dict[str, str]]) -> None:
    """Refuse a catalogue whose languages do not bring the same keys."""
    if set(catalogue) != set(LANGUAGES) or set(catalogue["zh"]) != set(catalogue["en"]):
        missing = set(catalogue.get("zh", {})) ^ set(catalogue.get("en", {}))
        raise ValueError(f"a catalogue needs the same keys in {LANGUAGES}; differing: {sorted(missing)[:10]}")


def _merge(name: str, catalogue: dict[str, dict[str, str]]) -> None:
    """Add one part's words; a key may not be redefined with other text, so two parts cannot
    silently overwrite each other's words."""
    check(catalogue)
    for lang, entries in catalogue.items():
        for key, text in entries.items():
            if _CATALOGUE[lang].get(key, text) != text:
                raise ValueError(f"{name}: message key {key!r} is already defined with other text")
    for lang, entries in catalogue.items():
        _CATALOGUE[lang].update(entries)
    _MERGED.add(name)


def messages(lang: str) -> dict[str, str]:
    """Every word in ``lang`` (else the default language's): the platform's and each installed part's."""
    for part in parts.installed():
        if part.words is not None and part.words not in _MERGED:
            _merge(part.words, importlib.import_module(part.words).MESSAGES)
    return _CATALOGUE.get(lang, _CATALOGUE[LANGUAGES[0]])


def language(requested: str | None, default: str) -> str:
    """The language to use: the visitor's supported choice, else the platform default."""
    if requested in LANGUAGES:
        return str(requested)
    return default if default in LANGUAGES else LANGUAGES[0]


def translate(lang: str, key: str, **params: Any) -> str:
    """The text for ``key``; an unknown key shows itself, so a gap is visible, never a crash."""
    text = messages(lang).get(key, key)
    return text.format(**params) if params else text


def translator(lang: str) -> Translator:
    """``t(key, **params)`` bound to one language, as templates use it."""

    def t(key: str, **params: Any) -> str:
        return translate(lang, key, **params)

    return t


def role_label(role: Role | str, lang: str) -> str:
    role = Role(role)
    return role.label_zh if lang == "zh" else role.label_en


def status_key(status: int) -> str:
    """The catalogue key of the title for an HTTP error status."""
    key = f"error.{status}"
    return key if key in messages("en") else "error.title"


def say(lang: str, err: DomainError) -> str:
    """A refusal's message in ``lang``: its catalogue words where the service gave them, else its own message."""
    if err.words is None:
        return err.detail
    return said(lang, err.words)


def said(lang: str, words: Words) -> str:
    """Catalogue words in ``lang``, their values filled (a :class:`Key` translated first)."""
    t = translator(lang)
    values: dict[str, str] = {}
    for name, value in words.values.items():
        if isinstance(value, tuple):
            values[name] = t("words.or").join(t(k) for k in value)
        elif isinstance(value, Key):
            values[name] = t(value)
        else:
            values[name] = value
    return t(words.key, **values)
