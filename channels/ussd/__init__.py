"""USSD: HTTP gateway profiles (the Africa's Talking form, JSON) over one session core,
`UssdService.handle_turn(UssdTurn)`; the SMPP (ussd_service_op) bind comes later."""
