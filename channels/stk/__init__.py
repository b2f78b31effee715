"""The SIM Toolkit channel: the SIM menu program and the applet's sealed answer SMS."""
