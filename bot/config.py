"""Configuration: a TOML file, then CCERBOT_* environment variables on top (secrets come only from there).

Every key of the file may also be set as CCERBOT_<KEY>, nested keys with a double underscore
(CCERBOT_IMAP__HOST). The secrets have short names: CCERBOT_TELEGRAM_TOKEN, CCERBOT_IMAP_PASSWORD,
CCERBOT_SMTP_PASSWORD (as DESIGN.md gives them), CCERBOT_DINGTALK_CLIENT_SECRET, CCERBOT_FEISHU_APP_SECRET,
CCERBOT_WECOM_SECRET, CCERBOT_WECOM_TOKEN, CCERBOT_WECOM_AES_KEY.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.provinces import canonical_province
from bot.telling import Telling
from mail.applications import STRANGER_APPLICATIONS_PER_DAY
from mail.authn import SenderAuth
from mail.loopback import LOOPBACK
from mail.trust import Senders

Security = Literal["ssl", "starttls", "none"]


class ConfigError(Telling, ValueError):
    """A configuration that cannot be used, said in one line."""


class SendersConfig(BaseModel):
    ncsc: list[str] = Field(default_factory=lambda: ["registry@ccersc.org.cn", "registry@ccer-sc.org.cn"])
    provinces: dict[str, list[str]] = Field(default_factory=dict)
    registry: list[str] = Field(default_factory=list)  # the national registry (中碳登): offset operations
    # the receiving server's name in its Authentication-Results headers; unset: From is believed as written
    authserv_id: str | None = None
    # sender domains whose mail systems cannot pass DMARC or DKIM, accepted on their From line alone
    unauthenticated_domains: list[str] = Field(default_factory=list)


class TelegramConfig(BaseModel):
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str | None = None
    token: SecretStr | None = None
    webhook_url: str | None = None  # long polling when unset
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443


class ServerConfig(BaseModel):
    host: str
    port: int
    security: Security = "ssl"
    user: str = ""
    password: SecretStr | None = None
    timeout_s: float = 30.0

    @field_validator("security")
    @classmethod
    def _plain_only_on_loopback(cls, value: str, info: Any) -> str:
        host = info.data.get("host", "")
        if value == "none" and host not in LOOPBACK:
            raise ValueError(f'security = "none" is only allowed on loopback, not {host}')
        return value


def _client_id() -> dict[str, str]:
    try:
        release = package_version("ccerbot")
    except PackageNotFoundError:
        release = "unknown"
    return {"name": "ccerbot", "version": release}


class ImapConfig(ServerConfig):
    port: int = 993
    # RFC 2971 ID, sent after login when the server offers it: NetEase and Coremail refuse a client without it
    id: dict[str, str] = Field(default_factory=_client_id)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_interval_s: float = 60.0
    idle_timeout_s: float = 300.0
    silence_alert_h: float = 36.0
    since: date | None = None  # a new mailbox is read from this date; else only mail that arrives from now on

    @field_validator("id")
    @classmethod
    def _id_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        # RFC 2971: at most 30 pairs, field names of at most 30 octets, values of at most 1024
        if len(fields) > 30:
            raise ValueError("at most 30 ID fields")
        for key, value in fields.items():
            if not (key + value).isascii() or not (key + value).isprintable():
                raise ValueError(f"ID field {key!r}: printable ASCII only")
            if not 0 < len(key) <= 30 or len(value) > 1024:
                raise ValueError(f"ID field {key!r}: names of 1 to 30 characters, values of at most 1024")
        return fields


class SmtpConfig(ServerConfig):
    port: int = 465
    sender: str = ""


GroupKind = Literal["wecom", "dingtalk", "feishu"]


class GroupConfig(BaseModel):
    """A group robot (WeCom, DingTalk, Feishu) that receives a province's officer alerts."""

    province: str  # a province, or "*" for every province
    kind: GroupKind
    url: str
    secret: SecretStr | None = None  # DingTalk and Feishu sign their webhooks
    secret_env: str | None = None  # or: the name of a CCERBOT_… variable that holds the secret
    kinds: list[str] | None = None  # which alert kinds it receives; None: every officer alert and anomaly
    name: str = ""  # how the bot names it in logs and in `groups test`

    @model_validator(mode="after")
    def _secret_from_environment(self) -> GroupConfig:
        if self.secret_env:
            if not self.secret_env.startswith("CCERBOT_"):
                raise ValueError(f"secret_env must name a CCERBOT_ variable, not {self.secret_env}")
            value = os.environ.get(self.secret_env)
            if not value:
                raise ValueError(f"{self.secret_env} is not set")
            self.secret = SecretStr(value)
        return self

    def receives(self, province: str, kind: str) -> bool:
        return self.province in (province, "*") and (self.kinds is None or kind in self.kinds)


class ApplicationsConfig(BaseModel):
    """Step 4 done with the bot: where the province's weekly summary goes, from whom, with which copies."""

    ncsc_address: str = "registry@ccersc.org.cn"  # 附件1 第四步: 发至国家气候战略中心邮箱
    summary_from: dict[str, str] = Field(default_factory=dict)  # province → its From; else its first sender
    summary_cc: list[str] = Field(default_factory=list)  # more copies: the bot's own intake address
    # applications a day an address that is no unit's contact on file may put to the officers
    stranger_daily_limit: int = Field(default=STRANGER_APPLICATIONS_PER_DAY, ge=0)


