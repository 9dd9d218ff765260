"""SIPp scenario XML files, package data read by harness.sip.sipp."""
