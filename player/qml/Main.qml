// Main.qml — the player's one window. Two media slots over the idle screen,
// inside a stage rotated by the manifest's (or local) rotation: eglfs cannot
// rotate Qt Quick content itself. The diagnostics overlay is inside the
// stage too, so it turns with the content. The window background is the idle
// screen's colour, never black.
import QtQuick
import QtQuick.Window

Window {
    id: window
    required property QtObject playback
    required property QtObject diagnostics
    color: "#16202b"
    title: "Stoa"

    Item {
        id: stage
        readonly property bool sideways: window.playback.rotation === 90 || window.playback.rotation === 270
        anchors.centerIn: parent
        width: sideways ? window.height : window.width
        height: sideways ? window.width : window.height
        rotation: window.playback.rotation

        IdleScreen {
            anchors.fill: parent
            visible: window.playback.idle
            deviceId: window.playback.deviceId
            statusLine: window.playback.statusLine
        }
        MediaSlot {
            objectName: "slotA"
            anchors.fill: parent
            slot: window.playback.slotA
            slotIndex: 0
            playback: window.playback
        }
        MediaSlot {
            objectName: "slotB"
            anchors.fill: parent
            slot: window.playback.slotB
            slotIndex: 1
            playback: window.playback
        }
        // The web engine's warm-up page (WebWarmUp.qml, by URL like
        // WebContent.qml): beneath the slots, drawn at opacity 0.
        Loader {
            z: -1
            active: window.playback.webWarmUp.pageWanted
            asynchronous: true
            source: active ? "WebWarmUp.qml" : ""
            onLoaded: {
                item.warmUp = window.playback.webWarmUp
                item.begin()
            }
            onStatusChanged: {
                if (status === Loader.Error)
                    window.playback.webWarmUp.done(false, "the warm-up view cannot be created")
            }
        }
        // Above both slots (their z grows with each switch); playback goes on beneath.
        Diagnostics {
            objectName: "diagnostics"
            anchors.fill: parent
            z: 1000000000
            model: window.diagnostics
        }
    }
}
