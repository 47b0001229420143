# tests/arrows/rules.cmake — which module may depend on which
# (docs/architecture.md). Data flows sync -> cache <- player; schedule is
# pure, below all three (the store names blobs by schedule::Digest); endpoints below both; publish beside them, over schedule
# only (the coming hub links it too); platform/rpi at the edge, plugged in
# by the mains; tools (the `stoa` command) on top; the hub beside the devices,
# sharing the publishing code, never their cache, sync or player. settings
# (stoa.conf's key table and reader) is below every process that reads or
# writes that file, and depends on nothing of ours.
set(MODULES settings schedule cache endpoints publish sync player platform/rpi tools hub)
set(ALLOW_settings "")
set(ALLOW_schedule "")
set(ALLOW_cache schedule)
set(ALLOW_endpoints "")
set(ALLOW_publish schedule)
set(ALLOW_sync settings cache schedule endpoints)
set(EXTRA_sync_main platform/rpi)                  # stoa-syncd plugs the Pi in
set(ALLOW_player settings cache schedule endpoints)
set(EXTRA_player_main platform/rpi)                # stoa-player plugs the Pi in
set(EXTRA_player_demo_store tools/demo.h)          # --demo, wired at the executable
# The edge implements the interfaces of its users.
# The display power method is settings' header-only enum: no link to it.
set(ALLOW_platform_rpi schedule player/display_power.h settings/choices.h)
set(ALLOW_tools settings publish schedule cache sync)
# The hub writes a stoa.conf with the table's key names (constants only).
set(ALLOW_hub publish schedule endpoints settings/keys.h)
set(EXTRA_hub_main platform/rpi)                   # stoa-hub plugs systemd in

# Link closures (what a library drags into whatever links it).
set(LINK_CHECKED stoa_settings stoa_schedule stoa_cache stoa_endpoints stoa_publish stoa_sync stoa_player stoa_platform stoa_hub)
set(_devices stoa_sync stoa_player stoa_platform stoa_device_tools stoa_tools stoa_player_demo)
set(FORBID_LINK_stoa_settings stoa_schedule stoa_cache stoa_endpoints stoa_publish ${_devices} stoa_hub CURL::libcurl)
set(FORBID_LINK_stoa_schedule stoa_cache stoa_endpoints stoa_publish ${_devices} CURL::libcurl)
set(FORBID_LINK_stoa_cache stoa_endpoints stoa_publish ${_devices} CURL::libcurl)
set(FORBID_LINK_stoa_endpoints stoa_cache stoa_publish ${_devices} CURL::libcurl)
set(FORBID_LINK_stoa_publish stoa_cache stoa_endpoints ${_devices} CURL::libcurl)
set(FORBID_LINK_stoa_sync stoa_publish stoa_player stoa_platform stoa_device_tools stoa_tools stoa_player_demo)
set(FORBID_LINK_stoa_player stoa_sync stoa_publish stoa_platform stoa_device_tools stoa_tools stoa_player_demo CURL::libcurl)
set(FORBID_LINK_stoa_platform stoa_cache stoa_sync stoa_player stoa_publish stoa_device_tools stoa_tools)
set(FORBID_LINK_stoa_hub stoa_cache ${_devices})
