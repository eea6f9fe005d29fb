from __future__ import annotations

import dataclasses
import enum
import itertools
import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionlog import SecretPattern, SessionLogger

_R = "q7Xk2Lm9Pz4Rt8Vw3Ny6Bc1Hd5Jf0Gs"  # high-entropy filler, as real tokens are

SECRETS = {
    "aws_access_key_id": "AKIAQ7XK2LM3PZ4RT6VW",
    "github_token": "ghp_" + (_R * 2)[:36],
    "github_pat": "github_pat_" + (_R * 3)[:82],
    "openai_api_key": "sk-proj-" + (_R * 3)[:74] + "T3BlbkFJ" + (_R * 3)[1:75],
    "anthropic_api_key": "sk-ant-api03-" + (_R * 3)[:93] + "AA",
    "slack_token": "xoxb-1234567890123-1234567890123-" + _R[:24],
    "google_api_key": "AIza" + (_R * 2)[:35],
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----",
    "assignment": "DB_PASSWORD=correct-horse-battery",
    "aws_secret": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq7Xk2Lm9P",
    "stripe": "sk_live_" + _R[:24],
    "gitlab": "glpat-" + _R[:20],
    "npm": "npm_" + (_R * 2)[:36].lower(),
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


def test_patterns_and_repository_rules_are_configurable(sessions_dir: Path) -> None:
    rules = sessions_dir.parent / "session_context" / "secret-rules.toml"
    rules.parent.mkdir(parents=True)
    rules.write_text(
        '[extend]\ndisabledRules = ["github-pat", "vendor-prefix-token"]\n\n'
        "[[rules]]\nid = \"internal-ticket-key\"\nregex = '''TKT-[0-9]{6}'''\nkeywords = [\"tkt-\"]\n"
    )
    custom = SessionLogger(sessions_dir, secret_patterns=[SecretPattern("ticket", r"TICKET-\d{6}")])
    token = SECRETS["github_token"]
    data = {"m": f"see TICKET-123456, TKT-654321 and {token} and {SECRETS['gitlab']}"}
    assert custom.append_event("s", "tool_call", "claude_code", "x", data=data).ok
    raw = custom.session_path("s").read_text()
    assert "TICKET-123456" not in raw and "TKT-654321" not in raw and SECRETS["gitlab"] not in raw
    assert token in raw  # the repository turned that rule off
    rules.write_text("[[rules]]\nid = \"bad\"\nregex = '''(?<=x)y'''\n")
    with pytest.raises(ValueError, match="bad: not an RE2 regex"):
        SessionLogger(sessions_dir)


def test_redaction_can_be_turned_off(sessions_dir: object) -> None:
    plain = SessionLogger(sessions_dir, redact=False)  # type: ignore[arg-type]
    plain.append_event("s", "tool_call", "claude_code", "x", data={"password": "pw"})
    assert '"password":"pw"' in plain.session_path("s").read_text()


def test_hex_ids_and_lookalikes_are_not_redacted(logger: SessionLogger) -> None:
    # a lowercase hex run holding "acca" or "asia" wakes the keyword walk, but no rule fires
    data = {"m": "Asia trip; Accadia", "ref": "evt_019ad3acca0f5e2b41c0ffeeacca1234"}
    assert logger.append_event("s", "tool_call", "claude_code", "x", data=data).ok
    event = json.loads(logger.session_path("s").read_text())
    assert event["data"] == data and "redactions" not in event


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
    assert (
        event["data"]["curl"]
        == "curl -H 'Authorization: Bearer [REDACTED:authorization-header]' https://api.example.com"
    )


# -- bypasses found by trying (issue 7) ---------------------------------------------------------


def _raw(logger: SessionLogger, session: str = "s") -> str:
    return logger.session_path(session).read_text()


def test_dict_keys_are_scanned(logger: SessionLogger) -> None:
    token = SECRETS["github_token"]
    assert logger.append_event(
        "s", "tool_call", "codex", "x", data={token: 1}, key_entities={token: {"full_name": "k", "type": "file"}}
    ).ok
    raw = _raw(logger)
    assert token not in raw
    assert {r["path"] for r in json.loads(raw)["redactions"]} >= {"$.data['<key>']", "$.key_entities['<key>']"}


def test_a_session_id_holding_a_secret_is_refused(logger: SessionLogger) -> None:
    result = logger.append_event("ghp_" + (_R * 2)[:36], "tool_call", "codex", "x")
    assert not result.ok and "session id looks like a secret (github-pat" in (result.error or "")
    assert not logger.base_dir.exists() or not any(logger.base_dir.iterdir())


class Where(str, enum.Enum):  # noqa: UP042 (the str-mixin form users write)
    TOKEN = "ghp_" + (_R * 2)[:36]


@dataclasses.dataclass
class Config:
    url: str


def test_values_orjson_serializes_natively_are_redacted(logger: SessionLogger) -> None:
    dsn = "postgres://admin:S3cretPassw0rd@db/app"
    assert logger.append_event("s", "tool_call", "codex", "x", data={"cfg": Config(dsn), "e": Where.TOKEN}).ok
    raw = _raw(logger)
    assert "S3cretPassw0rd" not in raw and Where.TOKEN.value not in raw
    assert json.loads(raw)["data"]["cfg"] == {"url": "postgres://admin:[REDACTED:url-password]@db/app"}


def test_raw_json_fragments_never_bypass_validation_or_redaction(logger: SessionLogger) -> None:
    # raw JSON that would not be written as it reads (a line break, a key given twice, not JSON) is refused
    for fragment in (b'{"a":\n1}', b'1,"f":2', b"not json"):
        result = logger.append_event("s", "tool_call", "codex", "x", data={"f": orjson.Fragment(fragment)})
        assert not result.ok and "orjson.Fragment" in (result.error or ""), fragment
    assert not logger.session_path("s").exists()
    # what is left is parsed, then redacted and validated as any value
    token = SECRETS["github_token"]
    assert logger.append_event("s", "tool_call", "codex", "x", data={"f": orjson.Fragment(f'"{token}"'.encode())}).ok
    assert token not in _raw(logger)
    bad = logger.append_event("s", "tool_call", "codex", "x", confidence=orjson.Fragment(b'"high"'))  # type: ignore[arg-type]
    assert not bad.ok and "confidence" in (bad.error or "")


def test_everything_under_a_secret_named_key_is_masked(logger: SessionLogger) -> None:
    data = {"password": 31415926, "dbPassword": ["hunter22"], "clientSecret": {"v": "x"}, "refreshToken": "r1"}
    assert logger.append_event("s", "tool_call", "codex", "x", data=data).ok
    event = json.loads(_raw(logger))
    assert set(event["data"].values()) == {"[REDACTED:secret_field]"}
    assert "31415926" not in _raw(logger) and "hunter22" not in _raw(logger)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgres://admin:S3cret@db/app", "S3cret"),
        ("see https://bob:hunter22@host/x", "hunter22"),
        ("PGPASSWORD=pgS3cretValue psql -h db", "pgS3cretValue"),
        ("export SECRET_KEY=django-insecure-abc123", "django-insecure-abc123"),
        ("mysql --password hunter2xy -u root", "hunter2xy"),
        ("login --token=tok_abc123456", "tok_abc123456"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("password\u00a0= hunter2xy", "hunter2xy"),
        ("Bearer\f" + _R, _R),
        ("password\v=\vhunter2xy", "hunter2xy"),
        (SECRETS["stripe"], SECRETS["stripe"]),
        (SECRETS["gitlab"], SECRETS["gitlab"]),
        (SECRETS["npm"], SECRETS["npm"]),
    ],
)
def test_credentials_agents_print_are_redacted(logger: SessionLogger, text: str, secret: str) -> None:
    assert logger.append_event("s", "tool_call", "codex", "Bash", data={"out": f"$ {text}\n"}).ok
    assert secret not in _raw(logger)


