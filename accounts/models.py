from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django_prometheus.models import ExportModelOperationsMixin
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.sessions import SessionFormat
from project.access import RestrictedQuerySet

ACCOUNT_ID_PATTERN = r"[1-9][0-9]{0,17}"  # a primary key as a URL carries it: ASCII, canonical, fits a bigint
e164 = RegexValidator(r"^\+[1-9][0-9]{6,14}$", "Enter the phone in E.164 form, e.g. +14155550123.")


class Team(models.Model):
    """A group of people who own a set of accounts (scoped by the access rules)."""

    name = models.CharField(max_length=100, unique=True)
    spambot_checks = models.BooleanField(
        "Ask @SpamBot", default=False,
        help_text="The deep check asks @SpamBot about this team's accounts (it sends /start: at most once a day).",
    )  # fmt: skip
    # Members are this group's users; object permissions on the team's accounts are granted to it.
    group = models.OneToOneField(Group, on_delete=models.PROTECT, editable=False, related_name="team")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProxyKind(models.TextChoices):
    SOCKS5 = "socks5", "SOCKS5"
    HTTP = "http", "HTTP CONNECT"
    MTPROXY = "mtproxy", "MTProxy"


class ProxyStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not tested yet"
    UP = "up", "Up"
    DOWN = "down", "Down"


class Proxy(models.Model):
    """Where an account's connections leave from. Its password or MTProxy secret is sealed with the vault's keys;
    only whether it has one shows anywhere."""

    label = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=8, choices=ProxyKind.choices)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    username = models.CharField(max_length=255, blank=True)
    sealed = models.BinaryField(editable=False, default=b"", help_text="password / secret, sealed")
    has_secret = models.BooleanField(default=False, editable=False)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="proxies")
    enabled = models.BooleanField(default=True)
    capacity = models.PositiveIntegerField(default=10, help_text="the most accounts this proxy carries")
    status = models.CharField(max_length=8, choices=ProxyStatus.choices, default=ProxyStatus.UNKNOWN)
    last_error = models.CharField(max_length=200, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    exit_country = models.CharField(max_length=2, blank=True, help_text="where Telegram places its exit address")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["label", "pk"]
        verbose_name_plural = "proxies"
        constraints = [
            models.UniqueConstraint(fields=["kind", "host", "port", "username"], name="proxy_unique_endpoint"),
            models.CheckConstraint(condition=models.Q(port__gte=1, port__lte=65535), name="proxy_port_range"),
        ]

    def __str__(self) -> str:
        return self.label or f"{self.kind}://{self.host}:{self.port}"


class AccountStatus(models.TextChoices):
    UNCHECKED = "unchecked", "Unchecked"
    OK = "ok", "OK"
    UNCERTAIN = "uncertain", "Uncertain"
    OFFLINE = "offline", "Offline"
    UNAUTHORIZED = "unauthorized", "Unauthorized"
    BANNED = "banned", "Banned"
    FLOOD_WAIT = "flood_wait", "Flood wait"


tag_name = RegexValidator(r"^[\w][\w .:-]{0,39}$", "A tag is 1-40 letters, digits, spaces, dots, colons, dashes or _.")


class Tag(models.Model):
    """A label operators put on accounts (e.g. "warmed", "client:acme") to find and act on them together."""

    name = models.CharField(max_length=40, unique=True, validators=[tag_name])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# What an operator reads for each source format (the values stay the API's).
FORMAT_CHOICES = [
    (SessionFormat.TELETHON_SQLITE.value, "Telethon .session file"),
    (SessionFormat.TELETHON_STRING.value, "Telethon StringSession"),
    (SessionFormat.PYROGRAM_SQLITE.value, "Pyrogram .session file"),
    (SessionFormat.PYROGRAM_STRING.value, "Pyrogram session string"),
    (SessionFormat.LOGIN.value, "Signed in here (phone and code)"),
]


class TelegramAccount(ExportModelOperationsMixin("telegram_account"), models.Model):
    """One Telegram user account; its session lives encrypted in the vault, never in this row."""

    label = models.CharField(max_length=200)
    phone = models.CharField(max_length=16, blank=True, validators=[e164])
    telegram_user_id = models.BigIntegerField("Telegram user ID", null=True, blank=True, db_index=True)
    username = models.CharField(max_length=64, blank=True)
    dc_id = models.PositiveSmallIntegerField("DC", help_text="the Telegram data centre the session belongs to")
    test_server = models.BooleanField("Test DC", default=False)
    status = models.CharField(max_length=16, choices=AccountStatus.choices, default=AccountStatus.UNCHECKED)
    notes = models.TextField(blank=True)
    # Indexed alone as well as in (team, label, id): counting a team's accounts (each list page's total) walks the
    # narrow index a third faster, and the API list's p95 at 100,000 depends on it.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    # Sticky: every check of this account goes through this proxy (never direct) until someone changes it. Indexed
    # only where set (Meta).
    proxy = models.ForeignKey(Proxy, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts",
                              db_index=False)  # fmt: skip
    tags = models.ManyToManyField(Tag, blank=True, related_name="accounts")
    api_id = models.PositiveIntegerField("App ID", null=True, blank=True)
    has_api_hash = models.BooleanField("App hash", default=False,
                                       help_text="The app hash itself is kept encrypted in the vault.")  # fmt: skip
    has_two_fa = models.BooleanField("Two-step password", default=False,
                                     help_text="Telegram's two-step password, encrypted in the vault.")  # fmt: skip
    device = models.JSONField(default=dict, blank=True)
    source_format = models.CharField("Imported from", max_length=32, choices=FORMAT_CHOICES)
    # Checks: when the next one is due, how the last went, and who holds the lease right now.
    check_interval_seconds = models.PositiveIntegerField(
        "Check every (seconds)", null=True, blank=True, help_text="Default: CHECK_INTERVAL_SECONDS"
    )
    next_check_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=16, blank=True)
    consecutive_failures = models.PositiveIntegerField("Failures in a row", default=0)
    flood_wait_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    vault_name = models.CharField(max_length=64, editable=False)  # unique (Meta)
    auth_key_sha256 = models.CharField(max_length=64, editable=False)  # unique (Meta)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["label", "pk"]
        # The lists' order, for everyone (label, id) and for a team-scoped user (team, label, id).
        indexes = [models.Index(fields=["label", "id"], name="account_label_id"),
                   models.Index(fields=["team", "label", "id"], name="account_team_label_id"),
                   # Beat's dispatch walks the due accounts in this order.
                   models.Index(fields=["next_check_at", "id"], name="account_next_check_id"),
                   # The dashboard's "needs attention": each status's most recently changed first.
                   models.Index(fields=["status", "updated_at"], name="account_status_updated"),
                   # Accounts behind a proxy; one without costs this index nothing on write.
                   models.Index(fields=["proxy"], name="account_proxy",
                                condition=models.Q(proxy__isnull=False))]  # fmt: skip
        # Constraints rather than unique fields: on PostgreSQL a unique CharField also gets a second, pattern-ops
        # index for LIKE, which nothing here asks, and every write of the row pays for each index.
        constraints = [models.UniqueConstraint(fields=["vault_name"], name="account_vault_name_unique"),
                       models.UniqueConstraint(fields=["auth_key_sha256"], name="account_auth_key_unique")]  # fmt: skip
        permissions = [
            ("check_account", "Can run a connection check on the account"),
            ("export_session", "Can export the account's session"),
            ("access_all_accounts", "Can act on every account, whatever its team"),
            ("login_account", "Can add an account by signing in with its phone"),
        ]

    def __str__(self) -> str:
        return self.label

    @staticmethod
    def new_vault_name() -> str:
        return f"{uuid.uuid4().hex}.tgs"


