#!/bin/sh
# Runs one player test under a private Xvfb with the xcb platform: offscreen
# does not render video frames, and pixel checks need a real scene.
exec xvfb-run -a -s "-screen 0 1280x720x24" env QT_QPA_PLATFORM=xcb "$@"
