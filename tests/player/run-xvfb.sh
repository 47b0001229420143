#!/bin/sh
# Runs one player test under a private Xvfb with the xcb platform: offscreen
# does not render video frames, and pixel checks need a real scene.
# STOA_XVFB_SCREEN (WxHxDEPTH, default 1280x720x24) sizes the X screen for a
# test whose windows are larger (the diagnostics legibility test: 3840x2160).
exec xvfb-run -a -s "-screen 0 ${STOA_XVFB_SCREEN:-1280x720x24}" env QT_QPA_PLATFORM=xcb "$@"
