// Main.qml — the player's one window. The full screen's region (two media
// slots) and the regions of the layout in force, over the idle screen,
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
        Region {
            region: window.playback.fullScreen
            stageWidth: stage.width
            stageHeight: stage.height
        }
        // A layout's regions (v1.1 §12), each at its rectangle, by its z:
        // one Region made for each RegionPlayer when it enters `regions` and
        // destroyed when it leaves, never re-made. (A Repeater re-creates
        // every delegate when a list model changes: the regions on screen
        // would reload, dark, whenever the next layout's are staged beside
        // them.)
        property var regionItems: []
        function syncRegions() {
            const players = window.playback.regions
            const kept = []
            for (const entry of stage.regionItems) {
                if (players.indexOf(entry.player) >= 0)
                    kept.push(entry)
                else
                    entry.item.destroy()
            }
            for (const player of players) {
                if (kept.some(entry => entry.player === player))
                    continue
                const item = regionComponent.createObject(stage, {
                    region: player,
                    stageWidth: Qt.binding(() => stage.width),
                    stageHeight: Qt.binding(() => stage.height)
                })
                kept.push({ player: player, item: item })
            }
            stage.regionItems = kept
        }
        Component {
            id: regionComponent
            Region {}
        }
        Connections {
            target: window.playback
            function onRegionsChanged() { stage.syncRegions() }
        }
        Component.onCompleted: syncRegions()
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
        // Above every region (their z is the manifest's); playback goes on beneath.
        Diagnostics {
            objectName: "diagnostics"
            anchors.fill: parent
            z: 1000000000
            model: window.diagnostics
        }
    }
}
