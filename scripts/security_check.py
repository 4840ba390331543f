"""`make lint`'s security checks: bandit over the code, pip-audit over requirements.lock, against one baseline.

    python scripts/security_check.py            # both; exit 1 on a finding that security/baseline.toml does not accept

security/baseline.toml lists every accepted finding with its reason. A new finding fails, and so does a baseline
entry that no longer matches anything (the list stays true). pip-audit asks PyPI's JSON API for each pinned
version's advisories; where that API is out of reach (this project's machines reach only a package mirror) every
package is reported as not audited, and the yanked-release check (from the project JSON the mirror does serve)
still runs. SECURITY_AUDIT_REQUIRED=true turns "nothing could be audited" into a failure, for machines with the
full internet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "security" / "baseline.toml"
BIN = Path(sys.executable).parent
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
HTTP_TIMEOUT_SECONDS = 10
LOOKUPS_AT_ONCE = 8  # project JSON documents are up to 1 MB each: a few at a time, not 128


def _load() -> dict[str, Any]:
    with BASELINE.open("rb") as fh:
        return tomllib.load(fh)


def bandit_check(baseline: dict[str, Any]) -> list[str]:
    cfg = baseline["bandit"]
    skips = ",".join(entry["test"] for entry in cfg["skip"])
    excludes = ",".join(entry["path"] for entry in cfg["exclude"])
    out = subprocess.run(
        [str(BIN / "bandit"), "-r", *cfg["paths"], "-q", "-f", "json", "-s", skips, "-x", excludes],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(out.stdout or "{}")
    if report.get("errors"):
        return [f"bandit could not scan {e['filename']}: {e['reason']}" for e in report["errors"]]
    accepted = cfg.get("accepted", [])
    used: set[int] = set()
    problems = []
    for finding in report.get("results", []):
        match = next(
            (
                i
                for i, a in enumerate(accepted)
                if a["test"] == finding["test_id"] and a["file"] == finding["filename"] and a["code"] in finding["code"]
            ),
            None,
        )
        if match is None:
            problems.append(
                f"bandit {finding['test_id']} {finding['filename']}:{finding['line_number']}: "
                f"{finding['issue_text']} (fix it, or accept it in security/baseline.toml with a reason)"
            )
        else:
            used.add(match)
    problems += [
        f"security/baseline.toml: bandit entry {a['test']} {a['file']} ({a['code']!r}) matches nothing; remove it"
        for i, a in enumerate(accepted)
        if i not in used
    ]
    print(f"bandit: {len(report.get('results', []))} findings, {len(used)} accepted in the baseline")
    return problems


def _pins() -> list[tuple[str, str]]:
    pins = []
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins.append((name.strip(), version.strip()))
    return pins


def yanked_check() -> tuple[list[str], int]:
    """Offline-capable part: a pinned release its authors yanked (often for a security or data-loss bug)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    def files_of(pin: tuple[str, str]) -> list[dict[str, Any]] | None:
        name, version = pin
        try:
            r = requests.get(PYPI_JSON.format(name=name), timeout=HTTP_TIMEOUT_SECONDS)
        except requests.RequestException:
            return None
        return (r.json().get("releases", {}).get(version) or []) if r.status_code == 200 else None

    pins = _pins()
    with ThreadPoolExecutor(max_workers=LOOKUPS_AT_ONCE) as pool:
        answers = list(pool.map(files_of, pins))
    problems = []
    for (name, version), files in zip(pins, answers, strict=True):
        if files and all(f.get("yanked") for f in files):
            reason = files[0].get("yanked_reason") or "no reason given"
            problems.append(f"requirements.lock pins {name}=={version}, which was yanked: {reason}")
    return problems, sum(files is not None for files in answers)


def pip_audit_check(baseline: dict[str, Any]) -> list[str]:
    accepted = {entry["id"]: entry for entry in baseline.get("pip_audit", {}).get("accepted", [])}
    out = subprocess.run(
        [
            str(BIN / "pip-audit"),
            "-r",
            "requirements.lock",
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "-f",
            "json",
            "-s",
            "pypi",
            "--timeout",
            str(HTTP_TIMEOUT_SECONDS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        return [f"pip-audit failed: {out.stderr.strip()[-500:]}"]
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    problems, seen = [], set()
    for dep in deps:
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            hit = ids & set(accepted)
            seen |= hit
            if not hit:
                problems.append(
                    f"pip-audit: {dep['name']} {dep['version']} has {vuln['id']} (fixed in "
                    f"{', '.join(vuln.get('fix_versions') or ['?'])}): upgrade it in requirements.lock, "
                    "or accept it in security/baseline.toml with a reason"
                )
    audited = len(deps) - len(skipped)
    problems += [
        f"security/baseline.toml: pip-audit entry {i} matches nothing; remove it"
        for i in accepted
        if i not in seen and audited
    ]
    print(f"pip-audit: {audited} of {len(deps)} pinned packages audited against PyPI's advisories")
    if deps and not audited:
        print(
            "pip-audit: no vulnerability data is reachable from here (PyPI's per-version JSON API and OSV are "
            "outside this network); run `make lint` where they are, e.g. a developer laptop"
        )
        if os.environ.get("SECURITY_AUDIT_REQUIRED", "").lower() == "true":
            problems.append("SECURITY_AUDIT_REQUIRED=true and no package could be audited")
    yanked, looked_up = yanked_check()
    print(f"yanked releases: {looked_up} of {len(_pins())} pins looked up, {len(yanked)} yanked")
    return problems + yanked


def main() -> int:
    baseline = _load()
    problems = bandit_check(baseline) + pip_audit_check(baseline)
    for problem in problems:
        print(f"FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
