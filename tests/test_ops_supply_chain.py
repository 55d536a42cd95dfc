"""What the image and CI install is pinned, hashed and as declared: the lock files agree with pyproject.toml.

The locks are made with pip-compile (see README, *Dependencies*); these checks fail when someone changes a pin
in pyproject.toml and forgets to re-lock, or lets the image install the laptop-only embedded store.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from bot.config.settings import ROOT

LOCKS = ROOT / "requirements"
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    return {_normal(name): version for name, version in _PIN.findall(text)}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def declared(*extras: str) -> dict[str, str]:
    spec = project()
    lines = list(spec["dependencies"])  # type: ignore[call-overload]
    for extra in extras:
        lines += spec["optional-dependencies"][extra]  # type: ignore[index]
    return pins("\n".join(lines))


def test_every_pin_in_pyproject_is_what_the_lock_files_install() -> None:
    for lock, extras in [("image.lock", ()), ("test.lock", ("test",))]:
        locked = pins((LOCKS / lock).read_text(encoding="utf-8"))
        wanted = declared(*extras)
        assert {n: v for n, v in wanted.items() if locked.get(n) != v} == {}, f"re-run pip-compile for {lock}"


def test_every_locked_package_carries_a_hash_and_pip_and_setuptools_are_current_ones() -> None:
    for lock in ("image.lock", "test.lock"):
        text = (LOCKS / lock).read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1])
        packages = [b for b in blocks if _PIN.match(b)]
        assert packages and all("--hash=sha256:" in b for b in packages), lock
        locked = pins(text)
        assert {"pip", "setuptools"} <= set(locked), "the installers are locked too"
        assert int(locked["pip"].split(".")[0]) >= 25 and int(locked["setuptools"].split(".")[0]) >= 80


def test_the_embedded_store_is_only_in_the_local_and_test_installs() -> None:
    image = pins((LOCKS / "image.lock").read_text(encoding="utf-8"))
    assert "fakeredis" not in image and "lupa" not in image
    assert {"fakeredis", "lupa"} <= set(declared("local")) and {"fakeredis", "lupa"} <= set(declared("test"))
    assert int(image["redis"].split(".")[0]) >= 8, "redis-py at its current major"


def test_the_image_builds_from_the_lock_with_hashes_on_base_images_pinned_by_digest() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert len(bases) == 2 and all(re.search(r"@sha256:[0-9a-f]{64}$", b) for b in bases), bases
    assert "pip install --require-hashes -r requirements/image.lock" in text
    assert "--no-deps --no-build-isolation ." in text, "the project is built with the locked setuptools"
    assert "FORWARDED_ALLOW_IPS=*" not in text
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements/test.lock" in ci


def test_the_lock_files_are_made_from_pypi_for_this_python() -> None:
    for lock in ("image.lock", "test.lock"):
        header = (LOCKS / lock).read_text(encoding="utf-8").split("\n\n", 1)[0]
        assert "--index-url=https://pypi.org/simple" in header and "Python 3.11" in header
        assert "file://" not in (LOCKS / lock).read_text(encoding="utf-8"), "no local mirror in a lock"
    assert Path(LOCKS / "tools.in").exists()