class AccountUserObjectPermission(UserObjectPermissionBase):
    """Guardian's direct foreign-key form: fast joins, and rows go with their account."""

    content_object = models.ForeignKey(TelegramAccount, on_delete=models.CASCADE)


class AccountGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(TelegramAccount, on_delete=models.CASCADE)


class ApiToken(models.Model):
    """A Bearer token for scripts. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, editable=False)
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now) and self.user.is_active


class StatusTransition(models.Model):
    account = models.ForeignKey(TelegramAccount, on_delete=models.CASCADE, related_name="transitions")
    at = models.DateTimeField(db_index=True)
    from_status = models.CharField(max_length=16, choices=AccountStatus.choices)
    to_status = models.CharField(max_length=16, choices=AccountStatus.choices)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_status} -> {self.to_status}"


class CheckRecord(models.Model):
    """One check's result: a success is kept CHECK_HISTORY_OK_HOURS, anything else CHECK_HISTORY_DAYS (the hourly
    counts in CheckHour keep what the charts need after that)."""

    # Not indexed alone: (account, at) below serves every lookup by account.
    account = models.ForeignKey(TelegramAccount, on_delete=models.CASCADE, related_name="checks", db_index=False)
    at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=16)
    detail = models.CharField(max_length=200, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["account", "at"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.outcome} at {self.at:%Y-%m-%d %H:%M:%S}"


class CheckHour(models.Model):
    """Checks per hour (UTC), team and outcome, with their summed latency: the fleet chart reads these, added to as
    each batch of checks is written, so it costs the same at 100,000 accounts and at any minute of the hour."""

    hour = models.DateTimeField()
    # The account's team when it was checked, 0 for none. Not a foreign key: a team's history outlives the team.
    team_ref = models.IntegerField()
    outcome = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)
    latency_sum = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "team_ref", "outcome"], name="check_hour_unique")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 team {self.team_ref} {self.outcome} ×{self.count}"


class EndpointProbe(models.Model):
    """Latest TCP reachability of one configured Telegram endpoint (the network monitor)."""

    endpoint = models.CharField(max_length=100, primary_key=True)
    reachable = models.BooleanField()
    latency_ms = models.PositiveIntegerField(null=True)
    error = models.CharField(max_length=200, blank=True)
    checked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.endpoint}: {'up' if self.reachable else 'down'}"


class JobKind(models.TextChoices):
    IMPORT = "import", "Import"
    CHECK = "check", "Check"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """Work a person asked for that runs on workers, never in their request: an import (the upload waits sealed
    in the vault until the task takes it) or checks of chosen accounts. Its page and the API poll it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=JobKind.choices, default=JobKind.IMPORT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    uploaded = models.JSONField(default=list, help_text="the uploaded file names (imports)")
    account_ids = models.JSONField(default=list, help_text="the accounts to check (checks)")
    total = models.PositiveIntegerField(default=0, help_text="sessions found once parsed (zips expand), or accounts")
    processed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.state})"

    @property
    def staged_name(self) -> str:
        return f"imports/{self.pk.hex}.tgi"

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)