def test_ordinary_agent_output_is_left_alone(logger: SessionLogger) -> None:
    lines = [
        "--- PASS: TestParse (0.00s)",
        "max_tokens: 4096, token_count=512",
        "password = os.environ['DB_PASSWORD']",
        "def get_password(self) -> str: ...",
        "See https://docs.python.org/3/library/os.html",
        'git commit -m "fix: handle key errors"',
    ]
    assert logger.append_event("s", "tool_call", "codex", "x", data={"out": lines}).ok
    event = json.loads(_raw(logger))
    assert event["data"]["out"][:2] == lines[:2] and event["data"]["out"][4:] == lines[4:]


def test_redaction_is_idempotent(logger: SessionLogger) -> None:
    data = {"out": " ".join(v for k, v in SECRETS.items() if k != "private_key"), "password": "pw123"}
    assert logger.append_event("s", "tool_call", "codex", "x", data=data).ok
    first = json.loads(_raw(logger))
    assert logger.append_event("t", "tool_call", "codex", "x", data=first["data"]).ok
    assert "redactions" not in json.loads(_raw(logger, "t"))


_EXAMPLES = itertools.count()
_PLANTABLE = [v for k, v in SECRETS.items() if k not in ("private_key", "assignment", "aws_secret")]
# where tokens stand in text: after a separator, and before what gitleaks' rules accept as a token's end
_BEFORE = st.sampled_from(["", " ", "\n", '"', "\t", "=", "token: ", "'", "\u00e9 "])
_AFTER = st.sampled_from(["", " ", "\n", '"', "\t", "'", ";", " \u00e9"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    secret=st.sampled_from(_PLANTABLE),
    before=_BEFORE,
    after=_AFTER,
    where=st.sampled_from(["value", "key", "nested", "list", "source", "entity"]),
)
def test_a_planted_secret_never_reaches_disk(
    sessions_dir: Path, secret: str, before: str, after: str, where: str
) -> None:
    text = before + secret + after
    data: dict[str, object] = {
        "value": {"out": text},
        "key": {text: 1},
        "nested": {"a": {"b": [{"c": text}]}},
        "list": {"items": ["ok", text]},
    }.get(where, {"out": "ok"})
    source = text if where == "source" else "Bash"
    entities = {"f": {"full_name": text, "type": "file"}} if where == "entity" else None
    session = f"p{next(_EXAMPLES)}"
    with SessionLogger(sessions_dir) as logger:
        result = logger.append_event(session, "tool_call", "codex", source, data=data, key_entities=entities)
        if result.ok:
            raw = logger.session_path(session).read_bytes()
            assert secret.encode() not in raw
            assert secret not in json.dumps(json.loads(raw.splitlines()[-1]))  # nor once decoded


_KEY_BODY = [
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + _R,
    "q7Xk2Lm9Pz4Rt8Vw3Ny6Bc1Hd5Jf0GsK8fLwPqRzT3mXnYb2VcHj" + _R[:10],
    "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456789abcdef",
]
_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(_KEY_BODY) + "\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    "text",
    [
        f'FIREBASE_PRIVATE_KEY="{_PRIVATE_KEY}"',
        f'FIREBASE_PRIVATE_KEY="{_PRIVATE_KEY}"'.replace("\n", "\\n"),  # as .env files write it
        f"export TOKEN={_PRIVATE_KEY.replace('PRIVATE KEY', 'RSA PRIVATE KEY')}",
        f"password: {_PRIVATE_KEY}",
    ],
)
def test_a_short_match_never_leaves_the_rest_of_a_longer_one_in_the_clear(logger: SessionLogger, text: str) -> None:
    assert logger.append_event("k", "tool_call", "codex", "Bash", data={"stdout": text}).ok
    raw = logger.session_path("k").read_bytes()
    for line in _KEY_BODY:
        assert line.encode() not in raw  # the key body went with the short match it overlapped
    assert logger.verify_session("k").ok


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    inner=st.sampled_from(_PLANTABLE),
    outer=st.sampled_from(["API_KEY={}", "password: {}", "Authorization: Bearer {}", "SECRET_TOKEN='{}'"]),
    before=_BEFORE,
)
def test_a_secret_planted_inside_another_rules_match_is_masked_whole(
    sessions_dir: Path, inner: str, outer: str, before: str
) -> None:
    text = before + outer.format(inner + " " + _PRIVATE_KEY + " " + inner)
    session = f"o{next(_EXAMPLES)}"
    with SessionLogger(sessions_dir) as logger:
        assert logger.append_event(session, "tool_call", "codex", "Bash", data={"out": text}).ok
        raw = logger.session_path(session).read_bytes()
    for piece in (*_KEY_BODY, inner):
        assert piece.encode() not in raw


