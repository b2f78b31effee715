from simulator.masking import mask_pins


def test_six_digit_runs_are_masked_and_numbers_and_amounts_are_not():
    assert mask_pins("CZ 13900000001 50 333333") == "CZ 13900000001 50 ******"
    assert mask_pins("MM 111111 222222 222222") == "MM ****** ****** ******"
    assert mask_pins("1*13900000001*50*333333*1") == "1*13900000001*50*" + "******" + "*1"
    assert mask_pins("YE#３３３３３３") == "YE#******"
    assert mask_pins("CZ 8613900000001 50.50 1234567") == "CZ 8613900000001 50.50 1234567"
