from __future__ import annotations

import json

import pytest

from sessionlog import SecretPattern, SessionLogger

SECRETS = {
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "A1b2C3d4E5" * 3 + "abcdef",
    "github_pat": "github_pat_" + "11ABCDEFG0" * 3 + "_xyz",
    "openai_api_key": "sk-proj-" + "abcDEF123_" * 4,
    "anthropic_api_key": "sk-ant-api03-" + "abcDEF123-" * 5,
    "slack_token": "xoxb-1234567890-abcdefghij",
    "google_api_key": "AIza" + "SyA1234567890abcdefghijklmnopqrstuv",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----",
    "assignment": "DB_PASSWORD=correct-horse-battery",
    "aws_secret": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_provider_secrets_never_reach_disk(logger: SessionLogger, name: str) -> None:
    secret = SECRETS[name]
    result = logger.append_event(
        "s",
        "tool_call",
        "claude_code",
        "Bash",
        data={"output": f"log line with {secret} inside", "nested": [{"v": secret}]},
    )
    assert result.ok, result.error
    raw = logger.session_path("s").read_text()
    needle = secret.split("=")[-1].strip() if name in ("assignment", "aws_secret") else secret
    assert needle not in raw
    assert "[REDACTED:" in raw
    event = json.loads(raw)
    assert {r["path"] for r in event["redactions"]} == {"$.data.output", "$.data.nested[0].v"}
    assert logger.verify_session("s").ok


def test_secret_named_fields_are_redacted(logger: SessionLogger) -> None:
    logger.append_event("s", "tool_call", "claude_code", "x", data={"password": "pw", "api_key": "k1", "max_tokens": 5})
    event = json.loads(logger.session_path("s").read_text())
    assert event["data"] == {
        "password": "[REDACTED:secret_field]",
        "api_key": "[REDACTED:secret_field]",
        "max_tokens": 5,
    }


def test_ordinary_text_is_left_alone(logger: SessionLogger) -> None:
    data = {"message": "All 42 tests passed; token usage was low; skip the secret santa", "sk": "sky-blue"}
    logger.append_event("s", "tool_call", "claude_code", "x", data=data)
    event = json.loads(logger.session_path("s").read_text())
    assert event["data"] == data
    assert "redactions" not in event


def test_escaped_quotes_in_json_still_trigger_assignment_redaction(logger: SessionLogger) -> None:
    logger.append_event("s", "tool_call", "claude_code", "x", data={"cmd": 'export PASSWORD="s3cr3t-value"'})
    assert "s3cr3t-value" not in logger.session_path("s").read_text()


def test_patterns_are_configurable(sessions_dir: object) -> None:
    custom = SessionLogger(sessions_dir, secret_patterns=[SecretPattern("ticket", r"TICKET-\d{6}")])  # type: ignore[arg-type]
    custom.append_event("s", "tool_call", "claude_code", "x", data={"m": "see TICKET-123456 and ghp_" + "a" * 36})
    raw = custom.session_path("s").read_text()
    assert "TICKET-123456" not in raw
    assert "ghp_" + "a" * 36 in raw  # only the configured patterns apply


def test_redaction_can_be_turned_off(sessions_dir: object) -> None:
    plain = SessionLogger(sessions_dir, redact=False)  # type: ignore[arg-type]
    plain.append_event("s", "tool_call", "claude_code", "x", data={"password": "pw"})
    assert '"password":"pw"' in plain.session_path("s").read_text()


def test_hex_ids_do_not_wake_the_redaction_walk() -> None:
    from sessionlog._redact import Redactor

    # a lowercase hex id holding "acca" or "asia"-like runs is not an AWS key prefix
    body = b'{"event_id":"evt_019ad3acca0f5e2b41c0ffeeacca1234","data":{"m":"Asia trip; Accadia"}}'
    assert not Redactor().might_contain_secret(body)
    assert Redactor().might_contain_secret(b'{"m":"AKIAIOSFODNN7EXAMPLE"}')
    assert Redactor().might_contain_secret(b'{"m":"Password = x"}')


def test_http_credentials_are_redacted(logger: SessionLogger) -> None:
    token = "abcDEF0123456789ghijKLMN"
    data = {
        "curl": f"curl -H 'Authorization: Bearer {token}' https://api.example.com",
        "headers": {"Authorization": "Basic dXNlcjpwYXNz", "Cookie": "session=abc123"},
    }
    assert logger.append_event("s", "tool_call", "claude_code", "Bash", data=data).ok
    raw = logger.session_path("s").read_text()
    assert token not in raw and "dXNlcjpwYXNz" not in raw and "abc123" not in raw
    event = json.loads(raw)
    assert event["data"]["curl"] == "curl -H 'Authorization: Bearer [REDACTED:bearer_token]' https://api.example.com"
