"""A minimal WAP browser for tests: opens `/wap/`, reads each page as XML with the standard
library (a page that is not well-formed fails the test there), and posts its form back the
way a handset would (WML: the `<postfield>`s; XHTML-MP: the hidden inputs), with one answer
in `input`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

XHTML_NS = "{http://www.w3.org/1999/xhtml}"
WML_ACCEPT = "text/vnd.wap.wml, image/vnd.wap.wbmp, */*;q=0.1"
XHTML_ACCEPT = "application/vnd.wap.xhtml+xml, application/xhtml+xml, text/html;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class Page:
    status: int
    content_type: str
    headers: Mapping[str, str]
    body: str
    root: ET.Element
    action: str | None
    fields: Mapping[str, str] = field(default_factory=dict)  # hidden: token, session

    @property
    def wml(self) -> bool:
        return self.root.tag == "wml"

    @property
    def text(self) -> str:
        """Everything a person reads on the page, whitespace folded (the title aside)."""
        body = self.root.find("card") if self.wml else self.root.find(f"{XHTML_NS}body")
        assert body is not None
        words = " ".join(body.itertext())
        if not self.wml:  # labels of radio buttons are text; the submit button's value is not
            words = " ".join(words.split())
        return " ".join(words.split())

    @property
    def choices(self) -> list[str]:
        if self.wml:
            return [option.text or "" for option in self.root.iter("option")]
        return ["".join(label.itertext()) for label in self.root.iter(f"{XHTML_NS}label")]

    def elements(self, name: str) -> list[ET.Element]:
        return list(self.root.iter(name if self.wml else f"{XHTML_NS}{name}"))


def parse(status: int, content_type: str, headers: Mapping[str, str], body: str) -> Page:
    root = ET.fromstring(body.encode("utf-8"))  # well-formed XML, or the test fails here
    action: str | None = None
    fields: dict[str, str] = {}
    if root.tag == "wml":
        go = root.find("card/do/go")
        if go is not None:
            action = go.get("href")
            for postfield in go.iter("postfield"):
                name, value = postfield.get("name", ""), postfield.get("value", "")
                if name != "input":
                    fields[name] = value.replace("$$", "$")
    else:
        form = root.find(f".//{XHTML_NS}form")
        if form is not None:
            action = form.get("action")
            for element in form.iter(f"{XHTML_NS}input"):
                if element.get("type") == "hidden":
                    fields[element.get("name", "")] = element.get("value", "")
    return Page(status, content_type, headers, body, root, action, fields)


class WapBrowser:
    """One browser behind one Accept header and extra headers (a gateway's X-MSISDN)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        *,
        accept: str = XHTML_ACCEPT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._http = http
        self._base = base_url
        self.headers = {"Accept": accept, **(headers or {})}
        self.page: Page | None = None

    async def _read(self, response: aiohttp.ClientResponse) -> Page:
        body = await response.text()
        content_type = response.headers.get("Content-Type", "")
        return parse(response.status, content_type, dict(response.headers), body)

    async def open(self) -> Page:
        async with self._http.get(f"{self._base}/wap/", headers=self.headers) as response:
            self.page = await self._read(response)
        return self.page

    async def post(self, fields: Mapping[str, str], action: str = "/wap/") -> Page:
        async with self._http.post(
            f"{self._base}{action}", data=dict(fields), headers=self.headers
        ) as response:
            return await self._read(response)

    async def send(self, value: str) -> Page:
        """Answer the page on screen with `value`."""
        assert self.page is not None
        assert self.page.action is not None, f"no form on the page: {self.page.text}"
        fields = {**self.page.fields, "input": value}
        self.page = await self.post(fields, self.page.action)
        return self.page

    async def walk(self, *values: str) -> Page:
        for value in values:
            page = await self.send(value)
            assert page.status == 200, page.text
        assert self.page is not None
        return self.page


def code_in(text: str) -> str:
    found = re.search(r"\d{6}", text)
    assert found is not None, text
    return found.group()
