"""The secrets the alert tests' local receivers expect (tests/alerts/conftest.py), and what must never leak."""

DING_TOKEN, DING_SECRET = "ding-token-7f3a9c", "SECding-signing-secret-41be"
FEISHU_HOOK, FEISHU_SECRET = "feishu-hook-0c55e2", "feishu-signing-secret-9d1f"
WECOM_KEY = "wecom-key-6a2b71"
SMTP_USER, SMTP_PASSWORD = "etl@shop.example", "smtp-password-33c8"
SECRETS = (DING_TOKEN, DING_SECRET, FEISHU_HOOK, FEISHU_SECRET, WECOM_KEY, SMTP_PASSWORD)
