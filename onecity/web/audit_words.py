"""The audit log in words: actions, the kinds of object, and the system's own actors.

An entry stores keys (``services.case.task_decide``, ``ops_case``, ``system:ops:router``)
because the chain must not change with a translation; people read them through these
tables. A case's steps reuse the words its part already has (``services.action.*``,
``ops.step.*``); an action missing from every table shows its key, which the words crawler
(``tests/web/test_words.py``) reports.
"""

from __future__ import annotations

from collections.abc import Callable

#: Audit actions (what :func:`onecity.core.audit.record` writes) → (Chinese, English).
ACTIONS: dict[str, tuple[str, str]] = {
    "core.access.denied": ("访问被拒绝", "Access refused"),
    "core.agency.created": ("创建机构", "Agency created"),
    "core.apikey.created": ("创建接口密钥", "API key created"),
    "core.apikey.revoked": ("吊销接口密钥", "API key revoked"),
    "core.auth.login": ("登录", "Signed in"),
    "core.grant.changed": ("修改数据授权", "Grant changed"),
    "core.grant.created": ("创建数据授权", "Grant created"),
    "core.grant.revoked": ("撤销数据授权", "Grant revoked"),
    "core.user.created": ("创建用户", "User created"),
    "core.user.read": ("查看用户账号", "Account viewed"),
    "core.user.updated": ("修改用户", "User changed"),
    "core.user.disabled": ("停用用户", "User disabled"),
    "core.user.enabled": ("启用用户", "User enabled"),
    "core.user.password_changed": ("修改密码", "Password changed"),
    "core.user.password_reset": ("重置密码", "Password reset"),
    "core.user.reset_code": ("申请重设密码验证码", "Password reset code asked for"),
    "core.audit.exported": ("导出审计日志", "Audit log exported"),
    "core.audit.verified": ("校验审计哈希链", "Audit chain verified"),
    "credentials.credential.checked": ("核验电子证照", "Credential checked"),
    "credentials.credential.printed": ("下载电子证照打印件", "Credential printout downloaded"),
    "credentials.credential.exported": ("导出电子证照", "Credential exported"),
    "credentials.credential.issued": ("签发电子证照", "Credential issued"),
    "credentials.credential.read": ("查看电子证照", "Credential viewed"),
    "credentials.credential.reinstated": ("恢复电子证照", "Credential reinstated"),
    "credentials.credential.revoked": ("注销电子证照", "Credential revoked"),
    "credentials.credential.status_changed": ("电子证照状态变更", "Credential status changed"),
    "credentials.credential.suspended": ("暂停电子证照", "Credential suspended"),
    "credentials.key.rotated": ("轮换签名密钥", "Signing key rotated"),
    "credentials.key.withdrawal_approved": ("批准撤回签名密钥", "Key withdrawal approved"),
    "credentials.key.withdrawal_refused": ("拒绝撤回签名密钥", "Key withdrawal refused"),
    "credentials.key.withdrawal_requested": ("申请撤回签名密钥", "Key withdrawal requested"),
    "credentials.key.withdrawn": ("撤回签名密钥", "Signing key withdrawn"),
    "documents.upload.read": ("机读上传材料", "Upload read by machine"),
    "hub.certificate.issued": ("证照入库", "Certificate recorded"),
    "hub.certificate.revoked": ("证照注销入库", "Certificate revocation recorded"),
    "hub.dataset.changed": ("修改数据目录", "Dataset changed"),
    "hub.dataset.created": ("登记数据目录", "Dataset catalogued"),
    "hub.dataset.queried": ("查询共享数据", "Shared data queried"),
    "hub.dataset.read": ("查看数据目录", "Dataset viewed"),
    "hub.dataset.record_read": ("读取共享数据记录", "Shared record read"),
    "hub.dataset.updated": ("更新数据目录", "Dataset updated"),
    "hub.legal_person.closed": ("法人注销", "Legal person closed"),
    "hub.legal_person.registered": ("法人登记", "Legal person registered"),
    "hub.person.born": ("出生登记", "Birth registered"),
    "hub.person.deceased": ("死亡登记", "Death registered"),
    "hub.person.died": ("死亡登记", "Death registered"),
    "hub.person.moved": ("迁移登记", "Move registered"),
    "hub.person.read": ("查看人口信息", "Person record read"),
    "hub.person.registered": ("人口登记", "Person registered"),
    "hub.power_of_attorney.granted": ("授权委托", "Power of attorney granted"),
    "hub.power_of_attorney.revoked": ("撤销授权委托", "Power of attorney revoked"),
    "hub.registry.certificate.read": ("查看证照信息", "Certificate record read"),
    "hub.registry.exported": ("导出登记库", "Registries exported"),
    "hub.registry.legal_person.read": ("查看法人信息", "Legal-person record read"),
    "hub.registry.loaded": ("导入登记库", "Registries loaded"),
    "hub.registry.person.read": ("查看人口信息", "Person record read"),
    "hub.registry.seeded": ("生成模拟登记库", "Simulated registries seeded"),
    "hub.relation.recorded": ("登记亲属关系", "Relation recorded"),
    "hub.resident.linked": ("关联居民账号", "Resident account linked"),
    "hub.resident.registration_code": ("申请注册验证码", "Registration code asked for"),
    "hub.resident.registered": ("居民自助注册", "Resident registered"),
    "hub.share.approved": ("批准共享申请", "Sharing request approved"),
    "hub.share.refused": ("驳回共享申请", "Sharing request refused"),
    "hub.share.requested": ("提出共享申请", "Sharing requested"),
    "hub.share.revoked": ("撤销数据共享", "Sharing revoked"),
    "hub.share.withdrawn": ("撤回共享申请", "Sharing request withdrawn"),
    "ops.media.uploaded": ("上传现场照片", "Photo uploaded"),
    "ops.reporter.read": ("查看报告人信息", "Reporter's details read"),
    "sensing.alert.clear": ("解除预警", "Alert cleared"),
    "sensing.alert.cleared": ("解除预警", "Alert cleared"),
    "sensing.alert.raise": ("发出预警", "Alert raised"),
    "sensing.alert.raised": ("发出预警", "Alert raised"),
    "sensing.rule.create": ("创建预警规则", "Alert rule created"),
    "sensing.rule.delete": ("删除预警规则", "Alert rule deleted"),
    "sensing.rule.update": ("修改预警规则", "Alert rule changed"),
    "services.case.deleted": ("删除草稿", "Draft deleted"),
    "services.bundle.deleted": ("删除联办申请草稿", "Life-event application drafts deleted"),
    "services.case.document_read": ("查看申请材料", "Upload viewed"),
    "services.case.read": ("查看办件", "Case viewed"),
    "services.case.queued_read": ("工作台列出办件", "Case listed in a work queue"),
    "benefits.eligibility.scan": ("免申即享资格比对", "Benefit eligibility scanned"),
    "benefits.eligibility.read": ("免申即享读取登记信息", "Registry record read for a benefit"),
    "benefits.offer.made": ("推送免申即享政策", "Benefit offered"),
    "benefits.offer.accepted": ("领取免申即享政策", "Benefit taken up"),
    "benefits.offer.declined": ("放弃免申即享政策", "Benefit declined"),
    "benefits.offer.withdrawn": ("撤回免申即享政策", "Benefit offer withdrawn"),
    "benefits.objection.filed": ("提出免申即享异议", "Benefit objection filed"),
    "benefits.objection.upheld": ("免申即享异议成立", "Benefit objection upheld"),
    "benefits.objection.rejected": ("免申即享异议不成立", "Benefit objection rejected"),
    "benefits.objection.queued_read": ("列出免申即享异议", "Benefit objection listed"),
    "services.prereview.overridden": ("改判AI预审结论", "Pre-review overridden"),
    "services.proxy.granted": ("授权代办", "Proxy granted"),
    "services.proxy.revoked": ("撤销代办授权", "Proxy revoked"),
}

