"""USSD: the Africa's Talking HTTP form today; the SMPP (ussd_service_op) bind comes later."""
