"""The console in a real browser: Debian's Chromium, headless, driven by Playwright against the
embedded stack and real webhook receivers.

With UPDATE_SCREENSHOTS=1 the tests also write docs/console/*.png (shown in docs/console.md).
"""

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from devtools.receiver import Faults, Receiver
from devtools.template import REPO_ROOT
from tests.e2e.conftest import Configure, post_events, recorded_delivery, subscribe, wait_until
from tests.integration.cli_support import key_of
from tests.integration.conftest import ApiClient

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "docs" / "console"
WAIT_MS = 60_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The page's form controls without a label (a <label for> or aria-label).
UNLABELLED_CONTROLS = """[...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map(el => el.outerHTML)"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        assert not os.environ.get("CI"), "chromium is missing: `make setup` installs Debian's chromium"
        pytest.skip("chromium is not installed (make setup installs it)")
    # `expect` does not take the page's default timeout: its own is 5 s unless set here, too short
    # for what waits on the pipeline (a retried delivery, the index catching up) on a loaded machine.
    expect.set_options(timeout=WAIT_MS)
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        expect.set_options(timeout=None)


class Console:
    """One browser tab on the console, with what it sent and what the browser complained about."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.complaints: list[str] = []
        self.refusals_expected: set[int] = set()
        self.page.on("request", lambda request: self.requests.append((request.url, request.headers)))
        self.page.on(
            "console",
            lambda message: self.complaints.append(message.text) if message.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.complaints.append(str(error)))
        self.failed: list[str] = []
        self.page.on(
            "response",
            lambda response: (
                self.failed.append(f"{response.status} {response.request.method} {response.url}")
                if response.status >= 400
                else None
            ),
        )

    def open(self, api_key: str, hash_: str = "#/events") -> Page:
        self.page.goto(f"{self.base_url}/console{hash_}")
        self.page.get_by_label("API key").fill(api_key)
        self.page.get_by_label("API key").press("Enter")
        expect(self.page.get_by_role("navigation", name="Console")).to_be_visible()
        return self.page

    def go(self, hash_: str) -> Page:
        self.page.goto(f"{self.base_url}/console{hash_}")
        return self.page

    def expect_refusals(self, status: int) -> None:
        """The browser logs each API refusal (e.g. a 404) as an error. Those of this status are the
        answers the test asked for: `unexpected_complaints` leaves them out. It is read once the
        context is closed, because the browser may log a refusal after the page looks idle."""
        self.refusals_expected.add(status)

    def unexpected_complaints(self) -> list[str]:
        return [
            text
            for text in self.complaints
            if not any(f"status of {status} " in text for status in self.refusals_expected)
        ]

    def screenshot(self, name: str) -> None:
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture
def console(browser: Browser, api: ApiClient) -> Iterator[Callable[..., Console]]:
    contexts: list[BrowserContext] = []
    consoles: list[Console] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Console:
        context = browser.new_context(viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
        contexts.append(context)
        consoles.append(Console(context, api.base_url))
        return consoles[-1]

    yield make
    for context in contexts:
        context.close()
    # The API key never travels in a URL, and nothing broke the CSP or threw.
    key = key_of(api)
    for opened in consoles:
        assert not [url for url, _ in opened.requests if key in url]
        assert not opened.unexpected_complaints(), (opened.complaints, opened.failed)


@pytest.fixture
def flaky_receiver() -> Iterator[Receiver]:
    """Answers 500 to each event's first attempt, then 200."""
    with Receiver(faults=Faults(fail_rate=1.0, max_failures_per_id=1)) as server:
        yield server


def test_live_mode_shows_a_new_event_and_its_failed_then_succeeded_delivery(
    configure: Configure, api: ApiClient, console: Callable[..., Console], flaky_receiver: Receiver
) -> None:
    # Given a subscription whose receiver fails each event once, and the console in live mode
    configure(RETRY_SCHEDULE="1s")
    subscription = subscribe(api, flaky_receiver.url, ["console.order"])
    flaky_receiver.add_secret(subscription["secret"])
    tab = console()
    page = tab.open(key_of(api))
    page.get_by_label("Live (follow new events)").check()

    # When an event is posted
    (event_id,) = post_events(
        api, [{"event_type": "console.order", "source": "shop", "payload": {"order": 42}}]
    )

    # Then it appears without a reload, and its page shows the failed then the succeeded attempt
    row = page.locator(f'tr[data-event-id="{event_id}"]')
    expect(row).to_contain_text("console.order")
    tab.screenshot("events")
    row.get_by_role("link").click()
    delivery = page.locator(f'article[data-subscription-id="{subscription["id"]}"]')
    expect(delivery.locator(".badge")).to_have_text("delivered")
    statuses = delivery.locator("tbody tr td:nth-child(3)")
    expect(statuses).to_have_text(["500", "200"])
    expect(page.get_by_label("Payload")).to_contain_text('"order": 42')
    tab.screenshot("event")
    # and every API call carried the key in the Authorization header
    api_calls = [headers for url, headers in tab.requests if "/v1/" in url]
    assert api_calls and all(headers.get("authorization") == f"Bearer {key_of(api)}" for headers in api_calls)


def test_a_new_subscription_shows_its_secret_once_and_copies_it(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given the subscriptions page
    tab = console()
    page = tab.open(key_of(api), "#/subscriptions")

    # When a subscription is created there
    page.get_by_label("Target URL").fill("http://127.0.0.1:9/console-test")
    page.get_by_label("Event types (comma separated; * for all)").fill("console.created, console.paid")
    page.get_by_role("button", name="Create subscription").click()

    # Then its secret is shown with a warning, copies to the clipboard, and is gone once dismissed
    secret = page.get_by_test_id("secret")
    expect(secret).to_have_text(re.compile(r"^whsec_\S+$"))
    shown = secret.inner_text()
    expect(page.get_by_role("alert")).to_contain_text("Shown once")
    tab.screenshot("subscription-created")
    page.get_by_role("button", name="Copy secret").click()
    expect(page.get_by_text("Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == shown
    (created,) = api.get("/v1/subscriptions").json()["data"]
    assert created["event_types"] == ["console.created", "console.paid"]
    expect(page.locator(f'tr[data-subscription-id="{created["id"]}"]')).to_contain_text("active")
    page.get_by_role("button", name="I have stored it").click()
    expect(page.get_by_test_id("secret")).to_have_count(0)
    assert shown not in page.content()


def test_a_disabled_subscription_is_enabled_then_deleted(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given a subscription disabled because its endpoint answered 410 Gone
    with Receiver(faults=Faults(gone=True)) as gone:
        subscription = subscribe(api, gone.url, ["console.gone"])
        post_events(api, [{"event_type": "console.gone", "payload": {}}])
        wait_until(
            lambda: api.get(f"/v1/subscriptions/{subscription['id']}").json()["status"] == "disabled",
            "the subscription to be disabled",
        )
    tab = console()
    page = tab.open(key_of(api), f"#/subscriptions/{subscription['id']}")
    status = page.get_by_test_id("subscription-status")
    expect(status).to_contain_text("disabled")
    expect(status).to_contain_text("410")
    tab.screenshot("subscription")

    # When it is enabled in the console
    page.get_by_role("button", name="Enable").click()

    # Then it is active again, in the page and in the API
    expect(status).to_contain_text("active")
    assert api.get(f"/v1/subscriptions/{subscription['id']}").json()["status"] == "active"

    # And deleting asks first, then deletes
    page.get_by_role("button", name="Delete…").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("cannot be undone")
    assert api.get(f"/v1/subscriptions/{subscription['id']}").status_code == 200
    page.get_by_role("button", name="Delete subscription").click()
    expect(page.get_by_role("heading", name="Subscription deleted")).to_be_visible()
    assert api.get(f"/v1/subscriptions/{subscription['id']}").status_code == 404


def test_a_subscription_created_in_the_console_is_disabled_by_hand_then_enabled(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given a subscription created in the console, its secret copied
    tab = console()
    page = tab.open(key_of(api), "#/subscriptions")
    page.get_by_label("Target URL").fill("http://127.0.0.1:9/console-disable")
    page.get_by_label("Event types (comma separated; * for all)").fill("console.paused")
    page.get_by_role("button", name="Create subscription").click()
    shown = page.get_by_test_id("secret").inner_text()
    page.get_by_role("button", name="Copy secret").click()
    expect(page.get_by_text("Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == shown
    page.get_by_role("button", name="I have stored it").click()
    (created,) = api.get("/v1/subscriptions").json()["data"]
    page.locator(f'tr[data-subscription-id="{created["id"]}"]').get_by_role("link").click()
    status = page.get_by_test_id("subscription-status")
    expect(status).to_contain_text("active")
    expect(page.get_by_role("button", name="Enable")).to_have_count(0)

    # When "Disable…" is cancelled, nothing changes
    page.get_by_role("button", name="Disable…").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Disable this subscription?")
    page.get_by_role("button", name="Cancel").click()
    assert api.get(f"/v1/subscriptions/{created['id']}").json()["status"] == "active"

    # When it is disabled with a reason, after the confirmation
    page.get_by_role("button", name="Disable…").click()
    page.get_by_label("Reason (optional)").fill("receiver maintenance")
    page.get_by_role("button", name="Disable subscription").click()

    # Then the page and the API show it disabled, with the reason, and offer Enable
    expect(status).to_contain_text("disabled")
    expect(status).to_contain_text("receiver maintenance")
    stored = api.get(f"/v1/subscriptions/{created['id']}").json()
    assert (stored["status"], stored["disabled_reason"]) == ("disabled", "receiver maintenance")
    expect(page.get_by_role("button", name="Disable…")).to_have_count(0)
    tab.screenshot("subscription-disabled")

    # When it is enabled again, it is active in the page and in the API
    page.get_by_role("button", name="Enable").click()
    expect(status).to_contain_text("active")
    expect(status).not_to_contain_text("receiver maintenance")
    assert api.get(f"/v1/subscriptions/{created['id']}").json()["status"] == "active"
    expect(page.get_by_role("button", name="Disable…")).to_be_visible()


def test_a_subscriptions_event_types_and_description_are_edited(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given a subscription with one event type and no description
    subscription = subscribe(api, "http://127.0.0.1:9/console-edit", ["console.placed"])
    tab = console()
    page = tab.open(key_of(api), f"#/subscriptions/{subscription['id']}")
    expect(page.get_by_test_id("subscription-description")).to_have_text("—")
    assert page.evaluate(UNLABELLED_CONTROLS) == []

    # When its event types and description are changed in the console and saved
    page.get_by_label("Event types (comma separated; * for all)").fill("console.placed, console.paid")
    page.get_by_label("Description (optional)").fill("Orders to the ERP")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("edit-status")).to_contain_text("Saved")

    # Then a reload shows them, and the API has them with the rest unchanged
    page.reload()
    expect(page.get_by_test_id("subscription-event-types")).to_have_text("console.placed, console.paid")
    expect(page.get_by_test_id("subscription-description")).to_have_text("Orders to the ERP")
    expect(page.get_by_label("Description (optional)")).to_have_value("Orders to the ERP")
    stored = api.get(f"/v1/subscriptions/{subscription['id']}").json()
    assert stored["event_types"] == ["console.placed", "console.paid"]
    assert stored["description"] == "Orders to the ERP"
    assert (stored["target_url"], stored["rate_limit"], stored["ordering"]) == (
        "http://127.0.0.1:9/console-edit",
        None,
        "none",
    )
    # and the PATCH named the version it was made from
    patches = [
        headers for url, headers in tab.requests if url.endswith(subscription["id"]) and "if-match" in headers
    ]
    assert len(patches) == 1 and patches[0]["if-match"].strip('W/"')


def test_an_edit_after_another_change_asks_for_a_reload_and_overwrites_nothing(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given the subscription's page open, then the subscription changed elsewhere
    subscription = subscribe(api, "http://127.0.0.1:9/console-race", ["console.raced"])
    tab = console()
    page = tab.open(key_of(api), f"#/subscriptions/{subscription['id']}")
    expect(page.get_by_label("Description (optional)")).to_have_value("")
    assert (
        api.patch(f"/v1/subscriptions/{subscription['id']}", json={"description": "theirs"}).status_code
        == 200
    )

    # When the console saves its own change
    page.get_by_label("Description (optional)").fill("mine")
    page.get_by_role("button", name="Save changes").click()

    # Then it says the subscription changed meanwhile, and the other change stands
    expect(page.get_by_role("alert")).to_contain_text("changed meanwhile")
    assert api.get(f"/v1/subscriptions/{subscription['id']}").json()["description"] == "theirs"
    # and Reload shows the other change, after which the console's own change saves
    page.get_by_role("button", name="Reload").click()
    expect(page.get_by_test_id("subscription-description")).to_have_text("theirs")
    page.get_by_label("Description (optional)").fill("mine")
    page.get_by_label("Description (optional)").press("Enter")  # the keyboard submits the form
    expect(page.get_by_test_id("subscription-description")).to_have_text("mine")
    assert api.get(f"/v1/subscriptions/{subscription['id']}").json()["description"] == "mine"
    tab.expect_refusals(412)


def test_an_invalid_edit_shows_the_error_next_to_its_field(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given a subscription's page
    subscription = subscribe(api, "http://127.0.0.1:9/console-invalid", ["console.invalid"])
    tab = console()
    page = tab.open(key_of(api), f"#/subscriptions/{subscription['id']}")

    # When a target URL the API refuses is saved
    target = page.get_by_label("Target URL")
    target.fill("ftp://127.0.0.1/files")
    page.get_by_role("button", name="Save changes").click()

    # Then the API's message is shown by the field, tied to it, and nothing changed
    expect(target).to_have_attribute("aria-invalid", "true")
    error = page.locator(f"#{target.get_attribute('aria-describedby')}")
    expect(error).to_contain_text("http")
    expect(page.get_by_role("alert")).to_contain_text("Not saved")
    assert api.get(f"/v1/subscriptions/{subscription['id']}").json()["target_url"] == (
        "http://127.0.0.1:9/console-invalid"
    )
    tab.screenshot("subscription-edit-error")
    tab.expect_refusals(422)


def test_a_subscriptions_headers_metadata_and_filter_are_edited(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given a subscription with no custom header, metadata or filter, on its page
    subscription = subscribe(api, "http://127.0.0.1:9/console-extras", ["console.extras"])
    path = f"/v1/subscriptions/{subscription['id']}"
    secret_value = "Bearer console-header-secret-9f3a"
    tab = console()
    page = tab.open(key_of(api), f"#/subscriptions/{subscription['id']}")
    expect(page.get_by_test_id("subscription-headers")).to_have_text("none")

    # When a header, a metadata entry and a filter are added and saved
    page.get_by_label("New header name").fill("Authorization")
    page.get_by_label("New header value").fill(secret_value)
    page.get_by_label("New metadata key").fill("team")
    page.get_by_label("New metadata value").fill("billing")
    page.get_by_label("Content filter (JSON event pattern; empty for none)").fill(
        '{"payload": {"amount": [{"numeric": [">", 100]}]}}'
    )
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("edit-status")).to_contain_text("Saved")

    # Then the API stores them, the header value masked; the page shows the mask, never the value
    stored = api.get(path).json()
    assert stored["headers"] == {"Authorization": "Bearer ****9f3a"}
    assert stored["metadata"] == {"team": "billing"}
    assert stored["filter"] == {"payload": {"amount": [{"numeric": [">", 100]}]}}
    expect(page.get_by_test_id("subscription-headers")).to_have_text("Authorization: Bearer ****9f3a")
    expect(page.get_by_label("New value for Authorization (empty keeps it)")).to_have_value("")
    expect(page.get_by_label("Value of team")).to_have_value("billing")
    expect(page.get_by_label("Content filter (JSON event pattern; empty for none)")).to_have_value(
        re.compile(r'^\{\n  "payload": \{\n    "amount": \[')
    )
    assert secret_value not in page.content()
    assert page.evaluate("JSON.stringify(Object.entries(sessionStorage))").count("console-header-secret") == 0
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    # and the form fits a phone, every control labelled
    phone = console(viewport=PHONE)
    on_phone = phone.open(key_of(api), f"#/subscriptions/{subscription['id']}")
    expect(on_phone.get_by_label("Value of team")).to_have_value("billing")
    on_phone.wait_for_load_state("networkidle")
    assert on_phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert on_phone.evaluate(UNLABELLED_CONTROLS) == []
    on_phone.get_by_label("Remove Authorization").scroll_into_view_if_needed()
    phone.screenshot("subscription-edit-extras")

    # When a filter the API refuses is saved (with a metadata change alongside)
    version = api.get(path).headers["ETag"]
    filter_field = page.get_by_label("Content filter (JSON event pattern; empty for none)")
    filter_field.fill('{"payload": {"amount": [{"numeric": [">", "lots"]}]}}')
    page.get_by_label("Value of team").fill("sales")
    page.get_by_role("button", name="Save changes").click()

    # Then the 422 naming the path is shown by the filter field, and nothing changed
    expect(filter_field).to_have_attribute("aria-invalid", "true")
    error = page.locator(f"#{filter_field.get_attribute('aria-describedby')}")
    expect(error).to_contain_text("filter.payload.amount.0.numeric.1")
    expect(page.get_by_role("alert")).to_contain_text("Not saved")
    assert api.get(path).headers["ETag"] == version
    assert api.get(path).json()["metadata"] == {"team": "billing"}
    tab.expect_refusals(422)

    # And JSON that does not parse is refused in the page, without a request
    patches = len([url for url, _ in tab.requests if url.endswith(path)])
    filter_field.fill('{"payload": ')
    page.get_by_role("button", name="Save changes").click()
    expect(error).to_contain_text("not valid JSON")
    assert len([url for url, _ in tab.requests if url.endswith(path)]) == patches

    # When the header's value is replaced
    page.reload()
    page.get_by_label("New value for Authorization (empty keeps it)").fill("Bearer console-other-77aa")
    page.get_by_role("button", name="Save changes").click()

    # Then the API has the new value (masked), the rest as it was
    expect(page.get_by_test_id("subscription-headers")).to_have_text("Authorization: Bearer ****77aa")
    stored = api.get(path).json()
    assert stored["headers"] == {"Authorization": "Bearer ****77aa"}
    assert stored["metadata"] == {"team": "billing"}
    assert stored["filter"] == {"payload": {"amount": [{"numeric": [">", 100]}]}}

    # When the header is removed, the metadata value changed and the filter emptied
    page.get_by_label("Remove Authorization").check()
    page.get_by_label("Value of team").fill("sales")
    page.get_by_label("Content filter (JSON event pattern; empty for none)").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("subscription-headers")).to_have_text("none")

    # Then the API has no header and no filter, the new metadata value, and the rest unchanged
    stored = api.get(path).json()
    assert (stored["headers"], stored["metadata"], stored["filter"]) == ({}, {"team": "sales"}, None)
    assert stored["event_types"] == ["console.extras"]
    # and the header value never travelled in a URL
    assert not [url for url, _ in tab.requests if "console-header-secret" in url or "console-other" in url]


def test_a_dead_lettered_delivery_is_recovered_from_the_console_once(
    configure: Configure, api: ApiClient, console: Callable[..., Console]
) -> None:
    configure(RETRY_SCHEDULE="1s", BREAKER_FAILURE_THRESHOLD="0")
    with Receiver(faults=Faults(fail_rate=1.0)) as receiver:
        # Given an event whose delivery failed for good (500 to every attempt)
        subscription = subscribe(api, receiver.url, ["console.recovered"])
        receiver.add_secret(subscription["secret"])
        (event_id,) = post_events(api, [{"event_type": "console.recovered", "payload": {"n": 1}}])
        recorded_delivery(api, event_id, subscription["id"], "failed", timeout=90)
        failures = len(receiver.deliveries)

        # When the endpoint is fixed and the last hour is recovered from the console
        receiver.faults = Faults()
        tab = console()
        page = tab.open(key_of(api), f"#/subscriptions/{subscription['id']}")
        page.get_by_label("Failed since").select_option("1h")
        page.get_by_role("button", name="Recover", exact=True).click()

        # Then the console says one delivery was queued, and the receiver gets the event once more
        result = page.get_by_test_id("recover-result")
        expect(result).to_contain_text("1 queued again, 0 already in progress")
        expect(result.get_by_role("button")).to_have_count(0)
        delivery = recorded_delivery(api, event_id, subscription["id"], "delivered", timeout=60)
        tab.screenshot("subscription-recovered")

        # And recovering again sends nothing twice
        page.get_by_role("button", name="Recover", exact=True).click()
        expect(result).to_contain_text("0 queued again, 0 already in progress")
        page.reload()
        expect(page.get_by_role("region", name="Recent deliveries, newest event first")).to_contain_text(
            "delivered"
        )
    succeeded = [got for got in receiver.deliveries if got.status == 200]
    assert [str(got.webhook_id) for got in succeeded] == [event_id]
    assert succeeded[0].verified is True
    assert len(receiver.deliveries) == failures + 1
    assert [attempt["status_code"] for attempt in delivery["attempts"]][-1] == 200


def test_recover_refuses_a_disabled_subscription_until_it_is_enabled(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    # Given a subscription disabled by a 410 Gone
    with Receiver(faults=Faults(gone=True)) as gone:
        subscription = subscribe(api, gone.url, ["console.recover-gone"])
        post_events(api, [{"event_type": "console.recover-gone", "payload": {}}])
        wait_until(
            lambda: api.get(f"/v1/subscriptions/{subscription['id']}").json()["status"] == "disabled",
            "the subscription to be disabled",
        )
    tab = console()
    page = tab.open(key_of(api), f"#/subscriptions/{subscription['id']}")

    # When its failures are recovered, the console shows the API's refusal (enable first)
    page.get_by_role("button", name="Recover", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("enable")
    expect(page.get_by_test_id("recover-result")).to_have_count(0)
    tab.expect_refusals(409)


def test_another_tenants_ids_show_not_found(
    api: ApiClient, new_tenant: Callable[[], ApiClient], console: Callable[..., Console]
) -> None:
    # Given another tenant's event and subscription
    other = new_tenant()
    (event_id,) = post_events(other, [{"event_type": "console.secret", "payload": {"marker": "m-7f3a"}}])
    subscription = subscribe(other, "http://127.0.0.1:9/other", ["console.secret"])

    # When this tenant's key opens them in the console
    tab = console()
    page = tab.open(key_of(api), f"#/events/{event_id}")

    # Then both are "not found", and nothing of them shows
    expect(page.get_by_role("alert")).to_have_text("Event not found.")
    page = tab.go(f"#/subscriptions/{subscription['id']}")
    expect(page.get_by_role("alert")).to_have_text("Subscription not found.")
    assert "m-7f3a" not in page.content() and "127.0.0.1:9/other" not in page.content()
    # (a 404 in the browser's console is the API's answer, not a page error)
    tab.expect_refusals(404)


def test_the_charts_show_the_delivery_stats(
    configure: Configure, api: ApiClient, console: Callable[..., Console], flaky_receiver: Receiver
) -> None:
    # Given two events each delivered after one failure
    configure(RETRY_SCHEDULE="1s")
    subscription = subscribe(api, flaky_receiver.url, ["console.charted"])
    flaky_receiver.add_secret(subscription["secret"])
    for event_id in post_events(
        api, [{"event_type": "console.charted", "payload": {"n": n}} for n in range(2)]
    ):
        recorded_delivery(api, event_id, subscription["id"], state="delivered")

    # When the charts page opens
    tab = console()
    page = tab.open(key_of(api), "#/charts")

    # Then it shows the success rate and draws both charts, with the subscription listed
    expect(page.get_by_test_id("success-rate")).to_have_text("50.0 %")
    expect(page.locator("figure.chart canvas")).to_have_count(2)
    expect(page.get_by_role("region", name="Per subscription")).to_contain_text(subscription["id"])
    tab.screenshot("charts")

    # and the subscription's own page charts it too
    page.get_by_role("link", name=subscription["id"]).click()
    expect(page.get_by_test_id("success-rate")).to_have_text("50.0 %")
    expect(page.locator("figure.chart canvas")).to_have_count(2)


def test_the_console_fits_a_phone_and_every_control_has_a_label(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    post_events(api, [{"event_type": "console.phone", "source": "app", "payload": {"n": 1}}])
    tab = console(viewport=PHONE)
    page = tab.open(key_of(api))
    expect(page.locator("tr[data-event-id]")).to_have_count(1)

    for hash_ in ("#/events", "#/subscriptions", "#/charts"):
        page = tab.go(hash_)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        # No horizontal scrolling of the page (wide tables scroll inside their own region)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], hash_
        unlabelled = page.evaluate(UNLABELLED_CONTROLS)
        assert unlabelled == [], f"{hash_}: {unlabelled}"
    tab.go("#/events")
    expect(page.locator("tr[data-event-id]")).to_have_count(1)
    tab.screenshot("events-phone")


def test_the_key_stays_in_the_tab_and_is_forgotten_on_request(
    api: ApiClient, console: Callable[..., Console]
) -> None:
    tab = console()
    page = tab.open(key_of(api))

    assert page.evaluate("sessionStorage.getItem('triggers.apiKey')") == key_of(api)
    assert page.evaluate("localStorage.length") == 0 and page.context.cookies() == []
    page.get_by_role("button", name="Forget key").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('triggers.apiKey')") is None


def test_a_refused_key_says_so(api: ApiClient, console: Callable[..., Console]) -> None:
    tab = console()
    page = tab.open("trg_not-a-real-key")

    expect(page.get_by_role("alert")).to_contain_text("Missing or unknown API key")
    tab.expect_refusals(401)
    assert requests.get(f"{api.base_url}/console", timeout=30).status_code == 200


def test_the_console_works_from_the_keyboard(api: ApiClient, console: Callable[..., Console]) -> None:
    # Given the key page, reached and filled with the keyboard alone
    tab = console()
    page = tab.go("#/events")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "api-key"
    page.keyboard.type(key_of(api))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Events", level=1)).to_be_visible()

    # When Tab moves to the Subscriptions link and Enter follows it
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Subscriptions":
            break
    page.keyboard.press("Enter")

    # Then the subscriptions page is shown, its link marked current, and its form reachable by Tab
    expect(page.get_by_role("heading", name="Subscriptions", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Subscriptions")).to_have_attribute("aria-current", "page")
    page.get_by_label("Target URL").focus()
    page.keyboard.type("http://127.0.0.1:9/keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("secret")).to_be_visible()


def test_filters_and_search_narrow_the_events(api: ApiClient, console: Callable[..., Console]) -> None:
    # Given two events of different types, one with a marker in its payload
    found, other = post_events(
        api,
        [
            {"event_type": "console.searched", "source": "shop", "payload": {"note": "zebra-7d1c"}},
            {"event_type": "console.other", "source": "shop", "payload": {"note": "plain"}},
        ],
    )
    tab = console()
    page = tab.open(key_of(api))
    expect(page.locator("tr[data-event-id]")).to_have_count(2)

    # When filtered by type, only that type is listed
    page.get_by_label("Type").fill("console.other")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("tr[data-event-id]")).to_have_count(1)
    expect(page.locator(f'tr[data-event-id="{other}"]')).to_be_visible()

    # And a search (live, as the index is a few seconds behind) finds the marked event only
    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Search").fill("payload.note:zebra-7d1c")
    page.get_by_label("Live (follow new events)").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(f'tr[data-event-id="{found}"]')).to_be_visible()
    expect(page.locator("tr[data-event-id]")).to_have_count(1)
