// MediaSlot.qml — renders one slot of a RegionPlayer (player/media_slot.h,
// player/region_player.h) and reports back to it (`playback`): ready (image
// decoded / first video frame / text laid out), failed, ended.
// A hidden slot loads its item without being drawn; a hidden video plays to
// its first frame and pauses there, so showing it is a single-frame switch.
// Images are decoded at the slot's size (sourceSize): an 8000 px photo costs
// a screen's worth of memory, not its own.
import QtQuick
import QtMultimedia
import Stoa.Player

Item {
    id: root
    required property QtObject slot
    required property int slotIndex
    required property QtObject playback

    // A hidden web slot stays visible for Chromium (it renders only visible
    // views); WebContent.qml draws it at opacity 0 until the slot is shown.
    visible: slot.shown || slot.kind === "web"
    z: slot.z

    function imageFill(fit) {
        return fit === "cover" ? Image.PreserveAspectCrop : fit === "stretch" ? Image.Stretch : Image.PreserveAspectFit
    }
    function videoFill(fit) {
        return fit === "cover" ? VideoOutput.PreserveAspectCrop : fit === "stretch" ? VideoOutput.Stretch : VideoOutput.PreserveAspectFit
    }

    Image {
        id: image
        objectName: "slotImage" // tests check its decoded size
        anchors.fill: parent
        asynchronous: true
        cache: false
        smooth: true
        sourceSize: Qt.size(root.width, root.height)
        fillMode: root.imageFill(root.slot.fit)
        source: root.slot.kind === "image" && root.width > 0 ? root.slot.source : ""
        onStatusChanged: {
            if (root.slot.kind !== "image" || source == "")
                return
            if (status === Image.Ready)
                root.playback.slotReady(root.slotIndex, root.slot.generation)
            else if (status === Image.Error)
                root.playback.slotFailed(root.slotIndex, root.slot.generation, "cannot decode the image")
        }
    }

    // Video: the player's own GStreamer pipeline per item
    // (player/video_pipeline.h), built and torn down off the GUI thread; a
    // hidden one prerolls, so its first frame is in the sink. The
    // VideoOutput stays for the slot's life (creating one per item cost the
    // GUI thread ~30 ms right at the switch); only the pipeline and its
    // watch come and go with the item, and the pipeline clears the output's
    // frame when it goes.
    VideoOutput {
        id: pipedOutput
        anchors.fill: parent
        visible: root.slot.kind === "video"
        fillMode: root.videoFill(root.slot.fit)
    }
    Loader {
        active: root.slot.kind === "video"
        sourceComponent: Item {
            id: piped
            property int generation: -1
            property bool ended: false // at its end, holding the last frame: not a stall

            function fail(reason) {
                root.playback.slotFailed(root.slotIndex, piped.generation, reason)
            }

            VideoPipeline {
                id: pipeline
                sink: pipedOutput.videoSink
                playing: root.slot.playing
                muted: !root.slot.shown
                onFailed: (reason) => piped.fail(reason)
                onEnded: {
                    if (pipedWatch.frames === 0) {
                        piped.fail("the video ended before its first frame")
                    } else {
                        piped.ended = true
                        root.playback.slotEnded(root.slotIndex, piped.generation)
                    }
                }
            }
            VideoWatch {
                id: pipedWatch
                property int frames: 0
                sink: pipedOutput.videoSink
                active: root.slot.playing && !piped.ended
                stallMs: 5000
                onFirstFrame: {
                    frames = 1
                    root.playback.slotReady(root.slotIndex, piped.generation)
                }
                onStalled: piped.fail("stalled for 5 s")
            }
            Component.onCompleted: {
                generation = root.slot.generation
                pipeline.source = root.slot.source
            }
        }
    }

    // Web items (docs/web.md): WebContent.qml, loaded by URL so this file
    // does not import QtWebEngine (a build without it has no such file and
    // skips web items before they reach a slot). One view per item: it goes,
    // with its page, when the slot is released.
    Loader {
        anchors.fill: parent
        active: root.slot.kind === "web"
        asynchronous: true
        source: active ? "WebContent.qml" : ""
        onLoaded: {
            item.slotState = root.slot
            item.slotIndex = root.slotIndex
            item.playback = root.playback
            item.begin()
        }
        onStatusChanged: {
            if (status === Loader.Error)
                root.playback.slotFailed(root.slotIndex, root.slot.generation, "web content cannot be created")
        }
    }

    // Text items (v1.1 §12): the background (if any) fills the slot; a
    // static text is centred and scaled down to fit (wrapped at word
    // boundaries); a ticker moves right to left once per duration, from
    // just outside the right edge until it left the slot on the left, on
    // the render thread (XAnimator: the GUI thread's work does not stall it).
    // Plain text only: markup in the manifest is shown as written.
    Loader {
        anchors.fill: parent
        active: root.slot.kind === "text"
        sourceComponent: Rectangle {
            id: textContent
            objectName: "slotText"
            property int generation: -1
            color: root.slot.textBackground !== "" ? root.slot.textBackground : "transparent"
            clip: true

            function reportReady() {
                root.playback.slotReady(root.slotIndex, textContent.generation)
            }

            Text {
                visible: !root.slot.textScroll
                anchors.fill: parent
                anchors.margins: Math.round(Math.min(parent.width, parent.height) * 0.05)
                text: root.slot.text
                textFormat: Text.PlainText
                color: root.slot.textColor
                horizontalAlignment: Text.AlignHCenter
                verticalAlignment: Text.AlignVCenter
                wrapMode: Text.Wrap
                fontSizeMode: Text.Fit
                minimumPixelSize: 6
                font.pixelSize: Math.max(6, height)
            }
            Text {
                id: ticker
                visible: root.slot.textScroll
                x: textContent.width
                y: Math.round((textContent.height - height) / 2)
                text: root.slot.text
                textFormat: Text.PlainText
                color: root.slot.textColor
                font.pixelSize: Math.max(6, Math.round(textContent.height * 0.6))
            }
            XAnimator {
                target: ticker
                from: textContent.width
                to: -ticker.width
                duration: Math.max(1, root.slot.durationMs)
                running: root.slot.textScroll && root.slot.playing
            }
            // Reported after this load() returned: Playback must not switch
            // from inside the call that loads the slot.
            Component.onCompleted: {
                generation = root.slot.generation
                Qt.callLater(reportReady)
            }
        }
    }

    // Optional cross-fade: the incoming slot fades in over the outgoing one,
    // which Playback keeps on screen for the fade's duration.
    NumberAnimation {
        id: fadeIn
        target: root
        property: "opacity"
        from: 0
        to: 1
        duration: root.slot.fadeMs
    }
    Connections {
        target: root.slot
        function onShownChanged() {
            if (root.slot.shown && root.slot.fadeMs > 0) {
                root.opacity = 0
                fadeIn.restart()
            } else {
                fadeIn.stop()
                root.opacity = 1
            }
        }
    }
}
