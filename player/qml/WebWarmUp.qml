// WebWarmUp.qml — starts Chromium before the first page is due (docs/web.md,
// "Warm-up"). Main.qml creates it, by URL and only while Playback wants it
// (web items in the active or staged manifest, web = on), so the scene never
// imports QtWebEngine otherwise (player/web_warm_up.h decides). A blank page in a small view drawn at
// opacity 0 (rendered by Chromium, never seen): loading it starts the
// browser side, the GPU and renderer processes and the QML module; once it
// has painted, the engine is warm and the pages' load timers run, so
// the spec's 5 s are the page's own. The view stays while pages are in the
// manifest: it keeps the one shared renderer process (--renderer-process-
// limit=1) alive between pages, so a page after an image does not start one.
import QtQuick
import QtWebEngine

WebEngineView {
    id: view
    property QtObject warmUp: null // Playback's WebWarmUp, set by Main.qml's Loader
    property bool reported: false
    width: 64
    height: 64
    opacity: 0
    enabled: false
    audioMuted: true
    settings.errorPageEnabled: false
    settings.focusOnNavigationEnabled: false

    function report(ok, detail) {
        if (reported || warmUp === null)
            return
        reported = true
        warmUp.done(ok, detail)
    }
    function begin() {
        url = "data:text/html,<!doctype html><html><body></body></html>"
    }
    onLoadingChanged: function(request) {
        if (request.status === WebEngineView.LoadSucceededStatus)
            runJavaScript("requestAnimationFrame(() => requestAnimationFrame(() => console.info('stoa-web-warm')))",
                          WebEngineScript.ApplicationWorld)
        else if (request.status === WebEngineView.LoadFailedStatus)
            report(false, "cannot load the blank page: " + request.errorString)
    }
    onJavaScriptConsoleMessage: function(level, message, lineNumber, sourceID) {
        if (message === "stoa-web-warm")
            report(true, "")
    }
    onRenderProcessTerminated: function(terminationStatus, exitCode) {
        if (terminationStatus !== WebEngineView.NormalTerminationStatus)
            report(false, "the renderer ended (status " + terminationStatus + ", code " + exitCode + ")")
    }
}
