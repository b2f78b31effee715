"""SIM + handset emulation for the STK channel: the card runs the exported menu program as
proactive-command bytes (`card.SimCard`), the phone shows its screens and answers with
terminal responses (`handset.Handset`), and the card's answer SMS is handed to an injected
`send_sms` (the world connects it to the SMSC emulator as an MO)."""

from simulator.stk.card import CardError, SimCard
from simulator.stk.handset import (
    Handset,
    HandsetError,
    InputScreen,
    ListScreen,
    MenuScreen,
    Screen,
    SentSms,
    TextScreen,
)
from simulator.stk.profile import ProfileError, SimProfile, load_profile, save_profile

__all__ = [
    "CardError",
    "Handset",
    "HandsetError",
    "InputScreen",
    "ListScreen",
    "MenuScreen",
    "ProfileError",
    "Screen",
    "SentSms",
    "SimCard",
    "SimProfile",
    "TextScreen",
    "load_profile",
    "save_profile",
]
