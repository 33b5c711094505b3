"""Browser tests: Voila pages driven by Playwright in headless Chromium."""
