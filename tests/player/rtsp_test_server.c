/* tests/player/rtsp_test_server.c — a real RTSP server on loopback for the
 * stream tests (tst_streams.cpp): GStreamer's RTSP server library serving
 * one live H.264 test picture, what an IP camera sends.
 *
 * Usage: stoa-rtsp-test-server COLOUR   (0xRRGGBB, the picture's solid colour)
 * Listens on 127.0.0.1 at a free port, serves rtsp://127.0.0.1:PORT/cam and
 * prints "rtsp://127.0.0.1:PORT/cam" on one line once it accepts clients.
 * Runs until killed (the tests SIGKILL it to make the stream stall).
 * Invariant: every client shares one encoder (shared media), so a player's
 * two slots playing the same stream see the same picture. */
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    gst_init(&argc, &argv);
    const char *colour = argc > 1 ? argv[1] : "0xff0000";
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    GstRTSPServer *server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, "0"); /* a free port */

    /* key-int-max 25: a new client waits at most a second for a keyframe. */
    gchar *launch = g_strdup_printf(
        "( videotestsrc is-live=true pattern=solid-color foreground-color=0xff%06lx "
        "! video/x-raw,width=320,height=240,framerate=25/1,format=I420 "
        "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )",
        strtoul(colour, NULL, 16) & 0xffffffUL);
    GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory, launch);
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    g_free(launch);
    GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
    gst_rtsp_mount_points_add_factory(mounts, "/cam", factory);
    g_object_unref(mounts);

    if (gst_rtsp_server_attach(server, NULL) == 0) {
        fprintf(stderr, "cannot listen on 127.0.0.1\n");
        return 1;
    }
    printf("rtsp://127.0.0.1:%d/cam\n", gst_rtsp_server_get_bound_port(server));
    fflush(stdout);
    g_main_loop_run(loop);
    return 0;
}
