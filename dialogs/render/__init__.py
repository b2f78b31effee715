"""Renderers: one engine event into one channel's medium (USSD page, SMS, IVR, STK, WML)."""