#: Kinds of object an entry names (``object_type``) → (Chinese, English).
OBJECTS: dict[str, tuple[str, str]] = {
    "agency": ("机构", "agency"),
    "apikey": ("接口密钥", "API key"),
    "audit": ("审计日志", "audit log"),
    "benefit_objection": ("免申即享异议", "benefit objection"),
    "benefit_offer": ("政策推送", "benefit offer"),
    "benefit_policy": ("惠民惠企政策", "benefit policy"),
    "bundle_application": ("一件事申请", "bundle application"),
    "case": ("办件", "case"),
    "certificate": ("证照", "certificate"),
    "credential": ("电子证照", "credential"),
    "dataset": ("数据目录", "dataset"),
    "document": ("材料", "document"),
    "gazetteer": ("标准地址库", "gazetteer"),
    "grant": ("数据授权", "grant"),
    "legal_person": ("法人", "legal person"),
    "one_time_code": ("验证码", "one-time code"),
    "ops_case": ("城运案件", "city case"),
    "ops_media": ("现场照片", "photo"),
    "ops_report": ("上报", "report"),
    "ops_unit": ("处置单位", "disposal unit"),
    "person": ("自然人", "person"),
    "person_facts": ("自然人关联登记信息", "person's facts in other registries"),
    "premises": ("经营场所不动产登记", "premises in the real-estate registry"),
    "person_relation": ("亲属关系", "relation"),
    "power_of_attorney": ("授权委托书", "power of attorney"),
    "rating": ("评价", "rating"),
    "registry": ("登记库", "registry"),
    "request": ("申请", "request"),
    "sensing.alert": ("预警", "alert"),
    "sensing.datastream": ("数据流", "datastream"),
    "sensing.featureofinterest": ("观测对象", "feature of interest"),
    "sensing.historicallocation": ("历史位置", "historical location"),
    "sensing.location": ("设备位置", "location"),
    "sensing.observation": ("观测值", "observation"),
    "sensing.observedproperty": ("观测属性", "observed property"),
    "sensing.rule": ("预警规则", "alert rule"),
    "sensing.sensor": ("传感器", "sensor"),
    "sensing.thing": ("感知设备", "thing (device)"),
    "share_request": ("共享申请", "sharing request"),
    "signing_key": ("签名密钥", "signing key"),
    "traffic.incident": ("交通事件", "traffic incident"),
    "traffic.network": ("路网", "road network"),
    "user": ("用户", "user"),
    "work_item": ("办理任务", "task"),
}

