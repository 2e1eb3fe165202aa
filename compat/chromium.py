"""Headless Chromium from Debian's `chromium` and `chromium-driver` packages, driven by
Selenium with explicit paths: no browser or driver is ever downloaded (Selenium Manager,
which would fetch them, is made to fail if anything calls it)."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common import selenium_manager

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _no_selenium_manager(*_args, **_kwargs):
    raise AssertionError("Selenium Manager must not run: it downloads browsers and drivers")


selenium_manager.SeleniumManager.binary_paths = _no_selenium_manager


def available() -> str | None:
    """None when both are installed, else what is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    return f"missing {', '.join(missing)} (apt install chromium chromium-driver)" if missing else None


def driver(width: int = 1400, height: int = 1000) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # A container or root needs --no-sandbox; /dev/shm is small in containers.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