class DingTalkConfig(BaseModel):
    """A DingTalk (钉钉, 浙政钉) enterprise-internal app whose robot runs in Stream mode."""

    client_id: str  # the app's AppKey (Client ID)
    client_secret: SecretStr | None = None  # from CCERBOT_DINGTALK_CLIENT_SECRET
    robot_code: str | None = None  # the robot's code; unset: the client id, which it is for an app's robot
    openapi_url: str = "https://api.dingtalk.com"  # the OpenAPI origin: the stream gateway, tokens, robot
    oapi_url: str = "https://oapi.dingtalk.com"  # the older API origin that still holds media upload


class FeishuConfig(BaseModel):
    """A Feishu (飞书, Lark) self-built app receiving events over the long connection."""

    app_id: str
    app_secret: SecretStr | None = None  # from CCERBOT_FEISHU_APP_SECRET
    domain: str = "https://open.feishu.cn"  # https://open.larksuite.com for Lark
    # the long connection down for this long (the SDK's own reconnects failing) is started afresh
    restart_after_s: float = Field(default=300.0, gt=0)


class WeComConfig(BaseModel):
    """A WeCom (企业微信, 政务微信) self-built app receiving messages in callback mode."""

    corp_id: str  # 企业ID
    agent_id: int  # the app's AgentId
    secret: SecretStr | None = None  # from CCERBOT_WECOM_SECRET
    token: SecretStr | None = None  # the callback's Token, from CCERBOT_WECOM_TOKEN
    encoding_aes_key: SecretStr | None = None  # the callback's EncodingAESKey, from CCERBOT_WECOM_AES_KEY
    api_url: str = "https://qyapi.weixin.qq.com"  # 政务微信 deployments have their own
    listen: str = "127.0.0.1"  # the callback endpoint, behind the reverse proxy that WeCom reaches
    port: int = 8090
    path: str = "/wecom/callback"


class OfficerConfig(BaseModel):
    telegram_id: int
    province: str  # a province as `invite --officer` takes it (浙江 is 浙江省), or "*"

    @field_validator("province")
    @classmethod
    def _a_province(cls, value: str) -> str:
        return canonical_province(value, national=True)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCERBOT_", env_nested_delimiter="__", extra="forbid")

    database_url: str = "sqlite:///var/ccerbot.db"
    cycle: str | None = None  # None: the cycle whose compliance deadline comes next
    # Corrections of values a cycle file marks uncertain: {"2025": {"dates.window_closes": 2026-12-15}}.
    cycle_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    lang: Literal["zh", "en"] = "zh"
    senders: SendersConfig = Field(default_factory=SendersConfig)
    telegram: TelegramConfig | None = None
    dingtalk: DingTalkConfig | None = None
    feishu: FeishuConfig | None = None
    wecom: WeComConfig | None = None
    # an HTTP proxy for every outbound HTTP connection; unset: HTTPS_PROXY / HTTP_PROXY when set
    proxy: str | None = None
    imap: ImapConfig | None = None
    smtp: SmtpConfig | None = None
    officers: list[OfficerConfig] = Field(default_factory=list)
    groups: list[GroupConfig] = Field(default_factory=list)
    applications: ApplicationsConfig = Field(default_factory=ApplicationsConfig)
    mail_folder: str | None = None  # intake from a folder when there is no IMAP
    # a contact address changed by a roster is used to bind a chat by email only once an officer has
    # confirmed it (/confirm_contact) or after this many days
    contact_confirm_days: int = Field(default=7, ge=0)
    # `run` reads each message in a worker process: past these it is stopped and quarantined
    read_memory_mb: int = Field(default=2048, ge=256)
    read_timeout_s: float = Field(default=120.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def trusted_senders(self) -> Senders:
        auth = SenderAuth.build(self.senders.authserv_id, self.senders.unauthenticated_domains)
        return Senders.build(self.senders.ncsc, self.senders.provinces, self.senders.registry, auth)


SECRETS = {
    "CCERBOT_TELEGRAM_TOKEN": ("telegram", "token"),
    "CCERBOT_IMAP_PASSWORD": ("imap", "password"),
    "CCERBOT_SMTP_PASSWORD": ("smtp", "password"),
    "CCERBOT_DINGTALK_CLIENT_SECRET": ("dingtalk", "client_secret"),
    "CCERBOT_FEISHU_APP_SECRET": ("feishu", "app_secret"),
    "CCERBOT_WECOM_SECRET": ("wecom", "secret"),
    "CCERBOT_WECOM_TOKEN": ("wecom", "token"),
    "CCERBOT_WECOM_AES_KEY": ("wecom", "encoding_aes_key"),
}


def load_settings(path: str | None, database_url: str | None = None) -> Settings:
    """Read the file (when given), apply the environment, check everything; ConfigError on any problem."""
    data = _read_toml(path) if path else {}
    _apply_secrets(data, os.environ)
    if database_url:
        data["database_url"] = database_url
    try:
        return Settings(**data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(key="bad_config", where=where, message=first["msg"]) from None


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(key="no_config_file", path=path) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(key="bad_config_toml", path=path, error=error) from None


def _apply_secrets(data: dict[str, Any], environ: os._Environ[str] | dict[str, str]) -> None:
    for variable, (section, key) in SECRETS.items():
        # a token alone turns Telegram on; a password alone cannot make a server section
        wanted = section == "telegram" or section in data
        if environ.get(variable) and wanted and isinstance(data.get(section, {}), dict):
            data.setdefault(section, {})[key] = environ[variable]
