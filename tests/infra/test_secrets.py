"""No secret in plain text in the templates, the parameters file or the outputs: a parameter
that holds one is @secure, its value reaches only Key Vault, and no output carries a secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ._bicep import INFRA, bicep_files, load_json, parse, relative, text_without_comments

SECRET_NAME = re.compile(r"password|secret|token|webhook|(?<![a-z])key(?!.?vault)|connection", re.I)
NOT_SECRETS = {"teamsWebhookSecretName", "smtpPasswordSecretName", "secretName"}


@pytest.mark.parametrize("path", bicep_files(), ids=relative)
def test_secret_parameters_are_secure(path: Path) -> None:
    for name, param in (parse(path).get("parameters") or {}).items():
        if SECRET_NAME.search(name) and name not in NOT_SECRETS:
            kinds = {d["type"] for d in param.get("decorators", [])}
            assert "secure" in kinds, f"{relative(path)}: parameter {name} is not @secure()"
            assert param.get("default", "") == "", f"{relative(path)}: {name} has a default"


@pytest.mark.parametrize("path", bicep_files(), ids=relative)
def test_no_output_carries_a_secret(path: Path) -> None:
    parsed = parse(path)
    secure = {
        name
        for name, param in (parsed.get("parameters") or {}).items()
        if any(d["type"] == "secure" for d in param.get("decorators", []))
    }
    text = text_without_comments(path)
    for line in text.splitlines():
        if not line.startswith("output "):
            continue
        assert not SECRET_NAME.search(line.split("=", 1)[0].replace("RuleId", "")), line
        for name in secure:
            assert not re.search(rf"\b{name}\b", line), f"{relative(path)}: {line}"
        assert "listKeys(" not in line, line
        assert "listSecrets(" not in line, line


@pytest.mark.parametrize("path", bicep_files(), ids=relative)
def test_no_credential_literal_in_a_template(path: Path) -> None:
    text = text_without_comments(path)
    assert "AccountKey=" not in text
    assert "SharedAccessKey=" not in text
    assert not re.search(r"https://[\w.-]+\.(logic\.azure\.com|webhook\.office\.com)", text)
    assert "listKeys(" not in text, "no key is read into a deployment"


def test_secrets_reach_app_settings_only_as_key_vault_references() -> None:
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    for setting in ("DRIFTKEEPER_TEAMS_WEBHOOK_URL", "DRIFTKEEPER_SMTP_PASSWORD"):
        line = next(line for line in main.splitlines() if line.strip().startswith(f"{setting}:"))
        assert "@Microsoft.KeyVault(" in line, line


def test_the_parameters_file_holds_no_secret_value() -> None:
    main = parse(INFRA / "main.bicep")["parameters"]
    for name, entry in load_json("infra/main.parameters.json")["parameters"].items():
        value = entry.get("value")
        if any(d["type"] == "secure" for d in main[name].get("decorators", [])):
            assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", str(value)), f"{name}: {value!r}"
