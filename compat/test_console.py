"""The web console in headless Chromium (Debian's chromium + chromium-driver, Selenium with
explicit paths) against a real `rill serve --http-listen 127.0.0.1:0`, with data made by
confluent-kafka with its default settings."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

import chromium

pytestmark = pytest.mark.timeout(180)

if chromium.available():
    pytest.skip(chromium.available(), allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def console(broker_factory):
    b = broker_factory(extra_args=["--http-listen", "127.0.0.1:0"])
    assert b.http, "the ready file names the HTTP listener"
    d = chromium.driver()
    try:
        yield b, d
    finally:
        d.quit()


def wait_for(d, cond, timeout=20):
    return WebDriverWait(d, timeout, poll_frequency=0.1).until(lambda _: cond())


def loaded(d, page):
    return d.execute_script("return document.body.dataset.loaded") == page


def test_overview_shows_topic_and_group_lag(console):
    b, d = console
    topic = f"orders-{uuid.uuid4().hex[:6]}"
    p = Producer({"bootstrap.servers": b.bootstrap})
    for i in range(10):
        p.produce(topic, key=f"k{i}", value=json.dumps({"n": i}))
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "billing", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 4 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m)
    assert len(got) == 4
    c.commit(message=got[-1], asynchronous=False)  # committed: offset 4 of 10
    try:
        d.get(b.http + "/")
        wait_for(d, lambda: loaded(d, "overview"))
        row = d.find_element(By.CSS_SELECTOR, f'#topics-table tr[data-topic="{topic}"]')
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert cells[0] == topic and cells[1] == "1" and cells[2] == "10", cells
        g = d.find_element(By.CSS_SELECTOR, '#groups-table tr[data-group="billing"]')
        cells = [td.text for td in g.find_elements(By.TAG_NAME, "td")]
        assert cells[1] == "Stable" and cells[3] == "1", cells
        assert cells[5] == "6", f"lag is end 10 - committed 4: {cells}"

        # The group page: the member, its assignment and the partition's lag.
        g.find_element(By.TAG_NAME, "a").click()
        wait_for(d, lambda: loaded(d, "group"))
        assert d.find_element(By.ID, "group-lag").text == "6"
        assert f"{topic}-0" in d.find_element(By.ID, "members-table").text
        lag_row = d.find_element(By.CSS_SELECTOR, f'#offsets-table tr[data-tp="{topic}-0"]')
        assert [td.text for td in lag_row.find_elements(By.TAG_NAME, "td")][2:5] == ["4", "10", "6"]
    finally:
        c.close()


def test_message_browser_pretty_prints_json(console):
    b, d = console
    topic = f"events-{uuid.uuid4().hex[:6]}"
    p = Producer({"bootstrap.servers": b.bootstrap})
    p.produce(topic, key="user-1", value=json.dumps({"id": 7, "tags": ["a", "b"]}), headers=[("trace", b"t-1")])
    assert p.flush(10) == 0
    d.get(f"{b.http}/#/messages/{topic}?partition=0&offset=0")
    wait_for(d, lambda: loaded(d, "messages"))
    row = d.find_element(By.CSS_SELECTOR, '#messages-table tr[data-offset="0"]')
    value = row.find_element(By.CSS_SELECTOR, "td.value pre.json").text
    assert value == json.dumps({"id": 7, "tags": ["a", "b"]}, indent=2), value
    assert "user-1" in row.text and "trace: t-1" in row.text

    # Hex view of the same value.
    d.find_element(By.CSS_SELECTOR, '#msg-format option[value="hex"]').click()
    hexed = d.find_element(By.CSS_SELECTOR, '#messages-table tr[data-offset="0"] td.value pre').text
    assert hexed.startswith("7b 22 69 64 22"), hexed

    # Live tail: a record produced now shows up without reloading.
    d.find_element(By.ID, "msg-tail").click()
    p.produce(topic, value=b"tail me")
    assert p.flush(10) == 0
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, '#messages-table tr[data-offset="1"]'))


def test_create_topic_from_the_page_reaches_metadata(console):
    b, d = console
    topic = f"made-in-browser-{uuid.uuid4().hex[:6]}"
    d.get(b.http + "/#/create")
    wait_for(d, lambda: loaded(d, "create"))
    d.find_element(By.ID, "new-topic-name").send_keys(topic)
    parts = d.find_element(By.ID, "new-topic-partitions")
    parts.clear()
    parts.send_keys("3")
    d.find_element(By.ID, "create-topic-btn").click()
    wait_for(d, lambda: loaded(d, "topic"))
    assert len(d.find_elements(By.CSS_SELECTOR, "#partitions-table tbody tr")) == 3

    md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
    assert topic in md.topics, sorted(md.topics)
    assert len(md.topics[topic].partitions) == 3

    # Produce a test message from the topic page; a consumer reads it.
    d.find_element(By.ID, "produce-key").send_keys("k")
    d.find_element(By.ID, "produce-value").send_keys("hello from the console")
    d.find_element(By.ID, "produce-btn").click()
    wait_for(d, lambda: "produced to partition" in d.find_element(By.ID, "toast").text)
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "reader", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        m = None
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                break
        assert m is not None and m.value() == b"hello from the console" and m.key() == b"k"
    finally:
        c.close()
