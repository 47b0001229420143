// WebWarmUp.qml — starts Chromium before the first page is due (docs/web.md,
// "Warm-up"). Main.qml creates it, by URL and only while Playback's
// WebWarmUp wants the page (web items in the active or staged manifest,
// web = on, not warm yet; player/web_warm_up.h decides), so the scene never
// imports QtWebEngine otherwise. A blank page in a small view drawn at
// opacity 0 (rendered by Chromium, never seen): loading it starts the
// browser side, the zygote, the GPU and renderer processes and the QML
// module; once it has painted, the engine is warm, the pages' load timers
// run (the spec's 5 s are the page's own) and the view goes.
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