class SavedFilter(models.Model):
    """One user's named view of the account list: the list's query string (filters, search, order)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_filter_unique_name")]

    def __str__(self) -> str:
        return self.name


class LoginState(models.TextChoices):
    CODE_SENT = "code_sent", "Code sent"
    PASSWORD_NEEDED = "password_needed", "Two-step password needed"
    EXISTS = "exists", "Signed in: the account is already here"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class Login(models.Model):
    """Adding an account by signing in, between its steps. What the next step needs (the phone, Telegram's
    phone_code_hash, the half-made session's auth key) is sealed with the vault's keys in ``sealed`` and
    dropped when the login ends; only a masked phone and its HMAC are readable."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="logins")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Never direct when it names a proxy: deleting the proxy ends the login rather than freeing it.
    proxy = models.ForeignKey(Proxy, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    replace = models.ForeignKey(TelegramAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                help_text="the account whose session this login replaces")  # fmt: skip
    phone_masked = models.CharField(max_length=24)
    phone_digest = models.CharField(max_length=80, db_index=True)
    state = models.CharField(max_length=16, choices=LoginState.choices, default=LoginState.CODE_SENT)
    code_type = models.CharField(max_length=16, blank=True)
    next_type = models.CharField(max_length=16, blank=True)
    code_timeout = models.PositiveIntegerField(null=True, blank=True)
    password_hint = models.CharField(max_length=128, blank=True)
    error = models.CharField(max_length=64, blank=True)
    error_text = models.CharField(max_length=300, blank=True)
    flood_wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="tries of the code or password asked for now")
    resends = models.PositiveIntegerField(default=0)
    sealed = models.BinaryField(editable=False, default=b"")
    account = models.ForeignKey(TelegramAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    busy_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"sign-in of {self.phone_masked} ({self.get_state_display()})"

    @property
    def open(self) -> bool:
        return self.state in (LoginState.CODE_SENT, LoginState.PASSWORD_NEEDED, LoginState.EXISTS)


class AccountStanding(models.Model):
    """What Telegram holds against an account, from its last deep check: None is "not known" (never "fine").
    Each finding's evidence (method, Telegram's answer, time) is kept in ``evidence``."""

    account = models.OneToOneField(TelegramAccount, primary_key=True, on_delete=models.CASCADE,
                                   related_name="standing")  # fmt: skip
    checked_at = models.DateTimeField(null=True, blank=True)
    next_at = models.DateTimeField(null=True, blank=True, db_index=True)
    interval_seconds = models.PositiveIntegerField(
        "Deep check every (seconds)", null=True, blank=True, help_text="Default: DEEP_CHECK_INTERVAL_SECONDS (a day)"
    )
    last_outcome = models.CharField(max_length=16, blank=True)
    spam_blocked = models.BooleanField(null=True, blank=True)
    spam_kind = models.CharField(max_length=16, blank=True)
    spam_until = models.DateTimeField(null=True, blank=True)
    spam_text = models.TextField(blank=True, help_text="@SpamBot's last answer, as it came")
    spambot_asked_at = models.DateTimeField(null=True, blank=True)
    frozen = models.BooleanField(null=True, blank=True)
    freeze_since = models.DateTimeField(null=True, blank=True)
    freeze_until = models.DateTimeField(null=True, blank=True, help_text="deleted then unless an appeal succeeds")
    freeze_appeal_url = models.CharField(max_length=300, blank=True)
    freeze_reminders = models.JSONField(default=list, blank=True)
    restricted = models.BooleanField(null=True, blank=True)
    scam = models.BooleanField(null=True, blank=True)
    fake = models.BooleanField(null=True, blank=True)
    restriction_reasons = models.JSONField(default=list, blank=True)
    two_step = models.BooleanField("Two-step password set", null=True, blank=True)
    authorizations = models.JSONField(default=list, blank=True)
    other_sessions = models.PositiveIntegerField(null=True, blank=True)
    evidence = models.JSONField(default=list, blank=True)

    objects = RestrictedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"standing of {self.account_id}"


class VaultBlob(models.Model):
    """One sealed vault entry (a session, a staged upload) when SESSION_STORE=database: the same Fernet token the
    file store would write, in the database, so worker hosts need no shared disk."""

    name = models.CharField(max_length=255, primary_key=True)
    data = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name