_BAD_RULES = {
    "keywords": ('[[rules]]\nid = "y"\nregex = "abc"\nkeywords = 5\n', ":1: rule y: keywords must be a list"),
    "allowlist": (
        '# ours\n[[rules]]\nid = "ok"\nregex = "abc"\n\n[[rules]]\nid = "z"\nregex = "abc"\n'
        '[[rules.allowlists]]\nregexes = ["(?=bad)"]\n',
        ":6: rule z: allowlist 1: not an RE2 regex",
    ),
    "disabled": ('[extend]\ndisabledRules = "all"\n', "disabledRules must be a list of rule ids"),
    "toml": ("not toml [[[\n", "not TOML"),
}


@pytest.mark.parametrize("name", sorted(_BAD_RULES))
def test_a_malformed_rules_file_is_a_clear_error_naming_file_and_line(tmp_path: Path, name: str) -> None:
    from sessionlog.errors import ConfigError

    text, said = _BAD_RULES[name]
    rules = tmp_path / ".ai-agents" / "session_context" / "secret-rules.toml"
    rules.parent.mkdir(parents=True)
    rules.write_text(text)
    with pytest.raises(ConfigError) as caught:  # said when the logger is made, never inside an append
        SessionLogger(tmp_path / ".ai-agents" / "sessions")
    assert "secret-rules.toml" in str(caught.value) and said in str(caught.value)


