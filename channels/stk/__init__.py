"""The SIM Toolkit channel: the SIM menu program and the applet's sealed answer SMS.

Codec (sans-IO, ETSI TS 102 223): `tlv` (framing), `text` (alpha coding, text strings),
`tpdu` (SMS-SUBMIT), `commands` (proactive commands, terminal responses, envelopes); the
program file `program`; the flows-to-program `compiler`; the answer's seal `secure`.
`docs/stk.md` describes the formats."""