#: The platform's own actors (``system_principal(name)``) → (Chinese, English).
SYSTEM_ACTORS: dict[str, tuple[str, str]] = {
    "catalogue-install": ("数据目录安装程序", "catalogue installer"),
    "credentials": ("电子证照服务", "credentials service"),
    "demo-setup": ("演示环境初始化", "demo set-up"),
    "ops-install": ("城运初始化", "operations set-up"),
    "password-reset": ("验证码重设密码", "password reset by code"),
    "self-registration": ("居民自助注册", "self-registration"),
    "ops:clock": ("城运时限计时", "operations clock"),
    "ops:rating-intake": ("满意度评价受理", "rating intake"),
    "ops:router": ("城运自动派遣", "operations router"),
    "ops:sensor-intake": ("物联感知受理", "sensor intake"),
    "sensing:ingest": ("物联数据接入", "sensor ingest"),
    "benefits:proactive": ("免申即享推送", "proactive benefits"),
    "benefits:notify": ("政策推送通知", "benefit notifications"),
    "services:notify": ("办件结果通知", "decision notifications"),
    "services:one-stop": ("一件事联办", "one-stop bundles"),
    "services:prereview": ("AI智能预审", "AI pre-review"),
    "services:registrar": ("登记发证", "registrar"),
    "services:unattended": ("无人干预审批", "unattended approval"),
    "sim:inspection": ("模拟网格巡查", "simulated inspection"),
    "sim:ops-install": ("模拟城运初始化", "simulated operations set-up"),
    "sim:registrar": ("模拟登记机关", "simulated registrar"),
    "sim:sensors": ("模拟物联设备", "simulated sensors"),
    "sim:services": ("模拟政务服务", "simulated services"),
}


def messages() -> dict[str, dict[str, str]]:
    """The tables as message keys (``audit.action.*``, ``audit.object.*``, ``audit.system.*``)."""
    out: dict[str, dict[str, str]] = {"zh": {}, "en": {}}
    for prefix, table in (("audit.action.", ACTIONS), ("audit.object.", OBJECTS), ("audit.system.", SYSTEM_ACTORS)):
        for key, (zh, en) in table.items():
            out["zh"][prefix + key] = zh
            out["en"][prefix + key] = en
    out["zh"]["audit.system.cli"], out["en"]["audit.system.cli"] = "命令行（{user}）", "command line ({user})"
    out["zh"]["audit.system.other"], out["en"]["audit.system.other"] = "系统进程（{name}）", "system process ({name})"
    return out


def known_actions(words: dict[str, str]) -> list[str]:
    """Every action the tables and ``words`` (all message keys) put in words, a case's steps
    included: the search form's choices."""
    steps = [f"services.case.{k.rsplit('.', 1)[1]}" for k in words if k.startswith("services.action.")]
    steps += [f"ops.case.{k.rsplit('.', 1)[1]}" for k in words if k.startswith("ops.step.")]
    return sorted({*ACTIONS, *steps})


def action_label(action: str, t: Callable[..., str]) -> str:
    """An audit action in the reader's words; its key when no table has it."""
    head, _, verb = action.rpartition(".")
    for key in (f"audit.action.{action}", f"services.action.{verb}", f"ops.step.{verb}"):
        if key.startswith("services.") and head != "services.case":
            continue
        if key.startswith("ops.") and head != "ops.case":
            continue
        if (text := t(key)) != key:
            return text
    return action


def object_label(object_type: str, t: Callable[..., str]) -> str:
    key = f"audit.object.{object_type}"
    text = t(key)
    return object_type if text == key else text


def system_actor_label(name: str, t: Callable[..., str]) -> str:
    """A system actor's name in words: ``cli:<user>`` is the command line run by that user."""
    if name.startswith("cli:"):
        return t("audit.system.cli", user=name[4:])
    key = f"audit.system.{name}"
    text = t(key)
    return t("audit.system.other", name=name) if text == key else text
