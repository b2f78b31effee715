"""Pages as the platform renders them (`dialogs.render.wap`), loaded into a browser model
without a network: the screens of the top-up journey, in both formats."""

from __future__ import annotations

from dialogs.catalogue import Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Event, Message
from dialogs.render.wap import FormTarget, WapPage, render_wml, render_xhtml
from simulator.wap_browser import Flavour, WapBrowser

CATALOGUE = Catalogue.load()
URL = "http://127.0.0.1:9/wap/"
FORM = FormTarget("/wap/", "tok-1", {"session": "s-1"})

MENU = Ask(Message("agent.menu"), (Message("agent.menu.topup"), Message("agent.menu.balance")))
ASK_MSISDN = Ask(Message("topup.ask_msisdn"), input=INPUTS["msisdn"])
ASK_AMOUNT = Ask(Message("topup.ask_amount"), input=INPUTS["amount"])
ASK_PIN = Ask(Message("common.ask_pin"), input=INPUTS["pin"])
CONFIRM = Ask(
    Message("topup.confirm", {"msisdn": "13900000001", "amount_fen": 5000}), CONFIRM_CHOICES
)
DONE = End(
    Message(
        "topup.done",
        {"msisdn": "13900000001", "amount_fen": 5000, "ref": "R1", "balance_fen": 95000},
    )
)


def page(
    event: Event, flavour: Flavour, language: str = "zh-CN", form: FormTarget = FORM
) -> WapPage:
    render = render_wml if flavour == "wml" else render_xhtml
    return render(event, CATALOGUE, language, form)


def browser_on(
    event: Event, flavour: Flavour, language: str = "zh-CN", form: FormTarget = FORM
) -> WapBrowser:
    browser = WapBrowser(flavour)
    shown = page(event, flavour, language, form)
    browser.load(shown.body.encode(), shown.content_type, URL)
    return browser