def test_a_malformed_rules_file_fails_the_hook_and_ci_as_a_finding_not_a_crash(tmp_path: Path) -> None:
    from gitrepo import Repo

    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init")
    rules = repo.path / ".ai-agents" / "session_context" / "secret-rules.toml"
    rules.parent.mkdir(parents=True)
    rules.write_text(_BAD_RULES["allowlist"][0])
    with SessionLogger(repo.sessions, redact=False) as logger:
        assert logger.append_event("s", "tool_call", "codex", "t").ok
    proc = repo.commit("bad rules", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "secret-rules.toml:6: rule z" in proc.stdout + proc.stderr
    repo.run("git", "commit", "-q", "--no-verify", "-m", "committed anyway")
    ci = repo.run("sessionlog", "ci", check=False)
    assert ci.returncode == 1 and "secret-rules.toml:6" in ci.stderr


def test_realistic_leak_shapes_never_reach_disk(sessions_dir: Path) -> None:
    from leak_corpus import LEAKS, leaked

    missed = []
    with SessionLogger(sessions_dir) as logger:
        for number, (printed, secrets) in enumerate(LEAKS):
            session = f"leak{number}"
            result = logger.append_event(session, "tool_call", "claude_code", "Bash", data={"output": printed})
            assert result.ok, result.error
            missed += [(number, s) for s in leaked(logger.session_path(session).read_text(), secrets)]
    assert missed == []


def test_a_json_document_inside_a_string_is_walked_decoded(logger: SessionLogger) -> None:
    inner = {"apiVersion": "v1", "kind": "Secret", "data": {"db_password": 982451653, "note": "ok"}}
    data = {"annotation": json.dumps(inner)}  # a number under a secret-named key: no text rule sees it
    assert logger.append_event("j", "tool_call", "codex", "kubectl", data=data).ok
    event = json.loads(_raw(logger, "j"))
    decoded = json.loads(event["data"]["annotation"])
    assert decoded["data"] == {"db_password": "[REDACTED:secret_field]", "note": "ok"}
    assert "982451653" not in _raw(logger, "j")
