"""Secrets as agents print them: realistic leak shapes, built from public leak write-ups (printed
.env files, shell history, CI logs, `kubectl get -o yaml`, container registry logins, OAuth
redirects) and from what agent transcripts show. Each shape is the text a tool printed and the
secret values in it that must never reach disk. Used by test_redaction.py and, for the recall
figure, by benchmarks/bench_redaction.py.

Every value here is made up; none is a live credential.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

_R = "q7Xk2Lm9Pz4Rt8Vw3Ny6Bc1Hd5Jf0Gs"  # high-entropy filler, as real tokens are
_KEY_LINES = [
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + _R,
    "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456789abcdef",
]
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(_KEY_LINES) + "\n-----END PRIVATE KEY-----\n"
_ENV_FILE = (
    "NODE_ENV=production\nDB_HOST=db.internal\nDB_PASS=Tr0ub4dor&3x\nSMTP_PASS=horse-staple-99\n"
    f"STRIPE_SECRET_KEY=sk_live_{_R[:24]}\n"
)
_SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "acme-prod",
    "private_key_id": "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d",
    "private_key": PRIVATE_KEY,
    "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
}

# (what the tool printed, [secret values that must not reach disk])
LEAKS: list[tuple[str, list[str]]] = [
    (f"$ cat .env\n{_ENV_FILE}", ["Tr0ub4dor&3x", "horse-staple-99", f"sk_live_{_R[:24]}"]),
    ("$ docker login -u deploy -p Hunter2-Registry registry.acme.io\nLogin Succeeded", ["Hunter2-Registry"]),
    ("$ mysql -u root -pS3cr3tRootPw -h 127.0.0.1 app\nmysql: [Warning] Using a password", ["S3cr3tRootPw"]),
    ('BACKUP_PASSPHRASE="correct horse battery staple"', ["correct horse battery staple", "battery staple"]),
    ("password: correct horse battery staple", ["battery staple"]),
    (
        json.dumps(
            {
                "metadata": {
                    "annotations": {
                        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                            {"apiVersion": "v1", "kind": "Secret", "stringData": {"password": "kub3-S3cret-pw"}}
                        )
                    }
                }
            }
        ),
        ["kub3-S3cret-pw"],
    ),
    (
        "302 Location: https://app.acme.io/login?next=https%3A%2F%2Fapi.acme.io%2Fcb%3Faccess_token%3D"
        "ya29A0ARrdaM9xQ7Xk2Lm9Pz4Rt8Vw%26state%3Dabc",
        ["ya29A0ARrdaM9xQ7Xk2Lm9Pz4Rt8Vw"],
    ),
    ("https://api.acme.io/v1/export?api_key=AbCdEf0123456789XyZ&format=csv", ["AbCdEf0123456789XyZ"]),
    (f"$ base64 .env\n{base64.b64encode(_ENV_FILE.encode()).decode()}", ["Tr0ub4dor&3x", "horse-staple-99"]),
    (f"$ cat sa.json\n{json.dumps(_SERVICE_ACCOUNT, indent=2)}", _KEY_LINES),
    (f'FIREBASE_PRIVATE_KEY="{PRIVATE_KEY.strip()}"', _KEY_LINES),
    (f"export TOKEN={PRIVATE_KEY.replace('PRIVATE KEY', 'RSA PRIVATE KEY')}", _KEY_LINES),
    ("ANTHROPIC_API_KEY=sk-ant-api03-" + (_R * 2)[:40], [(_R * 2)[:40]]),
    ("OPENAI_API_KEY=sk-proj-" + (_R * 2)[:40], [(_R * 2)[:40]]),
    ("found key sk-ant-api03-" + (_R * 4)[:93] + " in the logs", [(_R * 4)[:93]]),
    ("ANTHROPIC_API_KEY=abcdefghijklmnop1234", ["abcdefghijklmnop1234"]),  # "sequential" to gitleaks
    ("ANTHROPIC_API_KEY=example-token-for-staging-0042", ["example-token-for-staging-0042"]),  # a stop-word
    ("curl -u admin:Adm1nPassw0rd https://jenkins.acme.io/api/json", ["Adm1nPassw0rd"]),
    ("git clone https://deploy:ghp_" + (_R * 2)[:36] + "@github.com/acme/app.git", ["ghp_" + (_R * 2)[:36]]),
    ("postgres://app:pg-Pa55w0rd-prod@db.internal:5432/app", ["pg-Pa55w0rd-prod"]),
    ('{"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.' + _R + '"}', [_R]),
    (
        "$ aws configure list\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq7Xk2Lm9P",
        ["wJalrXUtnFEMI/K7MDENG"],
    ),
    ("GITHUB_TOKEN=ghp_shortbut8", ["ghp_shortbut8"]),
    ('"client_secret": "GOCSPX-' + _R[:28] + '"', ["GOCSPX-" + _R[:28]]),
]


def leaked(line: str, secrets: list[str]) -> list[str]:
    """Those of *secrets* that a written line still holds: in its bytes, in any string once the
    JSON is decoded, or in what a base64 run in such a string decodes to."""
    strings = [line, *_strings_in(json.loads(line))]
    strings += [decoded for text in list(strings) for decoded in _base64_decoded(text)]
    return [secret for secret in secrets if any(secret in text for text in strings)]


def _strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []


def _base64_decoded(text: str) -> list[str]:
    out = []
    for run in re.findall(r"[A-Za-z0-9+/]{24,}={0,2}", text):
        try:
            out.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            continue
    return out
