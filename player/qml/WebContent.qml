// WebContent.qml — a web item in one slot (docs/web.md). MediaSlot.qml loads
// this file by URL, only for kind "web", so the rest of the scene never
// imports QtWebEngine and loads in a build without it.
//
// The page loads while the slot is hidden; the slot reports ready only when
// the load succeeded AND the page has painted (two animation frames after
// the load, signalled through the console of an isolated script world) AND
// that paint has reached the window (two frames later), so the switch
// shows the page on its first frame. Until then the view is kept
// "visible" for Chromium (it renders only visible views) but drawn at
// opacity 0: nothing of a loading, blank or failed page ever reaches the
// screen. No error pages, no dialogs, no context menu. Muted while hidden.
// Destroyed with the item (the Loader goes inactive): its page and
// renderer memory go with it.
import QtQuick
import QtWebEngine

WebEngineView {
    id: view
    // Set by MediaSlot.qml's Loader before begin().
    property QtObject slotState: null
    property int slotIndex: -1
    property QtObject playback: null
    property int generation: -1 // the slot's generation this page was loaded for
    property bool loadedOk: false
    property bool readyReported: false
    property bool failReported: false
    readonly property bool shownNow: slotState !== null && slotState.shown
    readonly property string readyToken: "stoa-web-ready-" + generation

    opacity: shownNow ? 1 : 0
    audioMuted: !shownNow
    settings.errorPageEnabled: false
    settings.showScrollBars: false
    settings.playbackRequiresUserGesture: false
    settings.focusOnNavigationEnabled: false

    function begin() {
        generation = slotState.generation
        url = slotState.source
    }
    function fail(reason) {
        if (failReported)
            return
        failReported = true
        playback.slotFailed(slotIndex, generation, reason)
    }

    onLoadingChanged: function(request) {
        if (generation < 0)
            return
        if (request.status === WebEngineView.LoadSucceededStatus) {
            if (loadedOk)
                return // the page navigated again; it is on screen already or about to be
            loadedOk = true
            // Ready once Chromium has produced a frame of the page.
            runJavaScript("requestAnimationFrame(() => requestAnimationFrame(() => console.info('"
                          + readyToken + "')))", WebEngineScript.ApplicationWorld)
        } else if (request.status === WebEngineView.LoadFailedStatus) {
            fail("cannot load " + request.url + ": " + request.errorString)
        }
    }
    // The renderer painted; its frame still has to travel through Chromium's
    // compositor to this item's texture, which no Qt 6.4 signal reports:
    // ready after two more frames of the window (each one picks up a new
    // compositor frame), or after 250 ms when the window draws nothing new.
    property int framesAfterPaint: -1
    function reportReady() {
        if (readyReported || failReported)
            return
        readyReported = true
        settle.stop()
        playback.slotReady(slotIndex, generation)
    }
    onJavaScriptConsoleMessage: function(level, message, lineNumber, sourceID) {
        if (message === readyToken && framesAfterPaint < 0 && !failReported) {
            framesAfterPaint = 0
            settle.start()
        }
    }
    Connections {
        target: view.Window.window
        enabled: view.framesAfterPaint >= 0 && !view.readyReported
        function onFrameSwapped() {
            if (++view.framesAfterPaint >= 2)
                view.reportReady()
        }
    }
    Timer {
        id: settle
        interval: 250
        onTriggered: view.reportReady()
    }
    onRenderProcessTerminated: function(terminationStatus, exitCode) {
        if (terminationStatus !== WebEngineView.NormalTerminationStatus)
            fail("the page's renderer ended (status " + terminationStatus + ", code " + exitCode + ")")
    }
    // A screen has no one to answer: refuse dialogs and menus quietly.
    onJavaScriptDialogRequested: function(request) { request.accepted = true; request.dialogReject() }
    onContextMenuRequested: function(request) { request.accepted = true }
    onFileDialogRequested: function(request) { request.accepted = true; request.dialogReject() }
    onAuthenticationDialogRequested: function(request) { request.accepted = true; request.dialogReject() }
    onColorDialogRequested: function(request) { request.accepted = true; request.dialogReject() }
}
